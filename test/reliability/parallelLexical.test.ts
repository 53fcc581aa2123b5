/**
 * The lexical search thread: same hits as searching on the calling thread, a hybrid search that
 * gives the same segments with and without it, and a clean fall-back to the calling thread when
 * the thread cannot take a query or has died.
 */
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WeightedSampler, mulberry32 } from '../../bench/lib/prng.js';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import type { Embedder } from '../../src/embeddings/embedder.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { loadCourseIndex, type CourseIndex } from '../../src/index/courseIndex.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { ParallelLexical } from '../../src/lexical/parallelLexical.js';
import { CONTROL, MAX_K, MAX_PLAN_TERMS, MAX_QUERY_BYTES, Plan, State } from '../../src/lexical/parallelProtocol.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import { SAMPLE_COURSE, ingestWithModel, recordingLogger, silentLogger, tempDir } from '../helpers/course.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const WORDS = (
  'modelo dados treino teste rede camada neurônio peso gradiente erro função ativação perda taxa aprendizado ' +
  'regularização dropout validação cruzada árvore floresta classe rótulo imagem convolução filtro pooling ' +
  'precisão revocação matriz confusão curva limiar vetor embedding atenção token sequência memória lote época'
).split(' ');

function corpus(docs: number, seed: number): string[] {
  const random = mulberry32(seed);
  const sampler = new WeightedSampler(
    WORDS,
    WORDS.map((_, r) => 1 / (r + 1)),
  );
  return Array.from({ length: docs }, () => Array.from({ length: 20 + Math.floor(random() * 40) }, () => sampler.draw(random)).join(' '));
}

const QUESTIONS = [
  'como funciona o gradiente da função de perda?',
  'o que é dropout e regularização',
  'qual a diferença entre precisão e revocação na matriz de confusão',
  'taxa de aprendizado',
  'convolução filtro pooling imagem camada',
  'palavra que não existe',
  'Época, lote e memória: çãõ ü ß 漢字 🙂',
];

/** Hands the query over and lets the thread finish before collecting (end() would otherwise take back a query not yet picked up). */
function askThread(parallel: ParallelLexical, question: string, k: number): ReturnType<ParallelLexical['end']> {
  expect(parallel.begin(question, k)).toBe(true);
  const control = (parallel as unknown as { control: Int32Array }).control;
  const until = Date.now() + 5_000;
  while (Atomics.load(control, CONTROL.state) !== State.Done && Date.now() < until);
  return parallel.end();
}

