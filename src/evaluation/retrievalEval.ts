/**
 * Retrieval-quality evaluation against a course's labelled questions (`questions.json`):
 *
 *   [{ "q": "...", "video": ["aula02", "aula06"], "range": [[361.7, 435.3], [266.5, 318.7]] },
 *    { "q": "O que é uma LSTM?", "video": [], "range": [] },
 *    { "q": "oq eh overfiting?", "video": ["aula03"], "range": [[51.2, 94.0]], "tags": ["informal"] }]
 *
 * `range[i]` pairs with `video[i]`. A question with no video (`"video": []`) is one the lectures do
 * not cover: the right answer is "not found". `tags` (optional) name subsets reported apart (e.g.
 * `informal`: typed as students type, with abbreviations, no accents, typos).
 *
 * A retrieved window is relevant (a hit) when its video is one of the listed videos and its time
 * span overlaps that video's paired range by more than an instant (windows that merely touch the
 * range at one end do not count). Relevance is binary.
 *
 * Metrics, per answerable question, then averaged over them (k = 10 unless said otherwise):
 * - hit@k: 1 when any of the first k windows is relevant;
 * - MRR@k: 1 / rank of the first relevant window within the first k, else 0;
 * - nDCG@k: Σ rel_i / log2(i + 1) over the first k ranks, divided by the same sum for an ideal
 *   ranking, which puts first every relevant window of the index (at most k of them).
 * Abstention, over the whole set: how many not-covered questions retrieval answers "not found"
 * (recall), and how many answerable ones it wrongly answers "not found". "Not found" is decided
 * as the answer service decides it (`src/retrieval/coverage.ts`): nothing retrieved, or coverage
 * below the thresholds. Each question's coverage and dense similarity are reported, with the
 * abstention figures over a range of thresholds, so that a course can calibrate its own.
 *
 * The metric functions are pure; `evaluateRetrieval` runs the three retrievers (lexical BM25,
 * dense HNSW, hybrid fusion — the same code that answers students) over a loaded index.
 */
import { readFile } from 'node:fs/promises';
import { normalizeQuestion } from '../answer/answerService.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { CourseIndex } from '../index/courseIndex.js';
import { DEFAULT_THRESHOLDS, isCovered, type CoverageEstimate, type CoverageThresholds } from '../retrieval/coverage.js';
import { HybridRetriever } from '../retrieval/hybridRetriever.js';
import { EXIT, UserError } from '../errors.js';

export interface LabelledQuestion {
  q: string;
  /** Videos where the answer is; `range[i]` is the part of `video[i]` that answers it. Empty: not covered. */
  video: string[];
  range: [number, number][];
  /** Subsets the question belongs to (e.g. `informal`), reported apart. */
  tags?: string[];
}

export type QuestionKind = 'answerable' | 'not-covered';

/** `not-covered` when the question lists no video: the lectures do not answer it. */
export function questionKind(question: LabelledQuestion): QuestionKind {
  return question.video.length === 0 ? 'not-covered' : 'answerable';
}

/** The part of a retrieved window the metrics look at. */
export interface WindowSpan {
  videoId: string;
  start: number;
  end: number;
}

export type RetrieverKind = 'lexical' | 'dense' | 'hybrid';
export const RETRIEVER_KINDS: readonly RetrieverKind[] = ['lexical', 'dense', 'hybrid'];

/** Exit 1, like the course files: the command line was right, the questions file needs fixing. */
export class QuestionsFileError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'QuestionsFileError';
  }
}

