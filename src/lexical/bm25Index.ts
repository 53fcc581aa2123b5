/**
 * An inverted-index BM25 (see `bm25.ts`) over analysed Portuguese text: build, save and load,
 * search.
 *
 * Why not a library: the npm BM25 packages either rescan every document per query (LangChain's
 * BM25Retriever) or keep postings as JS objects that cannot be saved without one giant JSON
 * string. Postings here are typed arrays: a query touches only the documents that contain its
 * terms, and the index saves as a small JSON vocabulary plus one binary file.
 *
 * Two ways to search, with the same results (documents and scores):
 * - exhaustive: every posting of the query's terms is added up, term at a time. Taken when the
 *   query's postings together number at most EXHAUSTIVE_POSTINGS, or it has a single term.
 * - MaxScore (`maxScore.ts`): for queries whose postings are longer (common words in a large
 *   index), it skips the documents that cannot reach the top k, and the few that can are then
 *   rescored exactly as the exhaustive path scores them.
 *
 * A semester course (1,500–2,000 windows) takes the exhaustive path for any ordinary question:
 * a query's postings are at most its distinct terms × the windows, so passing the threshold
 * would take more than ten distinct terms each found in nearly every window (stop words are
 * not indexed). Below the threshold adding every posting is as fast as pruning; MaxScore
 * matters for collections of tens of thousands of windows, where common words have thousands
 * of postings each.
 */
import { averageDocLength, bm25Weight, checkBm25Params, DEFAULT_BM25_PARAMS, idf, type Bm25Params } from './bm25.js';
import { MaxScore } from './maxScore.js';
import { analyze } from './portugueseAnalyzer.js';

export type { Bm25Params } from './bm25.js';

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
  /** True: every posting is scored (`searchExhaustive`); false: MaxScore. */
  readonly exhaustive: boolean;
}

/** A term of a weighted query: its id in the index and how much it counts (1 = as a question's own word). */
export interface WeightedTerm {
  id: number;
  weight: number;
}

/** Above this many postings per query, MaxScore is used (below, adding up everything is as fast). */
const EXHAUSTIVE_POSTINGS = 20_000;

