/**
 * The BM25 formula (Okapi BM25), in one place. A window's score for a question is the sum, over
 * the question's distinct terms that the window contains, of
 *
 *     idf(docFreq, docCount) × bm25Weight(tf, docLength, avgDocLength, params)
 *
 * The index (`bm25Index.ts`) precomputes `bm25Weight` per posting and the tests' naive reference
 * calls these same functions, so that there is exactly one copy of the formula to get right.
 */

/**
 * Parameters of the BM25 scoring. They are stored in the index (`lexical.json`) when it is built,
 * so changing them means rebuilding the index; the defaults suit transcript windows and changing
 * them is almost never necessary.
 *
 * There is no `d` (the lower bound of BM25+, which keeps a term in a very long document from
 * counting for almost nothing): windows are cut to a bounded duration and token count, so their
 * lengths stay within a narrow range and that case does not arise.
 */
export interface Bm25Params {
  /**
   * Term frequency saturation: how quickly further occurrences of a term in a window stop
   * adding to its score. Recommended values are between 1.2 and 2. Higher values increase the
   * difference in score between windows that repeat a term and windows that mention it once;
   * 0 makes a term count as merely present or absent. Negative values are invalid. Defaults
   * to 1.2.
   */
  k1: number;
  /**
   * Length normalisation: how much a window's length (in analysed tokens) discounts its
   * matches. Recommended values are around 0.75. Higher values favour short windows more (at 1,
   * a term counts in inverse proportion to the window's length relative to the average); 0
   * means length has no effect on scoring. Values outside 0..1 are invalid. Defaults to 0.75.
   */
  b: number;
}

export const DEFAULT_BM25_PARAMS: Readonly<Bm25Params> = Object.freeze({ k1: 1.2, b: 0.75 });

/**
 * How much finding a term tells about a window: high for rare terms, close to 0 for a term
 * in nearly every window. BM25's variant with 1 + … inside the logarithm, so that it is never
 * negative (a term in more than half of the windows still counts a little).
 */
export function idf(docFreq: number, docCount: number): number {
  return Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5));
}

/**
 * A term's contribution to a window's score, before `idf`: grows with the term's frequency
 * `tf` in the window, saturating (k1), and shrinks as the window is longer than average (b).
 */
export function bm25Weight(tf: number, docLength: number, avgDocLength: number, { k1, b }: Bm25Params): number {
  return (tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * docLength) / avgDocLength));
}

/** The mean length that `bm25Weight` compares to: at least 1, so that empty windows never divide by zero. */
export function averageDocLength(totalLength: number, docCount: number): number {
  return docCount > 0 ? Math.max(totalLength / docCount, 1) : 1;
}

/** Throws a RangeError naming the parameter when `params` are outside the ranges documented above. */
export function checkBm25Params({ k1, b }: Bm25Params): void {
  if (!Number.isFinite(k1) || k1 < 0) throw new RangeError(`BM25 parameter k1 must be a number ≥ 0, got ${k1}`);
  if (!Number.isFinite(b) || b < 0 || b > 1) throw new RangeError(`BM25 parameter b must be a number from 0 to 1, got ${b}`);
}
