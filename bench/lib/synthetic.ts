/**
 * One synthetic corpus size, end to end: build (dense, lexical, raw hnswlib-node), save through
 * the real index folder writer, load through `loadCourseIndex`, latencies (dense vs raw
 * interleaved, lexical, hybrid, answer()), recall against exact search with an ef sweep, RSS
 * of each loaded index in a child process, incremental add of one video, and the LangChain peer.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { AnswerService } from '../../src/answer/answerService.js';
import { createLlm, type Llm } from '../../src/answer/llm.js';
import type { ChatMessage } from '../../src/answer/prompt.js';
import { HnswIndex, type HnswParams } from '../../src/dense/hnswIndex.js';
import { loadCourseIndex, type CourseIndex } from '../../src/index/courseIndex.js';
import { FILES, writeGeneration, type IndexedVideo } from '../../src/index/indexFiles.js';
import { ingestCourse } from '../../src/index/ingest.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { createLogger } from '../../src/logger.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import type { WindowSettings } from '../../src/windowing.js';
import { startFakeOpenAI } from '../../test/fakes/fakeOpenAI.js';
import { makeQueries, makeSyntheticCorpus, syntheticVideo, vectorOf, type QuerySet, type SyntheticCorpus, type Vocabulary } from './corpus.js';
import { exactTopK, meanRecall } from './exact.js';
import { FAKE_MODEL, SpaceEmbedder, lectureSrt, stubHash, writeIncrementalCourse } from './ingestBench.js';
import { benchPeer } from './peerLoader.js';
import { gaussian, mulberry32 } from './prng.js';
import { probeRss, type ProbeResult } from './rssProbe.js';
import { cpuTimes, ratio, stealPercent, summarizeSamples, timeAsync, timePairSync, timeSync, timed, type LatencyStats, type LoopLimits } from './stats.js';
import type { HybridRound, IncrementalResult, Maybe, RecallResult, SizeResult } from './types.js';

const { HierarchicalNSW } = hnswlib;

export const EF_SWEEP = [10, 16, 24, 32, 40, 48, 64, 80, 100, 128, 160, 200, 256, 320, 400, 512];

export interface SizeOptions {
  size: number;
  vocabulary: Vocabulary;
  workDir: string;
  hnsw: HnswParams;
  window: WindowSettings;
  k: number;
  candidates: number;
  dimensions: number;
  clusters: number;
  seed: number;
  wordsPerWindow: number;
  /** Distinct queries generated (latency loops cycle through them). */
  queries: number;
  latencyCount: number;
  latencyBudgetMs: number;
  recallQueries: number;
  recallBudgetMs: number;
  answerCount: number;
  answerHttpCount: number;
  rawBuild: boolean;
  rawBuildSkipReason?: string;
  rss: boolean;
  ingest: boolean;
  peer: boolean;
  peerLexicalQueries: number;
  peerLexicalBudgetMs: number;
  log: (msg: string) => void;
}

/** Deterministic fake LLM: answers at once, citing the first excerpt. */
const instantLlm: Llm = {
  model: 'bench-instant',
  async complete(_messages: readonly ChatMessage[]) {
    return { text: 'Segundo o trecho [1], a resposta está na aula indicada.', finishReason: 'stop', truncated: false };
  },
};

async function folderSizes(dir: string): Promise<{ total: number; files: Record<string, number> }> {
  const files: Record<string, number> = {};
  let total = 0;
  for (const f of await readdir(dir)) {
    const size = (await stat(path.join(dir, f))).size;
    files[f] = size;
    total += size;
  }
  return { total, files };
}

