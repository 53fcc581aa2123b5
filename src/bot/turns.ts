/**
 * One question's CPU work per event-loop turn.
 *
 * Each question does a few milliseconds of synchronous work before it waits on the network
 * (normalising, retrieval, the prompt, the LLM request). When a burst arrives at once (100
 * Slack commands in the same instant, or the interactions of a whole class), the work of every
 * question would otherwise run back to back inside a single turn of the event loop, and
 * everything else waits for the whole burst: the acknowledgements other requests owe their
 * platform within 3 seconds, timers, heartbeats. `nextTurn()` queues the caller behind the
 * previous caller and resumes it in a later turn (setImmediate), so bursts are spread one
 * question per turn and the loop keeps serving I/O and timers in between.
 */
let tail: Promise<void> = Promise.resolve();

/** Resolves in a later event-loop turn than any earlier call's (at most one caller per turn). */
export function nextTurn(): Promise<void> {
  const turn = tail.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  tail = turn;
  return turn;
}
