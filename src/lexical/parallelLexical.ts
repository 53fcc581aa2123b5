/**
 * Lexical search on a second thread, so that a hybrid query's BM25 search runs while the calling
 * thread searches HNSW: the query then costs about the slower of the two instead of their sum,
 * and less when BM25 is the slower: a long (MaxScore) search is split into document ranges, and
 * the caller, done with HNSW, takes the ranges the thread has not started yet.
 *
 * The worker searches the same index without a copy (its arrays live in SharedArrayBuffers, see
 * `Bm25Index.shareable`). A request is handed over through shared memory and Atomics, not
 * messages: `begin()` writes the query and wakes the worker, `end()` searches the ranges left,
 * then waits (bounded) for the thread's answer, or takes the query back if the worker has not
 * started on it. Whenever the worker
 * cannot answer (not started yet, gone, late, query too long, k too large) the caller is told to
 * search on its own thread, so results never depend on the worker.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { mergeHits, type Bm25Index, type LexicalHit, type LexicalPlan } from './bm25Index.js';
import { CONTROL, MAX_K, MAX_PLAN_TERMS, Plan, MAX_QUERY_BYTES, State, pollWhile, rangesLeft, takeRanges, type LexicalThreadData } from './parallelProtocol.js';

export interface ParallelLexicalOptions {
  /** How long `end()` waits for the worker before giving up on it for good. */
  answerTimeoutMs?: number;
  /** How long `start()` waits for the worker to load. */
  startTimeoutMs?: number;
  logger?: Logger;
}

export class ParallelLexical {
  private readonly control: Int32Array;
  private readonly queryBytes: Uint8Array;
  private readonly hitDocs: Int32Array;
  private readonly hitScores: Float32Array;
  private readonly planIds: Int32Array;
  private readonly planIdfs: Float64Array;
  private readonly encoder = new TextEncoder();
  private broken: string | null = null;
  private pending = false;
  private query = '';
  private k = 0;

  private constructor(
    private readonly index: Bm25Index,
    private readonly worker: Worker,
    data: LexicalThreadData,
    private readonly answerTimeoutMs: number,
    private readonly logger: Logger | undefined,
  ) {
    this.control = data.control;
    this.queryBytes = data.queryBytes;
    this.hitDocs = data.hitDocs;
    this.hitScores = data.hitScores;
    this.planIds = data.planIds;
    this.planIdfs = data.planIdfs;
    worker.on('error', (err) => this.giveUp(`the search thread failed: ${err.message}`));
    worker.on('exit', (code) => this.giveUp(`the search thread exited (code ${code})`));
  }

