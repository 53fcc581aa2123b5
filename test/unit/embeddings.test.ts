/**
 * The transformers.js embedder, run for real (config, tokenizer, ONNX Runtime session, pooling,
 * normalisation) on a tiny model written at test time. No test touches the network: every load
 * gets a `fetch` that records the attempt and fails, and the tests assert it was never called
 * unless the test is about hub failures.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { env } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { loadEmbedderOrNull } from '../../src/core.js';
import { EmbeddingModelUnavailableError } from '../../src/embeddings/embedder.js';
import {
  loadTransformersEmbedder,
  modelTokenLimit,
  type TransformersEmbedder,
  type TransformersEmbedderOptions,
} from '../../src/embeddings/transformersEmbedder.js';
import { silentLogger } from '../helpers/course.js';
import { writeTinyModel, type TinyModel } from '../helpers/tinyModel.js';

let dir: string;
let tiny: TinyModel;
let embedder: TransformersEmbedder;
const opened: TransformersEmbedder[] = [];
const fetchCalls: string[] = [];

/** Stands in for the network: records the attempt, fails like an offline machine (DNS error). */
const offlineFetch = async (input: string | URL): Promise<Response> => {
  fetchCalls.push(String(input));
  throw new TypeError('fetch failed', {
    cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }),
  });
};

async function load(overrides: Partial<TransformersEmbedderOptions> = {}): Promise<TransformersEmbedder> {
  const e = await loadTransformersEmbedder({
    modelId: tiny.modelId,
    localModelPath: tiny.modelPath,
    cacheDir: path.join(dir, 'cache'),
    allowRemote: false,
    fetch: offlineFetch,
    ...overrides,
  });
  opened.push(e);
  return e;
}

/** Expects a load to fail with EmbeddingModelUnavailableError; returns its reason and duration. */
async function loadFailure(opts: TransformersEmbedderOptions): Promise<{ reason: string; ms: number }> {
  const started = Date.now();
  const err: unknown = await loadTransformersEmbedder(opts).then(
    (e) => {
      opened.push(e);
      return new Error('loaded unexpectedly');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EmbeddingModelUnavailableError);
  const failure = err as EmbeddingModelUnavailableError;
  expect(failure.modelId).toBe(opts.modelId);
  return { reason: failure.reason, ms: Date.now() - started };
}

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const cosine = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] ?? 0), 0);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'pergunta-embeddings-'));
  tiny = await writeTinyModel(path.join(dir, 'models'));
  embedder = await load();
});

afterAll(async () => {
  await Promise.all(opened.map((e) => e.dispose()));
  await rm(dir, { recursive: true, force: true });
  // Every test above used local files only, except those that asked the fake hub on purpose.
});

