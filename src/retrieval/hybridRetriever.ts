/**
 * Hybrid retrieval: the question goes to the dense index (E5 embeddings through HNSW) and to the
 * BM25 index, and the two rankings are fused. Without an embedding model (offline with no
 * cached copy, or an index built without one) it runs lexical-only and says so in one line.
 *
 * The question is searched as concepts (`src/lexical/questionTerms.ts`): its words, the course
 * glossary's synonyms, numbers spelled out, misspellings fixed. Every returned window carries
 * its evidence (lexical coverage, the question's words it contains, cosine similarity), and the
 * search its coverage estimate for the question (`coverage.ts`): what the answer service needs
 * to tell a good match from noise, which the fused scores (ranks) cannot.
 */
import { performance } from 'node:perf_hooks';
import { videoLinkAt } from '../course/links.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { CourseIndex } from '../index/courseIndex.js';
import { analyseQuestion } from '../lexical/questionTerms.js';
import { resolveQuery, searchQuery, windowCoverage, type ResolvedQuery } from '../lexical/resolvedQuery.js';
import type { RetrievedSegment, SegmentEvidence } from '../types.js';
import type { CoverageEstimate } from './coverage.js';
import { reciprocalRankFusion, type RankedList } from './fusion.js';
import { denseMoment, lexicalMoment, spanTexts } from './moments.js';
import type { Retriever, SearchOptions, SearchResult } from './retriever.js';

export const NOTICE_NO_MODEL = 'Busca só por palavras-chave: o modelo de embeddings não pôde ser carregado.';
export const NOTICE_NO_DENSE_INDEX =
  'Busca só por palavras-chave: o índice foi construído sem embeddings (rode a ingestão com o modelo disponível).';

export interface HybridRetrieverOptions {
  /** How many candidates each retriever contributes before fusion (at least k). */
  candidates?: number;
  rrfK?: number;
}

/** Dense-only windows placed by embedding their spans, at most (the first ones, the ones quoted and linked). */
const MEANING_PLACED = 3;

export class HybridRetriever implements Retriever {
  private readonly notices: string[];
  readonly name: string;
  /** Lexical documents (positions in `windows`) per video, built at the first filtered search. */
  private docsByVideo: Map<string, number[]> | undefined;

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

  async search(question: string, k: number, options: SearchOptions = {}): Promise<SearchResult> {
    let embedMs: number | undefined;
    let queryVector: Float32Array | null = null;
    if (this.embedder && this.index.dense) {
      const t0 = performance.now();
      queryVector = await this.embedder.embedQuery(question);
      embedMs = performance.now() - t0;
    }
    const t1 = performance.now();
    const { segments, coverage } = this.searchWithEvidence(question, queryVector, k, options.videoIds);
    if (queryVector && this.embedder) await this.placeByMeaning(segments, queryVector);
    return {
      segments,
      retriever: this.name,
      embeddingModel: queryVector ? this.index.manifest.embeddingModel : null,
      notices: [...this.notices],
      embedMs,
      searchMs: performance.now() - t1,
      coverage,
      ...(queryVector ? { queryVector } : {}),
    };
  }

  /** The search itself, given the question's vector (null → lexical-only). Synchronous and fast. */
  searchVector(question: string, queryVector: ArrayLike<number> | null, k: number, videoIds?: ReadonlySet<string>): RetrievedSegment[] {
    return this.searchWithEvidence(question, queryVector, k, videoIds).segments;
  }

  /**
   * Windows that share no word with the question (found by the dense retriever alone) have no
   * lexical moment: their spans of cues are embedded and the closest to the question is the
   * moment. Only the first MEANING_PLACED windows, to bound the extra embedding work.
   */
  private async placeByMeaning(segments: RetrievedSegment[], queryVector: ArrayLike<number>): Promise<void> {
    const embedder = this.embedder;
    if (!embedder) return;
    const todo = segments.slice(0, MEANING_PLACED).filter((s) => !s.moment);
    for (const segment of todo) {
      const position = this.index.positions.get(segment.corpusId);
      if (position === undefined) continue;
      const window = this.index.windows[position]!;
      const texts = spanTexts(window);
      if (texts.length === 0) continue;
      const vectors = await embedder.embedPassages(texts.map((t) => t.text));
      const moment = denseMoment(window, queryVector, vectors);
      if (moment) segment.moment = moment;
    }
  }

  /** The question as the lexical index searches it (concepts, synonyms, weights). */
  resolve(question: string): ResolvedQuery {
    return resolveQuery(this.index.lexical, analyseQuestion(question, this.index.glossary));
  }

