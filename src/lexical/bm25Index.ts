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

/** How one query is searched in one index: see `Bm25Index.plan`. */
export interface LexicalPlan {
  /** Term ids, in query order. */
  readonly ids: readonly number[];
  readonly idfs: readonly number[];
  readonly k: number;
  /** True: score every posting (`searchExhaustive`); false: MaxScore (`maxScore`). */
  readonly exhaustive: boolean;
}

/**
 * A lower bound on a query's final k-th score that several threads share, as the bits of a
 * positive float32 in one Int32Array slot (for positive floats the bits order like the values, so
 * a compare-and-swap loop keeps the largest). 0 means none yet.
 */
export interface SharedScoreBound {
  cells: Int32Array;
  at: number;
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
  bounds: TermBounds;
}

/**
 * Per term with at least TOP_WEIGHTS postings, its TOP_WEIGHTS largest weights in descending
 * order (`top[slots[t] * TOP_WEIGHTS ...]`); slots[t] = -1 for shorter terms. Computed once at
 * load, so that a query's bounds cost nothing, from the first query on and in every thread.
 */
export interface TermBounds {
  slots: Int32Array;
  top: Float32Array;
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
  /** Each long term's best weights, for MaxScore's bounds without a scan per query. */
  private readonly bounds: TermBounds;
  /** MaxScore's per-window arrays, made on first use and shared by this thread's runs. */
  private windowScratch: WindowScratch | undefined;

