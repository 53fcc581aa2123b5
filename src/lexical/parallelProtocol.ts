/** Shared-memory layout between `ParallelLexical` and its search thread (`lexicalThread.ts`). */
import type { MaxScoreRun, SharedBm25Parts } from './bm25Index.js';

/**
 * Slots of the control Int32Array. `nextChunk` hands out the query's document ranges (each
 * thread takes the next with `Atomics.add`); `bound` is the query's shared lower bound on the
 * k-th score (`SharedScoreBound`); `plan` and `planTerms` share the thread's plan (`Plan`).
 */
export const CONTROL = { state: 0, queryLength: 1, k: 2, hitCount: 3, failed: 4, nextChunk: 5, bound: 6, plan: 7, planTerms: 8, length: 9 } as const;

/**
 * What the thread published in the `plan` slot once it planned the query, so that the caller does
 * not analyse the query again: nothing yet (or a plan too long for the slots), that it answers
 * the query whole, or a MaxScore plan (`planTerms` terms in `planIds` / `planIdfs`).
 */
export const Plan = { None: 0, Whole: 1, MaxScore: 2 } as const;

/** Most query terms a published plan holds (a longer query is planned by the caller too). */
export const MAX_PLAN_TERMS = 256;

/**
 * Request → Busy when the thread picks a query up (compare-and-swap); the caller may instead take
 * a request back (Request → Idle) that the thread has not picked up yet.
 */
export const State = { Idle: 0, Request: 1, Done: 2, Stop: 3, Busy: 4 } as const;

/** Longest query handed to the thread (UTF-8 bytes); longer ones are searched on the caller's thread. */
export const MAX_QUERY_BYTES = 16 * 1024;
/** Most hits a caller may ask for (the answer slots hold this many). */
export const MAX_K = 1024;

/** A MaxScore query's documents are split into this many ranges, taken by whichever thread is free. */
function chunkCount(docs: number): number {
  return Math.max(1, Math.min(32, Math.ceil(docs / 4096)));
}

/** First document of range `chunk` (of `chunks`); range `chunks` starts at `docs`. */
function chunkStart(docs: number, chunk: number, chunks: number): number {
  return Math.floor((chunk * docs) / chunks);
}

/** True while the query in `control` has document ranges no thread has taken yet. */
export function rangesLeft(control: Int32Array, docs: number): boolean {
  return Atomics.load(control, CONTROL.nextChunk) < chunkCount(docs);
}

/**
 * Runs `run` over each range of the query's documents that no thread has taken yet, taking them
 * one at a time from the shared counter (ascending, as `MaxScoreRun.run` needs); returns how many.
 */
export function takeRanges(control: Int32Array, docs: number, run: MaxScoreRun): number {
  const chunks = chunkCount(docs);
  let taken = 0;
  for (let c = Atomics.add(control, CONTROL.nextChunk, 1); c < chunks; c = Atomics.add(control, CONTROL.nextChunk, 1)) {
    run.run(chunkStart(docs, c, chunks), chunkStart(docs, c + 1, chunks));
    taken++;
  }
  return taken;
}

/**
 * After answering, the thread polls for the next query this long before it sleeps: waking a
 * sleeping thread can take milliseconds on a busy (virtual) machine, while a burst of questions
 * comes in faster than that.
 */
export const STAY_AWAKE_MS = 5;

/**
 * Reads the state slot while `waiting(state)` holds, for at most `ms`; returns the last state read.
 * The clock is read only every 1,024 polls: each `performance.now()` allocates a number, and a
 * loop that allocates makes the garbage collector pause the thread it is meant to keep fast.
 */
export function pollWhile(control: Int32Array, waiting: (state: number) => boolean, ms: number): number {
  const until = performance.now() + ms;
  let state = Atomics.load(control, CONTROL.state);
  for (let polls = 1; waiting(state); polls++) {
    if ((polls & 1023) === 0 && performance.now() >= until) break;
    state = Atomics.load(control, CONTROL.state);
  }
  return state;
}

export interface LexicalThreadData {
  index: SharedBm25Parts;
  control: Int32Array;
  queryBytes: Uint8Array;
  hitDocs: Int32Array;
  hitScores: Float32Array;
  planIds: Int32Array;
  planIdfs: Float64Array;
}