export async function benchSize(opts: SizeOptions): Promise<SizeResult> {
  const { size, log, hnsw, k, candidates } = opts;
  const tag = (msg: string) => log(`[${size}] ${msg}`);
  const notes: string[] = [];
  const dir = path.join(opts.workDir, `size-${size}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const indexDir = path.join(dir, 'index');

  tag('generating corpus');
  const corpus = makeSyntheticCorpus(opts.vocabulary, {
    size,
    dimensions: opts.dimensions,
    clusters: opts.clusters,
    seed: opts.seed,
    windowSeconds: opts.window.windowSeconds,
    strideSeconds: opts.window.strideSeconds,
  });
  const queries = makeQueries(corpus, opts.queries, opts.seed + 1000);
  const nq = queries.texts.length;

  // ---- build
  tag('building the dense index (HnswIndex)');
  const denseBuild = await timed(() => {
    const index = HnswIndex.create(corpus.dimensions, size, hnsw);
    for (let i = 0; i < size; i++) index.add(i, vectorOf(corpus, i));
    return index;
  });
  tag(`dense build ${(denseBuild.ms / 1000).toFixed(1)} s; building the lexical index`);
  const lexicalBuild = await timed(() => Bm25Index.build(corpus.windows.map((w) => w.text)));
  tag(`lexical build ${(lexicalBuild.ms / 1000).toFixed(1)} s`);

  let rawBuild: SizeResult['build']['raw'] = { skipped: opts.rawBuildSkipReason ?? 'disabled' };
  if (opts.rawBuild) {
    tag('building raw hnswlib-node (same parameters)');
    const raw = await timed(() => {
      const index = new HierarchicalNSW('ip', corpus.dimensions);
      index.initIndex({ maxElements: size, m: hnsw.m, efConstruction: hnsw.efConstruction, randomSeed: 100 });
      for (let i = 0; i < size; i++) index.addPoint(Array.from(vectorOf(corpus, i)), i);
      return index.getCurrentCount();
    });
    rawBuild = { ms: raw.ms, windowsPerSec: size / (raw.ms / 1000) };
  }

  // ---- save and load through the index folder
  tag('saving the index folder');
  const videos: IndexedVideo[] = corpus.videos.map((v) => ({ ...v, hash: stubHash(v, opts.window), windows: corpus.windowsPerVideo }));
  const lastVideo = videos[videos.length - 1];
  if (lastVideo) lastVideo.windows = size - (videos.length - 1) * corpus.windowsPerVideo;
  const lexical = lexicalBuild.value;
  const builtDense = denseBuild.value;
  const save = await timed(() =>
    writeGeneration(indexDir, {
      manifest: {
        builtAt: new Date().toISOString(),
        source: path.join(dir, 'course'),
        embeddingModel: FAKE_MODEL,
        dimensions: corpus.dimensions,
        window: opts.window,
        hnsw: { m: hnsw.m, efConstruction: hnsw.efConstruction },
        counts: { videos: videos.length, windows: size, vocabulary: lexical.vocabularySize },
        nextCorpusId: size,
        videos,
      },
      windows: corpus.windows,
      lexical: lexical.serialize(),
      writeDense: (file) => builtDense.save(file),
    }),
  );
  const genDir = save.value;
  const disk = await folderSizes(genDir);
  tag('loading it back (loadCourseIndex)');
  const load = await timed(() => loadCourseIndex(indexDir, { embeddingModel: FAKE_MODEL, ef: hnsw.ef }));
  const index = load.value;
  const dense = index.dense;
  if (!dense) throw new Error('the saved index has no dense part');

  const rawLoaded = new HierarchicalNSW('ip', corpus.dimensions);
  await rawLoaded.readIndex(path.join(genDir, FILES.dense), true);
  rawLoaded.setEf(hnsw.ef);

  // ---- latency
  tag('latency: dense vs raw (interleaved), lexical, hybrid, answer()');
  const latencyLimits = { count: opts.latencyCount, budgetMs: opts.latencyBudgetMs };
  const [denseSamples, rawSamples] = timePairSync(
    (i) => dense.search(queries.vectors[i % nq]!, k),
    (i) => rawLoaded.searchKnn(queries.arrays[i % nq]!, k),
    latencyLimits,
  );
  const lexicalStats = summarizeSamples(timeSync((i) => index.lexical.search(queries.texts[i % nq]!, k), latencyLimits));
  const hybrid = hybridLatency(index, queries, k, candidates, latencyLimits);

  const queryVectors = new Map(queries.texts.map((t, i) => [t, queries.vectors[i]!]));
  const embedder = new SpaceEmbedder(corpus.space, queryVectors);
  const answering = new HybridRetriever(index, embedder, { candidates });
  const inProcess = new AnswerService({ retriever: answering, videos: index.videos, llm: instantLlm, k: opts.k });
  const answerInProcess = summarizeSamples(
    await timeAsync((i) => inProcess.answer(queries.texts[i % nq]!), { count: opts.answerCount, budgetMs: opts.latencyBudgetMs }),
  );
  let answerHttp: Maybe<LatencyStats> = { skipped: 'disabled' };
  if (opts.answerHttpCount > 0) {
    const fake = await startFakeOpenAI({ defaultBehavior: { type: 'text', text: 'Segundo o trecho [1], a resposta está na aula indicada.' } });
    try {
      const llm = createLlm({ apiKey: 'sk-bench-not-a-secret', baseURL: fake.baseURL, model: 'fake-model', timeoutMs: 10_000, maxRetries: 0 });
      const http = new AnswerService({ retriever: answering, videos: index.videos, llm, k: opts.k });
      answerHttp = summarizeSamples(
        await timeAsync(
          async (i) => {
            if (i % 50 === 0) fake.reset();
            return http.answer(queries.texts[i % nq]!, { onDelta: () => undefined });
          },
          { count: opts.answerHttpCount, budgetMs: opts.latencyBudgetMs },
        ),
      );
    } finally {
      await fake.close();
    }
  }

  // ---- the same windows and vectors, with topic-specific words (see SyntheticOptions.topicVocabulary)
  tag('topic-vocabulary corpus: lexical build, lexical and hybrid latency');
  const topical = makeSyntheticCorpus(opts.vocabulary, {
    size,
    dimensions: corpus.dimensions,
    clusters: opts.clusters,
    seed: opts.seed,
    windowSeconds: opts.window.windowSeconds,
    strideSeconds: opts.window.strideSeconds,
    topicVocabulary: 'specific',
  });
  const topicalQueries = makeQueries(topical, opts.queries, opts.seed + 1000);
  const ntq = topicalQueries.texts.length;
  const topicalBuild = await timed(() => Bm25Index.build(topical.windows.map((w) => w.text)));
  const topicalLexical = summarizeSamples(timeSync((i) => topicalBuild.value.search(topicalQueries.texts[i % ntq]!, k), latencyLimits));
  const topicalIndex = { ...index, windows: topical.windows, lexical: topicalBuild.value };
  const topicalHybrid = hybridLatency(topicalIndex, topicalQueries, k, candidates, latencyLimits);
  const topicVocabulary: SizeResult['topicVocabulary'] = {
    vocabulary: topicalBuild.value.vocabularySize,
    buildMs: topicalBuild.ms,
    lexical: topicalLexical,
    hybrid: topicalHybrid.hybrid,
    hybridRounds: topicalHybrid.rounds,
  };

  // ---- recall
  tag('recall against exact search');
  const truths: number[][] = [];
  const recallDeadline = Date.now() + opts.recallBudgetMs;
  for (let i = 0; i < Math.min(opts.recallQueries, nq); i++) {
    truths.push(exactTopK(corpus.vectors, corpus.dimensions, queries.vectors[i]!, k));
    if (Date.now() > recallDeadline && truths.length >= 20) break;
  }
  if (truths.length < Math.min(opts.recallQueries, nq)) notes.push(`recall measured on ${truths.length} queries (time budget)`);
  const recallAt = (ef: number) => {
    dense.setEf(ef);
    const found = truths.map((_, i) => dense.search(queries.vectors[i]!, k).map((h) => h.label));
    return meanRecall(found, truths);
  };
  const byEf: RecallResult['byEf'] = [];
  let efFor099: number | null = null;
  for (const ef of EF_SWEEP) {
    const r = recallAt(ef);
    byEf.push({ ef, recall: r });
    if (r >= 0.99 && efFor099 === null) efFor099 = ef;
    if (efFor099 !== null && ef >= Math.max(efFor099, hnsw.ef, 64)) break;
  }
  const atConfiguredEf = byEf.find((e) => e.ef === hnsw.ef)?.recall ?? recallAt(hnsw.ef);
  dense.setEf(hnsw.ef);
  const recall: RecallResult = { k, queries: truths.length, configuredEf: hnsw.ef, atConfiguredEf, byEf, efFor099 };

  // ---- RSS in child processes
  let rss: SizeResult['rss'] = { skipped: 'disabled (--no-rss)' };
  if (opts.rss) {
    tag('RSS after loading each index (child processes)');
    const base = { dimensions: corpus.dimensions, ef: hnsw.ef, liveCount: size, m: hnsw.m, efConstruction: hnsw.efConstruction };
    const results: Partial<Record<'oursIndex' | 'oursDense' | 'oursLexical' | 'raw', ProbeResult>> = {};
    const denseFile = path.join(genDir, FILES.dense);
    try {
      results.oursIndex = await probeRss({ ...base, kind: 'ours-index', path: indexDir });
      results.oursDense = await probeRss({ ...base, kind: 'ours-dense', path: denseFile });
      results.oursLexical = await probeRss({ ...base, kind: 'ours-lexical', path: genDir });
      results.raw = await probeRss({ ...base, kind: 'raw-hnsw', path: denseFile });
      rss = results;
    } catch (err) {
      rss = { skipped: `probe failed: ${(err as Error).message}` };
    }
  }

  // ---- incremental add of one video
  tag('incremental add of one video');
  const addRandom = gaussian(mulberry32(opts.seed + 77));
  const addVideo = (firstLabel: number) => {
    const vectors = Array.from({ length: corpus.windowsPerVideo }, (_, j) =>
      corpus.space.sample((firstLabel + j) % corpus.clusters, addRandom, new Float32Array(corpus.dimensions)),
    );
    const t0 = performance.now();
    vectors.forEach((v, j) => dense.add(firstLabel + j, v));
    return performance.now() - t0;
  };
  const hnswFirstAddMs = addVideo(size + 1_000_000);
  const hnswNextAddMs = addVideo(size + 2_000_000);
  let ingest: IncrementalResult['ingest'] = { skipped: 'disabled (--no-ingest)' };
  if (opts.ingest) {
    tag('incremental add through ingestCourse on the index folder');
    const courseDir = path.join(dir, 'course');
    const added = syntheticVideo(corpus.videos.length);
    await writeIncrementalCourse(courseDir, corpus.videos, added, lectureSrt(opts.vocabulary, 1650, opts.seed + 5));
    const report = await timed(() =>
      ingestCourse({
        sourceDir: courseDir,
        indexDir,
        embedder: new SpaceEmbedder(corpus.space),
        embeddingModel: FAKE_MODEL,
        window: opts.window,
        hnsw,
        logger: createLogger({ level: 'silent' }),
      }),
    );
    const r = report.value;
    ingest = {
      ms: report.ms,
      reusedVideos: r.reusedVideos.length,
      changedVideos: r.changedVideos.length,
      windowsEmbedded: r.embedded,
      windowsAfter: r.windows,
    };
    if (r.reusedVideos.length !== corpus.videos.length) {
      notes.push(`ingest reused ${r.reusedVideos.length} of ${corpus.videos.length} videos: the incremental number is not an incremental add`);
    }
  }
  const incremental: IncrementalResult = {
    windowsAdded: corpus.windowsPerVideo,
    hnswFirstAddMs,
    hnswNextAddMs,
    lexicalRebuildMs: lexicalBuild.ms,
    ingest,
  };

  // ---- peer
  let peer: SizeResult['peer'] = { skipped: 'disabled (--no-peer)' };
  if (opts.peer) {
    tag('LangChain.js peer');
    peer = await benchPeer(corpus, {
      dir,
      queries,
      truths,
      ourEf: hnsw.ef,
      k,
      candidates,
      latencyQueries: opts.latencyCount,
      latencyBudgetMs: opts.latencyBudgetMs,
      lexicalQueries: opts.peerLexicalQueries,
      lexicalBudgetMs: opts.peerLexicalBudgetMs,
      rss: opts.rss,
      log: tag,
    }).catch((err: unknown) => ({ skipped: `peer failed: ${(err as Error).message}` }));
  }

  const denseStats = summarizeSamples(denseSamples);
  const rawStats = summarizeSamples(rawSamples);
  const total = denseBuild.ms + lexicalBuild.ms;
  const result: SizeResult = {
    size,
    videos: corpus.videos.length,
    build: {
      dense: { ms: denseBuild.ms, windowsPerSec: size / (denseBuild.ms / 1000) },
      lexical: { ms: lexicalBuild.ms, windowsPerSec: size / (lexicalBuild.ms / 1000) },
      total: { ms: total, windowsPerSec: size / (total / 1000) },
      raw: rawBuild,
      saveMs: save.ms,
      loadMs: load.ms,
    },
    disk,
    rss,
    latency: {
      k,
      candidates,
      dense: denseStats,
      raw: rawStats,
      lexical: lexicalStats,
      hybrid: hybrid.hybrid,
      hybridRounds: hybrid.rounds,
      answerInProcess,
      answerHttp,
    },
    recall,
    incremental,
    peer,
    topicVocabulary,
    ratios: {},
    notes,
  };
  result.ratios = computeRatios(result);
  return result;
}

/** Rounds of each hybrid loop (see HybridRound). */
const HYBRID_ROUNDS = 3;

/**
 * Hybrid latency as the bot and the CLI run it: dense, BM25 and fusion on the calling thread.
 * HYBRID_ROUNDS rounds; the stats are the round with the median p95.
 */
function hybridLatency(
  index: CourseIndex,
  queries: QuerySet,
  k: number,
  candidates: number,
  limits: LoopLimits,
): { hybrid: LatencyStats; rounds: HybridRound[] } {
  const retriever = new HybridRetriever(index, null, { candidates });
  const n = queries.texts.length;
  const measured: { hybrid: LatencyStats; round: HybridRound }[] = [];
  for (let r = 0; r < HYBRID_ROUNDS; r++) {
    const cpuBefore = cpuTimes();
    const hybrid = summarizeSamples(timeSync((i) => retriever.searchVector(queries.texts[i % n]!, queries.vectors[i % n]!, k), limits));
    measured.push({ hybrid, round: { hybridP95: hybrid.p95, stealPercent: stealPercent(cpuBefore, cpuTimes()) } });
  }
  const median = [...measured].sort((a, b) => a.hybrid.p95 - b.hybrid.p95)[Math.floor(measured.length / 2)]!;
  return { hybrid: median.hybrid, rounds: measured.map((m) => m.round) };
}

function computeRatios(r: SizeResult): Record<string, number | null> {
  const out: Record<string, number | null> = {
    'dense p50 ours/raw': ratio(r.latency.dense.p50, r.latency.raw.p50),
    'dense p95 ours/raw': ratio(r.latency.dense.p95, r.latency.raw.p95),
    'dense mean ours/raw': ratio(r.latency.dense.mean, r.latency.raw.mean),
    'dense CPU p50 ours/raw': ratio(r.latency.dense.cpu?.p50, r.latency.raw.cpu?.p50),
  };
  if ('ms' in r.build.raw) out['dense build ours/raw'] = ratio(r.build.dense.ms, r.build.raw.ms);
  if (!('skipped' in r.peer)) {
    const p = r.peer;
    out['dense build ours/peer'] = ratio(r.build.dense.ms, p.build.ms);
    out['dense p50 ours/peer (peer at its default ef=10)'] = ratio(r.latency.dense.p50, p.denseDefault.p50);
    out[`dense p50 ours/peer (both at ef=${r.recall.configuredEf})`] = ratio(r.latency.dense.p50, p.denseAtOurEf.p50);
    if (!('skipped' in p.bm25)) out['lexical p50 ours/peer'] = ratio(r.latency.lexical.p50, p.bm25.p50);
    if (!('skipped' in p.ensemble)) out['hybrid p50 ours/peer'] = ratio(r.latency.hybrid.p50, p.ensemble.p50);
    if (!('skipped' in p.save)) out['disk ours (whole index)/peer'] = ratio(r.disk.total, p.save.bytes);
    if (!('skipped' in p.rss) && !('skipped' in r.rss) && r.rss.oursIndex) out['RSS delta ours (whole index)/peer'] = ratio(r.rss.oursIndex.deltaRss, p.rss.deltaRss);
  }
  return out;
}

export type { SyntheticCorpus };