  private constructor(
    readonly params: Bm25Params,
    private readonly terms: string[],
    /** postingsStart[t]..postingsStart[t+1] are term t's entries in docs/tfs. */
    private readonly postingsStart: Uint32Array,
    private readonly postingDocs: Int32Array,
    private readonly postingTfs: Uint16Array,
    private readonly docLengths: Uint32Array,
    weights?: Float32Array,
    bounds?: TermBounds,
  ) {
    this.termIds = new Map(terms.map((t, i) => [t, i]));
    this.weights = weights ?? postingWeights(postingsStart, postingDocs, postingTfs, docLengths, params);
    this.bounds = bounds ?? termBounds(postingsStart, this.weights);
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
   * (common words in a large index), MaxScore gives the same result faster: see `MaxScoreRun`.
   * Its survivors are rescored exactly as the exhaustive path scores them, so both paths return
   * the same documents with the same scores.
   */
  search(query: string, k: number): LexicalHit[] {
    const plan = this.plan(query, k);
    if (!plan) return [];
    if (plan.exhaustive) return this.searchExhaustive(plan);
    const run = this.maxScore(plan);
    run.run(0, this.size);
    return this.rescore(plan, run.candidates());
  }

  /**
   * The query's terms in this index, and which way they are searched; null when there is
   * nothing to search (no known term, empty index, k < 1). Deterministic: two threads planning
   * the same query on the same index get the same plan.
   */
  plan(query: string, k: number): LexicalPlan | null {
    if (this.docLengths.length === 0 || k <= 0) return null;
    const ids: number[] = [];
    let postings = 0;
    for (const term of new Set(analyze(query))) {
      const t = this.termIds.get(term);
      if (t === undefined) continue;
      ids.push(t);
      postings += this.postingsStart[t + 1]! - this.postingsStart[t]!;
    }
    if (ids.length === 0) return null;
    return { ids, idfs: ids.map((t) => this.idf(t)), k, exhaustive: ids.length === 1 || postings <= EXHAUSTIVE_POSTINGS };
  }

  /**
   * MaxScore for a plan that is not exhaustive, run over document ranges in ascending order
   * (`run(lo, hi)`), possibly only some of them: several threads can share one query's
   * documents, each with its own run, the best k-th score found so far published in `bound`.
   * Pass every run's `candidates()` to `rescore` for the top k.
   */
  maxScore(plan: LexicalPlan, bound: SharedScoreBound | null = null): MaxScoreRun {
    const { ids, idfs, k } = plan;
    const m = ids.length;
    // Lists in ascending order of bound.
    const order = ids.map((_, i) => i).sort((a, c) => idfs[a]! * this.termBound(ids[a]!) - idfs[c]! * this.termBound(ids[c]!) || a - c);
    const lists = {
      pos: new Int32Array(m),
      end: new Int32Array(m),
      idf: new Float64Array(m),
      upTo: new Float64Array(m),
    };
    for (let j = 0; j < m; j++) {
      const i = order[j]!;
      lists.pos[j] = this.postingsStart[ids[i]!]!;
      lists.end[j] = this.postingsStart[ids[i]! + 1]!;
      lists.idf[j] = idfs[i]!;
      lists.upTo[j] = (j > 0 ? lists.upTo[j - 1]! : 0) + idfs[i]! * this.termBound(ids[i]!);
    }
    // A lower bound on the final k-th score to start from: at least k documents score at least
    // the k-th best single-term contribution of any one term.
    let threshold = 0;
    for (let j = 0; j < m; j++) threshold = Math.max(threshold, lists.idf[j]! * this.kthWeight(ids[order[j]!]!, k));
    this.windowScratch ??= {
      sums: new Float64Array(WINDOW),
      spread: new Float64Array(WINDOW),
      marks: new Int32Array(WINDOW >> 5),
    };
    return new MaxScoreRun(this.postingDocs, this.weights, lists, this.windowScratch, k, threshold, bound);
  }

  /**
   * The top k of `candidates` (documents from `MaxScoreRun.candidates()`, repeats allowed),
   * scored exactly as `searchExhaustive` scores them: terms in query order, float32 sums.
   */
  rescore(plan: LexicalPlan, candidates: Iterable<number>): LexicalHit[] {
    const { ids, idfs } = plan;
    const exact: LexicalHit[] = [];
    const f32 = new Float32Array(1);
    for (const doc of new Set(candidates)) {
      f32[0] = 0;
      for (let i = 0; i < ids.length; i++) {
        const weight = this.weightOf(ids[i]!, doc);
        if (weight > 0) f32[0] = f32[0]! + idfs[i]! * weight;
      }
      exact.push({ doc, score: f32[0]! });
    }
    exact.sort(byScoreThenDoc);
    return exact.slice(0, plan.k);
  }

  private idf(t: number): number {
    const n = this.docLengths.length;
    const df = this.postingsStart[t + 1]! - this.postingsStart[t]!;
    return Math.log(1 + (n - df + 0.5) / (df + 0.5));
  }

  /** Largest weight in a term's postings (its contribution is at most idf × this). */
  private termBound(t: number): number {
    const slot = this.bounds.slots[t]!;
    if (slot >= 0) return this.bounds.top[slot * TOP_WEIGHTS]!;
    let bound = 0;
    for (let p = this.postingsStart[t]!, to = this.postingsStart[t + 1]!; p < to; p++) if (this.weights[p]! > bound) bound = this.weights[p]!;
    return bound;
  }

  /** The k-th largest weight in term t's postings (0 if it has fewer than k). */
  private kthWeight(t: number, k: number): number {
    const begin = this.postingsStart[t]!;
    const end = this.postingsStart[t + 1]!;
    if (end - begin < k) return 0;
    const slot = this.bounds.slots[t]!;
    if (slot >= 0 && k <= TOP_WEIGHTS) return this.bounds.top[slot * TOP_WEIGHTS + k - 1]!;
    if (slot >= 0) return 0; // k beyond the precomputed weights: no starting bound (still correct, slower)
    // A short list (fewer than TOP_WEIGHTS postings): cheap to scan.
    const best = new TopK(k);
    for (let p = begin; p < end; p++) if (!best.full || this.weights[p]! > best.minScore) best.offer(p, this.weights[p]!);
    return best.minScore;
  }

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

  /** Every posting of the plan's terms scored, term at a time (the plan's `exhaustive` way). */
  searchExhaustive({ ids, idfs, k }: LexicalPlan): LexicalHit[] {
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
      bounds: { slots: inSharedMemory(this.bounds.slots, Int32Array), top: inSharedMemory(this.bounds.top, Float32Array) },
    };
  }

