/**
 * MaxScore (Turtle & Flood, 1995): the documents that can make a BM25 query's top k, found
 * without adding up every posting of its terms. Worth it when the query's postings are long
 * (common words in a large index); `Bm25Index` decides when, and rescores what this returns.
 *
 * Each term's best possible contribution (idf × its largest weight) bounds what it can add to a
 * document. Terms are ordered by that bound; once the current k-th best score is known, the
 * weakest terms whose bounds together cannot lift a document into the top k are "non-essential":
 * documents are only enumerated from the essential terms' postings, and the non-essential terms
 * are looked up for a document only while it can still reach the top k. The k-th score starts
 * from a bound computed at load (each long term's 64 best weights), so pruning works from the
 * first document on.
 *
 * Documents are taken in windows of WINDOW documents: within a window the essential terms'
 * postings are added up list by list into an array (cheaper than merging the lists document by
 * document), and so are the strongest non-essential terms' where they are not much longer there;
 * the remaining terms are searched per document, galloping forward.
 */

/** An index's postings as MaxScore reads them. */
export interface Postings {
  /** Term t's postings are start[t] .. start[t+1] - 1, in ascending document order. */
  readonly start: Uint32Array;
  readonly docs: Int32Array;
  /** Per posting, the term's `bm25Weight` in that document: its score contribution is idf × this. */
  readonly weights: Float32Array;
}

/** Largest k for which a term's k-th best weight is precomputed (`TermBounds`). */
const TOP_WEIGHTS = 64;
/** Documents per window (its two Float64Arrays, 64 KiB, stay in a core's L2 cache). */
const WINDOW = 4096;
/**
 * A non-essential list is spread over a window when it has at most this many times as many
 * postings there as the essential lists (else it is searched per document).
 */
const SPREAD_RATIO = 2;
/** Relative margin on pruning decisions, far above float32 rounding (~1e-7 per addition). */
const SAFETY = 1e-4;
/** "No document": past the end of a list, or nothing evicted. */
const NO_DOC = 0x7fffffff;

/** MaxScore over one index: its term bounds, computed once, and arrays reused by every query. */
export class MaxScore {
  private readonly bounds: TermBounds;
  private scratch: WindowScratch | undefined;

  constructor(private readonly postings: Postings) {
    this.bounds = termBounds(postings);
  }

  /**
   * Documents to rescore for the top k of the query with these terms (distinct term ids, with
   * their idfs): every document that can be in the top k (equal scores: the lower document
   * first) is among them, with some that cannot and possibly repeated. Scores summed here are
   * in bound order, not query order, so they are not returned: the caller rescores exactly.
   */
  candidates(terms: readonly number[], idfs: readonly number[], k: number): number[] {
    const { start } = this.postings;
    const m = terms.length;
    // Lists in ascending order of bound.
    const order = terms.map((_, i) => i).sort((a, c) => idfs[a]! * this.bestWeight(terms[a]!) - idfs[c]! * this.bestWeight(terms[c]!) || a - c);
    const lists: MaxScoreLists = {
      pos: new Int32Array(m),
      end: new Int32Array(m),
      idf: new Float64Array(m),
      upTo: new Float64Array(m),
    };
    for (let j = 0; j < m; j++) {
      const i = order[j]!;
      lists.pos[j] = start[terms[i]!]!;
      lists.end[j] = start[terms[i]! + 1]!;
      lists.idf[j] = idfs[i]!;
      lists.upTo[j] = (j > 0 ? lists.upTo[j - 1]! : 0) + idfs[i]! * this.bestWeight(terms[i]!);
    }
    // A lower bound on the final k-th score to start from: at least k documents score at least
    // the k-th best single-term contribution of any one term.
    let threshold = 0;
    for (let j = 0; j < m; j++) threshold = Math.max(threshold, lists.idf[j]! * this.kthWeight(terms[order[j]!]!, k));
    this.scratch ??= { sums: new Float64Array(WINDOW), spread: new Float64Array(WINDOW), marks: new Int32Array(WINDOW >> 5) };
    const run = new MaxScoreRun(this.postings, lists, this.scratch, k, threshold);
    run.run();
    return run.candidates();
  }

  /** Largest weight in a term's postings (its contribution is at most idf × this). */
  private bestWeight(t: number): number {
    const slot = this.bounds.slots[t]!;
    if (slot >= 0) return this.bounds.top[slot * TOP_WEIGHTS]!;
    const { start, weights } = this.postings;
    let best = 0;
    for (let p = start[t]!, to = start[t + 1]!; p < to; p++) if (weights[p]! > best) best = weights[p]!;
    return best;
  }

