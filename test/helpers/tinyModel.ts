/**
 * Writes a tiny (a few KB), deterministic, BERT-shaped feature-extraction model that
 * `@huggingface/transformers` loads from disk exactly like a hub model: config, WordPiece
 * tokenizer and an ONNX graph. Tests use it to exercise the real loading and inference path
 * (tokenizer, ONNX Runtime session, mean pooling, normalisation) without any network access.
 *
 * The graph is `last_hidden_state = (word_emb[input_ids] + type_emb[token_type_ids]) * mask`.
 * Each word vector is the sum of pseudo-random vectors of its accent-stripped character
 * 3/4-grams, so words that share spelling (and texts that share words) get related vectors.
 * Absolute similarity values are noise (about ±0.18 cosine at 32 dimensions): assert orderings.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mulberry32 } from '../../bench/lib/prng.js';

const DIMENSIONS = 32;
const SEED = 0x5eed_e5;

const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Every single character a word may be spelt with after lowercasing and accent stripping. */
const CHARACTERS = [...'abcdefghijklmnopqrstuvwxyz0123456789'];

/** BertPreTokenizer splits punctuation into separate words: give common signs their own token. */
const PUNCTUATION = [...'.,;:!?()[]{}"\'-_/\\%&*+=<>@#$'];

/** Common words of Portuguese lectures (machine-learning course flavoured), written as a speaker would. */
const WORDS = `
passage query a o as os um uma uns umas de do da dos das em no na nos nas por pelo pela pelos pelas para pra com sem
sobre entre até desde após antes depois durante contra e ou mas porque porém então também já ainda só
muito muita muitos muitas pouco pouca mais menos bem mal sim não nem como quando onde quem qual quais que
se isso isto aquilo esse essa esses essas este esta estes estas aquele aquela eu você vocês ele ela eles
elas nós me te lhe nosso nossa seu sua seus suas meu minha ser é são era foi foram será sendo sido estar
está estão estava ter tem têm tinha teve fazer faz fazemos feito ir vai vamos vão poder pode podem
podemos dever deve devem usar usa usamos usado ver vemos veja olhar olha dizer diz falar falamos
entender entendeu saber sabe pensar pensa querer quer precisar precisa dar dá dado aqui ali lá agora
hoje ontem amanhã cedo tarde sempre nunca vez vezes primeiro primeira segundo segunda terceiro último
outro outra outros todo toda todos todas cada mesmo mesma exemplo exemplos caso casos parte partes
forma tipo tipos coisa coisas problema problemas questão pergunta perguntas resposta respostas
aula aulas curso professor professora aluno alunos turma prova trabalho exercício exercícios lista
slide slides vídeo capítulo seção tema assunto ideia conceito conceitos definição ponto
aprendizado aprendizagem aprender aprende aprendendo máquina máquinas modelo modelos treino
treinamento treinar treinado treinada teste testes validação dados dado conjunto conjuntos amostra
amostras rede redes neural neurais neurônio neurônios camada camadas oculta ocultas entrada
entradas saída saídas peso pesos viés função funções ativação sigmoide relu tangente softmax perda
custo erro erros gradiente gradientes descida descendente estocástico otimização otimizador taxa
época épocas lote lotes batch backpropagation retropropagação derivada derivadas parâmetro
parâmetros hiperparâmetro hiperparâmetros regularização dropout overfitting underfitting
sobreajuste generalização fine tuning transfer learning deep machine transferência ajuste ajustar
pré treinado supervisionado supervisionada não classificação regressão linear logística árvore
árvores decisão floresta aleatória cluster clusters agrupamento média medianas variância desvio
distribuição probabilidade estatística matriz matrizes vetor vetores dimensão dimensões espaço
embedding embeddings atenção transformer transformers token tokens texto textos palavra palavras
linguagem natural processamento imagem imagens convolução convolucional pooling filtro filtros
recorrente sequência sequências memória estado acurácia precisão revocação métrica métricas
avaliação resultado resultados desempenho qualidade previsão previsões predição rótulo rótulos
classe classes característica características atributo atributos variável variáveis algoritmo
algoritmos código python biblioteca pytorch tensorflow keras numpy computador gpu memória tempo
reunião conselho acontece cozinha receita bolo futebol jogo praia viagem chuva sol música
`;

/** Lowercases and strips accents, as BertNormalizer does with `lowercase: true`. */
function normalizeWord(word: string): string {
  return word.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
}