  /** The same index over arrays another thread shared (`shareable()`); nothing is copied. */
  static fromShared(parts: SharedBm25Parts): Bm25Index {
    return new Bm25Index(parts.params, parts.terms, parts.postingsStart, parts.postingDocs, parts.postingTfs, parts.docLengths, parts.weights, parts.bounds);
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

/** Above this many postings per query, MaxScore is used (below, scanning everything is as fast). */
const EXHAUSTIVE_POSTINGS = 20_000;
/** Largest k for which a term's k-th best weight is precomputed (`TermBounds`). */
const TOP_WEIGHTS = 64;
/** Documents per MaxScore window (its two Float64Arrays, 64 KiB, stay in a core's L2 cache). */
const WINDOW = 4096;
/**
 * A non-essential list is spread over a window when it has at most this many times as many
 * postings there as the essential lists (else it is searched per document).
 */
const SPREAD_RATIO = 2;
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

function termBounds(start: Uint32Array, weights: Float32Array): TermBounds {
  const terms = start.length - 1;
  const slots = new Int32Array(new SharedArrayBuffer(Math.max(terms, 0) * Int32Array.BYTES_PER_ELEMENT)).fill(-1);
  let count = 0;
  for (let t = 0; t < terms; t++) if (start[t + 1]! - start[t]! >= TOP_WEIGHTS) slots[t] = count++;
  const top = new Float32Array(new SharedArrayBuffer(count * TOP_WEIGHTS * Float32Array.BYTES_PER_ELEMENT));
  // A min-heap of the best TOP_WEIGHTS weights seen, per term.
  const heap = new Float32Array(TOP_WEIGHTS);
  const siftDown = (at: number) => {
    const value = heap[at]!;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= TOP_WEIGHTS) break;
      const child = left + 1 < TOP_WEIGHTS && heap[left + 1]! < heap[left]! ? left + 1 : left;
      if (heap[child]! >= value) break;
      heap[at] = heap[child]!;
      at = child;
    }
    heap[at] = value;
  };
  for (let t = 0; t < terms; t++) {
    const slot = slots[t]!;
    if (slot < 0) continue;
    const begin = start[t]!;
    const end = start[t + 1]!;
    heap.set(weights.subarray(begin, begin + TOP_WEIGHTS));
    for (let at = (TOP_WEIGHTS >> 1) - 1; at >= 0; at--) siftDown(at);
    for (let p = begin + TOP_WEIGHTS; p < end; p++) {
      if (weights[p]! > heap[0]!) {
        heap[0] = weights[p]!;
        siftDown(0);
      }
    }
    const sorted = Float32Array.from(heap).sort().reverse();
    top.set(sorted, slot * TOP_WEIGHTS);
  }
  return { slots, top };
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
 * Arrays for one window of WINDOW documents, all zero between `MaxScoreRun.run` calls (each window
 * clears what it set), so that every run of an index in one thread can use the same ones.
 */
interface WindowScratch {
  /** Per document of the window, the essential lists' contributions. */
  sums: Float64Array;
  /** Per document of the window, the contributions of the non-essential lists spread out. */
  spread: Float64Array;
  /** One bit per document of the window that an essential list contains. */
  marks: Int32Array;
}

interface MaxScoreLists {
  /** Per list (ascending order of bound): next posting, end of postings, idf, bounds of lists 0..j together. */
  pos: Int32Array;
  end: Int32Array;
  idf: Float64Array;
  upTo: Float64Array;
}

/**
 * MaxScore for one query, over windows of documents. Lists are ordered by their best possible
 * contribution; the weakest ones whose bounds together cannot lift a document into the current
 * top k are "non-essential": documents are only enumerated from the essential lists, and the
 * non-essential ones are added to a document only while it can still beat the k-th score. Within
 * a window the essential lists are added up list by list, and the strongest non-essential lists
 * are spread out too when they are not much longer there (`spreadLists`); the others are looked
 * up per document, galloping forward.
 *
 * `run(lo, hi)` covers documents lo..hi-1; calls must come in ascending ranges, which may leave
 * gaps (another thread's ranges). Every document of the covered ranges that can be in the
 * query's top k ends up in `candidates()` (with some that cannot): scores summed here are in
 * bound order, so `Bm25Index.rescore` settles the final order exactly.
 */
export class MaxScoreRun {
  private readonly heap: TopK;
  /** Documents within the safety margin of the k-th that the heap turned away or evicted. */
  private readonly nearMisses: number[] = [];
  private readonly nearScores: number[] = [];
  /** cur[j]: the document at pos[j] (NO_DOC once list j is exhausted). */
  private readonly cur: Int32Array;
  private cut = 0;
  private firstEssential = 0;
  private readonly bits = new Int32Array(1);
  private readonly bitsAsFloat = new Float32Array(this.bits.buffer);

  constructor(
    private readonly docs: Int32Array,
    private readonly weights: Float32Array,
    private readonly lists: MaxScoreLists,
    private readonly scratch: WindowScratch,
    k: number,
    /** Best known lower bound on the k-th score. */
    private threshold: number,
    private readonly bound: SharedScoreBound | null,
  ) {
    this.heap = new TopK(k);
    const m = lists.pos.length;
    this.cur = new Int32Array(m);
    for (let j = 0; j < m; j++) this.cur[j] = lists.pos[j]! < lists.end[j]! ? docs[lists.pos[j]!]! : NO_DOC;
    this.updateCut();
    this.publish();
    this.raise(this.sharedThreshold());
  }