  /**
   * `searchVector`, with the coverage estimate for the question. With `videoIds` (the lecture
   * filter), both halves search only those videos' windows: the dense index through hnswlib's
   * filter, BM25 by scoring those windows alone, so a lecture's best windows are found even when
   * other lectures' windows outrank them everywhere; the coverage is then the chosen lectures'.
   */
  searchWithEvidence(
    question: string,
    queryVector: ArrayLike<number> | null,
    k: number,
    videoIds?: ReadonlySet<string>,
  ): { segments: RetrievedSegment[]; coverage: CoverageEstimate } {
    const { windows, positions, lexical, dense } = this.index;
    const candidates = Math.max(k, this.options.candidates ?? 30);
    const query = this.resolve(question);
    const lists: RankedList[] = [];
    const docs = videoIds ? this.docsOf(videoIds) : undefined;
    const unknown = query.concepts.filter((c) => c.forms.every((f) => f.ids.some((id) => id < 0))).map((c) => c.label);
    if (docs && docs.length === 0) {
      return { segments: [], coverage: { lexical: 0, matched: [], unknown, contentWords: query.concepts.length, dense: null } };
    }
    let denseBest: number | null = null;
    if (queryVector && dense) {
      const allowed = docs ? (label: number) => videoIds!.has(windows[positions.get(label) ?? -1]?.videoId ?? '') : undefined;
      const hits = dense.search(queryVector, candidates, allowed);
      denseBest = hits[0]?.score ?? null;
      lists.push({ name: 'dense', hits: hits.map((h) => ({ id: h.label, score: h.score })) });
    }
    const lexicalHits = searchQuery(lexical, query, candidates, docs);
    lists.push({ name: 'lexical', hits: lexicalHits.map((h) => ({ id: windows[h.doc]!.corpusId, score: h.score })) });

    // The best lexical coverage among the BM25 candidates (and, below, the fused segments).
    let best = { coverage: 0, matched: [] as string[] };
    for (const hit of lexicalHits) {
      const c = windowCoverage(lexical, query, hit.doc);
      if (c.coverage > best.coverage) best = c;
    }

    const segments: RetrievedSegment[] = [];
    for (const hit of reciprocalRankFusion(lists, k, this.options.rrfK)) {
      const position = positions.get(hit.id);
      if (position === undefined) continue;
      const window = windows[position]!;
      const video = this.index.videos.get(window.videoId);
      const evidence: SegmentEvidence = windowCoverage(lexical, query, position);
      if (evidence.coverage > best.coverage) best = evidence;
      const moment = evidence.matched.length > 0 ? lexicalMoment(window, query, lexical) : undefined;
      if (queryVector && dense) evidence.similarity = hit.foundBy.dense?.score ?? cosine(queryVector, dense.vector(window.corpusId));
      // Fields listed rather than `...window`: spreading these JSON-parsed objects and then adding
      // properties takes V8's slow path, which costs more than the search itself.
      segments.push({
        corpusId: window.corpusId,
        videoId: window.videoId,
        start: window.start,
        end: window.end,
        text: window.text,
        score: hit.score,
        foundBy: hit.foundBy,
        title: video?.title ?? window.videoId,
        url: video ? videoLinkAt(video.url, window.start) : '',
        evidence,
        ...(moment ? { moment } : {}),
      });
    }
    return {
      segments,
      coverage: { lexical: best.coverage, matched: best.matched, unknown, contentWords: query.concepts.length, dense: denseBest },
    };
  }

  /** The lexical documents (window positions) of these videos. */
  private docsOf(videoIds: ReadonlySet<string>): number[] {
    if (!this.docsByVideo) {
      const byVideo = new Map<string, number[]>();
      this.index.windows.forEach((w, i) => {
        const list = byVideo.get(w.videoId);
        if (list) list.push(i);
        else byVideo.set(w.videoId, [i]);
      });
      this.docsByVideo = byVideo;
    }
    return [...videoIds].flatMap((id) => this.docsByVideo!.get(id) ?? []);
  }
}

/** Dot product of two unit vectors: their cosine similarity. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * (b[i] ?? 0);
  return dot;
}

/** `Xenova/multilingual-e5-small` → `e5`; other models keep their last path part. */
export function shortModelName(modelId: string): string {
  const base = modelId.split('/').pop() ?? modelId;
  return /(^|[^a-z])e5([^a-z0-9]|$)/i.test(base) ? 'e5' : base;
}