  /** Starts the search thread for `index`; null (with a log line) if it cannot start. */
  static async start(index: Bm25Index, options: ParallelLexicalOptions = {}): Promise<ParallelLexical | null> {
    const data: LexicalThreadData = {
      index: index.shareable(),
      control: new Int32Array(new SharedArrayBuffer(CONTROL.length * Int32Array.BYTES_PER_ELEMENT)),
      queryBytes: new Uint8Array(new SharedArrayBuffer(MAX_QUERY_BYTES)),
      hitDocs: new Int32Array(new SharedArrayBuffer(MAX_K * Int32Array.BYTES_PER_ELEMENT)),
      hitScores: new Float32Array(new SharedArrayBuffer(MAX_K * Float32Array.BYTES_PER_ELEMENT)),
      planIds: new Int32Array(new SharedArrayBuffer(MAX_PLAN_TERMS * Int32Array.BYTES_PER_ELEMENT)),
      planIdfs: new Float64Array(new SharedArrayBuffer(MAX_PLAN_TERMS * Float64Array.BYTES_PER_ELEMENT)),
    };
    let worker: Worker;
    try {
      worker = startThread(new URL(`./lexicalThread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), data);
    } catch (err) {
      options.logger?.warn(`lexical search stays on the main thread: ${(err as Error).message}`);
      return null;
    }
    worker.unref();
    const ready = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(`it did not start within ${options.startTimeoutMs ?? 30_000} ms`), options.startTimeoutMs ?? 30_000);
      worker.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg === 'ready' ? null : `unexpected message ${String(msg)}`);
      });
      worker.once('error', (err) => {
        clearTimeout(timer);
        resolve(err.message);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        resolve(`it exited with code ${code}`);
      });
    });
    if (ready !== null) {
      options.logger?.warn(`lexical search stays on the main thread: the search thread ${ready}`);
      await worker.terminate();
      return null;
    }
    return new ParallelLexical(index, worker, data, options.answerTimeoutMs ?? 2_000, options.logger);
  }

  /** False when the thread is no longer used (see the log line that said why). */
  get available(): boolean {
    return this.broken === null;
  }

  /**
   * Hands `query` to the search thread. Returns false when it cannot take it (the caller then
   * searches itself); after true, call `end()` exactly once.
   */
  begin(query: string, k: number): boolean {
    if (this.broken !== null || this.pending || k < 1 || k > MAX_K) return false;
    const { read, written } = this.encoder.encodeInto(query, this.queryBytes);
    if (read < query.length) return false;
    this.query = query;
    this.k = k;
    this.control[CONTROL.queryLength] = written;
    this.control[CONTROL.k] = k;
    this.control[CONTROL.nextChunk] = 0;
    this.control[CONTROL.bound] = 0;
    this.control[CONTROL.plan] = Plan.None;
    Atomics.store(this.control, CONTROL.state, State.Request);
    Atomics.notify(this.control, CONTROL.state, 1);
    this.pending = true;
    return true;
  }

  /**
   * The hits for the query given to `begin()`, or null when the caller should search itself:
   * the thread had not even picked a short query up yet (a sleeping thread can take a while to
   * wake on a busy machine; the query is taken back and nothing is lost), or it failed or did not
   * answer in time (then it is given up for good). A long (MaxScore) query's document ranges that
   * the thread has not started are searched here first, before waiting for the thread.
   */
  end(): LexicalHit[] | null {
    if (!this.pending) return null;
    this.pending = false;
    const control = this.control;
    const plan = this.plan();
    // A MaxScore query's ranges that the thread has not started (all of them if it is still
    // waking up, which it may do meanwhile and then take some) are searched here, and their top
    // k taken while the thread may still be on its last range.
    let ownHits: LexicalHit[] | null = null;
    if (plan && !plan.exhaustive && rangesLeft(control, this.index.size)) {
      const own = this.index.maxScore(plan, { cells: control, at: CONTROL.bound });
      this.rangesTaken += takeRanges(control, this.index.size, own);
      ownHits = this.index.rescore(plan, own.candidates());
    }
    if (Atomics.compareExchange(control, CONTROL.state, State.Request, State.Idle) === State.Request) {
      // The thread never started on it: every range was searched here, or the caller searches.
      this.takenBack++;
      return ownHits;
    }
    const state = this.awaitAnswer();
    if (state !== State.Done) {
      this.giveUp(`the search thread did not answer within ${this.answerTimeoutMs} ms`);
      return null;
    }
    // Read everything before handing the slots back (Idle).
    const failed = control[CONTROL.failed] !== 0;
    const count = failed ? 0 : control[CONTROL.hitCount]!;
    const hits: LexicalHit[] = [];
    for (let i = 0; i < count; i++) hits.push({ doc: this.hitDocs[i]!, score: this.hitScores[i]! });
    Atomics.store(control, CONTROL.state, State.Idle);
    if (failed) return null;
    // With ranges of ours, the query was shared (plans are deterministic), so the thread's hits
    // are the top k of its ranges: merged with ours. Otherwise they are the whole answer.
    return ownHits ? mergeHits(hits, ownHits, this.k) : hits;
  }

  /**
   * The query's plan as the thread published it, or made here if it has not yet; null when the
   * thread answers the query whole (then there are no ranges to share).
   */
  private plan(): LexicalPlan | null {
    const published = Atomics.load(this.control, CONTROL.plan);
    if (published === Plan.Whole) return null;
    if (published !== Plan.MaxScore) return this.index.plan(this.query, this.k);
    const terms = this.control[CONTROL.planTerms]!;
    return {
      ids: Array.from(this.planIds.subarray(0, terms)),
      idfs: Array.from(this.planIdfs.subarray(0, terms)),
      k: this.k,
      exhaustive: false,
    };
  }

  /** Waits for the thread to finish the current query: polls for a while (it is usually about to), then sleeps. */
  private awaitAnswer(): number {
    const control = this.control;
    const deadline = performance.now() + this.answerTimeoutMs;
    let state = pollWhile(control, (s) => s === State.Busy, Math.min(POLL_MS, this.answerTimeoutMs));
    while (state === State.Busy) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(control, CONTROL.state, State.Busy, left) === 'timed-out') break;
      state = Atomics.load(control, CONTROL.state);
    }
    return state;
  }

  /** Document ranges of MaxScore queries that the calling thread searched itself (the thread took the others). */
  rangesTaken = 0;

  /** Queries the thread had not picked up by the time the caller needed them (searched on the caller's thread). */
  takenBack = 0;

  async close(): Promise<void> {
    if (this.broken === null) this.broken = 'closed';
    Atomics.store(this.control, CONTROL.state, State.Stop);
    Atomics.notify(this.control, CONTROL.state);
    await this.worker.terminate();
  }

  private giveUp(reason: string): void {
    if (this.broken !== null) return;
    this.broken = reason;
    this.logger?.warn(`lexical search moves back to the main thread: ${reason}`);
    Atomics.store(this.control, CONTROL.state, State.Stop);
    Atomics.notify(this.control, CONTROL.state);
    void this.worker.terminate();
  }
}

/** How long `end()` polls for the thread's answer before it sleeps (waking can take milliseconds on a busy machine). */
const POLL_MS = 2;

/**
 * The thread runs TypeScript when this module does (tsx, vitest). Node 20 does not pass the tsx
 * loader on to worker threads, so a .ts entry is started through a small bootstrap that loads it
 * with tsx's API.
 */
function startThread(entry: URL, data: LexicalThreadData): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData: data });
  // The ESM build of tsx/esm/api (require.resolve would give the CommonJS one).
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsxApi = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)}))`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}