function buildVocabulary(): string[] {
  const vocab: string[] = [...SPECIAL_TOKENS];
  const seen = new Set<string>(vocab);
  const add = (token: string): void => {
    if (!seen.has(token)) {
      seen.add(token);
      vocab.push(token);
    }
  };
  for (const sign of PUNCTUATION) add(sign);
  for (const ch of CHARACTERS) add(ch);
  for (const ch of CHARACTERS) add(`##${ch}`);
  for (const word of WORDS.split(/\s+/)) if (word) add(normalizeWord(word));
  return vocab;
}

// ---------------------------------------------------------------------------------------------
// Deterministic weights

/** FNV-1a 32-bit hash. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}


function randomVector(key: string, scale = 1): Float32Array {
  const next = mulberry32(hashString(key) ^ SEED);
  const v = new Float32Array(DIMENSIONS);
  for (let i = 0; i < DIMENSIONS; i++) v[i] = (next() * 2 - 1) * scale;
  return v;
}

/** Character 3- and 4-grams of a word piece, with `<`/`>` marking word start/end. */
function characterGrams(token: string): string[] {
  const continuation = token.startsWith('##');
  const body = normalizeWord(continuation ? token.slice(2) : token);
  const padded = `${continuation ? '' : '<'}${body}>`;
  const grams: string[] = [];
  for (const n of [3, 4]) {
    for (let i = 0; i + n <= padded.length; i++) grams.push(padded.slice(i, i + n));
  }
  return grams.length > 0 ? grams : [padded];
}

function tokenVector(token: string): Float32Array {
  if (token === '[PAD]') return new Float32Array(DIMENSIONS);
  // [CLS]/[SEP] appear in every text: keep them small so that shared words dominate similarity.
  if (token === '[CLS]' || token === '[SEP]') return randomVector(`special:${token}`, 0.05);
  if (token === '[UNK]' || token === '[MASK]') return randomVector(`special:${token}`);
  const v = new Float32Array(DIMENSIONS);
  for (const gram of characterGrams(token)) {
    const g = randomVector(`gram:${gram}`);
    for (let i = 0; i < DIMENSIONS; i++) v[i] = v[i]! + g[i]!;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Minimal protobuf encoder (just what an ONNX ModelProto needs)

class ProtoWriter {
  private readonly chunks: number[] = [];

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.chunks.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.chunks.push(Number(v));
  }

  private tag(field: number, wireType: 0 | 2): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated varints. */
  packed(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

// ONNX enums
const FLOAT = 1;
const INT64 = 7;
const ATTRIBUTE_INT = 2;

type Dim = number | string;

function valueInfo(w: ProtoWriter, field: number, name: string, elemType: number, dims: Dim[]): void {
  w.message(field, (vi) => {
    vi.string(1, name); // ValueInfoProto.name
    vi.message(2, (type) =>
      // TypeProto.tensor_type
      type.message(1, (tensor) => {
        tensor.int(1, elemType); // elem_type
        tensor.message(2, (shape) => {
          for (const d of dims) {
            // TensorShapeProto.dim: dim_value (1) or dim_param (2)
            shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
          }
        });
      }),
    );
  });
}

function floatInitializer(w: ProtoWriter, name: string, dims: number[], data: Float32Array): void {
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((x, i) => view.setFloat32(i * 4, x, true));
  w.message(5, (t) => {
    for (const d of dims) t.int(1, d); // TensorProto.dims
    t.int(2, FLOAT); // data_type
    t.string(8, name); // name
    t.bytes(9, raw); // raw_data (little endian)
  });
}

function int64Initializer(w: ProtoWriter, name: string, dims: number[], data: number[]): void {
  w.message(5, (t) => {
    for (const d of dims) t.int(1, d);
    t.int(2, INT64);
    t.packed(7, data); // int64_data
    t.string(8, name);
  });
}

interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  intAttributes?: Record<string, number>;
}

function node(w: ProtoWriter, spec: NodeSpec, index: number): void {
  w.message(1, (n) => {
    for (const i of spec.inputs) n.string(1, i);
    for (const o of spec.outputs) n.string(2, o);
    n.string(3, `${spec.op.toLowerCase()}_${index}`);
    n.string(4, spec.op);
    for (const [name, value] of Object.entries(spec.intAttributes ?? {})) {
      n.message(5, (a) => {
        a.string(1, name);
        a.int(3, value); // i
        a.int(20, ATTRIBUTE_INT); // type
      });
    }
  });
}

function buildOnnxModel(wordEmbeddings: Float32Array, vocabSize: number): Uint8Array {
  const typeEmbeddings = new Float32Array(2 * DIMENSIONS);
  typeEmbeddings.set(randomVector('token_type:0', 0.01), 0);
  typeEmbeddings.set(randomVector('token_type:1', 0.01), DIMENSIONS);

  const nodes: NodeSpec[] = [
    { op: 'Gather', inputs: ['word_embeddings', 'input_ids'], outputs: ['words'] },
    { op: 'Gather', inputs: ['token_type_embeddings', 'token_type_ids'], outputs: ['types'] },
    { op: 'Add', inputs: ['words', 'types'], outputs: ['embeddings'] },
    { op: 'Cast', inputs: ['attention_mask'], outputs: ['mask_float'], intAttributes: { to: FLOAT } },
    { op: 'Unsqueeze', inputs: ['mask_float', 'unsqueeze_axes'], outputs: ['mask_3d'] },
    { op: 'Mul', inputs: ['embeddings', 'mask_3d'], outputs: ['last_hidden_state'] },
  ];
  const tokenDims: Dim[] = ['batch_size', 'sequence_length'];

  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'pergunta-tiny-model'); // producer_name
  model.message(7, (graph) => {
    nodes.forEach((spec, i) => node(graph, spec, i));
    graph.string(2, 'tiny_bert'); // name
    floatInitializer(graph, 'word_embeddings', [vocabSize, DIMENSIONS], wordEmbeddings);
    floatInitializer(graph, 'token_type_embeddings', [2, DIMENSIONS], typeEmbeddings);
    int64Initializer(graph, 'unsqueeze_axes', [1], [2]);
    valueInfo(graph, 11, 'input_ids', INT64, tokenDims);
    valueInfo(graph, 11, 'attention_mask', INT64, tokenDims);
    valueInfo(graph, 11, 'token_type_ids', INT64, tokenDims);
    valueInfo(graph, 12, 'last_hidden_state', FLOAT, [...tokenDims, DIMENSIONS]);
  });
  model.message(8, (opset) => opset.string(1, '').int(2, 14)); // opset_import (default domain, 14)
  return model.finish();
}

// ---------------------------------------------------------------------------------------------
// Tokenizer and config files

function tokenizerJson(vocab: string[]): unknown {
  const id = (token: string): number => vocab.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content) => ({
      id: id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    // lowercase + strip_accents null: accents are stripped (the vocabulary is accent-free too).
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, i) => [token, i])),
    },
  };
}