/** Validates the parsed content of a questions file. */
export function parseQuestions(value: unknown, file = 'questions.json'): LabelledQuestion[] {
  if (!Array.isArray(value)) throw new QuestionsFileError(file, 'expected an array of questions');
  return value.map((entry: unknown, i) => {
    const where = `question ${i + 1}`;
    if (typeof entry !== 'object' || entry === null) throw new QuestionsFileError(file, `${where} is not an object`);
    const { q, video, range, tags } = entry as Record<string, unknown>;
    if (typeof q !== 'string' || q.trim() === '') throw new QuestionsFileError(file, `${where}: "q" must be a non-empty string`);
    if (!Array.isArray(video) || !video.every((v) => typeof v === 'string' && v !== '')) {
      throw new QuestionsFileError(file, `${where}: "video" must be an array of video ids (empty when the lectures do not cover the question)`);
    }
    if (tags !== undefined && (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && t.trim() !== ''))) {
      throw new QuestionsFileError(file, `${where}: "tags" must be an array of non-empty strings`);
    }
    if (!Array.isArray(range) || range.length !== video.length) {
      throw new QuestionsFileError(file, `${where}: "range" must have one [start, end] per video (${video.length})`);
    }
    const ranges = range.map((r: unknown, j): [number, number] => {
      if (!Array.isArray(r) || r.length !== 2 || !r.every((x) => typeof x === 'number' && Number.isFinite(x)) || r[0] > r[1]) {
        throw new QuestionsFileError(file, `${where}: range ${j + 1} must be [start, end] in seconds with start ≤ end`);
      }
      return [r[0] as number, r[1] as number];
    });
    return { q, video: video as string[], range: ranges, ...(tags !== undefined ? { tags: tags as string[] } : {}) };
  });
}

export async function readQuestions(file: string): Promise<LabelledQuestion[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new QuestionsFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new QuestionsFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
  return parseQuestions(value, file);
}

/** True when [start, end] and [from, to] share more than a single instant. */
export function overlaps(span: { start: number; end: number }, [from, to]: readonly [number, number]): boolean {
  return span.start < to && from < span.end;
}

/** Whether a window answers the question: a listed video, overlapping that video's paired range. */
export function isRelevant(window: WindowSpan, question: LabelledQuestion): boolean {
  for (let i = 0; i < question.video.length; i++) {
    if (question.video[i] === window.videoId && overlaps(window, question.range[i]!)) return true;
  }
  return false;
}

/** Relevance of each retrieved window, in rank order. */
export function relevanceFlags(ranked: readonly WindowSpan[], question: LabelledQuestion): boolean[] {
  return ranked.map((w) => isRelevant(w, question));
}

/** How many windows of the index are relevant (the ideal ranking of nDCG). */
export function countRelevant(windows: readonly WindowSpan[], question: LabelledQuestion): number {
  let n = 0;
  for (const w of windows) if (isRelevant(w, question)) n++;
  return n;
}

/** 1-based rank of the first relevant window within the first k, or null. */
export function firstRelevantRank(flags: readonly boolean[], k: number): number | null {
  const limit = Math.min(k, flags.length);
  for (let i = 0; i < limit; i++) if (flags[i]) return i + 1;
  return null;
}

export function hitAtK(flags: readonly boolean[], k: number): number {
  return firstRelevantRank(flags, k) === null ? 0 : 1;
}

export function reciprocalRankAtK(flags: readonly boolean[], k: number): number {
  const rank = firstRelevantRank(flags, k);
  return rank === null ? 0 : 1 / rank;
}

/**
 * Binary-relevance nDCG@k. `relevantTotal` is the number of relevant windows in the whole index;
 * the ideal ranking has min(relevantTotal, k) of them first. 0 when nothing is relevant.
 */
export function ndcgAtK(flags: readonly boolean[], relevantTotal: number, k: number): number {
  let dcg = 0;
  const limit = Math.min(k, flags.length);
  for (let i = 0; i < limit; i++) if (flags[i]) dcg += 1 / Math.log2(i + 2);
  let ideal = 0;
  const idealCount = Math.min(k, Math.max(relevantTotal, 0));
  for (let i = 0; i < idealCount; i++) ideal += 1 / Math.log2(i + 2);
  return ideal === 0 ? 0 : Math.min(1, dcg / ideal);
}

export interface QuestionOutcome {
  /** 0-based position in the questions file. */
  index: number;
  q: string;
  expected: { videoId: string; start: number; end: number }[];
  /** Rank of the first relevant window within the first k, or null (a miss). */
  firstRelevantRank: number | null;
  hit1: number;
  hit5: number;
  hit10: number;
  rr10: number;
  ndcg10: number;
  /** Relevant windows in the index for this question. */
  relevantInIndex: number;
  /** The first retrieved windows, best first. */
  top: { videoId: string; start: number; end: number; relevant: boolean }[];
}

export interface Metrics {
  questions: number;
  hit1: number;
  hit5: number;
  hit10: number;
  mrr10: number;
  ndcg10: number;
}