  run(lo: number, hi: number): void {
    const { docs, cur } = this;
    const { pos, end } = this.lists;
    const m = pos.length;
    // Another thread may have raised the bound since the last range.
    this.raise(this.sharedThreshold());
    for (let j = 0; j < m; j++) {
      if (cur[j]! < lo) {
        const p = seek(docs, pos[j]!, end[j]!, lo);
        pos[j] = p;
        cur[j] = p < end[j]! ? docs[p]! : NO_DOC;
      }
    }
    for (;;) {
      const first = this.firstEssential;
      if (first >= m) break; // no document can reach the cut any more
      // The next window: WINDOW documents from the first essential one on.
      let wlo = NO_DOC;
      for (let j = first; j < m; j++) if (cur[j]! < wlo) wlo = cur[j]!;
      if (wlo >= hi) break;
      const whi = Math.min(wlo + WINDOW, hi);
      if (first === m - 1) this.oneEssentialWindow(wlo, whi);
      else this.essentialWindow(first, wlo, whi);
    }
    this.publish();
  }

  /**
   * Documents wlo..whi-1 when several lists are essential: their contributions are added up list
   * by list into `scratch.sums`, marking each document found, and the marked documents are then
   * completed in order (cheaper than merging the lists document by document).
   */
  private essentialWindow(first: number, wlo: number, whi: number): void {
    const { docs, weights, cur } = this;
    const { pos, end, idf } = this.lists;
    const { sums, marks, spread: spreadSums } = this.scratch;
    const m = pos.length;
    let essentialPostings = 0;
    for (let j = first; j < m; j++) {
      const from = pos[j]!;
      const stop = end[j]!;
      const f = idf[j]!;
      let p = from;
      for (; p < stop; p++) {
        const d = docs[p]!;
        if (d >= whi) break;
        const i = d - wlo;
        sums[i] = sums[i]! + f * weights[p]!;
        marks[i >> 5] = marks[i >> 5]! | (1 << (i & 31));
      }
      essentialPostings += p - from;
      pos[j] = p;
      cur[j] = p < stop ? docs[p]! : NO_DOC;
    }
    const spread = this.spreadLists(first, wlo, whi, essentialPostings);
    const words = (whi - wlo + 31) >> 5;
    for (let w = 0; w < words; w++) {
      let word = marks[w]!;
      if (word === 0) continue;
      marks[w] = 0;
      do {
        const low = word & -word;
        word ^= low;
        const i = (w << 5) + 31 - Math.clz32(low);
        const score = sums[i]! + spreadSums[i]!;
        sums[i] = 0;
        const total = this.complete(wlo + i, score, spread);
        if (total >= 0) this.collect(wlo + i, total);
      } while (word !== 0);
    }
    if (spread < first) spreadSums.fill(0, 0, whi - wlo);
  }

  /**
   * Documents wlo..whi-1 when only the last list is essential (the usual case once the bound has
   * risen): its postings in order, each completed from the others while it can still reach the cut.
   */
  private oneEssentialWindow(wlo: number, whi: number): void {
    const { docs, weights, cur } = this;
    const { pos, end, idf } = this.lists;
    const spreadSums = this.scratch.spread;
    const e = pos.length - 1;
    const stop = end[e]!;
    const last = seek(docs, pos[e]!, stop, whi);
    const spread = this.spreadLists(e, wlo, whi, last - pos[e]!);
    const f = idf[e]!;
    for (let p = pos[e]!; p < last; p++) {
      const doc = docs[p]!;
      const total = this.complete(doc, f * weights[p]! + spreadSums[doc - wlo]!, spread);
      if (total >= 0) this.collect(doc, total);
    }
    pos[e] = last;
    cur[e] = last < stop ? docs[last]! : NO_DOC;
    if (spread < e) spreadSums.fill(0, 0, whi - wlo);
  }