  /** The k-th largest weight in term t's postings (0 if it has fewer than k). */
  private kthWeight(t: number, k: number): number {
    const { start, weights } = this.postings;
    const begin = start[t]!;
    const end = start[t + 1]!;
    if (end - begin < k) return 0;
    const slot = this.bounds.slots[t]!;
    if (slot >= 0 && k <= TOP_WEIGHTS) return this.bounds.top[slot * TOP_WEIGHTS + k - 1]!;
    if (slot >= 0) return 0; // k beyond the precomputed weights: no starting bound (still correct, slower)
    // A short list (fewer than TOP_WEIGHTS postings): cheap to scan.
    const best = new TopK(k);
    for (let p = begin; p < end; p++) if (!best.full || weights[p]! > best.minScore) best.offer(p, weights[p]!);
    return best.minScore;
  }
}

/**
 * Per term with at least TOP_WEIGHTS postings, its TOP_WEIGHTS largest weights in descending
 * order (`top[slots[t] * TOP_WEIGHTS ...]`); slots[t] = -1 for shorter terms. Computed once at
 * load, so that a query's bounds cost nothing from the first query on.
 */
interface TermBounds {
  slots: Int32Array;
  top: Float32Array;
}

function termBounds({ start, weights }: Postings): TermBounds {
  const terms = start.length - 1;
  const slots = new Int32Array(Math.max(terms, 0)).fill(-1);
  let count = 0;
  for (let t = 0; t < terms; t++) if (start[t + 1]! - start[t]! >= TOP_WEIGHTS) slots[t] = count++;
  const top = new Float32Array(count * TOP_WEIGHTS);
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
 * Arrays for one window of WINDOW documents, all zero between queries (each window clears what
 * it set), so that every query of an index can use the same ones.
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

/** One query's MaxScore pass over every document, window by window (see the module comment). */
class MaxScoreRun {
  private readonly docs: Int32Array;
  private readonly weights: Float32Array;
  private readonly heap: TopK;
  /** Documents within the safety margin of the k-th that the heap turned away or evicted. */
  private readonly nearMisses: number[] = [];
  private readonly nearScores: number[] = [];
  /** cur[j]: the document at pos[j] (NO_DOC once list j is exhausted). */
  private readonly cur: Int32Array;
  private cut = 0;
  private firstEssential = 0;

  constructor(
    postings: Postings,
    private readonly lists: MaxScoreLists,
    private readonly scratch: WindowScratch,
    k: number,
    /** Best known lower bound on the k-th score. */
    private threshold: number,
  ) {
    this.docs = postings.docs;
    this.weights = postings.weights;
    this.heap = new TopK(k);
    const m = lists.pos.length;
    this.cur = new Int32Array(m);
    for (let j = 0; j < m; j++) this.cur[j] = lists.pos[j]! < lists.end[j]! ? this.docs[lists.pos[j]!]! : NO_DOC;
    this.updateCut();
  }

  run(): void {
    const { cur } = this;
    const m = cur.length;
    for (;;) {
      const first = this.firstEssential;
      if (first >= m) break; // no document can reach the cut any more
      // The next window: WINDOW documents from the first essential one on.
      let wlo = NO_DOC;
      for (let j = first; j < m; j++) if (cur[j]! < wlo) wlo = cur[j]!;
      if (wlo === NO_DOC) break; // the essential lists are exhausted
      const whi = wlo + WINDOW;
      if (first === m - 1) this.oneEssentialWindow(wlo, whi);
      else this.essentialWindow(first, wlo, whi);
    }
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
      this.threshold = heap.minScore;
      this.updateCut();
    }
  }

  /** The heap, and the near misses that can still be in the top k. */
  candidates(): number[] {
    const out = this.heap.docs();
    for (let c = 0; c < this.nearMisses.length; c++) if (this.nearScores[c]! >= this.cut) out.push(this.nearMisses[c]!);
    return out;
  }

  /** The cut and the essential lists for the current threshold. */
  private updateCut(): void {
    this.cut = this.threshold * (1 - SAFETY); // a document must reach this to matter
    const { upTo } = this.lists;
    while (this.firstEssential < upTo.length && upTo[this.firstEssential]! < this.cut) this.firstEssential++;
  }
}

/**
 * The k best (score, doc) pairs seen so far, as a min-heap; ties keep the lower document
 * (documents arrive in ascending order, so an equal score never displaces one already kept).
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