/** Scores one ranked list (best first) for one question. */
export function scoreQuestion(
  question: LabelledQuestion,
  index: number,
  ranked: readonly WindowSpan[],
  relevantInIndex: number,
  showTop = 3,
): QuestionOutcome {
  const flags = relevanceFlags(ranked, question);
  return {
    index,
    q: question.q,
    expected: question.video.map((videoId, i) => ({ videoId, start: question.range[i]![0], end: question.range[i]![1] })),
    firstRelevantRank: firstRelevantRank(flags, 10),
    hit1: hitAtK(flags, 1),
    hit5: hitAtK(flags, 5),
    hit10: hitAtK(flags, 10),
    rr10: reciprocalRankAtK(flags, 10),
    ndcg10: ndcgAtK(flags, relevantInIndex, 10),
    relevantInIndex,
    top: ranked.slice(0, showTop).map((w, i) => ({ videoId: w.videoId, start: w.start, end: w.end, relevant: flags[i]! })),
  };
}

/** Means over the questions. */
export function aggregate(outcomes: readonly QuestionOutcome[]): Metrics {
  const n = outcomes.length;
  const mean = (pick: (o: QuestionOutcome) => number) => (n === 0 ? 0 : outcomes.reduce((a, o) => a + pick(o), 0) / n);
  return {
    questions: n,
    hit1: mean((o) => o.hit1),
    hit5: mean((o) => o.hit5),
    hit10: mean((o) => o.hit10),
    mrr10: mean((o) => o.rr10),
    ndcg10: mean((o) => o.ndcg10),
  };
}

/** How often a retriever's answer is "not found", against what the labels say it should be. */
export interface AbstentionFigures {
  /** Questions labelled not-covered. */
  notCovered: number;
  /** Of those, answered "not found" (right). */
  notCoveredRefused: number;
  /** notCoveredRefused / notCovered; null when the set has no not-covered question. */
  recall: number | null;
  /** Answerable questions. */
  answerable: number;
  /** Of those, answered "not found" (wrong). */
  wronglyRefused: number;
  /** 0-based positions of the not-covered questions that got an answer anyway. */
  answeredNotCovered: number[];
  /** 0-based positions of the answerable questions answered "not found". */
  refusedAnswerable: number[];
}

/** Abstention figures from each question's label and whether it was answered "not found". */
export function abstentionFigures(questions: readonly LabelledQuestion[], refused: readonly boolean[]): AbstentionFigures {
  const answeredNotCovered: number[] = [];
  const refusedAnswerable: number[] = [];
  let notCovered = 0;
  let notCoveredRefused = 0;
  questions.forEach((q, i) => {
    if (questionKind(q) === 'not-covered') {
      notCovered++;
      if (refused[i]) notCoveredRefused++;
      else answeredNotCovered.push(i);
    } else if (refused[i]) {
      refusedAnswerable.push(i);
    }
  });
  const answerable = questions.length - notCovered;
  return {
    notCovered,
    notCoveredRefused,
    recall: notCovered === 0 ? null : notCoveredRefused / notCovered,
    answerable,
    wronglyRefused: refusedAnswerable.length,
    answeredNotCovered,
    refusedAnswerable,
  };
}

/** One question's evidence, as the abstention decision saw it. */
export interface QuestionEvidence {
  index: number;
  kind: QuestionKind;
  /** Best lexical coverage (0–1). */
  coverage: number;
  /** Best dense cosine similarity, or null. */
  similarity: number | null;
  /** Answered "not found". */
  refused: boolean;
}

/** Abstention at one threshold, for calibration. */
export interface ThresholdRow {
  threshold: number;
  notCoveredRefused: number;
  wronglyRefused: number;
}

export type RetrieverReport =
  | {
      retriever: RetrieverKind;
      status: 'ok';
      name: string;
      /** Over the answerable questions. */
      metrics: Metrics;
      /** Over the answerable questions of each tag. */
      byTag: Record<string, Metrics>;
      misses: QuestionOutcome[];
      questions: QuestionOutcome[];
      /** Null when this retriever decides nothing alone (dense without MIN_DENSE_SIMILARITY). */
      abstention: AbstentionFigures | null;
      evidence: QuestionEvidence[];
      /** Abstention over a range of lexical coverage thresholds (lexical and hybrid) or dense similarity thresholds (dense). */
      calibration: ThresholdRow[];
    }
  | { retriever: RetrieverKind; status: 'skipped'; reason: string };

