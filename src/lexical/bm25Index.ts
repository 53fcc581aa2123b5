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

  /** Top `k` documents for the query, best first. Documents sharing no term are not returned. */
  search(query: string, k: number): LexicalHit[] {
    const n = this.docLengths.length;
    if (n === 0 || k <= 0) return [];
    const queryTerms = [...new Set(analyze(query))];
    if (queryTerms.length === 0) return [];
    const { k1, b } = this.params;
    const avgdl = this.averageLength();
    const scores = this.scratch;
    let touchedCount = 0;
    for (const term of queryTerms) {
      const t = this.termIds.get(term);
      if (t === undefined) continue;
      const from = this.postingsStart[t]!;
      const to = this.postingsStart[t + 1]!;
      const df = to - from;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      for (let p = from; p < to; p++) {
        const doc = this.postingDocs[p]!;
        const tf = this.postingTfs[p]!;
        const norm = k1 * (1 - b + (b * this.docLengths[doc]!) / avgdl);
        if (scores[doc] === 0) this.touched[touchedCount++] = doc;
        scores[doc] = scores[doc]! + (idf * (tf * (k1 + 1))) / (tf + norm);
      }
    }
    const hits = topK(this.touched, touchedCount, scores, k);
    for (let i = 0; i < touchedCount; i++) scores[this.touched[i]!] = 0;
    return hits;
  }

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

/** Partial selection of the k best scores among the touched documents. */
function topK(docs: Int32Array, count: number, scores: Float32Array, k: number): LexicalHit[] {
  const best: LexicalHit[] = [];
  let worst = -Infinity;
  for (let i = 0; i < count; i++) {
    const doc = docs[i]!;
    const score = scores[doc]!;
    if (best.length < k) {
      best.push({ doc, score });
      if (best.length === k) {
        best.sort((a, c) => c.score - a.score || a.doc - c.doc);
        worst = best[k - 1]!.score;
      }
    } else if (score > worst) {
      let pos = k - 1;
      while (pos > 0 && best[pos - 1]!.score < score) pos--;
      best.splice(pos, 0, { doc, score });
      best.pop();
      worst = best[k - 1]!.score;
    }
  }
  if (best.length < k) best.sort((a, c) => c.score - a.score || a.doc - c.doc);
  return best;
}
