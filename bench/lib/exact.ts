/** Exact (brute-force) nearest neighbours by inner product: the ground truth for HNSW recall. */

/** Labels of the k rows of `vectors` (n × d, unit rows) with the largest inner product with `query`. */
export function exactTopK(vectors: Float32Array, dimensions: number, query: ArrayLike<number>, k: number): number[] {
  const n = Math.floor(vectors.length / dimensions);
  const bestIds = new Int32Array(k).fill(-1);
  const bestScores = new Float64Array(k).fill(-Infinity);
  const q = Float32Array.from(query);
  for (let i = 0; i < n; i++) {
    const base = i * dimensions;
    let s = 0;
    for (let j = 0; j < dimensions; j++) s += vectors[base + j]! * q[j]!;
    if (s <= bestScores[k - 1]!) continue;
    let pos = k - 1;
    while (pos > 0 && bestScores[pos - 1]! < s) {
      bestScores[pos] = bestScores[pos - 1]!;
      bestIds[pos] = bestIds[pos - 1]!;
      pos--;
    }
    bestScores[pos] = s;
    bestIds[pos] = i;
  }
  return Array.from(bestIds).filter((id) => id >= 0);
}

/** |found ∩ truth| / |truth|. */
export function recallOf(found: readonly number[], truth: readonly number[]): number {
  if (truth.length === 0) return 1;
  const set = new Set(truth);
  let hit = 0;
  for (const id of found) if (set.has(id)) hit++;
  return hit / truth.length;
}

export function meanRecall(results: readonly (readonly number[])[], truths: readonly (readonly number[])[]): number {
  let sum = 0;
  for (let i = 0; i < truths.length; i++) sum += recallOf(results[i] ?? [], truths[i]!);
  return truths.length ? sum / truths.length : Number.NaN;
}