/** Lexical coverage thresholds the calibration table lists. */
export const COVERAGE_STEPS = [0, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6];
/** Dense similarity thresholds the calibration table lists. */
export const SIMILARITY_STEPS = [0.7, 0.72, 0.74, 0.76, 0.78, 0.8, 0.82, 0.84, 0.86, 0.88, 0.9];

/** Abstention at each threshold: `refused(i, threshold)` says whether question i is answered "not found". */
export function calibrate(
  questions: readonly LabelledQuestion[],
  refusedAt: (i: number, threshold: number) => boolean,
  steps: readonly number[],
): ThresholdRow[] {
  return steps.map((threshold) => {
    let notCoveredRefused = 0;
    let wronglyRefused = 0;
    questions.forEach((q, i) => {
      const refused = refusedAt(i, threshold);
      if (!refused) return;
      if (questionKind(q) === 'not-covered') notCoveredRefused++;
      else wronglyRefused++;
    });
    return { threshold, notCoveredRefused, wronglyRefused };
  });
}

export interface EvaluationReport {
  questionsFile: string | null;
  indexDir: string;
  /** Every question of the file, answerable or not. */
  questions: number;
  answerable: number;
  notCovered: number;
  windows: number;
  videos: number;
  embeddingModel: string | null;
  k: number;
  thresholds: CoverageThresholds;
  /** Answerable questions whose ranges overlap no window of the index (a labelling or ingest problem). */
  unanswerable: number[];
  retrievers: RetrieverReport[];
}

export interface EvaluateOptions {
  index: CourseIndex;
  questions: readonly LabelledQuestion[];
  /** Null: dense and hybrid are skipped with `embedderUnavailableReason`. */
  embedder: Embedder | null;
  embedderUnavailableReason?: string;
  /** Windows retrieved per question (metrics look at the first 10). Default 10. */
  k?: number;
  questionsFile?: string;
  /** When an answer is "not found" (MIN_COVERAGE, MIN_DENSE_SIMILARITY). Default DEFAULT_THRESHOLDS. */
  thresholds?: CoverageThresholds;
}

/** One retriever's answer to one question: ranked windows, its evidence, and whether it answers "not found". */
interface Retrieved {
  ranked: readonly WindowSpan[];
  coverage: number;
  similarity: number | null;
  /** The full estimate, for the calibration (null for dense alone). */
  estimate: CoverageEstimate | null;
  /** Null: this retriever decides nothing. */
  refused: boolean | null;
}

/**
 * Runs every question through the lexical, dense and hybrid retrievers of a loaded index. Lexical
 * and hybrid answer "not found" as the answer service does; dense alone only when
 * `minDenseSimilarity` is set.
 */
