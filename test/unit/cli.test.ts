/**
 * The `ingest` and `ask` commands end to end, as child processes on the sample course:
 * stdout carries only the answer (or the JSON object), logs and notices go to stderr.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { currentGeneration } from '../../src/index/indexFiles.js';
import { SAMPLE_COURSE, freshCloneDir, tempDir, writeCourse } from '../helpers/course.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

interface AskJson {
  answer: string;
  kind: string;
  retriever: string;
  embeddingModel: string | null;
  notices: string[];
  references: { videoId: string; title: string; start: number; end: number; url: string; at?: number }[];
  segments: { corpusId: number; videoId: string; start: number; end: number; score: number; text: string }[];
}

let llm: FakeOpenAI;
beforeAll(async () => {
  llm = await startFakeOpenAI();
});
afterAll(async () => {
  await llm.close();
});

describe('npm run ask', () => {
  it('on a fresh clone builds the index from the sample course, then answers with links to the right seconds', async () => {
    // The default settings (INDEX_DIR index/, COURSE_DIR examples/curso-exemplo), in a copy of a clone.
    const clone = await freshCloneDir();
    const env = cliEnv({ MODEL_CACHE_DIR: path.join(clone, 'models') });
    const res = await runCli('src/cli/ask.ts', ['O que é fine-tuning?'], env, clone);
    expect(res.stderr).toContain('building it from');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Resposta extraída das transcrições');
    expect(res.stdout).toMatch(/Aula 6 — Transfer learning e fine-tuning \(\d+:\d\d–\d+:\d\d\): https:\/\/www\.youtube\.com\/watch\?v=\S+&t=\d+/);
    // Notices and logs stay off stdout.
    expect(res.stdout).not.toContain('"level"');
    expect(res.stderr).toContain('aviso: Busca só por palavras-chave');
    expect(res.stderr).toContain('aviso: Sem modelo de linguagem configurado');

    const json = await runCli('src/cli/ask.ts', ['--json', '--k', '10', 'Qual a diferença entre transfer learning e fine tuning?'], env, clone);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as AskJson;
    expect(out.segments).toHaveLength(10);
    expect(out.retriever).toBe('bm25');
    expect(out.segments[0]).toEqual(expect.objectContaining({ corpusId: expect.any(Number), videoId: 'aula06', score: expect.any(Number) }));
    for (const ref of out.references) {
      // The link opens at the moment inside the range that best matches the question.
      const at = ref.at ?? ref.start;
      expect(at).toBeGreaterThanOrEqual(ref.start);
      expect(at).toBeLessThan(ref.end);
      expect(ref.url).toContain(`t=${Math.floor(at)}`);
      expect(ref.end).toBeGreaterThan(ref.start);
    }
    expect(out.references.some((ref) => ref.at !== undefined)).toBe(true);

    // A question the lectures do not cover: "not found", the closest moments under their own heading.
    const lstm = await runCli('src/cli/ask.ts', ['O que é uma LSTM e por que ela lembra de sequências longas?'], env, clone);
    expect(lstm.code).toBe(0);
    expect(lstm.stdout).toContain('Não encontrei esse assunto nas aulas');
    expect(lstm.stdout).toContain('Trechos mais próximos (não respondem à pergunta):');
    expect(lstm.stdout).not.toContain('Trechos das aulas:');
  });

  it('builds nothing for an index folder or course other than the defaults: says how to ingest (exit 1)', async () => {
    const work = await tempDir('cli-');
    const mistyped = path.join(work, 'indx');
    const cases = [
      cliEnv({ INDEX_DIR: mistyped, MODEL_CACHE_DIR: path.join(work, 'm') }), // a mistyped INDEX_DIR, the sample course
      cliEnv({ COURSE_DIR: SAMPLE_COURSE, MODEL_CACHE_DIR: path.join(work, 'm') }), // the default index/, another course setting
    ];
    const clone = await freshCloneDir();
    for (const env of cases) {
      const res = await runCli('src/cli/ask.ts', ['O que é fine-tuning?'], env, clone);
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain('run `npm run ingest -- --source <course folder> --index');
      expect(res.stderr).not.toContain('building it from');
      expect(res.stderr).not.toMatch(/^\s+at /m);
    }
    await expect(readdir(mistyped)).rejects.toThrow(/ENOENT/);
    expect((await readdir(path.join(clone, 'index'))).sort()).toEqual(['.pergunta-index', 'README.md']);
  });

  it('uses hybrid retrieval when the embedding model is in the cache, and the LLM when a key is set', async () => {
    const work = await tempDir('cli-');
    const models = path.join(work, 'models');
    await mkdir(models, { recursive: true });
    const tiny = await writeTinyModel(models);
    llm.setDefault({ type: 'text', text: 'Fine-tuning é ajustar as camadas de um modelo pré-treinado aos seus dados [1].' });
    const env = cliEnv({
      INDEX_DIR: path.join(work, 'index'),
      COURSE_DIR: SAMPLE_COURSE,
      MODEL_CACHE_DIR: models,
      EMBEDDING_MODEL: tiny.modelId,
      OPENAI_API_KEY: 'sk-test-cli-secret-123',
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_MODEL: 'modelo-teste',
    });
    const ingest = await runCli('src/cli/ingest.ts', ['--source', SAMPLE_COURSE], env);
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toBe('');
    expect(ingest.stderr).toContain('"retrieval":"hybrid"');

    const res = await runCli('src/cli/ask.ts', ['--json', 'O que é fine-tuning?'], env);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as AskJson & { model: string };
    expect(out).toMatchObject({ retriever: 'e5+bm25', embeddingModel: 'tiny-e5', kind: 'llm', model: 'modelo-teste', notices: [] });
    expect(out.answer).toContain('[1]');
    const prompt = llm.lastRequest!.messages.map((m) => m.content).join('\n');
    expect(prompt).toContain('O que é fine-tuning?');
    expect(res.stderr).not.toContain('sk-test-cli-secret-123');

    const text = await runCli('src/cli/ask.ts', ['O que é fine-tuning?'], env);
    expect(text.stdout.startsWith('Fine-tuning é ajustar')).toBe(true);
  });

  it('titles with terminal escape sequences reach neither the terminal nor the prompt (new and older indexes)', async () => {
    const HOSTILE = 'Aula 1\x1b[2J — Regressão\x1b]0;pwned\x07\u009b31m\x7f';
    const CONTROL = /(?![\n\t])\p{Cc}/u; // any C0 (but line breaks and tabs), DEL or C1
    const work = await tempDir('cli-');
    const indexDir = path.join(work, 'index');
    const course = await writeCourse({ a1: [HOSTILE, 'regressão linear', 3], a2: ['Aula 2', 'redes neurais', 3] });
    llm.setDefault({ type: 'text', text: 'A regressão linear ajusta uma reta aos dados [1].' });
    const env = cliEnv({ INDEX_DIR: indexDir, MODEL_CACHE_DIR: path.join(work, 'm'), OPENAI_API_KEY: 'sk-test-titles', OPENAI_BASE_URL: llm.baseURL });
    const ingest = await runCli('src/cli/ingest.ts', ['--source', course], env);
    expect(ingest.code, ingest.stderr).toBe(0);

    const askAndCheck = async (which: string) => {
      const res = await runCli('src/cli/ask.ts', ['O que é regressão linear?'], env);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout, which).toContain('Aula 1 — Regressão (');
      expect(res.stdout + res.stderr, which).not.toMatch(CONTROL);
      const prompt = llm.lastRequest!.messages.map((m) => m.content).join('\n');
      expect(prompt, which).toContain('aula="Aula 1 — Regressão"');
      expect(prompt, which).not.toMatch(CONTROL);
    };
    await askAndCheck('new index');

    // An index written before titles were cleaned: its manifest holds the raw title.
    const manifestFile = path.join((await currentGeneration(indexDir))!, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { videos: { id: string; title: string }[] };
    manifest.videos.find((v) => v.id === 'a1')!.title = HOSTILE;
    await writeFile(manifestFile, JSON.stringify(manifest));
    await askAndCheck('older index');
  });

  it('an index built with another model is a clear error, not garbage', async () => {
    const work = await tempDir('cli-');
    const models = path.join(work, 'models');
    await mkdir(models, { recursive: true });
    const tiny = await writeTinyModel(models);
    const base = { INDEX_DIR: path.join(work, 'index'), MODEL_CACHE_DIR: models };
    await runCli('src/cli/ingest.ts', ['--source', SAMPLE_COURSE], cliEnv({ ...base, EMBEDDING_MODEL: tiny.modelId }));
    const res = await runCli('src/cli/ask.ts', ['dropout'], cliEnv({ ...base, EMBEDDING_MODEL: 'Xenova/multilingual-e5-small' }));
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('built with the embedding model tiny-e5');
  });

  it('an empty question gets a pt-BR message and exit code 2', async () => {
    const work = await tempDir('cli-');
    const res = await runCli('src/cli/ask.ts', ['   '], cliEnv({ INDEX_DIR: path.join(work, 'index'), MODEL_CACHE_DIR: path.join(work, 'm') }));
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('Escreva uma pergunta');
  });

  it('invalid settings stop with a message naming the variable', async () => {
    const res = await runCli('src/cli/ask.ts', ['x'], cliEnv({ RETRIEVAL_K: 'muitos' }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('RETRIEVAL_K');
    expect(res.stderr).toContain('.env.example');
  });
});

describe('npm run ingest', () => {
  it('refuses an --index folder that holds other files: exit 2, a clear message, nothing touched', async () => {
    const work = await tempDir('cli-');
    const folder = path.join(work, 'documentos');
    await mkdir(path.join(folder, 'gen-notes'), { recursive: true });
    await writeFile(path.join(folder, 'gen-notes', 'thesis.txt'), 'minha tese');
    await writeFile(path.join(folder, 'gen-2025-report.pdf'), '%PDF-1.4');
    const res = await runCli('src/cli/ingest.ts', ['--source', SAMPLE_COURSE, '--index', folder], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'm') }));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`the index folder ${folder} is not empty and is not a pergunta index`);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    expect((await readdir(folder)).sort()).toEqual(['gen-2025-report.pdf', 'gen-notes']);
    expect(await readdir(path.join(folder, 'gen-notes'))).toEqual(['thesis.txt']);
  });

  it('names a missing course folder and leaves no index', async () => {
    const work = await tempDir('cli-');
    const res = await runCli('src/cli/ingest.ts', ['--source', path.join(work, 'nope')], cliEnv({ INDEX_DIR: path.join(work, 'index') }));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('does not exist');
  });

  it('reports a malformed transcript by file and line and ingests the others (exit 1)', async () => {
    const work = await tempDir('cli-');
    const course = path.join(work, 'course');
    await mkdir(path.join(course, 't'), { recursive: true });
    await writeFile(path.join(course, 't', 'ok.vtt'), 'WEBVTT\n\n00:00.000 --> 00:05.000\nentão o gradiente descendente né\n');
    await writeFile(path.join(course, 't', 'bad.srt'), '1\n00:00:01,000 -> 00:00:02,000\nsem seta\n');
    await writeFile(
      path.join(course, 'videos.json'),
      JSON.stringify([
        { id: 'ok', title: 'Boa', url: 'https://youtu.be/abcdefghijk', transcript: 't/ok.vtt' },
        { id: 'bad', title: 'Ruim', url: 'https://youtu.be/abcdefghijl', transcript: 't/bad.srt' },
      ]),
    );
    const env = cliEnv({ INDEX_DIR: path.join(work, 'index'), MODEL_CACHE_DIR: path.join(work, 'm') });
    const res = await runCli('src/cli/ingest.ts', ['--source', course], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/bad\.srt:2/);
    const ask = await runCli('src/cli/ask.ts', ['--json', 'gradiente'], env);
    expect((JSON.parse(ask.stdout) as AskJson).segments[0]!.videoId).toBe('ok');
  });
});
