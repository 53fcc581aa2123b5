/**
 * An inverted-index BM25 (Okapi, k1/b) over analysed Portuguese text.
 *
 * Why not a library: the npm BM25 packages either rescan every document per query (LangChain's
 * BM25Retriever: ~400 ms at 10k documents) or keep postings as JS objects that cannot be saved
 * without one giant JSON string. Postings here are typed arrays: a query touches only the
 * documents that contain its terms, and the index saves as a small JSON vocabulary plus one
 * binary file.
 */
import { analyze } from './portugueseAnalyzer.js';

export interface Bm25Params {
  k1: number;
  b: number;
}

export interface LexicalHit {
  /** Position of the document in the order it was added. */
  doc: number;
  score: number;
}

interface SerializedHeader {
  format: 'bm25-v1';
  k1: number;
  b: number;
  docCount: number;
  postingCount: number;
  terms: string[];
}

export class Bm25Index {
  private readonly termIds: Map<string, number>;
  private scratch: Float32Array;
  private readonly touched: Int32Array;

  private constructor(
    readonly params: Bm25Params,
    private readonly terms: string[],
    /** postingsStart[t]..postingsStart[t+1] are term t's entries in docs/tfs. */
    private readonly postingsStart: Uint32Array,
    private readonly postingDocs: Int32Array,
    private readonly postingTfs: Uint16Array,
    private readonly docLengths: Uint32Array,
  ) {
    this.termIds = new Map(terms.map((t, i) => [t, i]));
    this.scratch = new Float32Array(docLengths.length);
    this.touched = new Int32Array(docLengths.length);
  }

  get size(): number {
    return this.docLengths.length;
  }

  get vocabularySize(): number {
    return this.terms.length;
  }