export async function evaluateRetrieval(options: EvaluateOptions): Promise<EvaluationReport> {
  const { index, questions, embedder } = options;
  const thresholds = options.thresholds ?? DEFAULT_THRESHOLDS;
  const k = Math.max(10, options.k ?? 10);
  const relevantTotals = questions.map((q) => countRelevant(index.windows, q));
  const normalized = questions.map((q) => normalizeQuestion(q.q));
  const answerable = questions.flatMap((q, i) => (questionKind(q) === 'answerable' ? [i] : []));
  const tags = [...new Set(questions.flatMap((q) => q.tags ?? []))].sort();

  const windowsOfLabels = (labels: readonly number[]): WindowSpan[] =>
    labels.flatMap((label) => {
      const position = index.positions.get(label);
      return position === undefined ? [] : [index.windows[position]!];
    });
  const ok = (retriever: RetrieverKind, name: string, retrieve: (i: number) => Retrieved): RetrieverReport => {
    const results = questions.map((_, i) => retrieve(i));
    const outcomes = answerable.map((i) => scoreQuestion(questions[i]!, i, results[i]!.ranked, relevantTotals[i]!));
    const byTag: Record<string, Metrics> = {};
    for (const tag of tags) byTag[tag] = aggregate(outcomes.filter((o) => questions[o.index]!.tags?.includes(tag)));
    const decides = results.every((r) => r.refused !== null);
    return {
      retriever,
      status: 'ok',
      name,
      metrics: aggregate(outcomes),
      byTag,
      misses: outcomes.filter((o) => o.hit10 === 0),
      questions: outcomes,
      abstention: decides
        ? abstentionFigures(
            questions,
            results.map((r) => r.refused === true),
          )
        : null,
      evidence: results.map((r, i) => ({ index: i, kind: questionKind(questions[i]!), coverage: r.coverage, similarity: r.similarity, refused: r.refused === true })),
      calibration:
        retriever === 'dense'
          ? calibrate(questions, (i, t) => (results[i]!.similarity ?? -Infinity) < t, SIMILARITY_STEPS)
          : calibrate(
              questions,
              (i, t) => {
                const r = results[i]!;
                return r.ranked.length === 0 || !r.estimate || !isCovered(r.estimate, { ...thresholds, minCoverage: t });
              },
              COVERAGE_STEPS,
            ),
    };
  };
  const decided = (segments: readonly WindowSpan[], coverage: CoverageEstimate): Retrieved => ({
    ranked: segments,
    coverage: coverage.lexical,
    similarity: coverage.dense,
    estimate: coverage,
    refused: segments.length === 0 || !isCovered(coverage, thresholds),
  });

  const reports: RetrieverReport[] = [];
  const lexicalOnly = new HybridRetriever(index, null);
  reports.push(
    ok('lexical', 'bm25', (i) => {
      const { segments, coverage } = lexicalOnly.searchWithEvidence(normalized[i]!, null, k);
      return decided(segments, coverage);
    }),
  );

  let denseSkip: string | null = null;
  if (!embedder) denseSkip = options.embedderUnavailableReason ?? 'the embedding model is not available';
  else if (!index.dense) denseSkip = `the index in ${index.dir} was built without an embedding model (lexical-only)`;
  if (denseSkip !== null || !embedder || !index.dense) {
    const reason = denseSkip ?? 'the embedding model is not available';
    reports.push({ retriever: 'dense', status: 'skipped', reason }, { retriever: 'hybrid', status: 'skipped', reason });
  } else {
    const dense = index.dense;
    const vectors: Float32Array[] = [];
    for (const q of normalized) vectors.push(await embedder.embedQuery(q));
    const hybrid = new HybridRetriever(index, embedder);
    const minSimilarity = thresholds.minDenseSimilarity;
    reports.push(
      ok('dense', shortName(embedder.modelId), (i) => {
        const hits = dense.search(vectors[i]!, k);
        const similarity = hits[0]?.score ?? null;
        return {
          ranked: windowsOfLabels(hits.map((h) => h.label)),
          coverage: 0,
          similarity,
          estimate: null,
          refused: minSimilarity === null ? null : similarity === null || similarity < minSimilarity,
        };
      }),
    );
    reports.push(
      ok('hybrid', hybrid.name, (i) => {
        const { segments, coverage } = hybrid.searchWithEvidence(normalized[i]!, vectors[i]!, k);
        return decided(segments, coverage);
      }),
    );
  }

  return {
    questionsFile: options.questionsFile ?? null,
    indexDir: index.dir,
    questions: questions.length,
    answerable: answerable.length,
    notCovered: questions.length - answerable.length,
    windows: index.windows.length,
    videos: index.videos.size,
    embeddingModel: index.dense && embedder ? index.manifest.embeddingModel : null,
    k,
    thresholds,
    unanswerable: answerable.filter((i) => relevantTotals[i] === 0),
    retrievers: reports,
  };
}

