/**
 * fakeOpenAI: a scriptable OpenAI-compatible HTTP server for tests (127.0.0.1 only, no network).
 *
 * It speaks the real Chat Completions wire format, so the real `openai` client (or any
 * OpenAI-compatible client) can be pointed at it.
 *
 *   const fake = await startFakeOpenAI();                 // random port on 127.0.0.1
 *   const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL }); // `${fake.url}/v1`
 *   fake.enqueue({ type: 'text', text: 'Olá! [1]' });     // the next request gets this
 *   fake.enqueue({ type: 'error', status: 429, retryAfter: 1 }, { type: 'text', text: 'ok' });
 *   fake.setDefault((req) => ({ type: 'text', text: `eco: ${lastMessage(req)}` }));
 *   ...
 *   fake.requests;          // every request received, in arrival order (see FakeRequest)
 *   await fake.close();     // destroys every open socket (stalled ones too) and stops the server
 *
 * Routes
 * - `POST /v1/chat/completions` (any path ending in `/chat/completions`): answered by the next
 *   queued behaviour, or the default one when the queue is empty. Whether the reply is a JSON
 *   `chat.completion` or an SSE stream of `chat.completion.chunk`s (`data: {...}` lines,
 *   `choices[0].delta.content`, a final chunk with `finish_reason`, a usage chunk when
 *   `stream_options.include_usage` is set, then `data: [DONE]`) follows the request's `stream` flag.
 * - `GET /v1/models`: a model list (`fake-model` plus every model requested so far).
 * - anything else: 404 with an OpenAI-style JSON error.
 *
 * Behaviours (`FakeBehavior`; queue entries and the default may also be functions of the request):
 * - `{ type: 'text', text }`: a normal answer. `text` may be a function of the request.
 *   Streaming splits it into word-sized chunks (or `chunkSize` characters, or explicit `chunks`).
 *   Options: `delayMs` (before the headers), `chunkDelayMs` (between stream chunks),
 *   `firstChunkDelayMs` (before the first content chunk, default `chunkDelayMs`: the time to
 *   first token), `finishReason` (default 'stop'; null omits it), `omitDone` (no `data: [DONE]`),
 *   `headers`. The request's `firstContentAt` records when the first content chunk was written.
 * - `{ type: 'error', status }`: a JSON error body `{ error: { message, type, param, code } }`
 *   (`param` and `code` null unless given; or a raw `body`), with optional `retryAfter`
 *   (→ `retry-after` header, seconds or HTTP date), `retryAfterMs` (→ `retry-after-ms`), extra
 *   `headers`, `delayMs`.
 * - `{ type: 'stall', after }`: hangs forever (until the client gives up or `close()`).
 *   `after: 'request'` (default) sends nothing; `'headers'` sends 200 headers and no body;
 *   a number N sends N content chunks (streaming) or the first N bytes of the JSON body, then hangs.
 * - `{ type: 'cut', afterChunks }`: sends the headers and `afterChunks` content chunks (default 1)
 *   of `text` (streaming) or half of the JSON body (non-streaming), then destroys the socket.
 * - `{ type: 'malformed' }`: 200 with an invalid JSON body (non-streaming), or one good chunk
 *   followed by a `data:` line that is not JSON (streaming). `body` overrides the bad payload.
 * - `{ type: 'loop', text }`: a model stuck in a loop: `text` repeated, one word-sized piece per
 *   token, until the request's `max_tokens` (or `max_completion_tokens`) is reached, then
 *   `finish_reason: 'length'`, as a real server ends a generation at its limit. Without a limit
 *   (or with `ignoreMaxTokens`) a stream never ends (until the client leaves or `close()`), and a
 *   non-streamed request never gets its body. `chunkDelayMs` between pieces (default 2).
 * - `{ type: 'handler', handle(req, res) }`: full control over the Node `ServerResponse`.
 *
 * The default behaviour answers `{ type: 'text', text: 'ok' }`.
 * Helpers: `waitForRequests(n)`, `lastRequest`, `pending`, `reset()`, `lastMessage(req, role)`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeChatMessage {
  role: string;
  /** Plain string, or the text parts joined when the client sent content parts. */
  content: string;
}

