/**
 * Load-test behaviours for test/fakes/fakeOpenAI.ts: an answer that takes a realistic,
 * reproducible time (seeded PRNG) and is streamed in pieces, while a probe counts how many
 * requests the server is answering at the same moment (the LLM concurrency the bot really used).
 *
 *   const probe = new ConcurrencyProbe();
 *   llm.setDefault(slowAnswer(probe, { minMs: 200, maxMs: 800, text: (q) => `Resposta ${q} [1].` }));
 *   ... 100 questions ...
 *   probe.max;        // most requests in flight at once
 *   probe.finished;   // requests answered completely
 *
 * A request is "in flight" from its arrival at the fake until its response ends or its
 * connection closes. Streaming requests get SSE chunks (`chat.completion.chunk`, a final chunk
 * with `finish_reason: 'stop'`, `[DONE]`) spread over the latency; non-streaming ones get one
 * `chat.completion` after it.
 */
import type { ServerResponse } from 'node:http';
import type { FakeBehavior, FakeRequest } from '../fakes/fakeOpenAI.js';
import { mulberry32 } from '../../bench/lib/prng.js';

export class ConcurrencyProbe {
  active = 0;
  max = 0;
  started = 0;
  finished = 0;
  /** Requests whose connection closed before the answer was complete. */
  aborted = 0;
  /** Latencies (ms) the fake chose, in arrival order. */
  readonly latencies: number[] = [];

  /** @internal */
  enter(): void {
    this.started++;
    this.active++;
    if (this.active > this.max) this.max = this.active;
  }

  /** @internal */
  leave(complete: boolean): void {
    this.active--;
    if (complete) this.finished++;
    else this.aborted++;
  }
}

/** mulberry32: a small seeded PRNG, values in [0, 1). */
export const seededRandom = mulberry32;

/** The question of a pergunta prompt: the text inside `<pergunta>…</pergunta>` of the user message. */
export function questionOf(req: FakeRequest): string {
  const user = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const m = /<pergunta>\s*([\s\S]*?)\s*<\/pergunta>/.exec(user);
  return (m?.[1] ?? user).trim();
}

export interface SlowAnswerOptions {
  minMs: number;
  maxMs: number;
  /** The answer for a question (see `questionOf`). */
  text: (question: string, req: FakeRequest) => string;
  /** Stream chunks per answer. Default 6. */
  chunks?: number;
  /** PRNG seed (latencies are reproducible run to run). Default 42. */
  seed?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A `handler` behaviour (use as the fake's default) answering after minMs..maxMs, tracked by `probe`. */
export function slowAnswer(probe: ConcurrencyProbe, opts: SlowAnswerOptions): (req: FakeRequest) => FakeBehavior {
  const random = seededRandom(opts.seed ?? 42);
  const pieces = Math.max(1, opts.chunks ?? 6);
  return (req) => ({
    type: 'handler',
    handle: async (_req: FakeRequest, res: ServerResponse) => {
      const latency = Math.round(opts.minMs + random() * (opts.maxMs - opts.minMs));
      probe.latencies.push(latency);
      probe.enter();
      let complete = false;
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        probe.leave(complete);
      };
      res.on('close', leave);
      try {
        const text = opts.text(questionOf(req), req);
        const id = `chatcmpl-load-${req.seq}`;
        const created = Math.floor(req.receivedAt / 1000);
        if (!req.stream) {
          await sleep(latency);
          if (res.destroyed) return;
          const body = JSON.stringify({
            id,
            object: 'chat.completion',
            created,
            model: req.model ?? 'fake-model',
            choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
            usage: { prompt_tokens: 100, completion_tokens: Math.ceil(text.length / 4), total_tokens: 100 + Math.ceil(text.length / 4) },
          });
          complete = true;
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
          res.end(body);
          return;
        }
        // Time to first token ≈ a third of the latency, the rest spread over the chunks.
        const first = Math.round(latency / 3);
        await sleep(first);
        if (res.destroyed) return;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
        const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: req.model ?? 'fake-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
        res.write(chunk({ role: 'assistant', content: '' }));
        const size = Math.ceil(text.length / pieces);
        const gap = (latency - first) / pieces;
        for (let i = 0; i < text.length; i += size) {
          await sleep(gap);
          if (res.destroyed) return;
          res.write(chunk({ content: text.slice(i, i + size) }));
        }
        complete = true;
        res.write(chunk({}, 'stop'));
        res.end('data: [DONE]\n\n');
      } finally {
        if (res.writableEnded) leave();
      }
    },
  });
}

/** Max of a list (0 when empty). */
export function maxOf(values: readonly number[]): number {
  return values.reduce((m, v) => (v > m ? v : m), 0);
}

/** The p-th percentile (0..100) of a list, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
