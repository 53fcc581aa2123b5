/**
 * The search thread of `ParallelLexical`: waits on shared memory for a query, searches, writes
 * the hits back and wakes the caller. Never posts messages after start-up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Bm25Index } from './bm25Index.js';
import { CONTROL, State, type LexicalThreadData } from './parallelProtocol.js';

const data = workerData as LexicalThreadData;
const index = Bm25Index.fromShared(data.index);
const { control, queryBytes, hitDocs, hitScores } = data;
const decoder = new TextDecoder();
parentPort?.postMessage('ready');

for (;;) {
  let state = Atomics.load(control, CONTROL.state);
  while (state !== State.Request && state !== State.Stop) {
    Atomics.wait(control, CONTROL.state, state);
    state = Atomics.load(control, CONTROL.state);
  }
  if (state === State.Stop) break;
  // The caller may have taken the request back meanwhile (it searched itself): then wait again.
  if (Atomics.compareExchange(control, CONTROL.state, State.Request, State.Busy) !== State.Request) continue;
  try {
    // slice(): a copy outside shared memory, which every TextDecoder accepts.
    const query = decoder.decode(queryBytes.slice(0, control[CONTROL.queryLength]));
    const hits = index.search(query, control[CONTROL.k]!);
    for (let i = 0; i < hits.length; i++) {
      hitDocs[i] = hits[i]!.doc;
      hitScores[i] = hits[i]!.score;
    }
    control[CONTROL.hitCount] = hits.length;
    control[CONTROL.failed] = 0;
  } catch {
    control[CONTROL.failed] = 1;
  }
  Atomics.store(control, CONTROL.state, State.Done);
  Atomics.notify(control, CONTROL.state);
}