export interface FakeRequest {
  /** 1-based arrival number. */
  seq: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body; undefined when the body is not JSON. */
  body: unknown;
  /** `body.stream === true`. */
  stream: boolean;
  model: string | undefined;
  messages: FakeChatMessage[];
  /** Date.now() at arrival. */
  receivedAt: number;
  /** Date.now() when the first content chunk of a streamed `text` answer was written. */
  firstContentAt?: number;
  /** `max_completion_tokens` or `max_tokens` of the request, when it set one. */
  maxTokens: number | undefined;
  /** Content pieces written for a `loop` answer (one per token). */
  tokensSent: number;
}

export type FakeBehavior =
  | {
      type: 'text';
      text: string | ((req: FakeRequest) => string);
      /** Explicit stream chunks (their concatenation should equal `text`). */
      chunks?: string[];
      /** Chunk size in characters; default: one word (with its trailing space) per chunk. */
      chunkSize?: number;
      delayMs?: number;
      chunkDelayMs?: number;
      /** Before the first content chunk (streaming); default `chunkDelayMs`. */
      firstChunkDelayMs?: number;
      /** Default 'stop'; null sends no finish_reason at all. */
      finishReason?: string | null;
      omitDone?: boolean;
      headers?: Record<string, string>;
    }
  | {
      type: 'error';
      status: number;
      message?: string;
      errorType?: string;
      /** The request field the error is about, e.g. 'response_format'. */
      param?: string | null;
      code?: string | null;
      /** Raw body instead of the standard `{ error: {...} }` (string as is, otherwise JSON). */
      body?: unknown;
      retryAfter?: number | string;
      retryAfterMs?: number;
      headers?: Record<string, string>;
      delayMs?: number;
    }
  | { type: 'stall'; after?: 'request' | 'headers' | number; text?: string }
  | { type: 'cut'; afterChunks?: number; text?: string; chunkDelayMs?: number }
  | { type: 'malformed'; body?: string; delayMs?: number }
  | { type: 'loop'; text: string; chunkDelayMs?: number; ignoreMaxTokens?: boolean }
  | { type: 'handler'; handle: (req: FakeRequest, res: ServerResponse) => void | Promise<void> };

export type FakeResponder = FakeBehavior | ((req: FakeRequest) => FakeBehavior);

