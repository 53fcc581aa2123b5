/**
 * BM25 the slow, obvious way: every document scored for every query term, in float64. The
 * reference that `Bm25Index` (postings, float32 weights, MaxScore pruning) must agree with. It
 * calls the same formula (`src/lexical/bm25.ts`) rather than typing it again; what it checks is
 * everything around the formula: postings, document frequencies, lengths, pruning, ordering.
 */
import { averageDocLength, bm25Weight, DEFAULT_BM25_PARAMS, idf, type Bm25Params } from '../../src/lexical/bm25.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';

/**
 * Top k of `docs` (each already analysed into terms) for the query: score descending, equal
 * scores by lower document first; documents sharing no term are left out.
 */
export function naiveBm25Search(
  docs: readonly (readonly string[])[],
  query: string,
  k: number,
  params: Bm25Params = DEFAULT_BM25_PARAMS,
): { doc: number; score: number }[] {
  const n = docs.length;
  const avgdl = averageDocLength(
    docs.reduce((a, t) => a + t.length, 0),
    n,
  );
  const scores = new Float64Array(n);
  for (const term of new Set(analyze(query))) {
    let df = 0;
    for (const d of docs) if (d.includes(term)) df++;
    if (df === 0) continue;
    const termIdf = idf(df, n);
    docs.forEach((d, doc) => {
      let tf = 0;
      for (const x of d) if (x === term) tf++;
      if (tf > 0) scores[doc] = scores[doc]! + termIdf * bm25Weight(tf, d.length, avgdl, params);
    });
  }
  return [...scores]
    .map((score, doc) => ({ doc, score }))
    .filter((h) => h.score > 0)
    .sort((a, c) => c.score - a.score || a.doc - c.doc)
    .slice(0, k);
}