function shortName(modelId: string): string {
  return modelId.split('/').pop() ?? modelId;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function fixed(x: number): string {
  return x.toFixed(3);
}

function ratio(x: number | null): string {
  return x === null ? '–' : fixed(x);
}

/** The report as text: the metrics table, the abstention table, then the misses of each retriever. */
export function formatReport(report: EvaluationReport): string {
  const lines: string[] = [];
  lines.push(
    `Retrieval quality: ${report.questions} questions (${report.answerable} answerable, ${report.notCovered} not covered by the lectures), ` +
      `${report.windows} windows of ${report.videos} videos (index ${report.indexDir})`,
  );
  lines.push('');
  lines.push('Answerable questions:');
  lines.push('');
  lines.push('| retriever | questions | hit@1 | hit@5 | hit@10 | MRR@10 | nDCG@10 |');
  lines.push('|---|---|---|---|---|---|---|');
  const row = (label: string, m: Metrics) =>
    `| ${label} | ${m.questions} | ${fixed(m.hit1)} | ${fixed(m.hit5)} | ${fixed(m.hit10)} | ${fixed(m.mrr10)} | ${fixed(m.ndcg10)} |`;
  for (const r of report.retrievers) {
    if (r.status === 'ok') {
      lines.push(row(`${r.retriever} (${r.name})`, r.metrics));
      for (const [tag, m] of Object.entries(r.byTag)) lines.push(row(`${r.retriever}, ${tag}`, m));
    } else {
      lines.push(`| ${r.retriever} | skipped | – | – | – | – | – |`);
    }
  }
  const evaluated = report.retrievers.flatMap((r) => (r.status === 'ok' ? [r] : []));
  if (evaluated.length > 0) {
    const t = report.thresholds;
    lines.push('');
    lines.push(
      `Answered "not found" (abstention), at MIN_COVERAGE=${t.minCoverage}` +
        `${t.minDenseSimilarity === null ? ' (MIN_DENSE_SIMILARITY unset)' : `, MIN_DENSE_SIMILARITY=${t.minDenseSimilarity}`}:`,
    );
    lines.push('');
    lines.push('| retriever | not covered → not found | recall | answerable → not found (wrong) |');
    lines.push('|---|---|---|---|');
    for (const r of evaluated) {
      const a = r.abstention;
      if (!a) lines.push(`| ${r.retriever} (${r.name}) | decides nothing alone (MIN_DENSE_SIMILARITY unset) | – | – |`);
      else lines.push(`| ${r.retriever} (${r.name}) | ${a.notCoveredRefused} of ${a.notCovered} | ${ratio(a.recall)} | ${a.wronglyRefused} of ${a.answerable} |`);
    }
    for (const r of evaluated) {
      const what = r.retriever === 'dense' ? 'MIN_DENSE_SIMILARITY (best cosine similarity)' : 'MIN_COVERAGE (lexical coverage)';
      lines.push('');
      lines.push(
        `Calibration, ${r.retriever}: "not found" below each ${what}` +
          `${r.retriever === 'dense' ? '' : ` when at least a third of the question's content words are in no window`}:`,
      );
      lines.push('');
      lines.push(`| threshold | ${r.calibration.map((c) => String(c.threshold)).join(' | ')} |`);
      lines.push(`|---|${r.calibration.map(() => '---').join('|')}|`);
      lines.push(`| not covered → not found (of ${report.notCovered}) | ${r.calibration.map((c) => String(c.notCoveredRefused)).join(' | ')} |`);
      lines.push(`| answerable → not found (of ${report.answerable}) | ${r.calibration.map((c) => String(c.wronglyRefused)).join(' | ')} |`);
    }
  }
  const skipped = report.retrievers.flatMap((r) => (r.status === 'skipped' ? [r] : []));
  const reasons = [...new Set(skipped.map((r) => r.reason))];
  for (const reason of reasons) {
    lines.push('');
    lines.push(`${skipped.filter((r) => r.reason === reason).map((r) => r.retriever).join(' and ')} skipped: ${reason}`);
  }
  for (const r of evaluated) {
    lines.push('');
    if (r.misses.length === 0) {
      lines.push(`${r.retriever}: no misses (every answerable question has a relevant window in the top 10)`);
    } else {
      lines.push(`${r.retriever}: ${r.misses.length} question(s) with no relevant window in the top 10`);
      for (const miss of r.misses) {
        const expected = miss.expected.map((e) => `${e.videoId} ${clock(e.start)}–${clock(e.end)}`).join(' or ');
        const got = miss.top.map((t) => `${t.videoId} ${clock(t.start)}–${clock(t.end)}`).join(', ') || 'nothing';
        lines.push(`  - #${miss.index + 1} "${miss.q}"`);
        lines.push(`      expected ${expected}; got ${got}`);
      }
    }
    const a = r.abstention;
    if (!a) continue;
    if (a.refusedAnswerable.length > 0) {
      lines.push(`${r.retriever}: answerable but answered "not found": ${a.refusedAnswerable.map((i) => `#${i + 1}`).join(', ')}`);
    }
    if (a.answeredNotCovered.length > 0) {
      lines.push(`${r.retriever}: not covered but answered: ${a.answeredNotCovered.map((i) => `#${i + 1}`).join(', ')}`);
    }
  }
  if (report.unanswerable.length > 0) {
    lines.push('');
    lines.push(
      `warning: question(s) ${report.unanswerable.map((i) => `#${i + 1}`).join(', ')} overlap no window of the index (check the ranges and video ids)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
