/**
 * The search thread of `ParallelLexical`: waits on shared memory for a query, searches, writes
 * the answer back and wakes the caller. Never posts messages after start-up.
 *
 * A query searched exhaustively is answered whole (hits). A MaxScore query is searched in
 * document ranges taken from a shared counter, so that the caller, once done with HNSW, can take
 * the ranges still left; the thread then answers with the top k of its own ranges, rescored here
 * (while the caller rescores its own), and the caller merges the two.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Bm25Index, type LexicalHit, type LexicalPlan } from './bm25Index.js';
import { CONTROL, MAX_PLAN_TERMS, Plan, STAY_AWAKE_MS, State, pollWhile, takeRanges, type LexicalThreadData } from './parallelProtocol.js';

const data = workerData as LexicalThreadData;
const index = Bm25Index.fromShared(data.index);
const { control, queryBytes, hitDocs, hitScores, planIds, planIdfs } = data;
const decoder = new TextDecoder();
const bound = { cells: control, at: CONTROL.bound };
parentPort?.postMessage('ready');

function answer(): void {
  // slice(): a copy outside shared memory, which every TextDecoder accepts.
  const query = decoder.decode(queryBytes.slice(0, control[CONTROL.queryLength]));
  const plan = index.plan(query, control[CONTROL.k]!);
  publishPlan(plan);
  let hits: LexicalHit[];
  if (plan && !plan.exhaustive) {
    const run = index.maxScore(plan, bound);
    takeRanges(control, index.size, run);
    hits = index.rescore(plan, run.candidates());
  } else {
    hits = plan ? index.searchExhaustive(plan) : [];
  }
  for (let i = 0; i < hits.length; i++) {
    hitDocs[i] = hits[i]!.doc;
    hitScores[i] = hits[i]!.score;
  }
  control[CONTROL.hitCount] = hits.length;
}

/** Shares the plan with the caller, which then need not analyse the query itself. */
function publishPlan(plan: LexicalPlan | null): void {
  if (!plan || plan.exhaustive) {
    Atomics.store(control, CONTROL.plan, Plan.Whole);
    return;
  }
  if (plan.ids.length > MAX_PLAN_TERMS) return;
  planIds.set(plan.ids);
  planIdfs.set(plan.idfs);
  control[CONTROL.planTerms] = plan.ids.length;
  Atomics.store(control, CONTROL.plan, Plan.MaxScore);
}

for (;;) {
  let state = pollWhile(control, (s) => s !== State.Request && s !== State.Stop, STAY_AWAKE_MS);
  while (state !== State.Request && state !== State.Stop) {
    Atomics.wait(control, CONTROL.state, state);
    state = Atomics.load(control, CONTROL.state);
  }
  if (state === State.Stop) break;
  // The caller may have taken the request back meanwhile (it searched itself): then wait again.
  if (Atomics.compareExchange(control, CONTROL.state, State.Request, State.Busy) !== State.Request) continue;
  try {
    answer();
    control[CONTROL.failed] = 0;
  } catch {
    control[CONTROL.failed] = 1;
  }
  Atomics.store(control, CONTROL.state, State.Done);
  Atomics.notify(control, CONTROL.state);
}
