/**
 * Whether the lectures cover a question, from the evidence retrieval kept: the lexical coverage
 * of the best window (the share of the question's content, weighted by specificity, that one
 * window contains: `src/lexical/resolvedQuery.ts`) and, when the question was embedded, the
 * cosine similarity of the best dense match.
 *
 * A question is covered when its lexical coverage reaches `minCoverage`, or when the dense
 * similarity reaches `minDenseSimilarity` (when set). Low coverage alone is not enough to say
 * "not covered": a question worded differently from the lecture (a paraphrase) also has it. What
 * tells an absent topic apart is that it names things the lectures never say: "not covered"
 * also takes at least UNKNOWN_SHARE of the question's content words being in no window of the
 * course ("LSTM", "word2vec", "árvore"), while a paraphrase mostly uses the course's words.
 * A question with no content word at all ("como funciona?") is not covered. Dense similarity can only add: cosine
 * scales differ from model to model (multilingual E5 puts unrelated pairs around 0.7–0.8), so it
 * decides nothing until a course has measured where its own questions fall (`npm run
 * eval:retrieval` prints both figures for every labelled question).
 */

export interface CoverageThresholds {
  /** Lowest lexical coverage (0–1) that counts as covered; 0 answers every question. */
  minCoverage: number;
  /** Lowest dense cosine similarity that counts as covered whatever the lexical coverage; null: not used. */
  minDenseSimilarity: number | null;
}

/**
 * The default `minCoverage`, calibrated on the sample course's labelled questions (lexical
 * retrieval, 61 answerable and 15 not-covered questions; docs/evaluation.md has the table).
 */
export const DEFAULT_MIN_COVERAGE = 0.35;

/** Share of a question's content words found in no window that, with low coverage, makes it "not covered". */
export const UNKNOWN_SHARE = 1 / 3;

export const DEFAULT_THRESHOLDS: Readonly<CoverageThresholds> = Object.freeze({ minCoverage: DEFAULT_MIN_COVERAGE, minDenseSimilarity: null });

/** The evidence on one question. */
export interface CoverageEstimate {
  /** Best lexical coverage of a window, 0–1. */
  lexical: number;
  /** The question's content words found in that window. */
  matched: string[];
  /** The question's content words found in no window of the course. */
  unknown: string[];
  /** How many content words the question has (framing words such as "explica" left out). */
  contentWords: number;
  /** Best cosine similarity between the question and a window; null when the question was not embedded. */
  dense: number | null;
}

/** True when the evidence says the lectures cover the question. */
export function isCovered(estimate: CoverageEstimate, thresholds: CoverageThresholds): boolean {
  if (estimate.lexical >= thresholds.minCoverage) return true;
  if (thresholds.minDenseSimilarity !== null && estimate.dense !== null && estimate.dense >= thresholds.minDenseSimilarity) return true;
  if (estimate.contentWords === 0) return false;
  return estimate.unknown.length / estimate.contentWords < UNKNOWN_SHARE;
}
