/**
 * Smoke test of the benchmark code paths on tiny sizes: every sub-benchmark runs and returns a
 * well-formed result, and HNSW recall against exact search is high. No timing is asserted here
 * (timings belong to `npm run bench`, on a machine that is not running the test suite).
 */
import { describe, expect, it } from 'vitest';
import { runBench } from '../../bench/lib/bench.js';
import { courseVocabulary, makeQueries, makeSyntheticCorpus, pseudoWord, vectorOf } from '../../bench/lib/corpus.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';
import { exactTopK, meanRecall, recallOf } from '../../bench/lib/exact.js';
import { renderReport } from '../../bench/lib/report.js';
import { percentile, summarize, summarizeSamples, timePairSync, type LatencyStats } from '../../bench/lib/stats.js';
import { isSkipped } from '../../bench/lib/types.js';
import { userFacingRows } from '../../bench/lib/userFacing.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { SAMPLE_COURSE } from '../helpers/course.js';
import { hasService } from '../helpers/services.js';

function expectStats(s: LatencyStats): void {
  expect(s.n).toBeGreaterThan(0);
  for (const v of [s.p50, s.p95, s.p99, s.mean, s.max]) expect(Number.isFinite(v) && v >= 0).toBe(true);
  expect(s.p50).toBeLessThanOrEqual(s.p95);
  expect(s.p95).toBeLessThanOrEqual(s.p99);
  expect(s.p99).toBeLessThanOrEqual(s.max);
  expect(s.cpu?.p50).toBeGreaterThanOrEqual(0);
}

describe('benchmark helpers', () => {
  it('percentiles and summaries', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 95)).toBe(95);
    expect(percentile(sorted, 99)).toBe(99);
    expect(summarize([3, 1, 2])).toMatchObject({ n: 3, p50: 2, max: 3, mean: 2 });
    const [a, b] = timePairSync(
      () => 1,
      () => 2,
      { count: 10, budgetMs: 1000, warmup: 0 },
    );
    expect(a.wall).toHaveLength(10);
    expect(b.cpu).toHaveLength(10);
    expect(summarizeSamples(a).cpu?.p50).toBeGreaterThanOrEqual(0);
  });

  it('synthetic corpora are deterministic unit vectors, and exact search finds a vector itself', async () => {
    const vocabulary = await courseVocabulary(SAMPLE_COURSE, 50);
    const one = makeSyntheticCorpus(vocabulary, { size: 60, dimensions: 16, clusters: 4 });
    const two = makeSyntheticCorpus(vocabulary, { size: 60, dimensions: 16, clusters: 4 });
    expect(Array.from(one.vectors)).toEqual(Array.from(two.vectors));
    expect(one.windows.map((w) => w.text)).toEqual(two.windows.map((w) => w.text));
    expect(one.videos).toHaveLength(4);
    const norm = Math.hypot(...vectorOf(one, 7));
    expect(norm).toBeCloseTo(1, 5);
    expect(exactTopK(one.vectors, 16, vectorOf(one, 7), 3)[0]).toBe(7);
    expect(recallOf([1, 2, 3], [3, 4, 1])).toBeCloseTo(2 / 3, 12);
    expect(meanRecall([[1], [2]], [[1], [3]])).toBe(0.5);
    const queries = makeQueries(one, 10);
    expect(new Set(queries.texts).size).toBe(queries.texts.length);
    expect(queries.arrays[0]).toHaveLength(16);

    // The topic-vocabulary variant keeps the same windows, vectors and query vectors; only the
    // topic words change (to each topic's own pseudo-words, which the analyzer keeps apart).
    const topical = makeSyntheticCorpus(vocabulary, { size: 60, dimensions: 16, clusters: 4, topicVocabulary: 'specific' });
    expect(Array.from(topical.vectors)).toEqual(Array.from(one.vectors));
    expect(topical.windows.map((w) => [w.corpusId, w.videoId, w.start])).toEqual(one.windows.map((w) => [w.corpusId, w.videoId, w.start]));
    expect(topical.windows.map((w) => w.text)).not.toEqual(one.windows.map((w) => w.text));
    const topicalQueries = makeQueries(topical, 10);
    expect(topicalQueries.arrays).toEqual(queries.arrays);
    const stems = new Set(Array.from({ length: 800 }, (_, i) => analyze(pseudoWord(i)).join(' ')));
    expect(stems.size).toBe(800);
  });
});

