/**
 * Platform-neutral data model shared by the core, the CLI and every adapter.
 * Nothing here depends on Discord or Slack.
 */
import type { CoverageEstimate } from './retrieval/coverage.js';

/** One timed caption from a transcript file. Times are seconds. */
export interface Cue {
  start: number;
  end: number;
  text: string;
}

/** One lecture video as described by the course manifest (videos.json / videos.csv). */
export interface Video {
  id: string;
  title: string;
  url: string;
  /** Path of the transcript, relative to the course folder. */
  transcript: string;
}

/** Where each cue of a window starts: `offsets[i]` in the window's text, `starts[i]` in seconds. */
export interface WindowCues {
  offsets: number[];
  starts: number[];
}

/** A time window of one video: the unit that is embedded, indexed and retrieved. */
export interface TranscriptWindow {
  /** Stable integer id: the same window keeps the same id across re-ingests of the same index. */
  corpusId: number;
  videoId: string;
  start: number;
  end: number;
  text: string;
  /** Its cues' boundaries; absent in indexes built before they were kept (links then open at `start`). */
  cues?: WindowCues;
}

export type RetrieverName = 'dense' | 'lexical';

/** What a window has of the question, whichever retriever found it. */
export interface SegmentEvidence {
  /**
   * Lexical coverage, 0–1: the share of the question's content words (weighted by how specific
   * they are in the course) that the window contains.
   */
  coverage: number;
  /** The question's content words found in the window (analysed forms). */
  matched: string[];
  /** Cosine similarity between the question's and the window's embeddings, when the question was embedded. */
  similarity?: number;
}

/** A retrieved window with its fused score and which retrievers found it. */
export interface RetrievedSegment extends TranscriptWindow {
  /** Fused score (reciprocal rank fusion), higher is better. */
  score: number;
  /** Which retrievers returned this window, with their rank (1-based) and raw score. */
  foundBy: Partial<Record<RetrieverName, { rank: number; score: number }>>;
  title: string;
  /** Link that opens the video at `start`. */
  url: string;
  /** The window's evidence for the question (absent from retrievers that do not keep it). */
  evidence?: SegmentEvidence;
  /** The moment inside the window that best matches the question (absent without cue boundaries). */
  moment?: Moment;
}

/** A moment inside a window: where to open the video, and what is said there. */
export interface Moment {
  /** Second the link opens at: a few seconds before the best matching cue, never before the window. */
  at: number;
  /** The cues around it (a sentence or two of the transcript). */
  excerpt: string;
}

/** A link sent with an answer: one merged time range of one video. */
export interface Reference {
  videoId: string;
  title: string;
  start: number;
  end: number;
  url: string;
  /** Numbers of the excerpts (cited as [n] in the answer) inside this time range. */
  excerpts?: number[];
  /** Second `url` opens at: the best moment inside the range; absent when it is `start`. */
  at?: number;
  /**
   * True when the answer is "not found" and this is one of the moments closest to the question:
   * shown as such ("Trechos mais próximos"), never as where the answer is.
   */
  closest?: boolean;
}

/** `verified`: the question matched an answer a TA wrote or approved (src/humanloop/). */
export type AnswerKind = 'llm' | 'extractive' | 'not-found' | 'verified';

/** Milliseconds spent per stage of answering. */
export interface Timings {
  /** Rewriting a follow-up into a standalone question (one LLM call), when it was. */
  condenseMs?: number;
  embedMs?: number;
  retrieveMs: number;
  generateMs: number;
  totalMs: number;
}

/** What `answer(question)` returns: everything an adapter needs to render a reply. */
export interface AnswerResult {
  id: string;
  question: string;
  answer: string;
  kind: AnswerKind;
  references: Reference[];
  segments: RetrievedSegment[];
  /** e.g. `e5+bm25` or `bm25`. */
  retriever: string;
  /** Embedding model id used for retrieval, or null when lexical-only. */
  embeddingModel: string | null;
  /** LLM model id, or `extractive` when no LLM is configured. */
  model: string;
  promptVersion: string;
  /** One-line pt-BR notices for the user (e.g. lexical-only retrieval, extractive answer). */
  notices: string[];
  timings: Timings;
  createdAt: string;
  /**
   * What retrieval searched when it was not the question itself: a follow-up rewritten into a
   * standalone question (with an LLM), or extended with the previous question's key terms.
   */
  retrievalQuery: string | null;
  /** Video ids the search was restricted to (the lecture filter), or null. */
  lectureFilter: string[] | null;
  /** The answer policy applied (guardrails against solving graded work), or null. */
  policy: { version: string; mode: string; text: string | null } | null;
  /**
   * The conversation this answer is a turn of and its 1-based turn: set by the chat layer
   * (src/bot/) when it records the answer; null from the answer service alone (e.g. the CLI).
   */
  conversationId: string | null;
  turn: number | null;
  /** The evidence on whether the lectures cover the question (absent when the retriever keeps none). */
  coverage?: CoverageEstimate;
  /** Kind `verified`: the TA-verified answer that answered the question (src/humanloop/). */
  verified?: {
    id: string;
    /** 0–1, see VerifiedHit. */
    similarity: number;
    method: 'dense' | 'lexical';
    /** The question the TA answered. */
    question: string;
    /** When the TA wrote or approved it. */
    at: string;
  };
  /** TA notes pinned to lecture moments this answer cites ("Nota do monitor: …"). */
  notes?: StaffNoteView[];
}

/** A TA's note on a lecture moment, as shown with an answer that cites it. */
export interface StaffNoteView {
  id: string;
  text: string;
  videoId: string;
  title: string;
  start: number;
  end: number;
  url: string;
}
