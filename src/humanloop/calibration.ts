/**
 * How the verified-answer thresholds are chosen: pairs of questions (a verified one, one a student
 * might ask, and whether a TA would give the same answer) are run through the matcher, with every
 * verified question of the set loaded at once (so a question can also match the wrong one), and
 * precision and recall are computed at each threshold. The threshold suggested is the one with the
 * best F0.5: a wrong verified answer shown as "verified" costs more than a missed one (the bot
 * then answers from the lectures as usual).
 *
 * A pair counts as a true positive when it should match and the best candidate is its own verified
 * question at or above the threshold; as a false positive when any other question reaches the
 * threshold.
 */
import type { Embedder } from '../embeddings/embedder.js';
import { VerifiedMatcher } from './verifiedMatcher.js';

export interface CalibrationPair {
  verified: string;
  asked: string;
  same: boolean;
}

export interface ThresholdRow {
  threshold: number;
  precision: number | null;
  recall: number;
  f05: number;
  truePositives: number;
  falsePositives: number;
}

export interface MethodCalibration {
  method: 'dense' | 'lexical';
  rows: ThresholdRow[];
  best: ThresholdRow;
  /** Per pair: the best candidate and its similarity. */
  pairs: Array<CalibrationPair & { candidate: string | null; similarity: number | null }>;
}

export function parsePairs(value: unknown): CalibrationPair[] {
  if (!Array.isArray(value)) throw new Error('expected a JSON array of {verified, asked, same}');
  return value.map((item, i) => {
    const p = item as Partial<CalibrationPair>;
    if (typeof p.verified !== 'string' || typeof p.asked !== 'string' || typeof p.same !== 'boolean') {
      throw new Error(`item ${i + 1}: needs "verified" (text), "asked" (text) and "same" (true/false)`);
    }
    return { verified: p.verified, asked: p.asked, same: p.same };
  });
}

function calibrate(method: 'dense' | 'lexical', pairs: CalibrationPair[], scored: Array<{ candidate: string | null; similarity: number | null }>): MethodCalibration {
  const positives = pairs.filter((p) => p.same).length;
  const rows: ThresholdRow[] = [];
  for (let t = 50; t <= 100; t += 1) {
    const threshold = t / 100;
    let tp = 0;
    let fp = 0;
    pairs.forEach((pair, i) => {
      const { candidate, similarity } = scored[i]!;
      if (candidate === null || similarity === null || similarity < threshold) return;
      if (pair.same && candidate === pair.verified) tp++;
      else fp++;
    });
    const precision = tp + fp === 0 ? null : tp / (tp + fp);
    const recall = positives === 0 ? 0 : tp / positives;
    const p = precision ?? 0;
    const f05 = p + recall === 0 ? 0 : (1.25 * p * recall) / (0.25 * p + recall);
    rows.push({ threshold, precision, recall, f05, truePositives: tp, falsePositives: fp });
  }
  const best = rows.reduce((a, b) => (b.f05 > a.f05 + 1e-9 ? b : a));
  return { method, rows, best, pairs: pairs.map((p, i) => ({ ...p, ...scored[i]! })) };
}

/** Lexical calibration, and dense calibration when an embedder is given. */
export async function calibrateThresholds(pairs: CalibrationPair[], embedder: Embedder | null): Promise<MethodCalibration[]> {
  const verified = [...new Set(pairs.map((p) => p.verified))];
  const vectors = new Map<string, Float32Array>();
  if (embedder) for (const q of [...verified, ...pairs.map((p) => p.asked)]) if (!vectors.has(q)) vectors.set(q, await embedder.embedQuery(q));
  const matcher = new VerifiedMatcher({ dense: 1, lexical: 1 }, verified.map((q) => ({ id: q, question: q, vector: vectors.get(q) ?? null })));
  const scores = pairs.map((p) => matcher.scores(p.asked, vectors.get(p.asked) ?? null));
  const out = [calibrate('lexical', pairs, scores.map((s) => ({ candidate: s.lexical?.id ?? null, similarity: s.lexical?.similarity ?? null })))];
  if (embedder) out.push(calibrate('dense', pairs, scores.map((s) => ({ candidate: s.dense?.id ?? null, similarity: s.dense?.similarity ?? null }))));
  return out;
}
