/**
 * Reciprocal rank fusion: score(d) = Σ over retrievers of 1 / (k + rank(d)). It needs no score
 * calibration between BM25 (unbounded) and cosine similarity (−1..1), which is why it is the
 * usual way to merge lexical and dense rankings. k = 60 is the value from the original paper.
 */
import type { RetrieverName } from '../types.js';

export interface RankedList {
  name: RetrieverName;
  /** Best first. */
  hits: { id: number; score: number }[];
}

export interface FusedHit {
  id: number;
  score: number;
  foundBy: Partial<Record<RetrieverName, { rank: number; score: number }>>;
}

export function reciprocalRankFusion(lists: readonly RankedList[], k: number, rrfK = 60): FusedHit[] {
  const fused = new Map<number, FusedHit>();
  for (const list of lists) {
    list.hits.forEach((hit, i) => {
      const rank = i + 1;
      let entry = fused.get(hit.id);
      if (!entry) {
        entry = { id: hit.id, score: 0, foundBy: {} };
        fused.set(hit.id, entry);
      }
      entry.score += 1 / (rrfK + rank);
      entry.foundBy[list.name] = { rank, score: hit.score };
    });
  }
  // Each entry's best rank is computed once, not in every comparison.
  return [...fused.values()]
    .map((hit) => ({ hit, best: bestRank(hit) }))
    .sort((a, b) => b.hit.score - a.hit.score || a.best - b.best || a.hit.id - b.hit.id)
    .slice(0, k)
    .map((d) => d.hit);
}

function bestRank(hit: FusedHit): number {
  let best = Infinity;
  for (const found of Object.values(hit.foundBy)) if (found.rank < best) best = found.rank;
  return best;
}