describe('ParallelLexical', () => {
  const index = Bm25Index.build(corpus(12_000, 7));
  let parallel: ParallelLexical | null = null;

  beforeAll(async () => {
    parallel = await ParallelLexical.start(index, { logger: silentLogger() });
  });
  afterAll(async () => {
    await parallel?.close();
  });

  it('returns exactly the hits of a search on the calling thread', () => {
    expect(parallel).not.toBeNull();
    for (const question of QUESTIONS) {
      for (const k of [1, 10, 30]) {
        expect(askThread(parallel!, question, k)).toEqual(index.search(question, k));
      }
    }
    expect(parallel!.available).toBe(true);
  });

  it('declines what it cannot take, so that the caller searches itself', () => {
    expect(parallel!.begin('taxa de aprendizado', MAX_K + 1)).toBe(false);
    expect(parallel!.begin('taxa de aprendizado', 0)).toBe(false);
    expect(parallel!.begin('gradiente '.repeat(MAX_QUERY_BYTES / 5), 10)).toBe(false);
    expect(parallel!.end()).toBeNull(); // nothing pending
    // Still usable afterwards.
    expect(askThread(parallel!, 'taxa de aprendizado', 5)).toEqual(index.search('taxa de aprendizado', 5));
  });

  it('is given up, with a log line, when the thread dies; the caller then searches itself', async () => {
    const log = recordingLogger();
    const doomed = await ParallelLexical.start(index, { logger: log.logger });
    expect(doomed).not.toBeNull();
    // Simulate a crash of the thread.
    await (doomed as unknown as { worker: Worker }).worker.terminate();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(doomed!.available).toBe(false);
    expect(doomed!.begin('taxa de aprendizado', 5)).toBe(false);
    expect(log.lines.join('\n')).toMatch(/lexical search moves back to the main thread: the search thread exited/);
    await doomed!.close();
  });

  it('is given up when it does not answer in time, and the search is done on the calling thread', async () => {
    const log = recordingLogger();
    const late = await ParallelLexical.start(index, { logger: log.logger, answerTimeoutMs: 0 });
    const control = (late as unknown as { control: Int32Array }).control;
    // One common word with the largest k keeps the thread busy for a while, alone (a one-term
    // query is not split into ranges the caller would take); wait until the thread has picked
    // the query up, then give it no time at all to answer.
    expect(index.plan('modelo', MAX_K)!.exhaustive).toBe(true);
    expect(late!.begin('modelo', MAX_K)).toBe(true);
    const until = Date.now() + 5_000;
    while (Atomics.load(control, CONTROL.state) === State.Request && Date.now() < until);
    expect(Atomics.load(control, CONTROL.state)).toBe(State.Busy);
    expect(late!.end()).toBeNull();
    expect(late!.available).toBe(false);
    expect(late!.begin('taxa de aprendizado', 5)).toBe(false);
    expect(log.lines.join('\n')).toMatch(/lexical search moves back to the main thread: the search thread did not answer within 0 ms/);
    await late!.close();
  });

  it('shares a long query\'s document ranges with the caller, and returns the same hits', () => {
    const long = 'modelo dados treino rede gradiente erro camada';
    expect(index.plan(long, 30)!.exhaustive).toBe(false); // searched with MaxScore, in ranges
    const control = (parallel as unknown as { control: Int32Array }).control;
    const before = parallel!.rangesTaken;
    for (let i = 0; i < 50; i++) {
      expect(parallel!.begin(long, 30)).toBe(true);
      // Collect as soon as the thread has picked the query up: the caller searches the ranges
      // the thread has not started, and merges its top k with the thread's.
      const until = Date.now() + 5_000;
      while (Atomics.load(control, CONTROL.state) === State.Request && Date.now() < until);
      expect(parallel!.end()).toEqual(index.search(long, 30));
    }
    expect(parallel!.rangesTaken).toBeGreaterThan(before);
  });

  it('takes the plan the thread published instead of analysing the query again', () => {
    const long = 'modelo dados treino rede gradiente erro camada';
    const control = (parallel as unknown as { control: Int32Array }).control;
    const want = index.search(long, 30);
    const planning = vi.spyOn(index, 'plan');
    try {
      for (let i = 0; i < 20; i++) {
        expect(parallel!.begin(long, 30)).toBe(true);
        const until = Date.now() + 5_000;
        while (Atomics.load(control, CONTROL.plan) !== Plan.MaxScore && Date.now() < until);
        expect(parallel!.end()).toEqual(want);
      }
      expect(planning).not.toHaveBeenCalled();
    } finally {
      planning.mockRestore();
    }
  });

  it('plans a query itself when its plan is too long to publish', async () => {
    // More distinct terms than the plan slots hold, with enough postings for MaxScore.
    const random = mulberry32(11);
    const words = Array.from({ length: MAX_PLAN_TERMS + 100 }, (_, i) => `palavra${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`);
    const docs = Array.from({ length: 8_000 }, () => Array.from({ length: 6 }, () => words[Math.floor(random() * words.length)]!).join(' '));
    const wide = Bm25Index.build(docs);
    const query = words.join(' ');
    expect(wide.plan(query, 10)!.ids.length).toBeGreaterThan(MAX_PLAN_TERMS);
    expect(wide.plan(query, 10)!.exhaustive).toBe(false);
    const thread = await ParallelLexical.start(wide, { logger: silentLogger() });
    try {
      const control = (thread as unknown as { control: Int32Array }).control;
      for (let i = 0; i < 10; i++) {
        expect(thread!.begin(query, 10)).toBe(true);
        // Collect once the thread is on it: the caller shares its ranges with its own plan.
        const until = Date.now() + 5_000;
        while (Atomics.load(control, CONTROL.state) === State.Request && Date.now() < until);
        expect(control[CONTROL.plan]).toBe(Plan.None);
        expect(thread!.end()).toEqual(wide.search(query, 10));
      }
    } finally {
      await thread?.close();
    }
  });

  it('keeps the lower documents among thousands of exact ties, as the single-threaded search does', async () => {
    const pattern = ['modelo dados treino rede', 'modelo dados', 'treino rede gradiente erro', 'modelo rede rede'];
    const tied = Bm25Index.build(Array.from({ length: 16_000 }, (_, d) => pattern[d % pattern.length]!));
    const threadForTies = await ParallelLexical.start(tied, { logger: silentLogger() });
    try {
      for (const query of ['modelo dados treino rede gradiente', 'dados erro gradiente treino', 'rede modelo']) {
        expect(tied.plan(query, 30)!.exhaustive).toBe(false);
        for (const k of [1, 30, 1024]) {
          // Thousands of tied candidates: the thread rescores them and answers its top k.
          expect(askThread(threadForTies!, query, k)).toEqual(tied.search(query, k));
        }
      }
      expect(threadForTies!.available).toBe(true);
    } finally {
      await threadForTies?.close();
    }
  });

  it('takes back a query the thread has not picked up yet: nothing is lost or answered twice', () => {
    // end() right after begin(): the thread is often still waking up. Either way the caller gets
    // the thread's exact hits or null (and then searches itself), and the thread stays usable.
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const question = QUESTIONS[i % QUESTIONS.length]!;
      expect(parallel!.begin(question, 10)).toBe(true);
      const hits = parallel!.end();
      if (hits !== null) {
        answered++;
        expect(hits).toEqual(index.search(question, 10));
      }
    }
    expect(answered + parallel!.takenBack).toBeGreaterThanOrEqual(200);
    expect(parallel!.available).toBe(true);
    // And it still answers when given the time.
    expect(askThread(parallel!, 'taxa de aprendizado', 5)).toEqual(index.search('taxa de aprendizado', 5));
  });
});