export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1`, what the `openai` client takes as `baseURL`. */
  readonly baseURL: string;
  readonly port: number;
  /** Every request received, in arrival order. */
  readonly requests: FakeRequest[];
  readonly lastRequest: FakeRequest | undefined;
  /** Behaviours still queued. */
  readonly pending: number;
  /** Queues behaviours for the next chat completion requests, in order. */
  enqueue(...behaviors: FakeResponder[]): void;
  /** Behaviour used when the queue is empty. */
  setDefault(behavior: FakeResponder): void;
  /** Clears the queue and the recorded requests, and restores the default behaviour. */
  reset(): void;
  /** Resolves once `n` requests (in total) have arrived; rejects after `timeoutMs` (default 2000). */
  waitForRequests(n: number, timeoutMs?: number): Promise<FakeRequest[]>;
  close(): Promise<void>;
}

/** Content of the last message with `role` (default 'user'), or '' when none. */
export function lastMessage(req: FakeRequest, role = 'user'): string {
  for (let i = req.messages.length - 1; i >= 0; i--) {
    const m = req.messages[i];
    if (m && m.role === role) return m.content;
  }
  return '';
}

/** The request's completion limit: `max_completion_tokens` wins over `max_tokens`, as at OpenAI. */
function maxTokensOf(body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { max_completion_tokens: completion, max_tokens: legacy } = body as { max_completion_tokens?: unknown; max_tokens?: unknown };
  for (const v of [completion, legacy]) if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  return undefined;
}

const DEFAULT_BEHAVIOR: FakeBehavior = { type: 'text', text: 'ok' };

function parseMessages(body: unknown): FakeChatMessage[] {
  if (typeof body !== 'object' || body === null) return [];
  const msgs = (body as { messages?: unknown }).messages;
  if (!Array.isArray(msgs)) return [];
  return msgs.map((m: unknown) => {
    const { role, content } = (typeof m === 'object' && m !== null ? m : {}) as { role?: unknown; content?: unknown };
    let text = '';
    if (typeof content === 'string') text = content;
    else if (Array.isArray(content)) {
      text = content
        .map((p: unknown) => (typeof p === 'object' && p !== null && 'text' in p ? String((p as { text: unknown }).text) : ''))
        .join('');
    }
    return { role: typeof role === 'string' ? role : '', content: text };
  });
}

function splitChunks(text: string, chunkSize: number | undefined): string[] {
  if (text === '') return [];
  if (chunkSize && chunkSize > 0) {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += chunkSize) out.push(text.slice(i, i + chunkSize));
    return out;
  }
  return text.match(/\s*\S+\s*|\s+/g) ?? [text];
}

export async function startFakeOpenAI(opts: { defaultBehavior?: FakeResponder } = {}): Promise<FakeOpenAI> {
  const requests: FakeRequest[] = [];
  const queue: FakeResponder[] = [];
  let defaultBehavior: FakeResponder = opts.defaultBehavior ?? DEFAULT_BEHAVIOR;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let closed = false;
  let seq = 0;
  const modelsSeen = new Set<string>(['fake-model']);

  /** Resolves after `ms`, or never when the server closes first (the handler is then abandoned). */
  const sleep = (ms: number | undefined) =>
    new Promise<void>((resolve) => {
      if (!ms || ms <= 0) return resolve();
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const gone = (res: ServerResponse) => closed || res.destroyed || res.writableEnded;

  const writeSse = (res: ServerResponse, data: string): boolean => {
    if (gone(res)) return false;
    res.write(`data: ${data}\n\n`);
    return true;
  };

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (gone(res)) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };

  const completionBody = (req: FakeRequest, text: string, finishReason: string | null) => ({
    id: `chatcmpl-fake-${req.seq}`,
    object: 'chat.completion',
    created: Math.floor(req.receivedAt / 1000),
    model: req.model ?? 'fake-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: finishReason,
      },
    ],
    usage: usageFor(req, text),
    system_fingerprint: null,
  });

  const usageFor = (req: FakeRequest, text: string) => {
    const prompt = Math.ceil(req.messages.reduce((n, m) => n + m.content.length, 0) / 4);
    const completion = Math.ceil(text.length / 4);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  };

  const chunk = (req: FakeRequest, delta: Record<string, unknown>, finishReason: string | null = null) =>
    JSON.stringify({
      id: `chatcmpl-fake-${req.seq}`,
      object: 'chat.completion.chunk',
      created: Math.floor(req.receivedAt / 1000),
      model: req.model ?? 'fake-model',
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });

  const sseHeaders = (res: ServerResponse, req: FakeRequest, extra: Record<string, string> = {}) => {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-request-id': `req_fake_${req.seq}`,
      ...extra,
    });
    res.flushHeaders();
  };

  async function respond(req: FakeRequest, res: ServerResponse, b: FakeBehavior): Promise<void> {
    switch (b.type) {
      case 'text': {
        const text = typeof b.text === 'function' ? b.text(req) : b.text;
        const finish = b.finishReason === undefined ? 'stop' : b.finishReason;
        await sleep(b.delayMs);
        if (gone(res)) return;
        if (!req.stream) {
          sendJson(res, 200, completionBody(req, text, finish), { 'x-request-id': `req_fake_${req.seq}`, ...b.headers });
          return;
        }
        sseHeaders(res, req, b.headers);
        if (!writeSse(res, chunk(req, { role: 'assistant', content: '', refusal: null }))) return;
        let first = true;
        for (const piece of b.chunks ?? splitChunks(text, b.chunkSize)) {
          await sleep(first ? (b.firstChunkDelayMs ?? b.chunkDelayMs) : b.chunkDelayMs);
          if (!writeSse(res, chunk(req, { content: piece }))) return;
          if (first) req.firstContentAt = Date.now();
          first = false;
        }
        await sleep(b.chunkDelayMs);
        if (finish !== null && !writeSse(res, chunk(req, {}, finish))) return;
        const streamOptions = (req.body as { stream_options?: { include_usage?: boolean } } | undefined)?.stream_options;
        if (streamOptions?.include_usage) {
          writeSse(
            res,
            JSON.stringify({
              id: `chatcmpl-fake-${req.seq}`,
              object: 'chat.completion.chunk',
              created: Math.floor(req.receivedAt / 1000),
              model: req.model ?? 'fake-model',
              choices: [],
              usage: usageFor(req, text),
            }),
          );
        }
        if (!b.omitDone) writeSse(res, '[DONE]');
        if (!gone(res)) res.end();
        return;
      }
      case 'error': {
        await sleep(b.delayMs);
        const headers: Record<string, string> = { 'x-request-id': `req_fake_${req.seq}`, ...b.headers };
        if (b.retryAfter !== undefined) headers['retry-after'] = String(b.retryAfter);
        if (b.retryAfterMs !== undefined) headers['retry-after-ms'] = String(b.retryAfterMs);
        const body =
          b.body !== undefined
            ? b.body
            : {
                error: {
                  message: b.message ?? `fake error ${b.status}`,
                  type: b.errorType ?? (b.status === 429 ? 'rate_limit_exceeded' : b.status >= 500 ? 'server_error' : 'invalid_request_error'),
                  param: b.param ?? null,
                  code: b.code ?? null,
                },
              };
        sendJson(res, b.status, body, headers);
        return;
      }
      case 'stall': {
        const after = b.after ?? 'request';
        if (after === 'request') return; // never answer
        if (req.stream) {
          sseHeaders(res, req);
          if (typeof after === 'number') {
            writeSse(res, chunk(req, { role: 'assistant', content: '' }));
            for (const piece of splitChunks(b.text ?? 'Uma resposta que nunca termina de chegar', undefined).slice(0, after)) {
              writeSse(res, chunk(req, { content: piece }));
            }
          }
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_fake_${req.seq}` });
          res.flushHeaders();
          if (typeof after === 'number') {
            res.write(JSON.stringify(completionBody(req, b.text ?? 'ok', 'stop')).slice(0, after));
          }
        }
        return; // hang: the response is never ended
      }
      case 'cut': {
        const text = b.text ?? 'Esta resposta vai ser cortada no meio do caminho';
        if (req.stream) {
          sseHeaders(res, req);
          writeSse(res, chunk(req, { role: 'assistant', content: '' }));
          for (const piece of splitChunks(text, undefined).slice(0, b.afterChunks ?? 1)) {
            await sleep(b.chunkDelayMs);
            if (!writeSse(res, chunk(req, { content: piece }))) return;
          }
        } else {
          const json = JSON.stringify(completionBody(req, text, 'stop'));
          res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_fake_${req.seq}` });
          res.write(json.slice(0, Math.floor(json.length / 2)));
        }
        // Give the written bytes a chance to leave before the reset.
        await sleep(10);
        res.socket?.destroy();
        return;
      }
      case 'malformed': {
        await sleep(b.delayMs);
        if (gone(res)) return;
        if (!req.stream) {
          sendJson(res, 200, b.body ?? '{"id": "chatcmpl-broken", "choices": [ {"message": ', {
            'x-request-id': `req_fake_${req.seq}`,
          });
          return;
        }
        sseHeaders(res, req);
        writeSse(res, chunk(req, { role: 'assistant', content: 'Começo ' }));
        writeSse(res, b.body ?? '{"choices": [{"delta": {"content": "quebr');
        writeSse(res, '[DONE]');
        if (!gone(res)) res.end();
        return;
      }
      case 'loop': {
        const pieces = splitChunks(b.text, undefined);
        if (pieces.length === 0) throw new Error('fakeOpenAI: a loop needs some text');
        const limit = b.ignoreMaxTokens ? undefined : req.maxTokens;
        const piece = (n: number) => pieces[n % pieces.length] as string;
        if (!req.stream) {
          if (limit === undefined) {
            res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': `req_fake_${req.seq}` });
            res.flushHeaders();
            return; // generating forever: the body never comes
          }
          const text = Array.from({ length: limit }, (_, n) => piece(n)).join('');
          req.tokensSent = limit;
          sendJson(res, 200, completionBody(req, text, 'length'), { 'x-request-id': `req_fake_${req.seq}` });
          return;
        }
        sseHeaders(res, req);
        if (!writeSse(res, chunk(req, { role: 'assistant', content: '', refusal: null }))) return;
        while (limit === undefined || req.tokensSent < limit) {
          // Never 0: a loop must leave the event loop to everything else between pieces.
          await sleep(Math.max(1, b.chunkDelayMs ?? 2));
          if (!writeSse(res, chunk(req, { content: piece(req.tokensSent) }))) return;
          req.tokensSent++;
        }
        if (!writeSse(res, chunk(req, {}, 'length'))) return;
        writeSse(res, '[DONE]');
        if (!gone(res)) res.end();
        return;
      }
      case 'handler':
        await b.handle(req, res);
        return;
    }
  }

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      req.on('error', reject);
    });

  const server = createServer((httpReq, res) => {
    void (async () => {
      const rawBody = await readBody(httpReq);
      let body: unknown;
      try {
        body = rawBody ? (JSON.parse(rawBody) as unknown) : undefined;
      } catch {
        body = undefined;
      }
      const path = (httpReq.url ?? '/').split('?')[0] ?? '/';
      const model =
        typeof body === 'object' && body !== null && typeof (body as { model?: unknown }).model === 'string'
          ? (body as { model: string }).model
          : undefined;
      const req: FakeRequest = {
        seq: ++seq,
        method: httpReq.method ?? 'GET',
        path,
        headers: httpReq.headers,
        rawBody,
        body,
        stream: typeof body === 'object' && body !== null && (body as { stream?: unknown }).stream === true,
        model,
        messages: parseMessages(body),
        receivedAt: Date.now(),
        maxTokens: maxTokensOf(body),
        tokensSent: 0,
      };
      requests.push(req);
      for (const w of [...waiters]) w();

      if (req.method === 'GET' && /\/models\/?$/.test(path)) {
        sendJson(res, 200, {
          object: 'list',
          data: [...modelsSeen].map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })),
        });
        return;
      }
      if (req.method !== 'POST' || !/\/chat\/completions\/?$/.test(path)) {
        sendJson(res, 404, {
          error: { message: `fakeOpenAI: no route for ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
        });
        return;
      }
      if (model) modelsSeen.add(model);
      const next = queue.shift() ?? defaultBehavior;
      const behavior = typeof next === 'function' ? next(req) : next;
      await respond(req, res, behavior);
    })().catch((err: unknown) => {
      if (!gone(res) && !res.headersSent) {
        sendJson(res, 500, { error: { message: `fakeOpenAI handler failed: ${String(err)}`, type: 'server_error', param: null, code: null } });
      } else {
        res.socket?.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    baseURL: `${url}/v1`,
    port,
    requests,
    get lastRequest() {
      return requests[requests.length - 1];
    },
    get pending() {
      return queue.length;
    },
    enqueue(...behaviors) {
      queue.push(...behaviors);
    },
    setDefault(behavior) {
      defaultBehavior = behavior;
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      defaultBehavior = opts.defaultBehavior ?? DEFAULT_BEHAVIOR;
    },
    waitForRequests(n, timeoutMs = 2000) {
      return new Promise<FakeRequest[]>((resolve, reject) => {
        const check = () => {
          if (requests.length >= n) {
            cleanup();
            resolve([...requests]);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`fakeOpenAI: ${requests.length} of ${n} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      sockets.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
