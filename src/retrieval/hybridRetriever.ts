/**
 * Hybrid retrieval: the question goes to the dense index (E5 embeddings through HNSW) and to the
 * BM25 index, and the two rankings are fused. Without an embedding model (offline with no
 * cached copy, or an index built without one) it runs lexical-only and says so in one line.
 */
import { performance } from 'node:perf_hooks';
import { cachedVideoLinkAt } from '../course/links.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { CourseIndex } from '../index/courseIndex.js';
import type { RetrievedSegment } from '../types.js';
import { reciprocalRankFusion, type RankedList } from './fusion.js';
import type { Retriever, SearchResult } from './retriever.js';

export const NOTICE_NO_MODEL = 'Busca só por palavras-chave: o modelo de embeddings não pôde ser carregado.';
export const NOTICE_NO_DENSE_INDEX =
  'Busca só por palavras-chave: o índice foi construído sem embeddings (rode a ingestão com o modelo disponível).';

export interface HybridRetrieverOptions {
  /** How many candidates each retriever contributes before fusion (at least k). */
  candidates?: number;
  rrfK?: number;
}

export class HybridRetriever implements Retriever {
  private readonly notices: string[];
  readonly name: string;

  constructor(
    private readonly index: CourseIndex,
    private readonly embedder: Embedder | null,
    private readonly options: HybridRetrieverOptions = {},
  ) {
    const dense = this.denseAvailable();
    this.notices = dense ? [] : [index.dense ? NOTICE_NO_MODEL : NOTICE_NO_DENSE_INDEX];
    this.name = dense ? `${shortModelName(index.manifest.embeddingModel ?? '')}+bm25` : 'bm25';
  }

  /** True when questions are embedded and searched in the dense index. */
  denseAvailable(): boolean {
    return this.embedder !== null && this.index.dense !== null;
  }

  async search(question: string, k: number): Promise<SearchResult> {
    let embedMs: number | undefined;
    let queryVector: Float32Array | null = null;
    if (this.embedder && this.index.dense) {
      const t0 = performance.now();
      queryVector = await this.embedder.embedQuery(question);
      embedMs = performance.now() - t0;
    }
    const t1 = performance.now();
    const segments = this.searchVector(question, queryVector, k);
    return {
      segments,
      retriever: this.name,
      embeddingModel: queryVector ? this.index.manifest.embeddingModel : null,
      notices: [...this.notices],
      embedMs,
      searchMs: performance.now() - t1,
      ...(queryVector ? { queryVector } : {}),
    };
  }

  /** The search itself, given the question's vector (null → lexical-only). Synchronous and fast. */
  searchVector(question: string, queryVector: ArrayLike<number> | null, k: number): RetrievedSegment[] {
    const { windows, positions, lexical, dense } = this.index;
    const candidates = Math.max(k, this.options.candidates ?? 30);
    const lists: RankedList[] = [];
    if (queryVector && dense) {
      lists.push({ name: 'dense', hits: dense.search(queryVector, candidates).map((h) => ({ id: h.label, score: h.score })) });
    }
    lists.push({ name: 'lexical', hits: lexical.search(question, candidates).map((h) => ({ id: windows[h.doc]!.corpusId, score: h.score })) });
    const segments: RetrievedSegment[] = [];
    for (const hit of reciprocalRankFusion(lists, k, this.options.rrfK)) {
      const position = positions.get(hit.id);
      if (position === undefined) continue;
      const window = windows[position]!;
      const video = this.index.videos.get(window.videoId);
      // Fields listed rather than `...window`: spreading these JSON-parsed objects and then adding
      // properties takes V8's slow path (~10 µs per segment, more than the whole search).
      segments.push({
        corpusId: window.corpusId,
        videoId: window.videoId,
        start: window.start,
        end: window.end,
        text: window.text,
        score: hit.score,
        foundBy: hit.foundBy,
        title: video?.title ?? window.videoId,
        url: video ? cachedVideoLinkAt(video.url, window.start) : '',
      });
    }
    return segments;
  }
}

/** `Xenova/multilingual-e5-small` → `e5`; other models keep their last path part. */
export function shortModelName(modelId: string): string {
  const base = modelId.split('/').pop() ?? modelId;
  return /(^|[^a-z])e5([^a-z0-9]|$)/i.test(base) ? 'e5' : base;
}