  /**
   * The strongest non-essential lists' contributions to documents wlo..whi-1, added into
   * `scratch.spread` while each list has at most SPREAD_RATIO times as many postings there as the
   * essential lists: reading them back per document is cheaper than searching the list for each
   * document that still needs it. Returns the first list spread (`first` if none): `complete` goes
   * on from there.
   */
  private spreadLists(first: number, wlo: number, whi: number, essentialPostings: number): number {
    const { docs, weights, cur } = this;
    const { pos, end, idf } = this.lists;
    const spreadSums = this.scratch.spread;
    let spread = first;
    while (spread > 0) {
      const j = spread - 1;
      const stop = end[j]!;
      const from = seek(docs, pos[j]!, stop, wlo);
      const last = seek(docs, from, stop, whi);
      if (last - from > SPREAD_RATIO * essentialPostings) break;
      const f = idf[j]!;
      for (let p = from; p < last; p++) {
        const i = docs[p]! - wlo;
        spreadSums[i] = spreadSums[i]! + f * weights[p]!;
      }
      pos[j] = last;
      cur[j] = last < stop ? docs[last]! : NO_DOC;
      spread = j;
    }
    return spread;
  }

  /**
   * A document's score with the non-essential lists (those below `first`) added, strongest
   * first, while it can still reach the cut; -1 as soon as it cannot.
   */
  private complete(doc: number, score: number, first: number): number {
    const { docs, weights, cur } = this;
    const { pos, end, idf, upTo } = this.lists;
    const cut = this.cut;
    for (let j = first - 1; j >= 0; j--) {
      if (score + upTo[j]! < cut) return -1;
      if (cur[j]! < doc) {
        const p = seek(docs, pos[j]!, end[j]!, doc);
        pos[j] = p;
        cur[j] = p < end[j]! ? docs[p]! : NO_DOC;
      }
      if (cur[j] === doc) score += idf[j]! * weights[pos[j]!]!;
    }
    return score >= cut ? score : -1;
  }

  /** Offers a document that reached the cut to the heap, keeping what it turns away or evicts near the k-th. */
  private collect(doc: number, score: number): void {
    const { heap } = this;
    const evicted = heap.offer(doc, score);
    if (evicted === doc) {
      this.nearMisses.push(doc);
      this.nearScores.push(score);
      return;
    }
    if (evicted !== NO_DOC) {
      this.nearMisses.push(evicted);
      this.nearScores.push(heap.lastEvictedScore);
    }
    if (heap.full && heap.minScore > this.threshold) {
      this.raise(heap.minScore);
      // Share it now and then, and pick up the other threads' (cheap, but not free).
      if (this.bound && ++this.offered % 64 === 0) {
        this.publish();
        this.raise(this.sharedThreshold());
      }
    }
  }
  private offered = 0;

  /** Documents to rescore: the heap, and the near misses that can still be in the top k. */
  candidates(): number[] {
    this.raise(this.sharedThreshold());
    const out = this.heap.docs();
    for (let c = 0; c < this.nearMisses.length; c++) if (this.nearScores[c]! >= this.cut) out.push(this.nearMisses[c]!);
    return out;
  }

  private raise(threshold: number): void {
    if (threshold <= this.threshold) return;
    this.threshold = threshold;
    this.updateCut();
  }

  /** The cut and the essential lists for the current threshold. */
  private updateCut(): void {
    this.cut = this.threshold * (1 - SAFETY); // a document must reach this to matter
    const { upTo } = this.lists;
    while (this.firstEssential < upTo.length && upTo[this.firstEssential]! < this.cut) this.firstEssential++;
  }

  private sharedThreshold(): number {
    if (!this.bound) return 0;
    this.bits[0] = Atomics.load(this.bound.cells, this.bound.at);
    return this.bitsAsFloat[0]!;
  }

  /** Publishes this run's threshold, rounded down to a float32 so it stays a lower bound. */
  private publish(): void {
    if (!this.bound || this.threshold <= 0) return;
    this.bitsAsFloat[0] = this.threshold;
    if (this.bitsAsFloat[0]! > this.threshold) this.bits[0] = this.bits[0]! - 1;
    const { cells, at } = this.bound;
    const mine = this.bits[0]!;
    for (let seen = Atomics.load(cells, at); seen < mine; ) {
      const was = Atomics.compareExchange(cells, at, seen, mine);
      if (was === seen) break;
      seen = was;
    }
  }
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

/**
 * The top k of two lists of hits over different documents, such as the `rescore` of two runs
 * that searched different document ranges of one query.
 */
export function mergeHits(a: readonly LexicalHit[], b: readonly LexicalHit[], k: number): LexicalHit[] {
  return [...a, ...b].sort(byScoreThenDoc).slice(0, k);
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