describe('npm run bench code paths (tiny sizes)', () => {
  it('runs every sub-benchmark on 500 windows (and the save/load check on 1500)', { timeout: 240_000 }, async () => {
    const logs: string[] = [];
    const result = await runBench({
      sizes: [500],
      quick: true,
      million: true,
      millionSize: 1500,
      peer: true,
      rss: true,
      ingest: true,
      rawBuild: true,
      rawBuildMax: 10_000,
      realCourse: true,
      e5: true,
      // Run on its own below.
      userFacing: false,
      courseDir: SAMPLE_COURSE,
      keep: false,
      log: (m) => logs.push(m),
      command: 'test',
      tuning: {
        queries: 100,
        latencyCount: 200,
        latencyBudgetMs: 2000,
        recallQueries: 100,
        recallBudgetMs: 10_000,
        answerCount: 20,
        answerHttpCount: 10,
        peerLexicalQueries: 2,
        peerLexicalBudgetMs: 2000,
      },
    });
    expect(logs.length).toBeGreaterThan(5);
    expect(result.sizes).toHaveLength(1);
    const s = result.sizes[0]!;
    expect(s.size).toBe(500);
    expect(s.videos).toBe(34);

    // build / save / load
    for (const b of [s.build.dense, s.build.lexical, s.build.total]) {
      expect(b.ms).toBeGreaterThan(0);
      expect(b.windowsPerSec).toBeGreaterThan(0);
    }
    expect(isSkipped(s.build.raw)).toBe(false);
    expect(s.build.saveMs).toBeGreaterThan(0);
    expect(s.build.loadMs).toBeGreaterThan(0);
    // Every file of the generation folder, its ingest marker included.
    expect(Object.keys(s.disk.files).sort()).toEqual(['.pergunta-generation', 'dense.hnsw', 'lexical.bin', 'lexical.json', 'manifest.json', 'windows.jsonl']);

    // latency
    for (const key of ['dense', 'raw', 'lexical', 'hybrid', 'answerInProcess'] as const) expectStats(s.latency[key]);
    if (isSkipped(s.latency.answerHttp)) throw new Error(`answer over HTTP skipped: ${s.latency.answerHttp.skipped}`);
    expectStats(s.latency.answerHttp);
    expect(s.ratios['dense p50 ours/raw']).toBeGreaterThan(0);
    // Three rounds of the hybrid loop; the one reported is the round with the median p95.
    const rounds = s.latency.hybridRounds!;
    expect(rounds).toHaveLength(3);
    expect(s.latency.hybrid.p95).toBe(rounds.map((r) => r.hybridP95).sort((a, b) => a - b)[1]);
    for (const r of rounds) {
      // Linux reads its CPU steal from /proc/stat; elsewhere it is unknown.
      if (process.platform === 'linux') expect(r.stealPercent).toBeGreaterThanOrEqual(0);
      expect(r.stealPercent ?? 0).toBeLessThanOrEqual(100);
    }
    // The topic-vocabulary variant: its own lexical index (topic pseudo-words add stems) and latencies.
    const topical = s.topicVocabulary!;
    expect(topical.vocabulary).toBeGreaterThan(0);
    for (const stats of [topical.lexical, topical.hybrid]) expectStats(stats);
    expect(topical.hybridRounds).toHaveLength(3);

    // recall
    expect(s.recall.queries).toBe(100);
    expect(s.recall.atConfiguredEf).toBeGreaterThanOrEqual(0.95);
    expect(s.recall.byEf[0]).toMatchObject({ ef: 10 });
    expect(s.recall.byEf.every((e) => e.recall >= 0 && e.recall <= 1)).toBe(true);
    expect(s.recall.efFor099 === null || s.recall.byEf.some((e) => e.ef === s.recall.efFor099 && e.recall >= 0.99)).toBe(true);

    // memory (child processes)
    if (isSkipped(s.rss)) throw new Error(`RSS skipped: ${s.rss.skipped}`);
    for (const probe of [s.rss.oursIndex, s.rss.oursDense, s.rss.oursLexical, s.rss.raw]) {
      expect(probe?.rss).toBeGreaterThan(0);
    }
    expect(s.rss.oursIndex?.elements).toBe(500);
    expect(s.rss.raw?.elements).toBe(500);

    // incremental add: through HnswIndex and through the real ingest path
    expect(s.incremental.windowsAdded).toBe(15);
    expect(s.incremental.hnswFirstAddMs).toBeGreaterThan(0);
    if (isSkipped(s.incremental.ingest)) throw new Error(`ingest skipped: ${s.incremental.ingest.skipped}`);
    expect(s.incremental.ingest).toMatchObject({ reusedVideos: 34, changedVideos: 1, windowsAfter: 500 + s.incremental.ingest.windowsEmbedded });
    expect(s.incremental.ingest.windowsEmbedded).toBeGreaterThanOrEqual(10);
    expect(s.notes).toEqual([]);

    // LangChain peer: bench/peer's own packages, installed on demand. Without them (the test setup
    // says so in one line; REQUIRE_SERVICES=1 fails the run) the peer columns say why they are empty.
    const peerInstalled = hasService('langchainPeer');
    if (peerInstalled) {
      if (isSkipped(s.peer)) throw new Error(`peer skipped: ${s.peer.skipped}`);
      expect(s.peer.recallDefault).toBeGreaterThan(0);
      expect(s.peer.recallAtOurEf).toBeGreaterThanOrEqual(0.95);
      expectStats(s.peer.denseDefault);
      if (isSkipped(s.peer.bm25) || isSkipped(s.peer.ensemble)) throw new Error('LangChain BM25/Ensemble skipped');
      expect(s.peer.bm25.n).toBeLessThanOrEqual(2);
      expect(s.peer.ensemble.cappedAt).toBe(2);
      expect(isSkipped(s.peer.save)).toBe(false);
      if (isSkipped(s.peer.rss)) throw new Error(`peer RSS skipped: ${s.peer.rss.skipped}`);
      expect(s.peer.rss.elements).toBe(500);
      expect(s.ratios['hybrid p50 ours/peer']).toBeGreaterThan(0);
      expect(result.machine.langchainCommunity).toMatch(/^\d+\.\d+\.\d+/);
    } else {
      expect(s.peer).toEqual({ skipped: expect.stringContaining('npm ci --prefix bench/peer') });
    }

    // the real lexical corpus
    if (isSkipped(result.realCourse)) throw new Error('real course skipped');
    expect(result.realCourse.windows).toBeGreaterThan(40);
    expect(result.realCourse.quality.ours.hit5).toBeGreaterThan(0.5);
    expectStats(result.realCourse.lexical);

    // E5: measured only when the model is on disk; otherwise skipped with the reason
    if (isSkipped(result.e5)) expect(result.e5.skipped).toMatch(/not available locally/);

    // save/load check
    if (!result.million || isSkipped(result.million)) throw new Error(`million path failed: ${JSON.stringify(result.million)}`);
    expect(result.million.size).toBe(1500);
    if (isSkipped(result.million.load)) throw new Error(result.million.load.skipped);
    expect(result.million.load.elements).toBe(1500);
    expect(result.million.load.check).toMatch(/lexical search: \d+ hits.*dense search: 10 hits/);

    expect(result.targets.map((t) => t.name)).toEqual(expect.arrayContaining([expect.stringMatching(/recall@10/), expect.stringMatching(/save and load/)]));
    const text = renderReport(result);
    for (const heading of ['### Build, save, load', '### Retrieval latency', '### HNSW recall@10', '### Memory', '### Incremental add', '### Real lexical corpus', '### Targets']) {
      expect(text).toContain(heading);
    }
    if (peerInstalled) expect(text).toContain('### Same workload through LangChain.js');
    expect(text).toMatch(/Hybrid p95 per round: 500 [\d.]+ \/ [\d.]+ \/ [\d.]+ ms/);
  });
});

