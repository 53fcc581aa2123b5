/**
 * Matches a new question against the questions of the verified answers, in memory, kept up to
 * date item by item (a TA's new answer is added, an edited or retired one removed) rather than
 * rebuilt.
 *
 * Two similarities, each 0–1, each with its own threshold (VERIFIED_MIN_SIMILARITY,
 * VERIFIED_MIN_LEXICAL_SIMILARITY; calibrated with `npm run eval:verified`):
 * - dense: cosine of the question embeddings. The vector the retriever already computed for the
 *   question is reused, so matching costs no second embedding. Searched in an HNSW graph
 *   (src/dense/hnswIndex.ts, inner product of unit vectors), whose search stays well under a
 *   millisecond at 10,000 questions where a scan of every vector takes several.
 * - lexical: cosine of the two questions' analysed terms (the BM25 analyser: accents folded,
 *   stemmed, stop words dropped), each term weighted by its smoothed IDF over the live verified
 *   questions, so a term the verified questions never use weighs most. Only questions that share
 *   a term are scored (an inverted index), and only those whose shared weight can still reach
 *   the threshold get their norm computed: a question's norm is at least the square root of what
 *   it shares, so cos ≤ √shared / ‖query‖.
 * A question matches when either similarity reaches its threshold; when both name a candidate,
 * the one further above its threshold (relative to the room left up to 1) wins.
 */
import { HnswIndex } from '../dense/hnswIndex.js';
import { analyze } from '../lexical/portugueseAnalyzer.js';

export interface MatchItem {
  id: string;
  question: string;
  /** Unit vector of the question, or null when no embedding is available. */
  vector: Float32Array | null;
}

export interface MatchThresholds {
  dense: number;
  lexical: number;
}

export interface VerifiedMatch {
  id: string;
  similarity: number;
  method: 'dense' | 'lexical';
}

export interface MatchScores {
  dense: { id: string; similarity: number } | null;
  lexical: { id: string; similarity: number } | null;
}

interface Doc {
  id: string;
  terms: string[];
  alive: boolean;
  hasVector: boolean;
}

/** HNSW build and search breadth: top-1 of near-duplicates needs little. */
const HNSW = { m: 12, efConstruction: 40, ef: 48 } as const;

function idf(docFreq: number, docs: number): number {
  return 1 + Math.log((docs + 1) / (docFreq + 1));
}

export class VerifiedMatcher {
  private readonly docs: Doc[] = [];
  /** Live doc index by item id. */
  private readonly byId = new Map<string, number>();
  private readonly postings = new Map<string, number[]>();
  /** Live documents per term. */
  private readonly df = new Map<string, number>();
  private alive = 0;
  private scratch = new Float64Array(64);
  private dense: HnswIndex | null = null;
  private dimensions = 0;

  constructor(
    private readonly thresholds: MatchThresholds,
    items: readonly MatchItem[] = [],
  ) {
    for (const item of items) this.upsert(item);
  }