describe('loadTransformersEmbedder on a tiny local model', () => {
  it('reports the model, its width and its token limit', () => {
    expect(tiny.dimensions).toBe(32);
    expect(embedder.modelId).toBe(tiny.modelId);
    expect(embedder.dimensions).toBe(32);
    expect(embedder.maxTokens).toBe(512);
  });

  it('returns one unit-norm vector of the model width per text', async () => {
    const texts = ['o modelo de rede neural', 'aprendizado de máquina', 'fine tuning e transfer learning'];
    const vectors = await embedder.embedPassages(texts);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(32);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    const query = await embedder.embedQuery('o que é gradiente descendente?');
    expect(query).toHaveLength(32);
    expect(norm(query)).toBeCloseTo(1, 5);
  });

  it('is deterministic, whatever the batch a text is in', async () => {
    const text = 'a camada oculta aprende pesos com o gradiente';
    const [a1] = await embedder.embedPassages([text]);
    const [a2] = await embedder.embedPassages([text]);
    const [, a3] = await embedder.embedPassages(['outro texto bem mais longo para forçar padding no lote', text]);
    expect(Array.from(a2!)).toEqual(Array.from(a1!));
    a3!.forEach((x, i) => expect(x).toBeCloseTo(a1![i]!, 5));

    // A fresh load of the same files gives the same vectors.
    const again = await load();
    const [b] = await again.embedPassages([text]);
    expect(Array.from(b!)).toEqual(Array.from(a1!));
  });

  it('distinguishes queries from passages (E5 prefixes)', async () => {
    const text = 'rede neural';
    const [passage] = await embedder.embedPassages([text]);
    const query = await embedder.embedQuery(text);
    expect(Array.from(query)).not.toEqual(Array.from(passage!));
  });

  it('puts texts that share words closer than texts that share none', async () => {
    const [a, b, c] = await embedder.embedPassages([
      'o treinamento da rede neural usa descida do gradiente',
      'gradiente descendente no treinamento de redes neurais',
      'receita de bolo para a reunião do conselho amanhã',
    ]);
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(a!, c!));
    expect(cosine(a!, b!)).toBeGreaterThan(cosine(b!, c!));

    const query = await embedder.embedQuery('como funciona o gradiente na rede neural?');
    expect(cosine(query, a!)).toBeGreaterThan(cosine(query, c!));
  });

  it('embeds in batches and reports progress after each one', async () => {
    const small = await load({ batchSize: 2 });
    const texts = ['modelo', 'treino', 'dados', 'camada', 'gradiente'];
    const progress: [number, number][] = [];
    const batched = await small.embedPassages(texts, (done, total) => progress.push([done, total]));
    expect(progress).toEqual([
      [2, 5],
      [4, 5],
      [5, 5],
    ]);
    const whole = await embedder.embedPassages(texts);
    expect(batched).toHaveLength(5);
    batched.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(whole[i]![j]!, 5)));

    const onProgress = vi.fn();
    expect(await small.embedPassages([], onProgress)).toEqual([]);
    expect(onProgress).not.toHaveBeenCalled();
  });

  it('counts tokens of `passage: ` + text, special tokens included', () => {
    // [CLS] passage : [SEP]
    expect(embedder.countTokens('')).toBe(4);
    // [CLS] passage : rede neural [SEP]
    expect(embedder.countTokens('rede neural')).toBe(6);
    const short = embedder.countTokens('o modelo');
    const longer = embedder.countTokens('o modelo de rede neural treinado com muitos dados');
    expect(longer).toBeGreaterThan(short);
    // Unknown words become word pieces or [UNK], never an error.
    expect(embedder.countTokens('xyzzy 😀 ελληνικά')).toBeGreaterThan(4);
  });

  it('truncates very long inputs instead of failing', async () => {
    const words = ['modelo', 'rede', 'neural', 'gradiente', 'dados', 'treino', 'camada', 'máquina'];
    const long = Array.from({ length: 5000 }, (_, i) => words[i % words.length]).join(' ');
    expect(embedder.countTokens(long)).toBeGreaterThan(5000);
    const [v] = await embedder.embedPassages([long, 'curto']);
    expect(v).toHaveLength(32);
    expect(norm(v!)).toBeCloseTo(1, 5);

    // With a small limit, whatever comes after the first 16 tokens is not seen.
    const limited = await load({ maxTokens: 16 });
    expect(limited.maxTokens).toBe(16);
    const [x, y] = await limited.embedPassages([long, `${long} receita de bolo`]);
    expect(Array.from(y!)).toEqual(Array.from(x!));
    const [z] = await limited.embedPassages(['receita de bolo']);
    expect(Array.from(z!)).not.toEqual(Array.from(x!));
  });

  it('selects the ONNX file by dtype: q8 → model_quantized.onnx, fp32 → model.onnx', async () => {
    const onlyFp32 = path.join(dir, 'only-fp32');
    await writeTinyModel(onlyFp32, 'fp32-only');
    await rm(path.join(onlyFp32, 'fp32-only', 'onnx', 'model_quantized.onnx'));

    const fp32 = await load({ modelId: 'fp32-only', localModelPath: onlyFp32, dtype: 'fp32' });
    expect(fp32.dimensions).toBe(32);
    const { reason } = await loadFailure({ modelId: 'fp32-only', localModelPath: onlyFp32, allowRemote: false, fetch: offlineFetch });
    expect(reason).toMatch(/not found locally/);
  });

  it('loads from several directories, one after the other or at once, and restores `env`', async () => {
    const before = { localModelPath: env.localModelPath, cacheDir: env.cacheDir, allowRemoteModels: env.allowRemoteModels };
    const other = await writeTinyModel(path.join(dir, 'other-models'), 'outro-modelo');
    const same = await writeTinyModel(path.join(dir, 'copy-models'));
    const [e1, e2, e3] = await Promise.all([
      load({ modelId: other.modelId, localModelPath: other.modelPath }),
      load({ modelId: same.modelId, localModelPath: same.modelPath, cacheDir: path.join(dir, 'cache-2') }),
      load(),
    ]);
    const text = 'transfer learning';
    const [v1] = await e1!.embedPassages([text]);
    const [v2] = await e2!.embedPassages([text]);
    const [v3] = await e3!.embedPassages([text]);
    expect(Array.from(v1!)).toEqual(Array.from(v3!));
    expect(Array.from(v2!)).toEqual(Array.from(v3!));
    expect({ localModelPath: env.localModelPath, cacheDir: env.cacheDir, allowRemoteModels: env.allowRemoteModels }).toEqual(before);
  });

  it('writes nothing to stdout while loading or embedding', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const log = vi.spyOn(console, 'log');
    try {
      const e = await load({ maxTokens: 64 });
      await e.embedPassages(['modelo', 'dados']);
      await loadFailure({ modelId: 'nao-existe', localModelPath: tiny.modelPath, allowRemote: false, fetch: offlineFetch });
      expect(stdout).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
      log.mockRestore();
    }
  });

  it('never touched the network in the tests above', () => {
    expect(fetchCalls).toEqual([]);
  });
});