  /** Builds the index from texts; document i is texts[i]. */
  static build(texts: Iterable<string>, params: Bm25Params = { k1: 1.2, b: 0.75 }): Bm25Index {
    const termIds = new Map<string, number>();
    const terms: string[] = [];
    // Per term, interleaved [doc, tf, doc, tf, ...] in plain arrays while building.
    const building: number[][] = [];
    const lengths: number[] = [];
    let doc = 0;
    for (const text of texts) {
      const counts = new Map<number, number>();
      const tokens = analyze(text);
      for (const term of tokens) {
        let id = termIds.get(term);
        if (id === undefined) {
          id = terms.length;
          termIds.set(term, id);
          terms.push(term);
          building.push([]);
        }
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
      for (const [id, tf] of counts) building[id]!.push(doc, Math.min(tf, 65_535));
      lengths.push(tokens.length);
      doc++;
    }
    let total = 0;
    for (const list of building) total += list.length / 2;
    const start = new Uint32Array(terms.length + 1);
    const docs = new Int32Array(total);
    const tfs = new Uint16Array(total);
    let at = 0;
    building.forEach((list, t) => {
      start[t] = at;
      for (let i = 0; i < list.length; i += 2) {
        docs[at] = list[i]!;
        tfs[at] = list[i + 1]!;
        at++;
      }
    });
    start[terms.length] = at;
    return new Bm25Index(params, terms, start, docs, tfs, Uint32Array.from(lengths));
  }

  /**
   * Top `k` documents for the query, best first (equal scores: lower document first). Documents
   * sharing no term are not returned.
   *
   * Short postings are scored exhaustively, term at a time. When the query's postings are long
   * (common words in a large index), a MaxScore-style evaluation gives the same result faster:
   * terms are scored in decreasing order of their best possible contribution, and once the
   * terms left cannot lift a document that has not been seen yet into the top k, they are only
   * looked up (walking or galloping through their doc-sorted postings) for the documents that
   * still can. The final candidates are rescored exactly as the exhaustive path scores them, so
   * both paths return the same documents with the same scores.
   */
  search(query: string, k: number): LexicalHit[] {
    const n = this.docLengths.length;
    if (n === 0 || k <= 0) return [];
    const queryTerms = [...new Set(analyze(query))];
    const ids: number[] = [];
    let postings = 0;
    for (const term of queryTerms) {
      const t = this.termIds.get(term);
      if (t === undefined) continue;
      ids.push(t);
      postings += this.postingsStart[t + 1]! - this.postingsStart[t]!;
    }
    if (ids.length === 0) return [];
    const idfs = ids.map((t) => this.idf(t));
    return ids.length === 1 || postings <= EXHAUSTIVE_POSTINGS
      ? this.searchExhaustive(ids, idfs, k)
      : this.searchMaxScore(ids, idfs, k);
  }

  private idf(t: number): number {
    const n = this.docLengths.length;
    const df = this.postingsStart[t + 1]! - this.postingsStart[t]!;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** k1 · (1 − b + b · |d| / avgdl) per document (float64: the same value as computed inline). */
  private norms(): Float64Array {
    if (!this.normCache) {
      const { k1, b } = this.params;
      const avgdl = this.averageLength();
      const norms = new Float64Array(this.docLengths.length);
      for (let d = 0; d < norms.length; d++) norms[d] = k1 * (1 - b + (b * this.docLengths[d]!) / avgdl);
      this.normCache = norms;
    }
    return this.normCache;
  }
  private normCache: Float64Array | null = null;

  /** Largest tf·(k1+1)/(tf+norm) over a term's postings (its contribution is at most idf × this). */
  private termBound(t: number): number {
    this.boundCache ??= new Float64Array(this.terms.length).fill(-1);
    let bound = this.boundCache[t]!;
    if (bound < 0) {
      const norms = this.norms();
      const k1p1 = this.params.k1 + 1;
      bound = 0;
      for (let p = this.postingsStart[t]!, to = this.postingsStart[t + 1]!; p < to; p++) {
        const tf = this.postingTfs[p]!;
        const w = (tf * k1p1) / (tf + norms[this.postingDocs[p]!]!);
        if (w > bound) bound = w;
      }
      this.boundCache[t] = bound;
    }
    return bound;
  }
  private boundCache: Float64Array | null = null;

  /** Adds every posting of term `t` to the scratch scores; returns the new touched count. */
  private accumulate(t: number, idf: number, touchedCount: number): number {
    const scores = this.scratch;
    const touched = this.touched;
    const docs = this.postingDocs;
    const tfs = this.postingTfs;
    const norms = this.norms();
    const k1p1 = this.params.k1 + 1;
    let count = touchedCount;
    for (let p = this.postingsStart[t]!, to = this.postingsStart[t + 1]!; p < to; p++) {
      const doc = docs[p]!;
      const tf = tfs[p]!;
      const before = scores[doc]!;
      if (before === 0) touched[count++] = doc;
      scores[doc] = before + (idf * (tf * k1p1)) / (tf + norms[doc]!);
    }
    return count;
  }

  private searchExhaustive(ids: readonly number[], idfs: readonly number[], k: number): LexicalHit[] {
    let touchedCount = 0;
    for (let i = 0; i < ids.length; i++) touchedCount = this.accumulate(ids[i]!, idfs[i]!, touchedCount);
    const scores = this.scratch;
    const hits = topK(this.touched, touchedCount, scores, k);
    for (let i = 0; i < touchedCount; i++) scores[this.touched[i]!] = 0;
    return hits;
  }

  /** Term frequency of `doc` in term `t`'s postings (binary search; they are sorted by doc), or 0. */
  private tfOf(t: number, doc: number): number {
    let lo = this.postingsStart[t]!;
    let hi = this.postingsStart[t + 1]! - 1;
    const docs = this.postingDocs;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = docs[mid]!;
      if (d === doc) return this.postingTfs[mid]!;
      if (d < doc) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  private searchMaxScore(ids: readonly number[], idfs: readonly number[], k: number): LexicalHit[] {
    const scores = this.scratch;
    const touched = this.touched;
    const norms = this.norms();
    const k1p1 = this.params.k1 + 1;
    const bounds = ids.map((t, i) => idfs[i]! * this.termBound(t));
    const order = ids.map((_, i) => i).sort((a, c) => bounds[c]! - bounds[a]! || a - c);
    // rest[j]: the most the terms order[j..] can add to any document.
    const rest = new Float64Array(order.length + 1);
    for (let j = order.length - 1; j >= 0; j--) rest[j] = rest[j + 1]! + bounds[order[j]!]!;

    // Phase 1: scan whole postings, best terms first, while an unseen document could still make
    // the top k (it can score at most rest[j]).
    let touchedCount = 0;
    let j = 0;
    let threshold = 0;
    // touched[] is a series of runs, one per scanned term, each in ascending document order.
    const runEnds: number[] = [];
    while (j < order.length) {
      const i = order[j]!;
      touchedCount = this.accumulate(ids[i]!, idfs[i]!, touchedCount);
      runEnds.push(touchedCount);
      j++;
      // No document can score more than the terms scanned so far; only then can the k-th be high enough.
      if (j === order.length || touchedCount < k || rest[0]! - rest[j]! <= rest[j]!) continue;
      threshold = kthLargest(touched, touchedCount, scores, k, this.heap);
      if (rest[j]! < threshold * (1 - SAFETY)) break;
    }

    let candidates: Int32Array;
    if (j === order.length) {
      candidates = touched.subarray(0, touchedCount);
    } else {
      // Phase 2: only documents already seen that can still reach the threshold; the remaining
      // terms are looked up for them, galloping through the doc-sorted postings once per run.
      this.candidateBuffer ??= new Int32Array(this.docLengths.length);
      const buffer = this.candidateBuffer;
      let cut = threshold * (1 - SAFETY) - rest[j]!;
      let count = 0;
      const runs: number[] = [0];
      let from = 0;
      for (const runEnd of runEnds) {
        for (let c = from; c < runEnd; c++) if (scores[touched[c]!]! >= cut) buffer[count++] = touched[c]!;
        runs.push(count);
        from = runEnd;
      }
      const docs = this.postingDocs;
      for (; j < order.length; j++) {
        const i = order[j]!;
        const idf = idfs[i]!;
        const begin = this.postingsStart[ids[i]!]!;
        const end = this.postingsStart[ids[i]! + 1]!;
        // Few postings per candidate: step through them; many: gallop over them.
        const dense = end - begin < 16 * count;
        for (let r = 0; r + 1 < runs.length; r++) {
          let p = begin;
          for (let c = runs[r]!; c < runs[r + 1]! && p < end; c++) {
            const doc = buffer[c]!;
            if (dense) {
              while (p < end && docs[p]! < doc) p++;
            } else if (docs[p]! < doc) {
              // gallop, then binary search in (lo, hi]
              let step = 1;
              let lo = p;
              while (p + step < end && docs[p + step]! < doc) {
                lo = p + step;
                step *= 2;
              }
              let hi = Math.min(p + step, end - 1);
              while (lo < hi) {
                const mid = (lo + hi) >>> 1;
                if (docs[mid]! < doc) lo = mid + 1;
                else hi = mid;
              }
              p = docs[lo]! < doc ? lo + 1 : lo;
            }
            if (p < end && docs[p] === doc) {
              const tf = this.postingTfs[p]!;
              scores[doc] = scores[doc]! + (idf * (tf * k1p1)) / (tf + norms[doc]!);
            }
          }
        }
        if (count > k) threshold = Math.max(threshold, kthLargest(buffer, count, scores, k, this.heap));
        cut = threshold * (1 - SAFETY) - rest[j + 1]!;
        // Drop those that can no longer make it, keeping each run in order.
        let kept = 0;
        for (let r = 0; r + 1 < runs.length; r++) {
          const runFrom = runs[r]!;
          const runTo = runs[r + 1]!;
          runs[r] = kept;
          for (let c = runFrom; c < runTo; c++) if (scores[buffer[c]!]! >= cut) buffer[kept++] = buffer[c]!;
        }
        runs[runs.length - 1] = kept;
        count = kept;
      }
      candidates = buffer.subarray(0, count);
    }

    // Rescore the few that can be in the top k exactly as searchExhaustive does (terms in query
    // order, float32 accumulation), so that both paths agree to the last bit.
    const finalCut = candidates.length > k ? kthLargest(candidates, candidates.length, scores, k, this.heap) * (1 - SAFETY) : -Infinity;
    const exact: LexicalHit[] = [];
    const f32 = new Float32Array(1);
    for (let c = 0; c < candidates.length; c++) {
      const doc = candidates[c]!;
      if (scores[doc]! < finalCut) continue;
      f32[0] = 0;
      for (let i = 0; i < ids.length; i++) {
        const tf = this.tfOf(ids[i]!, doc);
        if (tf > 0) f32[0] = f32[0]! + (idfs[i]! * (tf * k1p1)) / (tf + norms[doc]!);
      }
      exact.push({ doc, score: f32[0]! });
    }
    for (let c = 0; c < touchedCount; c++) scores[touched[c]!] = 0;
    exact.sort(byScoreThenDoc);
    return exact.slice(0, k);
  }
  private readonly heap: Float32Array = new Float32Array(64);
  private candidateBuffer: Int32Array | null = null;

  private avgdlCache = -1;
  private averageLength(): number {
    if (this.avgdlCache < 0) {
      let sum = 0;
      for (const len of this.docLengths) sum += len;
      this.avgdlCache = this.docLengths.length ? Math.max(sum / this.docLengths.length, 1) : 1;
    }
    return this.avgdlCache;
  }

  /** A JSON header (vocabulary and parameters) and one binary body with every array. */
  serialize(): { header: string; body: Buffer } {
    const header: SerializedHeader = {
      format: 'bm25-v1',
      k1: this.params.k1,
      b: this.params.b,
      docCount: this.docLengths.length,
      postingCount: this.postingDocs.length,
      terms: this.terms,
    };
    const parts = [this.postingsStart, this.postingDocs, this.docLengths, this.postingTfs].map((a) =>
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    );
    return { header: JSON.stringify(header), body: Buffer.concat(parts) };
  }

  static deserialize(headerText: string, body: Buffer): Bm25Index {
    const header = JSON.parse(headerText) as SerializedHeader;
    if (header.format !== 'bm25-v1' || !Array.isArray(header.terms)) {
      throw new Error('not a bm25-v1 lexical index');
    }
    const termCount = header.terms.length;
    const sizes = [(termCount + 1) * 4, header.postingCount * 4, header.docCount * 4, header.postingCount * 2];
    const expected = sizes.reduce((a, s) => a + s, 0);
    if (body.byteLength !== expected) {
      throw new Error(`lexical index body has ${body.byteLength} bytes, expected ${expected} (truncated or corrupt)`);
    }
    // Copy into aligned buffers (a Buffer from readFile may not be 4-byte aligned).
    const aligned = new ArrayBuffer(expected);
    new Uint8Array(aligned).set(body);
    let offset = 0;
    const take = (bytes: number) => {
      const at = offset;
      offset += bytes;
      return at;
    };
    const start = new Uint32Array(aligned, take(sizes[0]!), termCount + 1);
    const docs = new Int32Array(aligned, take(sizes[1]!), header.postingCount);
    const lengths = new Uint32Array(aligned, take(sizes[2]!), header.docCount);
    const tfs = new Uint16Array(aligned, take(sizes[3]!), header.postingCount);
    if (start[termCount] !== header.postingCount) throw new Error('lexical index postings table is inconsistent');
    return new Bm25Index({ k1: header.k1, b: header.b }, header.terms, start, docs, tfs, lengths);
  }
}

/** Above this many postings per query, `searchMaxScore` is used (below, scanning everything is as fast). */
const EXHAUSTIVE_POSTINGS = 20_000;
/** Relative margin on pruning decisions, far above float32 rounding (~1e-7 per addition). */
const SAFETY = 1e-4;

function byScoreThenDoc(a: LexicalHit, c: LexicalHit): number {
  return c.score - a.score || a.doc - c.doc;
}

/** The k best of the touched documents: score descending, then lower document first. */
function topK(docs: Int32Array, count: number, scores: Float32Array, k: number): LexicalHit[] {
  const best: LexicalHit[] = [];
  for (let i = 0; i < count; i++) {
    const doc = docs[i]!;
    const score = scores[doc]!;
    if (best.length === k) {
      const last = best[k - 1]!;
      if (score < last.score || (score === last.score && doc > last.doc)) continue;
    }
    let pos = best.length;
    while (pos > 0) {
      const prev = best[pos - 1]!;
      if (prev.score > score || (prev.score === score && prev.doc < doc)) break;
      pos--;
    }
    best.splice(pos, 0, { doc, score });
    if (best.length > k) best.pop();
  }
  return best;
}

/** The k-th largest score among the first `count` documents (count ≥ k), with a size-k min-heap. */
function kthLargest(docs: Int32Array, count: number, scores: Float32Array, k: number, buffer: Float32Array): number {
  const heap = buffer.length >= k ? buffer : new Float32Array(k);
  let size = 0;
  for (let i = 0; i < count; i++) {
    const score = scores[docs[i]!]!;
    if (size < k) {
      // sift up
      let at = size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (heap[parent]! <= score) break;
        heap[at] = heap[parent]!;
        at = parent;
      }
      heap[at] = score;
    } else if (score > heap[0]!) {
      // replace the minimum, sift down
      let at = 0;
      for (;;) {
        const left = 2 * at + 1;
        if (left >= k) break;
        const right = left + 1;
        const child = right < k && heap[right]! < heap[left]! ? right : left;
        if (heap[child]! >= score) break;
        heap[at] = heap[child]!;
        at = child;
      }
      heap[at] = score;
    }
  }
  return size < k ? -Infinity : heap[0]!;
}
