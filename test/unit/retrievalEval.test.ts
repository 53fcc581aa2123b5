/**
 * Retrieval-quality evaluation: the metric functions on hand-computed cases, the overlap rule
 * (including questions answered in two videos), the evaluation over a real index (lexical-only,
 * and dense/hybrid with the tiny test model), and `npm run eval:retrieval` as a child process.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import {
  COVERAGE_STEPS,
  QuestionsFileError,
  abstentionFigures,
  aggregate,
  countRelevant,
  evaluateRetrieval,
  firstRelevantRank,
  formatReport,
  hitAtK,
  isRelevant,
  ndcgAtK,
  overlaps,
  parseQuestions,
  questionKind,
  readQuestions,
  reciprocalRankAtK,
  relevanceFlags,
  scoreQuestion,
  type EvaluationReport,
  type LabelledQuestion,
  type RetrieverReport,
} from '../../src/evaluation/retrievalEval.js';
import { loadCourseIndex } from '../../src/index/courseIndex.js';
import { ingestCourse } from '../../src/index/ingest.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const L2 = (x: number) => Math.log2(x);

describe('overlap semantics', () => {
  it('counts a shared stretch of time, not a shared instant', () => {
    expect(overlaps({ start: 100, end: 250 }, [200, 300])).toBe(true); // partial
    expect(overlaps({ start: 100, end: 250 }, [120, 130])).toBe(true); // range inside the window
    expect(overlaps({ start: 150, end: 160 }, [100, 300])).toBe(true); // window inside the range
    expect(overlaps({ start: 100, end: 200 }, [200, 300])).toBe(false); // touching at 200
    expect(overlaps({ start: 300, end: 400 }, [200, 300])).toBe(false); // touching at 300
    expect(overlaps({ start: 0, end: 50 }, [60, 90])).toBe(false);
  });

  const twoVideos: LabelledQuestion = { q: 'Como escolher a taxa de aprendizado?', video: ['aula02', 'aula06'], range: [[361.7, 435.3], [266.5, 318.7]] };

  it('pairs each range with its own video in multi-video questions', () => {
    expect(isRelevant({ videoId: 'aula02', start: 330, end: 480 }, twoVideos)).toBe(true);
    expect(isRelevant({ videoId: 'aula06', start: 220, end: 370 }, twoVideos)).toBe(true);
    // aula06 at aula02's range (and the other way round) is not a hit.
    expect(isRelevant({ videoId: 'aula06', start: 380, end: 420 }, twoVideos)).toBe(false);
    expect(isRelevant({ videoId: 'aula02', start: 270, end: 300 }, twoVideos)).toBe(false);
    expect(isRelevant({ videoId: 'aula03', start: 0, end: 1000 }, twoVideos)).toBe(false);
  });

  it('lets the same video be listed twice with two ranges', () => {
    const q: LabelledQuestion = { q: 'x', video: ['a', 'a'], range: [[0, 10], [100, 110]] };
    expect(isRelevant({ videoId: 'a', start: 105, end: 200 }, q)).toBe(true);
    expect(isRelevant({ videoId: 'a', start: 20, end: 90 }, q)).toBe(false);
  });

  it('counts the relevant windows of an index for the ideal ranking', () => {
    const windows = [
      { videoId: 'aula02', start: 330, end: 480 },
      { videoId: 'aula02', start: 440, end: 590 },
      { videoId: 'aula06', start: 220, end: 370 },
      { videoId: 'aula06', start: 330, end: 480 },
    ];
    expect(countRelevant(windows, twoVideos)).toBe(2);
    expect(relevanceFlags(windows, twoVideos)).toEqual([true, false, true, false]);
  });
});

describe('metrics', () => {
  // Relevant at ranks 2 and 4; three relevant windows exist in the index.
  const flags = [false, true, false, true, false, false, false, false, false, false, true];

  it('hit@k and the rank of the first relevant window', () => {
    expect(firstRelevantRank(flags, 10)).toBe(2);
    expect(hitAtK(flags, 1)).toBe(0);
    expect(hitAtK(flags, 2)).toBe(1);
    expect(hitAtK(flags, 5)).toBe(1);
    expect(hitAtK([], 10)).toBe(0);
    // A relevant window at rank 11 is outside @10.
    const late = [...new Array<boolean>(10).fill(false), true];
    expect(hitAtK(late, 10)).toBe(0);
    expect(firstRelevantRank(late, 10)).toBeNull();
  });

  it('MRR@k', () => {
    expect(reciprocalRankAtK(flags, 10)).toBe(0.5);
    expect(reciprocalRankAtK([true], 10)).toBe(1);
    expect(reciprocalRankAtK([false, false, true], 10)).toBeCloseTo(1 / 3, 12);
    expect(reciprocalRankAtK([false, false, true], 2)).toBe(0);
  });

  it('nDCG@k with binary relevance', () => {
    // DCG = 1/log2(3) + 1/log2(5) (rank 11 is cut); IDCG for 3 relevant = 1 + 1/log2(3) + 1/log2(4).
    const expected = (1 / L2(3) + 1 / L2(5)) / (1 + 1 / L2(3) + 1 / L2(4));
    expect(ndcgAtK(flags, 3, 10)).toBeCloseTo(expected, 12);
    expect(ndcgAtK(flags, 3, 10)).toBeCloseTo(0.49819, 4);
    // Ideal ranking → 1; nothing relevant in the index → 0; the ideal is capped at k.
    expect(ndcgAtK([true, true, false], 2, 10)).toBeCloseTo(1, 12);
    expect(ndcgAtK([false, false], 0, 10)).toBe(0);
    expect(ndcgAtK([true, false], 50, 2)).toBeCloseTo(1 / (1 + 1 / L2(3)), 12);
  });

  it('scores one question and averages over questions', () => {
    const q: LabelledQuestion = { q: 'O que é dropout?', video: ['aula03'], range: [[297.1, 392.3]] };
    const ranked = [
      { videoId: 'aula04', start: 0, end: 150 },
      { videoId: 'aula03', start: 220, end: 370 },
      { videoId: 'aula03', start: 330, end: 480 },
    ];
    const outcome = scoreQuestion(q, 7, ranked, 2);
    expect(outcome).toMatchObject({ index: 7, q: q.q, firstRelevantRank: 2, hit1: 0, hit5: 1, hit10: 1, rr10: 0.5, relevantInIndex: 2 });
    expect(outcome.ndcg10).toBeCloseTo((1 / L2(3) + 1 / L2(4)) / (1 + 1 / L2(3)), 12);
    expect(outcome.expected).toEqual([{ videoId: 'aula03', start: 297.1, end: 392.3 }]);
    expect(outcome.top.map((t) => t.relevant)).toEqual([false, true, true]);

    const miss = scoreQuestion(q, 8, [ranked[0]!], 2);
    const m = aggregate([outcome, miss]);
    expect(m).toMatchObject({ questions: 2, hit1: 0, hit5: 0.5, hit10: 0.5, mrr10: 0.25 });
    expect(m.ndcg10).toBeCloseTo(outcome.ndcg10 / 2, 12);
    expect(aggregate([])).toMatchObject({ questions: 0, hit10: 0 });
  });

  it('abstention: not-covered answered "not found" (recall) and answerable wrongly refused', () => {
    const questions = parseQuestions([
      { q: 'a', video: ['v'], range: [[0, 1]] },
      { q: 'b', video: [], range: [] },
      { q: 'c', video: [], range: [] },
      { q: 'd', video: ['v'], range: [[0, 1]] },
      { q: 'e', video: [], range: [] },
    ]);
    expect(abstentionFigures(questions, [true, true, false, false, true])).toEqual({
      notCovered: 3,
      notCoveredRefused: 2,
      recall: 2 / 3,
      answerable: 2,
      wronglyRefused: 1,
      answeredNotCovered: [2],
      refusedAnswerable: [0],
    });
    expect(abstentionFigures(questions.slice(0, 1), [false]).recall).toBeNull();
  });
});

describe('questions file', () => {
  it('accepts the documented format and reads the sample course', async () => {
    const questions = await readQuestions(path.join(SAMPLE_COURSE, 'questions.json'));
    expect(questions.length).toBeGreaterThanOrEqual(40);
    expect(questions.some((q) => q.video.length === 2)).toBe(true);
    for (const q of questions) expect(q.range).toHaveLength(q.video.length);
  });

  it('holds not-covered and informal questions, reported apart', async () => {
    const questions = await readQuestions(path.join(SAMPLE_COURSE, 'questions.json'));
    const notCovered = questions.filter((q) => questionKind(q) === 'not-covered');
    const informal = questions.filter((q) => q.tags?.includes('informal') && questionKind(q) === 'answerable');
    expect(notCovered.length).toBeGreaterThanOrEqual(12);
    expect(informal.length).toBeGreaterThanOrEqual(12);
    for (const q of notCovered) expect(q.range).toEqual([]);
  });

  it('accepts a question with no video (not covered) and optional tags', () => {
    const parsed = parseQuestions([
      { q: 'O que é uma LSTM?', video: [], range: [] },
      { q: 'oq eh overfiting?', video: ['aula03'], range: [[51.2, 94]], tags: ['informal'] },
    ]);
    expect(parsed.map(questionKind)).toEqual(['not-covered', 'answerable']);
    expect(parsed[0]).toEqual({ q: 'O que é uma LSTM?', video: [], range: [] });
    expect(parsed[1]!.tags).toEqual(['informal']);
    expect(() => parseQuestions([{ q: 'x', video: [], range: [[0, 1]] }])).toThrow(/question 1: "range" must have one \[start, end\] per video \(0\)/);
    expect(() => parseQuestions([{ q: 'x', video: ['a'], range: [[0, 1]], tags: 'informal' }])).toThrow(/question 1: "tags"/);
    expect(() => parseQuestions([{ q: 'x', video: [''], range: [[0, 1]] }])).toThrow(/question 1: "video"/);
  });

  it('refuses malformed entries with a message naming the question', () => {
    expect(() => parseQuestions({})).toThrow(QuestionsFileError);
    expect(() => parseQuestions([{ q: 'x', video: ['a', 'b'], range: [[0, 1]] }])).toThrow(/question 1: "range" must have one/);
    expect(() => parseQuestions([{ q: 'ok', video: ['a'], range: [[0, 1]] }, { q: 'y', video: ['a'], range: [[5, 1]] }])).toThrow(/question 2: range 1/);
    expect(() => parseQuestions([{ q: '', video: ['a'], range: [[0, 1]] }])).toThrow(/"q"/);
  });
});

function ok(report: EvaluationReport, kind: string): Extract<RetrieverReport, { status: 'ok' }> {
  const r = report.retrievers.find((x) => x.retriever === kind);
  if (!r || r.status !== 'ok') throw new Error(`${kind} was not evaluated: ${JSON.stringify(r)}`);
  return r;
}

function expectSaneMetrics(r: Extract<RetrieverReport, { status: 'ok' }>, all: readonly LabelledQuestion[]): void {
  const questions = all.filter((q) => questionKind(q) === 'answerable').length;
  const m = r.metrics;
  expect(m.questions).toBe(questions);
  for (const v of [m.hit1, m.hit5, m.hit10, m.mrr10, m.ndcg10]) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(m.hit1).toBeLessThanOrEqual(m.hit5);
  expect(m.hit5).toBeLessThanOrEqual(m.hit10);
  expect(m.mrr10).toBeGreaterThanOrEqual(m.hit1);
  expect(r.questions).toHaveLength(questions);
  expect(r.misses.every((o) => o.hit10 === 0)).toBe(true);
  expect(r.misses).toHaveLength(r.questions.filter((o) => o.hit10 === 0).length);
}

describe('evaluateRetrieval on the sample course', () => {
  let work: string;
  let questions: LabelledQuestion[];
  beforeAll(async () => {
    work = await tempDir('reval-');
    questions = await readQuestions(path.join(SAMPLE_COURSE, 'questions.json'));
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('lexical-only: BM25 is scored, dense and hybrid are skipped with the reason', async () => {
    const indexDir = path.join(work, 'lexical');
    await runIngest(loadConfig({}, '/nonexistent/.env'), silentLogger(), SAMPLE_COURSE, indexDir, null);
    const index = await loadCourseIndex(indexDir, { ef: 100 });
    const report = await evaluateRetrieval({ index, questions, embedder: null, embedderUnavailableReason: 'no model in this test' });
    expect(report.questions).toBe(questions.length);
    expect(report.answerable + report.notCovered).toBe(questions.length);
    expect(report.unanswerable).toEqual([]);
    const lexical = ok(report, 'lexical');
    expectSaneMetrics(lexical, questions);
    expect(lexical.byTag.informal?.questions).toBe(questions.filter((q) => q.tags?.includes('informal') && q.video.length > 0).length);
    expect(lexical.abstention?.notCovered).toBe(report.notCovered);
    expect(lexical.abstention?.answerable).toBe(report.answerable);
    // The goal of issue #15 on the sample course, lexical-only at the default MIN_COVERAGE.
    expect(lexical.abstention!.recall).toBeGreaterThanOrEqual(0.8);
    expect(lexical.evidence).toHaveLength(questions.length);
    expect(lexical.calibration.map((c) => c.threshold)).toEqual(COVERAGE_STEPS);
    // Refusing more as the threshold rises, never fewer.
    for (let i = 1; i < lexical.calibration.length; i++) {
      expect(lexical.calibration[i]!.notCoveredRefused).toBeGreaterThanOrEqual(lexical.calibration[i - 1]!.notCoveredRefused);
      expect(lexical.calibration[i]!.wronglyRefused).toBeGreaterThanOrEqual(lexical.calibration[i - 1]!.wronglyRefused);
    }
    // The sample questions mostly reuse the lectures' words: BM25 finds most of them.
    expect(lexical.metrics.hit10).toBeGreaterThan(0.7);
    expect(report.retrievers.filter((r) => r.status === 'skipped')).toEqual([
      { retriever: 'dense', status: 'skipped', reason: 'no model in this test' },
      { retriever: 'hybrid', status: 'skipped', reason: 'no model in this test' },
    ]);
    const text = formatReport(report);
    expect(text).toMatch(/\| lexical \(bm25\) \| \d+ \| \d\.\d{3} \| \d\.\d{3} \| \d\.\d{3} \| \d\.\d{3} \| \d\.\d{3} \|/);
    expect(text).toMatch(/\| lexical, informal \| \d+ \| \d\.\d{3} \|/);
    expect(text).toMatch(new RegExp(`\\| lexical \\(bm25\\) \\| \\d+ of ${report.notCovered} \\| \\d\\.\\d{3} \\| \\d+ of ${report.answerable} \\|`));
    expect(text).toContain('dense and hybrid skipped: no model in this test');
    expect(text).toContain('Calibration, lexical: "not found" below each MIN_COVERAGE (lexical coverage) when at least a third');
    // …and, on the sample course, no answerable question refused at the default.
    expect(lexical.abstention!.wronglyRefused).toBeLessThanOrEqual(1);
    expect(text).toMatch(/at MIN_COVERAGE=0\.35 \(MIN_DENSE_SIMILARITY unset\)/);
  });

  it('with an embedding model: dense and hybrid are scored too (tiny test model)', async () => {
    const tiny = await writeTinyModel(path.join(work, 'models'));
    const embedder: TransformersEmbedder = await loadTransformersEmbedder({
      modelId: tiny.modelId,
      localModelPath: tiny.modelPath,
      cacheDir: path.join(work, 'cache'),
      allowRemote: false,
    });
    try {
      const indexDir = path.join(work, 'dense');
      await ingestCourse({
        sourceDir: SAMPLE_COURSE,
        indexDir,
        embedder,
        embeddingModel: tiny.modelId,
        window: { windowSeconds: 150, strideSeconds: 110, maxTokens: 512 },
        hnsw: { m: 16, efConstruction: 200, ef: 100 },
        logger: silentLogger(),
      });
      const index = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, ef: 100 });
      expect(index.dense).not.toBeNull();
      const report = await evaluateRetrieval({ index, questions, embedder });
      expect(report.embeddingModel).toBe(tiny.modelId);
      for (const kind of ['lexical', 'dense', 'hybrid']) expectSaneMetrics(ok(report, kind), questions);
      expect(ok(report, 'dense').name).toBe(tiny.modelId);
      expect(ok(report, 'hybrid').name).toMatch(/\+bm25$/);
      // Not a quality bar for a 32-dimension toy model: only that its rankings are used.
      expect(ok(report, 'dense').metrics.hit10).toBeGreaterThan(0);
      // Dense alone decides nothing until MIN_DENSE_SIMILARITY is set; its similarities are reported.
      expect(ok(report, 'dense').abstention).toBeNull();
      expect(ok(report, 'hybrid').evidence.every((e) => e.similarity !== null)).toBe(true);
      // With a threshold every question reaches, hybrid answers every question that retrieves something.
      const rescued = await evaluateRetrieval({ index, questions, embedder, thresholds: { minCoverage: 0.35, minDenseSimilarity: -1 } });
      expect(ok(rescued, 'hybrid').abstention!.wronglyRefused).toBe(0);
      expect(ok(rescued, 'dense').abstention).not.toBeNull();

      // The same index without the model: dense and hybrid skipped, lexical unchanged.
      const without = await evaluateRetrieval({ index, questions, embedder: null });
      expect(ok(without, 'lexical').metrics).toEqual(ok(report, 'lexical').metrics);
      expect(without.retrievers.find((r) => r.retriever === 'dense')).toMatchObject({ status: 'skipped' });
    } finally {
      await embedder.dispose();
    }
  });
});

interface EvalJson {
  questions: number;
  windows: number;
  retrievers: Array<
    | {
        retriever: string;
        status: 'ok';
        name: string;
        metrics: Record<string, number>;
        misses: unknown[];
        questions: unknown[];
        abstention: { notCovered: number; answerable: number };
      }
    | { retriever: string; status: 'skipped'; reason: string }
  >;
}

describe('npm run eval:retrieval', () => {
  it('--json on the sample course: lexical metrics, dense and hybrid skipped with the reason, JSON alone on stdout', async () => {
    const work = await tempDir('reval-cli-');
    try {
      const res = await runCli('src/cli/evalRetrieval.ts', ['--json'], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') }), process.cwd(), 90_000);
      expect(res.code).toBe(0);
      const out = JSON.parse(res.stdout) as EvalJson;
      expect(out.questions).toBeGreaterThanOrEqual(40);
      expect(out.windows).toBeGreaterThan(0);
      expect(out.retrievers.map((r) => [r.retriever, r.status])).toEqual([
        ['lexical', 'ok'],
        ['dense', 'skipped'],
        ['hybrid', 'skipped'],
      ]);
      const lexical = out.retrievers[0]!;
      if (lexical.status !== 'ok') throw new Error('lexical skipped');
      expect(Object.keys(lexical.metrics).sort()).toEqual(['hit1', 'hit10', 'hit5', 'mrr10', 'ndcg10', 'questions']);
      expect(lexical.abstention).toMatchObject({ notCovered: expect.any(Number), answerable: expect.any(Number) });
      expect(Array.isArray(lexical.misses)).toBe(true);
      const dense = out.retrievers[1]!;
      expect(dense.status === 'skipped' && dense.reason).toMatch(/Xenova\/multilingual-e5-small unavailable/);
      // Logs went to stderr.
      expect(res.stderr).toContain('"level"');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('--index evaluates an existing index; the text report lists the misses', async () => {
    const work = await tempDir('reval-cli-');
    try {
      const indexDir = path.join(work, 'index');
      await runIngest(loadConfig({}, '/nonexistent/.env'), silentLogger(), SAMPLE_COURSE, indexDir, null);
      const env = cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') });
      const res = await runCli('src/cli/evalRetrieval.ts', ['--index', indexDir, '--source', SAMPLE_COURSE], env, process.cwd(), 90_000);
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`(index ${indexDir})`);
      expect(res.stdout).toMatch(/\| lexical \(bm25\) \| \d+ \| \d\.\d{3} \|/);
      expect(res.stdout).toMatch(/\| dense \| skipped \|/);
      expect(res.stdout).toMatch(/lexical: (no misses|\d+ question\(s\) with no relevant window in the top 10)/);
      expect(res.stdout).not.toContain('"level"');

      const missing = await runCli('src/cli/evalRetrieval.ts', ['--source', path.join(work, 'nowhere')], env, process.cwd(), 90_000);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('questions.json');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
