/**
 * Agreement between the TAs' manual labels and a judge label on the C/P/I scale (the automated
 * label, or one metric read as C/P/I: see `summary.ts`): accuracy (observed agreement), Cohen's
 * kappa and the 3×3 confusion matrix.
 */
import type { Label } from '../store/types.js';

export const LABELS: readonly Label[] = ['C', 'P', 'I'];

export interface LabelPair {
  manual: Label;
  automated: Label;
}

export interface Agreement {
  /** Number of answers that have both labels. */
  n: number;
  /** Share of pairs with the same label (0–1), null when n = 0. */
  accuracy: number | null;
  /** Cohen's kappa, null when n = 0. */
  kappa: number | null;
  /** Label order of the matrix rows and columns. */
  labels: Label[];
  /** `matrix[i][j]` = pairs with manual label `labels[i]` and automated label `labels[j]`. */
  matrix: number[][];
}

export function confusionMatrix(pairs: readonly LabelPair[]): number[][] {
  const matrix = LABELS.map(() => LABELS.map(() => 0));
  for (const { manual, automated } of pairs) {
    const i = LABELS.indexOf(manual);
    const j = LABELS.indexOf(automated);
    const row = matrix[i];
    if (row === undefined || j < 0) throw new RangeError(`unknown label pair ${String(manual)}/${String(automated)}`);
    row[j] = (row[j] ?? 0) + 1;
  }
  return matrix;
}

/**
 * Cohen's kappa of a square confusion matrix: (pₒ − pₑ) / (1 − pₑ), where pₒ is the observed
 * agreement and pₑ the agreement expected by chance from the two raters' marginals.
 * Edge cases, so the result is never NaN: an empty matrix gives null; when pₑ = 1 (both raters
 * used one and the same category for every item, so they agree on everything) kappa is 1.
 */
export function cohensKappa(matrix: readonly (readonly number[])[]): number | null {
  const k = matrix.length;
  if (matrix.some((row) => row.length !== k)) throw new RangeError('the confusion matrix must be square');
  let n = 0;
  let diagonal = 0;
  const rowSums = new Array<number>(k).fill(0);
  const colSums = new Array<number>(k).fill(0);
  matrix.forEach((row, i) =>
    row.forEach((count, j) => {
      if (!Number.isFinite(count) || count < 0) throw new RangeError('counts must be finite and non-negative');
      n += count;
      rowSums[i] = (rowSums[i] ?? 0) + count;
      colSums[j] = (colSums[j] ?? 0) + count;
      if (i === j) diagonal += count;
    }),
  );
  if (n === 0) return null;
  const po = diagonal / n;
  let pe = 0;
  for (let i = 0; i < k; i++) pe += ((rowSums[i] ?? 0) / n) * ((colSums[i] ?? 0) / n);
  if (1 - pe < 1e-12) return po >= 1 - 1e-12 ? 1 : 0;
  return (po - pe) / (1 - pe);
}

export function agreement(pairs: readonly LabelPair[]): Agreement {
  const matrix = confusionMatrix(pairs);
  const n = pairs.length;
  const same = pairs.filter((p) => p.manual === p.automated).length;
  return {
    n,
    accuracy: n === 0 ? null : same / n,
    kappa: cohensKappa(matrix),
    labels: [...LABELS],
    matrix,
  };
}
