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

/**
 * Everything a second thread needs to search the same index without copying it: the arrays are
 * backed by SharedArrayBuffers (see `ParallelLexical`).
 */
export interface SharedBm25Parts {
  params: Bm25Params;
  terms: string[];
  postingsStart: Uint32Array;
  postingDocs: Int32Array;
  postingTfs: Uint16Array;
  docLengths: Uint32Array;
  weights: Float32Array;
}

export class Bm25Index {
  private readonly termIds: Map<string, number>;
  private scratch: Float32Array;
  private readonly touched: Int32Array;
  /**
   * Per posting, tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl)): the term's contribution to the
   * document's score is idf × this. Computed once at load, so that scoring reads postings in order
   * instead of looking up each document's length.
   */
  private readonly weights: Float32Array;

  private constructor(
    readonly params: Bm25Params,
    private readonly terms: string[],
    /** postingsStart[t]..postingsStart[t+1] are term t's entries in docs/tfs. */
    private readonly postingsStart: Uint32Array,
    private readonly postingDocs: Int32Array,
    private readonly postingTfs: Uint16Array,
    private readonly docLengths: Uint32Array,
    weights?: Float32Array,
  ) {
    this.termIds = new Map(terms.map((t, i) => [t, i]));
    this.weights = weights ?? postingWeights(postingsStart, postingDocs, postingTfs, docLengths, params);
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
   * (common words in a large index), MaxScore gives the same result faster: see
   * `searchMaxScore`. Its survivors are rescored exactly as the exhaustive path scores them, so
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

  /** Largest weight in a term's postings (its contribution is at most idf × this). */
  private termBound(t: number): number {
    this.boundCache ??= new Float64Array(this.terms.length).fill(-1);
    let bound = this.boundCache[t]!;
    if (bound < 0) {
      bound = 0;
      for (let p = this.postingsStart[t]!, to = this.postingsStart[t + 1]!; p < to; p++) if (this.weights[p]! > bound) bound = this.weights[p]!;
      this.boundCache[t] = bound;
    }
    return bound;
  }
  private boundCache: Float64Array | null = null;

  /** The k-th largest weight in term t's postings (0 if it has fewer than k); cached per term and k. */
  private kthWeight(t: number, k: number): number {
    if (k >= 4096) return 0; // no starting bound for such k (keeps the cache key simple)
    const key = t * 4096 + k;
    let value = this.kthWeightCache.get(key);
    if (value === undefined) {
      const begin = this.postingsStart[t]!;
      const end = this.postingsStart[t + 1]!;
      const best = new TopK(k);
      for (let p = begin; p < end; p++) if (!best.full || this.weights[p]! > best.minScore) best.offer(p, this.weights[p]!);
      value = best.full ? best.minScore : 0;
      if (this.kthWeightCache.size >= 100_000) this.kthWeightCache.clear();
      this.kthWeightCache.set(key, value);
    }
    return value;
  }
  private readonly kthWeightCache = new Map<number, number>();

  /** Adds every posting of term `t` to the scratch scores; returns the new touched count. */
  private accumulate(t: number, idf: number, touchedCount: number): number {
    const scores = this.scratch;
    const touched = this.touched;
    const docs = this.postingDocs;
    const weights = this.weights;
    let count = touchedCount;
    for (let p = this.postingsStart[t]!, to = this.postingsStart[t + 1]!; p < to; p++) {
      const doc = docs[p]!;
      const before = scores[doc]!;
      if (before === 0) touched[count++] = doc;
      scores[doc] = before + idf * weights[p]!;
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

  /** Weight of `doc` in term `t`'s postings (binary search; they are sorted by doc), or 0. */
  private weightOf(t: number, doc: number): number {
    let lo = this.postingsStart[t]!;
    let hi = this.postingsStart[t + 1]! - 1;
    const docs = this.postingDocs;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const d = docs[mid]!;
      if (d === doc) return this.weights[mid]!;
      if (d < doc) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /**
   * MaxScore, document at a time. Terms are ordered by their best possible contribution; the
   * weakest ones whose bounds together cannot lift a document into the current top k are
   * "non-essential": documents are only enumerated from the essential terms' postings, and the
   * non-essential ones are looked up (galloping forward, documents come in order) for a document
   * only while it can still beat the k-th score. Scores here are summed in bound order; the
   * survivors are rescored in query order, exactly as `searchExhaustive` does.
   */
  private searchMaxScore(ids: readonly number[], idfs: readonly number[], k: number): LexicalHit[] {
    const docs = this.postingDocs;
    const weights = this.weights;
    const m = ids.length;
    // Lists in ascending order of bound; upTo[i] = bounds of lists 0..i together.
    const order = ids.map((_, i) => i).sort((a, c) => idfs[a]! * this.termBound(ids[a]!) - idfs[c]! * this.termBound(ids[c]!) || a - c);
    const pos = new Int32Array(m);
    const end = new Int32Array(m);
    const idf = new Float64Array(m);
    const upTo = new Float64Array(m);
    for (let j = 0; j < m; j++) {
      const i = order[j]!;
      pos[j] = this.postingsStart[ids[i]!]!;
      end[j] = this.postingsStart[ids[i]! + 1]!;
      idf[j] = idfs[i]!;
      upTo[j] = (j > 0 ? upTo[j - 1]! : 0) + idf[j]! * this.termBound(ids[i]!);
    }
    const heap = new TopK(k);
    // Documents within the safety margin of the k-th that the heap turned away or evicted.
    const nearMisses: number[] = [];
    const nearScores: number[] = [];
    // A lower bound on the final k-th score to start from: at least k documents score at least
    // the k-th best single-term contribution of any one term.
    let threshold = 0;
    for (let j = 0; j < m; j++) threshold = Math.max(threshold, idf[j]! * this.kthWeight(ids[order[j]!]!, k));
    let cut = threshold * (1 - SAFETY); // a document must reach this to matter
    let firstEssential = 0;
    while (firstEssential < m && upTo[firstEssential]! < cut) firstEssential++;
    // cur[j]: the document at pos[j] (NO_DOC once list j is exhausted).
    const cur = new Int32Array(m);
    for (let j = 0; j < m; j++) cur[j] = pos[j]! < end[j]! ? docs[pos[j]!]! : NO_DOC;
    for (;;) {
      // The next document: the smallest current one among the essential lists.
      let doc = NO_DOC;
      for (let j = firstEssential; j < m; j++) if (cur[j]! < doc) doc = cur[j]!;
      if (doc === NO_DOC) break;
      let score = 0;
      for (let j = firstEssential; j < m; j++) {
        if (cur[j] !== doc) continue;
        const p = pos[j]!;
        score += idf[j]! * weights[p]!;
        pos[j] = p + 1;
        cur[j] = p + 1 < end[j]! ? docs[p + 1]! : NO_DOC;
      }
      // Non-essential lists, strongest first, while the document can still reach the cut.
      let j = firstEssential - 1;
      for (; j >= 0; j--) {
        if (score + upTo[j]! < cut) break;
        if (cur[j]! < doc) {
          const p = seek(docs, pos[j]!, end[j]!, doc);
          pos[j] = p;
          cur[j] = p < end[j]! ? docs[p]! : NO_DOC;
        }
        if (cur[j] === doc) score += idf[j]! * weights[pos[j]!]!;
      }
      if (j >= 0 || score < cut) continue;
      const evicted = heap.offer(doc, score);
      if (evicted === doc) {
        nearMisses.push(doc);
        nearScores.push(score);
        continue;
      }
      if (evicted !== NO_DOC) {
        nearMisses.push(evicted);
        nearScores.push(heap.lastEvictedScore);
      }
      if (heap.full && heap.minScore > threshold) {
        threshold = heap.minScore;
        cut = threshold * (1 - SAFETY);
        while (firstEssential < m && upTo[firstEssential]! < cut) firstEssential++;
      }
    }

    // Rescore the survivors exactly as searchExhaustive does (terms in query order, float32
    // accumulation), so that both paths agree to the last bit.
    const candidates = heap.docs();
    for (let c = 0; c < nearMisses.length; c++) if (nearScores[c]! >= cut) candidates.push(nearMisses[c]!);
    const exact: LexicalHit[] = [];
    const f32 = new Float32Array(1);
    for (const doc of candidates) {
      f32[0] = 0;
      for (let i = 0; i < ids.length; i++) {
        const weight = this.weightOf(ids[i]!, doc);
        if (weight > 0) f32[0] = f32[0]! + idfs[i]! * weight;
      }
      exact.push({ doc, score: f32[0]! });
    }
    exact.sort(byScoreThenDoc);
    return exact.slice(0, k);
  }

  /** The index's arrays in shared memory (copied there only if they are not already). */
  shareable(): SharedBm25Parts {
    return {
      params: this.params,
      terms: this.terms,
      postingsStart: inSharedMemory(this.postingsStart, Uint32Array),
      postingDocs: inSharedMemory(this.postingDocs, Int32Array),
      postingTfs: inSharedMemory(this.postingTfs, Uint16Array),
      docLengths: inSharedMemory(this.docLengths, Uint32Array),
      weights: inSharedMemory(this.weights, Float32Array),
    };
  }

  /** The same index over arrays another thread shared (`shareable()`); nothing is copied. */
  static fromShared(parts: SharedBm25Parts): Bm25Index {
    return new Bm25Index(parts.params, parts.terms, parts.postingsStart, parts.postingDocs, parts.postingTfs, parts.docLengths, parts.weights);
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
    // Copy into aligned buffers (a Buffer from readFile may not be 4-byte aligned); shared, so
    // that a search thread can use them without a copy.
    const aligned = new SharedArrayBuffer(expected);
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

const NO_DOC = 0x7fffffff;

type TypedArrayOf<T> = { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

function inSharedMemory<T extends Uint32Array | Int32Array | Uint16Array | Float32Array>(array: T, Type: TypedArrayOf<T>): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const copy = new Type(new SharedArrayBuffer(array.length * Type.BYTES_PER_ELEMENT));
  copy.set(array);
  return copy;
}

function postingWeights(start: Uint32Array, docs: Int32Array, tfs: Uint16Array, lengths: Uint32Array, { k1, b }: Bm25Params): Float32Array {
  let sum = 0;
  for (const len of lengths) sum += len;
  const avgdl = lengths.length ? Math.max(sum / lengths.length, 1) : 1;
  const norms = new Float64Array(lengths.length);
  for (let d = 0; d < norms.length; d++) norms[d] = k1 * (1 - b + (b * lengths[d]!) / avgdl);
  const weights = new Float32Array(new SharedArrayBuffer(docs.length * Float32Array.BYTES_PER_ELEMENT));
  for (let p = 0; p < weights.length; p++) {
    const tf = tfs[p]!;
    weights[p] = (tf * (k1 + 1)) / (tf + norms[docs[p]!]!);
  }
  return weights;
}

/** First position in docs[from..end) holding a document ≥ doc (galloping, then binary search). */
function seek(docs: Int32Array, from: number, end: number, doc: number): number {
  if (from >= end || docs[from]! >= doc) return from;
  let lo = from; // docs[lo] < doc
  let step = 1;
  while (lo + step < end && docs[lo + step]! < doc) {
    lo += step;
    step *= 2;
  }
  let hi = Math.min(lo + step, end); // docs[hi] >= doc, or hi = end
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < doc) lo = mid;
    else hi = mid;
  }
  return hi;
}

/**
 * The k best (score, doc) pairs seen so far; ties keep the lower document (documents arrive in
 * ascending order, so an equal score never displaces one already kept).
 */
class TopK {
  private readonly scores: Float64Array;
  private readonly ids: Int32Array;
  private size = 0;
  lastEvictedScore = 0;

  constructor(private readonly k: number) {
    this.scores = new Float64Array(k);
    this.ids = new Int32Array(k);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** The k-th best score (when full). */
  get minScore(): number {
    return this.scores[0]!;
  }

  /** Adds the pair; returns the document that left (this one if it did not get in), or NO_DOC. */
  offer(doc: number, score: number): number {
    const { scores, ids } = this;
    if (this.size < this.k) {
      let at = this.size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (scores[parent]! <= score) break;
        scores[at] = scores[parent]!;
        ids[at] = ids[parent]!;
        at = parent;
      }
      scores[at] = score;
      ids[at] = doc;
      return NO_DOC;
    }
    if (score <= scores[0]!) {
      this.lastEvictedScore = score;
      return doc;
    }
    const evicted = ids[0]!;
    this.lastEvictedScore = scores[0]!;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= this.k) break;
      const right = left + 1;
      const child = right < this.k && scores[right]! < scores[left]! ? right : left;
      if (scores[child]! >= score) break;
      scores[at] = scores[child]!;
      ids[at] = ids[child]!;
      at = child;
    }
    scores[at] = score;
    ids[at] = doc;
    return evicted;
  }

  docs(): number[] {
    return Array.from(this.ids.subarray(0, this.size));
  }
}

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