/** A copy of the tiny model whose tokenizer and/or config declare a smaller token limit. */
async function tinyWithLimit(root: string, name: string, limits: { modelMaxLength?: number; maxPositions?: number }): Promise<TinyModel> {
  const model = await writeTinyModel(root, name);
  const patch = async (file: string, key: string, value: number | undefined) => {
    if (value === undefined) return;
    const full = path.join(root, name, file);
    await writeFile(full, JSON.stringify({ ...(JSON.parse(await readFile(full, 'utf8')) as object), [key]: value }));
  };
  await patch('tokenizer_config.json', 'model_max_length', limits.modelMaxLength);
  await patch('config.json', 'max_position_embeddings', limits.maxPositions);
  return model;
}

describe('WINDOW_MAX_TOKENS above what the model reads', () => {
  it('is refused when the embedder loads, naming the setting and the model limit', async () => {
    const small = await tinyWithLimit(path.join(dir, 'limits'), 'short-tokenizer', { modelMaxLength: 64 });
    const err: unknown = await loadTransformersEmbedder({ modelId: small.modelId, localModelPath: small.modelPath, allowRemote: false, maxTokens: 128 }).then(
      (e) => {
        opened.push(e);
        return new Error('loaded unexpectedly');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as ConfigError).message;
    expect(message).toContain('WINDOW_MAX_TOKENS is 128');
    expect(message).toContain('reads at most 64 tokens');
    expect(message).toContain("model_max_length");
    expect(message).toContain('WINDOW_MAX_TOKENS=64');

    // At the limit it loads; without a setting the limit applies.
    expect((await load({ modelId: small.modelId, localModelPath: small.modelPath, maxTokens: 64 })).maxTokens).toBe(64);
    expect((await load({ modelId: small.modelId, localModelPath: small.modelPath })).maxTokens).toBe(64);
  });

  it('takes the lower of the tokenizer limit and the position embeddings', async () => {
    const short = await tinyWithLimit(path.join(dir, 'limits'), 'few-positions', { maxPositions: 48 });
    await expect(loadTransformersEmbedder({ modelId: short.modelId, localModelPath: short.modelPath, allowRemote: false, maxTokens: 64 })).rejects.toThrow(
      /reads at most 48 tokens \(its config's max_position_embeddings\)/,
    );
    expect(modelTokenLimit(512, { model_type: 'bert', max_position_embeddings: 512 })).toEqual({ tokens: 512, source: "its tokenizer's model_max_length" });
    // XLM-R (E5 base/large): 514 positions, 512 usable.
    expect(modelTokenLimit(undefined, { model_type: 'xlm-roberta', max_position_embeddings: 514 })?.tokens).toBe(512);
    // A tokenizer without a limit reports a huge number: not a limit.
    expect(modelTokenLimit(1e30, {})).toBeUndefined();
  });

  it('stops start-up (ingest, ask, npm start) instead of falling back to lexical-only', async () => {
    const cacheDir = path.join(dir, 'limit-cache');
    await tinyWithLimit(path.join(cacheDir, 'pergunta-tests'), 'short-e5', { modelMaxLength: 64 });
    const settings = { MODEL_CACHE_DIR: cacheDir, EMBEDDING_MODEL: 'pergunta-tests/short-e5', EMBEDDING_OFFLINE: 'true' };
    const config = loadConfig({ ...settings, WINDOW_MAX_TOKENS: '100' }, path.join(dir, 'no.env'));
    await expect(loadEmbedderOrNull(config, silentLogger())).rejects.toThrow(ConfigError);
    await expect(loadEmbedderOrNull(config, silentLogger())).rejects.toThrow(/WINDOW_MAX_TOKENS is 100.*at most 64 tokens/);

    const fits = await loadEmbedderOrNull(loadConfig({ ...settings, WINDOW_MAX_TOKENS: '64' }, path.join(dir, 'no.env')), silentLogger());
    expect(fits?.maxTokens).toBe(64);
    await (fits as TransformersEmbedder).dispose();
  });
});

describe('loadTransformersEmbedder when the model is unavailable', () => {
  it('rejects quickly for a model that is not on disk when downloads are disabled', async () => {
    const { reason, ms } = await loadFailure({
      modelId: 'nao-existe',
      localModelPath: tiny.modelPath,
      cacheDir: path.join(dir, 'empty-cache'),
      allowRemote: false,
      fetch: offlineFetch,
    });
    expect(reason).toMatch(/not found locally/);
    expect(reason).toContain(path.join(tiny.modelPath, 'nao-existe'));
    expect(ms).toBeLessThan(5_000);
    expect(fetchCalls).toEqual([]);
  });

  it('says "no network" when the hub is unreachable and nothing is cached', async () => {
    const cacheDir = path.join(dir, 'empty-cache');
    fetchCalls.length = 0;
    const { reason, ms } = await loadFailure({
      modelId: 'Xenova/multilingual-e5-small',
      cacheDir,
      allowRemote: true,
      fetch: offlineFetch,
    });
    expect(reason).toMatch(/no network access to the Hugging Face hub/);
    expect(reason).toContain('ENOTFOUND');
    expect(reason).toContain(cacheDir);
    expect(ms).toBeLessThan(5_000);
    expect(fetchCalls.length).toBeGreaterThan(0);
    expect(fetchCalls.every((u) => u.startsWith('https://huggingface.co/Xenova/multilingual-e5-small/'))).toBe(true);
  });

  it('gives up on a hub that never answers once the load makes no progress', async () => {
    const hangingFetch = (_input: string | URL, init?: RequestInit): Promise<Response> =>
      new Promise((_, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const { reason, ms } = await loadFailure({
      modelId: 'Xenova/multilingual-e5-small',
      cacheDir: path.join(dir, 'empty-cache'),
      allowRemote: true,
      loadTimeoutMs: 300,
      fetch: hangingFetch,
    });
    expect(reason).toMatch(/no progress/);
    expect(ms).toBeLessThan(3_000);
  });

  it('loads a cached copy without the network (hub id, allowRemote, offline)', async () => {
    const cacheDir = path.join(dir, 'warm-cache');
    await writeTinyModel(path.join(cacheDir, 'pergunta-tests'), 'tiny-e5');
    fetchCalls.length = 0;
    const cachedEmbedder = await load({
      modelId: 'pergunta-tests/tiny-e5',
      localModelPath: undefined,
      cacheDir,
      allowRemote: true,
    });
    expect(cachedEmbedder.dimensions).toBe(32);
    expect(await cachedEmbedder.embedQuery('modelo')).toHaveLength(32);
    expect(fetchCalls).toEqual([]);
  });

  it('rejects corrupt model files', async () => {
    const corrupt = path.join(dir, 'corrupt');
    await writeTinyModel(corrupt, 'bad-onnx');
    await writeFile(path.join(corrupt, 'bad-onnx', 'onnx', 'model_quantized.onnx'), 'not a protobuf at all');
    const onnx = await loadFailure({ modelId: 'bad-onnx', localModelPath: corrupt, allowRemote: false, fetch: offlineFetch });
    expect(onnx.reason).toMatch(/corrupt|does not run/);

    await writeTinyModel(corrupt, 'bad-config');
    await writeFile(path.join(corrupt, 'bad-config', 'config.json'), '{ "model_type": ');
    const config = await loadFailure({ modelId: 'bad-config', localModelPath: corrupt, allowRemote: false, fetch: offlineFetch });
    expect(config.reason).toMatch(/corrupt/);

    await writeTinyModel(corrupt, 'bad-tokenizer');
    await writeFile(path.join(corrupt, 'bad-tokenizer', 'tokenizer.json'), '{}');
    const tokenizer = await loadFailure({ modelId: 'bad-tokenizer', localModelPath: corrupt, allowRemote: false, fetch: offlineFetch });
    expect(tokenizer.reason.length).toBeGreaterThan(0);

    await writeTinyModel(corrupt, 'no-tokenizer-config');
    await rm(path.join(corrupt, 'no-tokenizer-config', 'tokenizer_config.json'));
    const noConfig = await loadFailure({ modelId: 'no-tokenizer-config', localModelPath: corrupt, allowRemote: false, fetch: offlineFetch });
    expect(noConfig.reason).toMatch(/no tokenizer/);

    // A good model still loads afterwards from a copy of the same directory.
    await cp(path.join(tiny.modelPath, tiny.modelId), path.join(corrupt, 'good'), { recursive: true });
    expect((await load({ modelId: 'good', localModelPath: corrupt })).dimensions).toBe(32);
  });
});