export interface TinyModel {
  /** Directory to pass as `localModelPath` (the model lives in `modelPath/modelId/`). */
  modelPath: string;
  /** Model name to load, relative to `modelPath`. */
  modelId: string;
  /** Vector length produced by the model. */
  dimensions: number;
}

/**
 * Writes the tiny model into `dir/name/` and returns what a loader needs. Deterministic:
 * the same files (byte for byte) on every call.
 */
export async function writeTinyModel(dir: string, name = 'tiny-e5'): Promise<TinyModel> {
  const vocab = buildVocabulary();
  const wordEmbeddings = new Float32Array(vocab.length * DIMENSIONS);
  vocab.forEach((token, i) => wordEmbeddings.set(tokenVector(token), i * DIMENSIONS));
  const onnx = buildOnnxModel(wordEmbeddings, vocab.length);

  const root = path.join(dir, name);
  await mkdir(path.join(root, 'onnx'), { recursive: true });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

  await writeFile(
    path.join(root, 'config.json'),
    json({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_size: DIMENSIONS,
      vocab_size: vocab.length,
      type_vocab_size: 2,
      max_position_embeddings: 512,
    }),
  );
  await writeFile(path.join(root, 'tokenizer.json'), json(tokenizerJson(vocab)));
  await writeFile(
    path.join(root, 'tokenizer_config.json'),
    json({
      tokenizer_class: 'BertTokenizer',
      do_lower_case: true,
      model_max_length: 512,
      pad_token: '[PAD]',
      unk_token: '[UNK]',
      cls_token: '[CLS]',
      sep_token: '[SEP]',
      mask_token: '[MASK]',
    }),
  );
  // fp32 (dtype 'fp32') and "quantised" (dtype 'q8') variants: the same graph serves both.
  await writeFile(path.join(root, 'onnx', 'model.onnx'), onnx);
  await writeFile(path.join(root, 'onnx', 'model_quantized.onnx'), onnx);

  return { modelPath: dir, modelId: name, dimensions: DIMENSIONS };
}