/** `lexical.json`: what `serialize` writes besides the binary body. */
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
  /** Per document, its score while a query is searched exhaustively (0 otherwise). */
  private readonly scratch: Float32Array;
  /** The documents with a score in `scratch`. */
  private readonly touched: Int32Array;
  /**
   * Per posting, the term's `bm25Weight` in that document: the term's contribution to the
   * document's score is idf × this. Computed at load, so that scoring reads postings in order
   * instead of looking up each document's length.
   */
  private readonly weights: Float32Array;
  private readonly maxScore: MaxScore;

  private constructor(
    readonly params: Bm25Params,
    private readonly terms: string[],
    /** postingsStart[t]..postingsStart[t+1] are term t's entries in docs/tfs. */
    private readonly postingsStart: Uint32Array,
    /** In ascending order within each term's postings. */
    private readonly postingDocs: Int32Array,
    private readonly postingTfs: Uint16Array,
    /** Per document, its number of analysed tokens. */
    private readonly docLengths: Uint32Array,
  ) {
    checkBm25Params(params);
    this.termIds = new Map(terms.map((t, i) => [t, i]));
    this.weights = postingWeights(postingDocs, postingTfs, docLengths, params);
    this.maxScore = new MaxScore({ start: postingsStart, docs: postingDocs, weights: this.weights });
    this.scratch = new Float32Array(docLengths.length);
    this.touched = new Int32Array(docLengths.length);
  }

  /** Number of documents. */
  get size(): number {
    return this.docLengths.length;
  }

  /** Number of distinct terms (after analysis). */
  get vocabularySize(): number {
    return this.terms.length;
  }

  /** Builds the index from texts; document i is texts[i]. */
  static build(texts: Iterable<string>, params: Bm25Params = DEFAULT_BM25_PARAMS): Bm25Index {
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
    return new Bm25Index({ k1: params.k1, b: params.b }, terms, start, docs, tfs, Uint32Array.from(lengths));
  }

  /**
   * Top `k` documents for the query, best first (equal scores: lower document first). Documents
   * sharing no term are not returned. Exhaustive or MaxScore as the module comment says; both
   * return the same documents with the same scores.
   */
  search(query: string, k: number): LexicalHit[] {
    const plan = this.plan(query, k);
    if (!plan) return [];
    if (plan.exhaustive) return this.searchExhaustive(plan);
    return this.rescore(plan, this.maxScore.candidates(plan.ids, plan.idfs, k));
  }

  /**
   * Top `k` among the given documents only (a lecture filter: the windows of some videos), for
   * resolved, weighted terms (see `planTerms`), scored exactly as `searchTerms` scores them (the
   * whole index's statistics); documents sharing no term with the query are not returned. Costs
   * documents × query terms × log(postings): meant for a few lectures' windows, not the whole index.
   */
  searchTermsAmong(terms: readonly WeightedTerm[], k: number, docs: Iterable<number>): LexicalHit[] {
    const plan = this.planTerms(terms, k);
    if (!plan) return [];
    return this.rescore(plan, docs).filter((hit) => hit.score > 0);
  }

  /**
   * The query's terms in this index, and which way `search` takes; null when there is nothing
   * to search (no known term, empty index, k < 1).
   */
  plan(query: string, k: number): LexicalPlan | null {
    const terms: WeightedTerm[] = [];
    for (const term of new Set(analyze(query))) {
      const id = this.termIds.get(term);
      if (id !== undefined) terms.push({ id, weight: 1 });
    }
    return this.planTerms(terms, k);
  }

  /**
   * Like `plan`, for terms already resolved, each counting `weight` times its idf (a synonym
   * counts less than the student's own word). Repeated ids count once, at their largest weight;
   * terms of weight ≤ 0 are left out.
   */
  planTerms(terms: readonly WeightedTerm[], k: number): LexicalPlan | null {
    if (this.docLengths.length === 0 || k <= 0) return null;
    const weights = new Map<number, number>();
    for (const { id, weight } of terms) {
      if (weight > 0 && id >= 0 && id < this.terms.length) weights.set(id, Math.max(weight, weights.get(id) ?? 0));
    }
    if (weights.size === 0) return null;
    const ids = [...weights.keys()];
    let postings = 0;
    for (const t of ids) postings += this.docFreq(t);
    const idfs = ids.map((t) => weights.get(t)! * this.idfOf(t));
    return { ids, idfs, k, exhaustive: ids.length === 1 || postings <= EXHAUSTIVE_POSTINGS };
  }

  /** Top `k` documents for already resolved, weighted terms (see `planTerms`), as `search` returns them. */
  searchTerms(terms: readonly WeightedTerm[], k: number): LexicalHit[] {
    const plan = this.planTerms(terms, k);
    if (!plan) return [];
    if (plan.exhaustive) return this.searchExhaustive(plan);
    return this.rescore(plan, this.maxScore.candidates(plan.ids, plan.idfs, k));
  }

  /** The id of an analysed term, or undefined when no document contains it. */
  termId(term: string): number | undefined {
    return this.termIds.get(term);
  }

  /** The analysed term of an id. */
  termOf(id: number): string {
    return this.terms[id]!;
  }

  /** idf of a term id; `idfOf(-1)` is the idf of a term found in no document (the largest there is). */
  idfOf(id: number): number {
    return idf(id < 0 ? 0 : this.docFreq(id), this.docLengths.length);
  }

  /** Number of documents that contain term `id`. */
  documentFrequency(id: number): number {
    return this.docFreq(id);
  }

  /** Whether document `doc` contains term `id`. */
  contains(id: number, doc: number): boolean {
    return this.weightOf(id, doc) > 0;
  }

  /**
   * The indexed term a misspelt one most likely stands for: one edit away (a letter added,
   * dropped, changed, or two neighbours swapped), the same first and last letters, at least
   * `MIN_FIX_LENGTH` letters long; the most frequent such term, or undefined. "overfiting" →
   * "overfitting". Short words are left alone: one edit turns them into other real words; so
   * are endings, where one letter is another word form or another word ("classif", the stem of
   * "classifica", is not "classic").
   */
  closestTerm(term: string): number | undefined {
    if (term.length < MIN_FIX_LENGTH || /\d/.test(term)) return undefined;
    const last = term[term.length - 1];
    let best: number | undefined;
    for (let id = 0; id < this.terms.length; id++) {
      const candidate = this.terms[id]!;
      if (candidate[0] !== term[0] || candidate[candidate.length - 1] !== last) continue;
      if (Math.abs(candidate.length - term.length) > 1 || candidate.length < MIN_FIX_LENGTH) continue;
      if (!oneEditApart(term, candidate)) continue;
      if (best === undefined || this.docFreq(id) > this.docFreq(best)) best = id;
    }
    return best;
  }

  /**
   * Every posting of the plan's terms added up, term at a time, in float32: the reference
   * scoring, and `search`'s way for short postings.
   */
  searchExhaustive({ ids, idfs, k }: LexicalPlan): LexicalHit[] {
    const scores = this.scratch;
    const touched = this.touched;
    const docs = this.postingDocs;
    const weights = this.weights;
    let count = 0;
    for (let i = 0; i < ids.length; i++) {
      const f = idfs[i]!;
      for (let p = this.postingsStart[ids[i]!]!, to = this.postingsStart[ids[i]! + 1]!; p < to; p++) {
        const doc = docs[p]!;
        const before = scores[doc]!;
        if (before === 0) touched[count++] = doc;
        scores[doc] = before + f * weights[p]!;
      }
    }
    const hits = topK(touched, count, scores, k);
    for (let i = 0; i < count; i++) scores[touched[i]!] = 0;
    return hits;
  }

  /** The top k of `candidates` (repeats allowed), scored as `searchExhaustive` scores them: terms in query order, float32 sums. */
  private rescore({ ids, idfs, k }: LexicalPlan, candidates: Iterable<number>): LexicalHit[] {
    const exact: LexicalHit[] = [];
    const f32 = new Float32Array(1);
    for (const doc of new Set(candidates)) {
      if (!(doc >= 0 && doc < this.docLengths.length)) continue;
      f32[0] = 0;
      for (let i = 0; i < ids.length; i++) {
        const weight = this.weightOf(ids[i]!, doc);
        if (weight > 0) f32[0] = f32[0]! + idfs[i]! * weight;
      }
      exact.push({ doc, score: f32[0]! });
    }
    exact.sort((a, c) => c.score - a.score || a.doc - c.doc);
    return exact.slice(0, k);
  }

  /** Number of documents that contain term t. */
  private docFreq(t: number): number {
    return this.postingsStart[t + 1]! - this.postingsStart[t]!;
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
   * A JSON header (`lexical.json`: format, parameters, counts, vocabulary) and one binary body
   * (`lexical.bin`: postings starts, posting documents, document lengths, posting term
   * frequencies, in that order, in the machine's byte order). Weights and bounds are not saved:
   * they are recomputed at load.
   */
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

  /** The index `serialize` wrote; throws when the header is not bm25-v1 or the body does not match it. */
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
    // Copied into an aligned buffer: a Buffer from readFile may not be 4-byte aligned.
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

/** Shortest term `closestTerm` corrects (or corrects into). */
const MIN_FIX_LENGTH = 6;

/** True when `a` becomes `b` by one insertion, deletion, substitution, or swap of two neighbours. */
export function oneEditApart(a: string, b: string): boolean {
  if (a === b) return false;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  if (a.length === b.length) {
    if (a.slice(i + 1) === b.slice(i + 1)) return true; // substitution
    return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2); // swap
  }
  const [longer, shorter] = a.length > b.length ? [a, b] : [b, a];
  return longer.slice(i + 1) === shorter.slice(i); // insertion / deletion
}

/** Per posting, `bm25Weight` of its term in its document, as float32. */
function postingWeights(docs: Int32Array, tfs: Uint16Array, lengths: Uint32Array, params: Bm25Params): Float32Array {
  let total = 0;
  for (const length of lengths) total += length;
  const avgdl = averageDocLength(total, lengths.length);
  const weights = new Float32Array(docs.length);
  for (let p = 0; p < weights.length; p++) weights[p] = bm25Weight(tfs[p]!, lengths[docs[p]!]!, avgdl, params);
  return weights;
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