  get size(): number {
    return this.alive;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds the item, replacing an earlier one with the same id. */
  upsert(item: MatchItem): void {
    this.remove(item.id);
    const doc = this.docs.length;
    const terms = [...new Set(analyze(item.question))];
    let hasVector = false;
    if (item.vector && item.vector.length > 0) {
      if (!this.dense) {
        this.dimensions = item.vector.length;
        this.dense = HnswIndex.create(this.dimensions, 64, HNSW);
      }
      if (item.vector.length === this.dimensions) {
        this.dense.add(doc, item.vector);
        hasVector = true;
      }
    }
    this.docs.push({ id: item.id, terms, alive: true, hasVector });
    this.byId.set(item.id, doc);
    for (const t of terms) {
      const list = this.postings.get(t);
      if (list) list.push(doc);
      else this.postings.set(t, [doc]);
      this.df.set(t, (this.df.get(t) ?? 0) + 1);
    }
    this.alive++;
    if (this.scratch.length < this.docs.length) {
      const grown = new Float64Array(Math.max(this.docs.length, this.scratch.length * 2));
      grown.set(this.scratch);
      this.scratch = grown;
    }
  }

  remove(id: string): void {
    const doc = this.byId.get(id);
    if (doc === undefined) return;
    this.byId.delete(id);
    const entry = this.docs[doc]!;
    entry.alive = false;
    for (const t of entry.terms) this.df.set(t, (this.df.get(t) ?? 1) - 1);
    if (entry.hasVector) this.dense?.remove(doc);
    this.alive--;
  }

  /** The best candidate of each method, whatever the thresholds (calibration uses it). */
  scores(question: string, queryVector: ArrayLike<number> | null): MatchScores {
    return { dense: this.bestDense(queryVector), lexical: this.bestLexical(question, 0) };
  }

  match(question: string, queryVector: ArrayLike<number> | null): VerifiedMatch | null {
    if (this.alive === 0) return null;
    const dense = this.bestDense(queryVector);
    const lexical = this.bestLexical(question, this.thresholds.lexical);
    const margin = (s: number, t: number) => (t >= 1 ? (s >= 1 ? 1 : -1) : (s - t) / (1 - t));
    const candidates: Array<VerifiedMatch & { margin: number }> = [];
    if (dense && dense.similarity >= this.thresholds.dense) candidates.push({ ...dense, method: 'dense', margin: margin(dense.similarity, this.thresholds.dense) });
    if (lexical && lexical.similarity >= this.thresholds.lexical) {
      candidates.push({ ...lexical, method: 'lexical', margin: margin(lexical.similarity, this.thresholds.lexical) });
    }
    if (candidates.length === 0) return null;
    const best = candidates.sort((a, b) => b.margin - a.margin)[0]!;
    return { id: best.id, similarity: best.similarity, method: best.method };
  }

  private bestLexical(question: string, threshold: number): { id: string; similarity: number } | null {
    const terms = [...new Set(analyze(question))];
    if (terms.length === 0 || this.alive === 0) return null;
    const n = this.alive;
    const scratch = this.scratch;
    const touched: number[] = [];
    let queryNorm2 = 0;
    for (const t of terms) {
      const w = idf(this.df.get(t) ?? 0, n);
      const w2 = w * w;
      queryNorm2 += w2;
      const list = this.postings.get(t);
      if (!list) continue;
      for (const doc of list) {
        if (!this.docs[doc]!.alive) continue;
        if (scratch[doc] === 0) touched.push(doc);
        scratch[doc]! += w2;
      }
    }
    const minShared = threshold * threshold * queryNorm2;
    const queryNorm = Math.sqrt(queryNorm2);
    let best: { id: string; similarity: number } | null = null;
    for (const doc of touched) {
      const shared = scratch[doc]!;
      scratch[doc] = 0;
      if (shared < minShared) continue;
      let norm2 = 0;
      for (const t of this.docs[doc]!.terms) norm2 += idf(this.df.get(t) ?? 0, n) ** 2;
      const similarity = Math.min(1, shared / (queryNorm * Math.sqrt(norm2)));
      if (!best || similarity > best.similarity) best = { id: this.docs[doc]!.id, similarity };
    }
    return best;
  }

  private bestDense(queryVector: ArrayLike<number> | null): { id: string; similarity: number } | null {
    if (!queryVector || !this.dense || queryVector.length !== this.dimensions || this.dense.size === 0) return null;
    const [hit] = this.dense.search(queryVector, 1);
    if (!hit) return null;
    const doc = this.docs[hit.label];
    if (!doc?.alive) return null;
    return { id: doc.id, similarity: Math.max(0, Math.min(1, hit.score)) };
  }
}

/** Float32 vector ⇄ base64 (little-endian), how embeddings are kept in the store. */
export function vectorToBase64(vector: Float32Array): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

export function vectorFromBase64(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(Math.floor(bytes.length / 4));
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}