describe('npm run bench: what users feel (small sizes)', () => {
  it('starts npm start against the fake Discord and LLM, reads its memory, re-ingests one lecture, times the human loop, and prints one table', { timeout: 480_000 }, async () => {
    const logs: string[] = [];
    const result = await runBench({
      sizes: [],
      quick: true,
      million: false,
      millionSize: 0,
      peer: false,
      rss: false,
      ingest: false,
      rawBuild: false,
      rawBuildMax: 0,
      realCourse: false,
      e5: false,
      userFacing: true,
      userFacingSettings: { questions: 5, warmup: 1, largeWindows: 300, followUps: 2, loopCases: 2, loopCrossProcessCases: 2, loopVerified: 500 },
      courseDir: SAMPLE_COURSE,
      keep: false,
      log: (m) => logs.push(m),
      command: 'test',
    });
    const uf = result.userFacing;
    if (!uf || isSkipped(uf)) throw new Error(`user-facing skipped: ${JSON.stringify(uf)}`);

    // First streamed text: every timed question answered, its parts adding up.
    if (isSkipped(uf.firstText)) throw new Error(uf.firstText.skipped);
    const f = uf.firstText;
    expect(f.questions).toBe(5);
    for (const s of [f.overhead, f.toLlmRequest, f.firstTokenToDiscord, f.llmFirstToken]) {
      expect(s.n).toBe(5);
      expect(s.p50).toBeGreaterThanOrEqual(0);
      expect(s.p50).toBeLessThanOrEqual(s.p95);
    }
    expect(f.overhead.mean).toBeCloseTo(f.toLlmRequest.mean + f.firstTokenToDiscord.mean, 6);
    expect(f.llmFirstTokenMs).toBe(40);
    // The bot ran hybrid retrieval with the tiny model.
    expect(f.retriever).toMatch(/\+bm25$/);

    // Follow-ups in a thread: each made exactly one extra LLM call (the condense step).
    if (isSkipped(uf.followUps)) throw new Error(uf.followUps.skipped);
    expect(uf.followUps.followUps).toBe(2);
    expect(uf.followUps.llmCalls).toEqual([2, 2]);
    expect(uf.followUps.total.p50).toBeGreaterThanOrEqual(uf.followUps.overhead.p50);

    // Memory of npm start, read from /proc after the ready line.
    if (isSkipped(uf.memorySample) || isSkipped(uf.memoryLarge)) throw new Error('memory skipped');
    expect(uf.memorySample).toMatchObject({ videos: 7, windows: f.windows });
    expect(uf.memoryLarge.windows).toBeGreaterThan(200);
    for (const m of [uf.memorySample, uf.memoryLarge]) {
      expect(m.rss).toBeGreaterThan(0);
      expect(m.peakRss).toBeGreaterThanOrEqual(m.rss);
    }
    if (isSkipped(uf.baselineRss)) throw new Error(uf.baselineRss.skipped);
    expect(uf.baselineRss.transformers).toBeGreaterThan(uf.baselineRss.node);

    // Re-ingest: true incremental adds, one more lecture each round, the embedder's time taken out;
    // the round reported is the median one.
    if (isSkipped(uf.reingest)) throw new Error(uf.reingest.skipped);
    const g = uf.reingest;
    expect(g.rounds).toHaveLength(3);
    expect(g.rounds[0]!.windowsBefore).toBe(uf.memoryLarge.windows);
    g.rounds.forEach((round, i) => {
      expect(round.reusedVideos).toBe(round.videosBefore);
      expect(round.windowsAfter).toBe(round.windowsBefore + round.windowsEmbedded);
      if (i > 0) expect(round.windowsBefore).toBe(g.rounds[i - 1]!.windowsAfter);
      expect(round.windowsEmbedded).toBeGreaterThan(10);
      expect(round.embedMs).toBeGreaterThan(0);
      expect(round.ms).toBeCloseTo(round.totalMs - round.embedMs, 6);
    });
    expect(g.ms).toBe(g.rounds.map((r) => r.ms).sort((a, b) => a - b)[1]);

    // The human loop: the TA's answer reaches Discord in one process and across two (Redis), and
    // matching against the verified answers is timed.
    if (!uf.humanLoop || isSkipped(uf.humanLoop)) throw new Error(`human loop skipped: ${JSON.stringify(uf.humanLoop)}`);
    if (isSkipped(uf.humanLoop.oneProcess)) throw new Error(uf.humanLoop.oneProcess.skipped);
    expect(uf.humanLoop.oneProcess).toMatchObject({ cases: 2, latency: { n: 2 } });
    expect(uf.humanLoop.oneProcess.latency.p50).toBeGreaterThan(0);
    if (hasService('redis')) {
      if (isSkipped(uf.humanLoop.twoProcesses)) throw new Error(uf.humanLoop.twoProcesses.skipped);
      expect(uf.humanLoop.twoProcesses).toMatchObject({ cases: 2, pollSeconds: 2, latency: { n: 2 } });
    } else {
      expect(uf.humanLoop.twoProcesses).toMatchObject({ skipped: expect.stringContaining('redis') });
    }
    if (isSkipped(uf.humanLoop.matching)) throw new Error(uf.humanLoop.matching.skipped);
    expect(uf.humanLoop.matching).toMatchObject({ verified: 500, dimensions: 384, match: { n: 300 } });

    // One table: what, value, goal, met.
    const rows = userFacingRows(uf);
    expect(rows.map((r) => r.goal)).toEqual([
      '≤ 30 ms p95',
      '≤ 2 LLM calls (the condense step adds at most one)',
      'none set',
      'none set',
      '≤ 2.00 s',
      '≤ 2.00 s p95',
      hasService('redis') ? '≤ polling interval + 2 s p95 (4.00 s)' : 'polling interval + 2 s p95',
      '≤ 5 ms p95',
    ]);
    expect(typeof rows[0]!.met).toBe('boolean');
    expect(rows[1]!.met).toBe(true);
    expect(typeof rows[4]!.met).toBe('boolean');
    const text = renderReport(result);
    const table = text.slice(text.indexOf('### What users feel'));
    expect(table).toContain('| what | value | goal | met |');
    expect(table).toMatch(/\| Bot overhead to the first streamed text.*\| p50 [\d.]+ ms, p95 [\d.]+ ms/);
    expect(table).toMatch(/\| Follow-up in a thread \(Discord\).*\| p50 [\d.]+ ms, p95 [\d.]+ ms .*LLM calls per follow-up: 2 at most/);
    expect(table).toMatch(/\| Memory of npm start, sample course \(\d+ windows, 7 videos\).*\| \d+ MiB/);
    expect(table).toMatch(/\| Re-ingest of one new lecture \(\d+ windows\) into a [\d,]+-window course.*\| [\d.]+ s \(ingestCourse.*median of 3 re-ingests/);
    expect(table).toMatch(/\| Human loop, one process \(SQLite\): the TA's "Enviar" → the answer's reply in Discord \(2 cases.*\| p50 [\d.]+ ms, p95 [\d.]+ ms/);
    expect(table).toMatch(/\| Matching a question against 500 verified answers .*\| p50 [\d.]+ ms, p95 [\d.]+ ms/);
    expect(logs.some((l) => l.includes('what users feel'))).toBe(true);
  });
});

describe('the report benchmark (bench/report.ts)', () => {
  it('generates a store, runs npm run report on it and prints its time and memory', { timeout: 120_000 }, async () => {
    const res = await runCli('bench/report.ts', ['--records', '300', '--segment-chars', '200'], cliEnv(), process.cwd(), 110_000);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('| records in the store | 300 |');
    expect(res.stdout).toMatch(/\| report time \(read, aggregate, group gaps, render, write\) \| [\d.]+ s/);
    expect(res.stdout).toMatch(/\| peak RSS of the report process \| \d+ MiB \|/);
    expect(res.stdout).toMatch(/\| goal \| ≤ 15 s and ≤ 1024 MiB: (met|NOT met) \|/);
  });
});
