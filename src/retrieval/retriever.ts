import type { RetrievedSegment } from '../types.js';
import type { CoverageEstimate } from './coverage.js';

/** What one search returns, including how it was done. */
export interface SearchResult {
  /** Best first. */
  segments: RetrievedSegment[];
  /** e.g. `e5+bm25` (hybrid), `bm25` (lexical-only). */
  retriever: string;
  /** Embedding model used, or null when retrieval was lexical-only. */
  embeddingModel: string | null;
  /** One-line pt-BR notices for the user, e.g. that retrieval ran lexical-only. */
  notices: string[];
  /** Time spent embedding the question (ms), when it was embedded. */
  embedMs?: number;
  /** Time spent searching the indexes and fusing (ms), excluding the question embedding. */
  searchMs: number;
  /** How much of the question the course covers (absent from retrievers that do not estimate it). */
  coverage?: CoverageEstimate;
  /** The question's embedding, when it was embedded (reused to match verified answers). */
  queryVector?: Float32Array;
}

export interface SearchOptions {
  /** Search only the windows of these videos (the lecture filter); every video when absent. */
  videoIds?: ReadonlySet<string>;
}

/** Finds the transcript windows most relevant to a question. */
export interface Retriever {
  search(question: string, k: number, options?: SearchOptions): Promise<SearchResult>;
}
