/** Shared-memory layout between `ParallelLexical` and its search thread (`lexicalThread.ts`). */
import type { SharedBm25Parts } from './bm25Index.js';

/** Slots of the control Int32Array. */
export const CONTROL = { state: 0, queryLength: 1, k: 2, hitCount: 3, failed: 4, length: 5 } as const;

/**
 * Request → Busy when the thread picks a query up (compare-and-swap); the caller may instead take
 * a request back (Request → Idle) that the thread has not picked up yet.
 */
export const State = { Idle: 0, Request: 1, Done: 2, Stop: 3, Busy: 4 } as const;

/** Longest query handed to the thread (UTF-8 bytes); longer ones are searched on the caller's thread. */
export const MAX_QUERY_BYTES = 16 * 1024;
/** Most hits per request. */
export const MAX_HITS = 1024;

export interface LexicalThreadData {
  index: SharedBm25Parts;
  control: Int32Array;
  queryBytes: Uint8Array;
  hitDocs: Int32Array;
  hitScores: Float32Array;
}