describe('hybrid search with the lexical thread', () => {
  let tiny: TransformersEmbedder;
  let index: CourseIndex;
  let indexDir: string;

  beforeAll(async () => {
    const model = await writeTinyModel(await tempDir('tiny-model-'));
    tiny = await loadTransformersEmbedder({ modelId: model.modelId, localModelPath: model.modelPath, allowRemote: false });
    indexDir = await tempDir('parallel-index-');
    await ingestWithModel(SAMPLE_COURSE, indexDir, tiny, { m: 16, efConstruction: 100, ef: 50 });
    index = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, ef: 50 });
  });
  afterAll(async () => {
    await tiny.dispose();
  });

  it('returns the same segments as the single-threaded search', async () => {
    const parallel = await ParallelLexical.start(index.lexical, { logger: silentLogger() });
    expect(parallel).not.toBeNull();
    const threaded = new HybridRetriever(index, tiny, { parallelLexical: parallel });
    const single = new HybridRetriever(index, tiny);
    expect(threaded.lexicalThread).toBe(true);
    for (const question of [...QUESTIONS, 'O que é fine-tuning?', 'como evitar overfitting']) {
      const vector = await tiny.embedQuery(question);
      expect(threaded.searchVector(question, vector, 5)).toEqual(single.searchVector(question, vector, 5));
    }
    await parallel!.close();
    expect(threaded.lexicalThread).toBe(false);
    // Closed: the lexical half quietly runs on this thread again.
    const vector = await tiny.embedQuery('taxa de aprendizado');
    expect(threaded.searchVector('taxa de aprendizado', vector, 5)).toEqual(single.searchVector('taxa de aprendizado', vector, 5));
  });

  it('collects the hand-over even when the dense search throws, so the thread stays usable', async () => {
    const parallel = await ParallelLexical.start(index.lexical, { logger: silentLogger() });
    const real = index.dense!;
    let fail = true;
    const flaky = {
      search: (vector: ArrayLike<number>, n: number) => {
        if (fail) {
          fail = false;
          throw new Error('dense index failure');
        }
        return real.search(vector, n);
      },
    } as unknown as typeof real;
    const retriever = new HybridRetriever({ ...index, dense: flaky }, tiny, { parallelLexical: parallel });
    const vector = await tiny.embedQuery('taxa de aprendizado');
    expect(() => retriever.searchVector('taxa de aprendizado', vector, 5)).toThrow('dense index failure');
    // Not left waiting on a query nobody collects: the next hand-over is accepted.
    expect(parallel!.begin('taxa de aprendizado', 5)).toBe(true);
    parallel!.end();
    expect(retriever.searchVector('taxa de aprendizado', vector, 5)).toEqual(new HybridRetriever(index, tiny).searchVector('taxa de aprendizado', vector, 5));
    await parallel!.close();
  });

  it('hands the lexical search over before embedding the question, and collects it even when embedding fails', async () => {
    const parallel = await ParallelLexical.start(index.lexical, { logger: silentLogger() });
    const pendingWhileEmbedding: boolean[] = [];
    let failNext = false;
    const watching: Embedder = {
      modelId: tiny.modelId,
      dimensions: tiny.dimensions,
      maxTokens: tiny.maxTokens,
      embedPassages: (texts) => tiny.embedPassages(texts),
      countTokens: (text) => tiny.countTokens(text),
      embedQuery: async (text) => {
        pendingWhileEmbedding.push((parallel as unknown as { pending: boolean }).pending);
        if (failNext) {
          failNext = false;
          throw new Error('embedding failed');
        }
        return tiny.embedQuery(text);
      },
    };
    const threaded = new HybridRetriever(index, watching, { parallelLexical: parallel });
    const single = new HybridRetriever(index, tiny);
    for (const question of ['O que é fine-tuning?', 'como evitar overfitting', ...QUESTIONS]) {
      expect((await threaded.search(question, 5)).segments).toEqual((await single.search(question, 5)).segments);
    }
    // The thread had the query while the question was being embedded.
    expect(pendingWhileEmbedding.every(Boolean)).toBe(true);
    failNext = true;
    await expect(threaded.search('taxa de aprendizado', 5)).rejects.toThrow('embedding failed');
    // The hand-over was collected: the next question is handed over again and answered the same.
    expect((await threaded.search('taxa de aprendizado', 5)).segments).toEqual((await single.search('taxa de aprendizado', 5)).segments);
    expect(pendingWhileEmbedding.at(-1)).toBe(true);
    await parallel!.close();
  });

  it('is started by the core for the bot when LEXICAL_THREAD allows it, and stopped by close()', async () => {
    for (const [setting, expected] of [
      ['on', true],
      ['off', false],
      // The sample course has 55 windows: below LEXICAL_THREAD_MIN_WINDOWS, not worth a thread.
      ['auto', false],
    ] as const) {
      const config = loadConfig({ INDEX_DIR: indexDir, EMBEDDING_MODEL: tiny.modelId, LEXICAL_THREAD: setting }, '/nonexistent/.env');
      const log = recordingLogger();
      const core = await createCore(config, log.logger, { embedder: tiny, parallelLexical: true });
      expect(core.retriever.lexicalThread).toBe(expected);
      expect(log.lines.join('\n')).toContain(`"lexicalThread":${expected}`);
      const answer = await core.answers.answer('O que é fine-tuning?');
      expect(answer.references.length).toBeGreaterThan(0);
      await core.close();
      expect(core.retriever.lexicalThread).toBe(false);
    }
  });
});
