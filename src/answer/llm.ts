/**
 * The LLM seen by the answer service: one `complete(messages)` call on any server that
 * speaks the OpenAI Chat Completions API (OpenAI, vLLM, Ollama, LM Studio, llama.cpp...).
 *
 * Reliability rules:
 * - Timeouts. Non-streaming: `timeoutMs` bounds each attempt as a whole (headers and body).
 *   Streaming: `timeoutMs` is an idle timeout, the longest wait for the response headers and
 *   then between two chunks, so a stalled stream is detected. `maxDurationMs` bounds any
 *   single attempt in both modes (a server trickling bytes forever).
 * - Retries. 408/409/429/5xx, connection errors, timeouts and streams that break off are
 *   retried at most `maxRetries` times, honouring `retry-after-ms`/`retry-after` (a wait
 *   longer than `maxRetryAfterMs` is not retried: it fails at once as `rate-limited`) and
 *   otherwise backing off exponentially with jitter. A streaming attempt that already
 *   forwarded text to `onDelta` is never retried (the caller would see the text twice).
 *   The SDK's own retry loop is disabled (`maxRetries: 0` per request) because it honours
 *   any `retry-after` however long, and knows nothing of stalled or broken bodies; the SDK
 *   `timeout` option is still set and bounds the wait for response headers.
 * - Length. `maxTokens` is sent as `max_tokens` (what Ollama, vLLM and llama.cpp read; a server
 *   that answers 400 asking for `max_completion_tokens`, as OpenAI's reasoning models do, gets
 *   that from then on), so a model stuck repeating itself cannot hold a
 *   concurrency slot until `maxDurationMs`. An answer that reaches it (finish_reason `length`)
 *   is not an error: the reply keeps the text and says `truncated`. A streaming server that
 *   ignores the limit is cut by the client after `maxTokens × MAX_CHARS_PER_TOKEN` characters.
 * - Concurrency. At most `maxConcurrency` (default 4) calls run at once; the rest queue.
 * - Errors are `LlmError`s with a `kind` and a pt-BR `userMessage`. Their messages are
 *   sanitised: the API key (and anything that looks like a secret key) never appears in an
 *   error or a log line. The raw SDK error is deliberately not kept as `cause`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  PermissionDeniedError,
} from 'openai';
import pLimit from 'p-limit';
import type { ChatMessage } from './prompt.js';
import { EXIT, UserError } from '../errors.js';

export type LlmErrorKind = 'rate-limited' | 'timeout' | 'unavailable' | 'bad-response' | 'auth';

/** pt-BR messages adapters show to students, one per error kind. */
export const LLM_USER_MESSAGES: Readonly<Record<LlmErrorKind, string>> = {
  'rate-limited': 'O serviço de respostas está sobrecarregado no momento. Tente de novo em alguns minutos.',
  timeout: 'O serviço de respostas demorou demais para responder. Tente de novo em instantes.',
  unavailable: 'O serviço de respostas está indisponível no momento. Tente de novo mais tarde.',
  'bad-response':
    'O serviço de respostas devolveu uma resposta inválida. Tente de novo; se o problema continuar, avise a equipe da disciplina.',
  auth: 'O serviço de respostas recusou as credenciais do bot. Avise a equipe da disciplina.',
};

/** Exit 1: the question was fine; the LLM server failed or refused (the message says which). */
export class LlmError extends UserError {
  readonly exitCode = EXIT.failure;
  override readonly name = 'LlmError';
  /** pt-BR text to show to the student. */
  readonly userMessage: string;
  /** HTTP status, when the server answered with one. */
  readonly status: number | undefined;
  /** Whether this kind of failure may succeed when retried. */
  readonly retryable: boolean;
  /** Wait asked by the server (`retry-after-ms` / `retry-after`), in ms. */
  readonly retryAfterMs: number | undefined;
  /** The server's error `param` and `code` (e.g. `response_format`, `unsupported_parameter`), when it sent them. */
  readonly param: string | undefined;
  readonly code: string | undefined;
  /** Attempts made before giving up (1 = no retry). */
  attempts = 1;
  /** True when part of the answer had already been forwarded to `onDelta`. */
  partial = false;

  constructor(
    readonly kind: LlmErrorKind,
    message: string,
    opts: { status?: number; retryable?: boolean; retryAfterMs?: number; param?: string; code?: string } = {},
  ) {
    super(message);
    this.userMessage = LLM_USER_MESSAGES[kind];
    this.status = opts.status;
    this.param = opts.param;
    this.code = opts.code;
    this.retryable = opts.retryable ?? false;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

export interface LlmLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** `response_format` of the Chat Completions API, e.g. `{ type: 'json_object' }` (JSON mode). */
export type ResponseFormat = NonNullable<OpenAI.Chat.Completions.ChatCompletionCreateParams['response_format']>;

export interface CompleteOptions {
  /** When given, the answer is streamed and each piece of text is passed here, in order. */
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
  /**
   * Sent as `response_format` when given; nothing is sent otherwise (the answers never set it).
   * A server that does not accept it answers 4xx: the call fails as `bad-response` with the
   * server's `param`/`code` on the error, and the caller decides whether to ask again without it.
   */
  responseFormat?: ResponseFormat;
}

/** What one completion produced. */
export interface LlmReply {
  /** The answer text, trimmed. */
  text: string;
  /** The server's finish_reason (`stop`, `length`, …). */
  finishReason: string;
  /** The answer ended at the length limit (`maxTokens`), not where the model meant to stop. */
  truncated: boolean;
}

export interface Llm {
  /** Model id sent to the server (and recorded with each answer). */
  readonly model: string;
  /** The server's base URL, when known (what a per-server memory is keyed by). */
  readonly baseURL?: string;
  /** The `max_tokens` sent with each request, when there is one. */
  readonly maxTokens?: number | undefined;
  /**
   * Returns the answer. When streaming, the deltas passed to `onDelta` concatenate exactly to
   * the returned text (leading/trailing whitespace is never forwarded). Rejects with
   * `LlmError`, or with the signal's reason when `signal` aborts.
   */
  complete(messages: readonly ChatMessage[], opts?: CompleteOptions): Promise<LlmReply>;
}

/**
 * Characters of streamed text per token of `maxTokens` after which the client stops reading a
 * server that ignores `max_tokens`: about twice what a token of Portuguese text or code takes.
 */
export const MAX_CHARS_PER_TOKEN = 8;

export interface LlmOptions {
  apiKey: string;
  /** e.g. `http://127.0.0.1:11434/v1`; defaults to the SDK's (OPENAI_BASE_URL or api.openai.com). */
  baseURL?: string;
  model: string;
  /** Non-streaming: per-attempt deadline. Streaming: idle timeout (headers, then between chunks). */
  timeoutMs: number;
  /** Retries after the first attempt (0 = no retry). */
  maxRetries: number;
  temperature?: number;
  /** Limit on the answer length, sent as `max_tokens` when given (see the header). */
  maxTokens?: number;
  /** Simultaneous requests; more calls wait in a queue. Default 4. */
  maxConcurrency?: number;
  /** Hard limit on one attempt, whatever the mode. Default 180 000 ms. */
  maxDurationMs?: number;
  /** A server-requested wait longer than this is not retried. Default 20 000 ms. */
  maxRetryAfterMs?: number;
  /** First backoff delay when the server gives no retry-after; doubles per retry, capped at 8 s. Default 500 ms. */
  retryBaseDelayMs?: number;
  logger?: LlmLogger;
}

const MAX_BACKOFF_MS = 8_000;

/** Replaces the API key, bearer tokens and anything shaped like a secret key. */
export function redactSecrets(text: string, apiKey: string): string {
  let out = text;
  if (apiKey.length >= 4) out = out.split(apiKey).join('[redacted]');
  return out
    .replace(/\b(sk|rk|pk)-[A-Za-z0-9_*-]{6,}/g, '$1-[redacted]')
    .replace(/(bearer\s+)[^\s"',]+/gi, '$1[redacted]');
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function retryAfterFromHeaders(headers: Headers | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null) {
    const v = Number.parseFloat(ms);
    if (Number.isFinite(v)) return Math.max(0, v);
  }
  const after = headers.get('retry-after');
  if (after !== null) {
    const secs = Number.parseFloat(after);
    if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return undefined;
}

/** Internal marker for our own timers firing. */
class AttemptTimeout extends Error {
  constructor(readonly what: string) {
    super(what);
  }
}

/** Internal marker for a stream that ended without a finish_reason. */
class IncompleteStream extends Error {}

/** ` (cause: cause of cause…)` of an error, up to three levels, or ''. */
function causeChain(err: Error): string {
  const parts: string[] = [];
  let cause: unknown = err.cause;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth++) {
    const code = (cause as NodeJS.ErrnoException).code;
    parts.push(code && !cause.message.includes(code) ? `${cause.message} [${code}]` : cause.message);
    cause = cause.cause;
  }
  return parts.length > 0 ? ` (${parts.join(': ')})` : '';
}

/** Maps anything thrown by one attempt to a sanitised LlmError. */
function toLlmError(err: unknown, apiKey: string): LlmError {
  if (err instanceof LlmError) return err;
  const clean = (s: string): string => redactSecrets(s, apiKey).slice(0, 500);
  if (err instanceof AttemptTimeout) {
    return new LlmError('timeout', `LLM request timed out: ${err.what}`, { retryable: true });
  }
  if (err instanceof IncompleteStream) {
    return new LlmError('unavailable', `LLM stream ended before the answer was complete: ${clean(err.message)}`, {
      retryable: true,
    });
  }
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmError('timeout', 'LLM request timed out waiting for the response headers', { retryable: true });
  }
  if (err instanceof APIConnectionError) {
    // The SDK's message is only "Connection error."; the cause chain says why (ECONNREFUSED,
    // ENOTFOUND, a reset...), which is what an operator needs to read in the log.
    return new LlmError('unavailable', `LLM connection failed: ${clean(err.message + causeChain(err))}`, { retryable: true });
  }
  if (err instanceof APIError) {
    const status = err.status;
    const detail = clean(err.message);
    const base = { ...(status !== undefined ? { status } : {}) };
    if (err instanceof AuthenticationError || err instanceof PermissionDeniedError) {
      return new LlmError('auth', `LLM server refused the credentials: ${detail}`, base);
    }
    const field = (v: unknown) => (typeof v === 'string' && v !== '' ? clean(v).slice(0, 100) : undefined);
    const param = field(err.param);
    const code = field(err.code);
    if (status === undefined) {
      // An error event inside an SSE stream.
      return new LlmError('unavailable', `LLM server reported an error mid-stream: ${detail}`, { retryable: true });
    }
    const retryAfterMs = retryAfterFromHeaders(err.headers);
    const withRetry = { ...base, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    if (status === 429) return new LlmError('rate-limited', `LLM server rate-limited the request: ${detail}`, withRetry);
    if (status === 408) return new LlmError('timeout', `LLM server timed out: ${detail}`, withRetry);
    if (status === 409 || status >= 500) {
      return new LlmError('unavailable', `LLM server error: ${detail}`, withRetry);
    }
    // 400, 404, 422...: the request or configuration is wrong (unknown model, context too long).
    return new LlmError('bad-response', `LLM server rejected the request: ${detail}`, {
      ...base,
      ...(param !== undefined ? { param } : {}),
      ...(code !== undefined ? { code } : {}),
    });
  }
  if (err instanceof SyntaxError) {
    return new LlmError('bad-response', `LLM server sent malformed JSON: ${clean(err.message)}`);
  }
  // Body read errors after the headers (undici "terminated", socket reset...).
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return new LlmError('unavailable', `LLM response broke off: ${clean(msg + cause)}`, { retryable: true });
}

type ChatCompletion = OpenAI.Chat.Completions.ChatCompletion;

export function createLlm(opts: LlmOptions): Llm {
  const {
    apiKey,
    model,
    timeoutMs,
    maxRetries,
    temperature,
    maxTokens,
    logger,
    maxDurationMs = 180_000,
    maxRetryAfterMs = 20_000,
    retryBaseDelayMs = 500,
  } = opts;
  if (!(timeoutMs > 0)) throw new RangeError('timeoutMs must be > 0');
  if (!(maxRetries >= 0)) throw new RangeError('maxRetries must be >= 0');
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) throw new RangeError('maxTokens must be a positive integer');
  const maxChars = maxTokens !== undefined ? maxTokens * MAX_CHARS_PER_TOKEN : undefined;

  const client = new OpenAI({
    apiKey,
    ...(opts.baseURL !== undefined ? { baseURL: opts.baseURL } : {}),
    timeout: timeoutMs,
    maxRetries: 0,
    // Our own logger reports failures (sanitised); keep the SDK quiet.
    logLevel: 'off',
  });
  const limit = pLimit(Math.max(1, opts.maxConcurrency ?? 4));

  // Which name the server takes for the length limit; switched once if it refuses max_tokens.
  let limitField: 'max_tokens' | 'max_completion_tokens' = 'max_tokens';
  const body = (messages: readonly ChatMessage[], responseFormat: ResponseFormat | undefined) => ({
    model,
    messages: messages.map((m) => ({ role: m.role, content: m.content })),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(maxTokens !== undefined ? { [limitField]: maxTokens } : {}),
    ...(responseFormat !== undefined ? { response_format: responseFormat } : {}),
  });

  /** A 400 saying that this model takes `max_completion_tokens` instead of `max_tokens`. */
  const wantsCompletionTokens = (err: unknown): boolean =>
    limitField === 'max_tokens' && maxTokens !== undefined && err instanceof APIError && err.status === 400 && /max_completion_tokens/.test(err.message);

  /**
   * Runs `fn` with an AbortSignal that aborts when the caller's signal does, or when the
   * returned `arm` timer fires (re-armed on every call) or `maxDurationMs` elapses.
   */
  async function withDeadline<T>(
    signal: AbortSignal | undefined,
    fn: (s: AbortSignal, arm: (what: string) => void) => Promise<T>,
  ): Promise<T> {
    const ac = new AbortController();
    let fired: AttemptTimeout | undefined;
    let idle: NodeJS.Timeout | undefined;
    const onAbort = () => ac.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const fire = (what: string) => {
      fired ??= new AttemptTimeout(what);
      ac.abort(fired);
    };
    const total = setTimeout(() => fire(`no complete answer after ${maxDurationMs} ms`), maxDurationMs);
    const arm = (what: string) => {
      clearTimeout(idle);
      idle = setTimeout(() => fire(what), timeoutMs);
    };
    try {
      const result = await fn(ac.signal, arm);
      if (fired) throw fired; // e.g. an aborted SDK stream ends quietly instead of throwing
      return result;
    } catch (err) {
      if (fired) throw fired;
      throw err;
    } finally {
      clearTimeout(total);
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The reply for `text` ended by `finish`; unusual endings are logged. */
  function reply(text: string, finish: string): LlmReply {
    // 'length' is reported by the caller, which knows what the answer was for.
    if (finish !== 'stop' && finish !== 'length') logger?.warn({ model, finishReason: finish }, 'LLM answer did not finish normally');
    return { text, finishReason: finish, truncated: finish === 'length' };
  }

  async function once(
    messages: readonly ChatMessage[],
    signal: AbortSignal | undefined,
    responseFormat: ResponseFormat | undefined,
  ): Promise<LlmReply> {
    return withDeadline(signal, async (s, arm) => {
      arm(`no answer after ${timeoutMs} ms`);
      // Typed wider than the SDK says: it returns the raw text when the content-type is not JSON.
      const res = (await client.chat.completions.create(
        { ...body(messages, responseFormat), stream: false },
        { signal: s, timeout: timeoutMs, maxRetries: 0 },
      )) as ChatCompletion | string | undefined;
      const choice = typeof res === 'object' && res !== null ? res.choices?.[0] : undefined;
      const content = choice?.message?.content;
      if (typeof content !== 'string' || content.trim() === '') {
        throw new LlmError('bad-response', 'LLM response has no text in choices[0].message.content');
      }
      return reply(content.trim(), typeof choice?.finish_reason === 'string' ? choice.finish_reason : 'stop');
    });
  }

  async function streamed(
    messages: readonly ChatMessage[],
    signal: AbortSignal | undefined,
    onDelta: (text: string) => void,
    state: { emitted: boolean },
    responseFormat: ResponseFormat | undefined,
  ): Promise<LlmReply> {
    return withDeadline(signal, async (s, arm) => {
      arm(`no response headers after ${timeoutMs} ms`);
      const stream = await client.chat.completions.create(
        { ...body(messages, responseFormat), stream: true },
        { signal: s, timeout: timeoutMs, maxRetries: 0 },
      );
      let text = '';
      let pending = ''; // trailing whitespace held back until more text follows
      let finish: string | null = null;
      arm(`stream idle for ${timeoutMs} ms`);
      for await (const chunk of stream) {
        arm(`stream idle for ${timeoutMs} ms`);
        const choice = chunk.choices?.[0];
        if (!choice) continue; // e.g. the usage chunk
        const piece = choice.delta?.content;
        if (maxChars !== undefined && piece && text.length + pending.length + piece.length > maxChars) {
          // The server ignores max_tokens: leaving the loop closes the connection.
          logger?.warn({ model, maxTokens, chars: text.length }, 'LLM server did not stop at max_tokens: the client cut the answer');
          finish = 'length';
          break;
        }
        if (piece) {
          let combined = pending + piece;
          if (text === '') combined = combined.trimStart();
          const keep = combined.trimEnd();
          pending = combined.slice(keep.length);
          if (keep) {
            text += keep;
            state.emitted = true;
            onDelta(keep);
          }
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      if (s.aborted) throw s.reason ?? abortReason(s);
      if (finish === null) throw new IncompleteStream('no finish_reason received');
      if (text === '') throw new LlmError('bad-response', `LLM stream carried no text (finish_reason ${finish})`);
      return reply(text, finish);
    });
  }

  async function run(messages: readonly ChatMessage[], copts: CompleteOptions): Promise<LlmReply> {
    const { onDelta, signal, responseFormat } = copts;
    const state = { emitted: false };
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw abortReason(signal);
      try {
        return onDelta
          ? await streamed(messages, signal, onDelta, state, responseFormat)
          : await once(messages, signal, responseFormat);
      } catch (err) {
        if (signal?.aborted) throw abortReason(signal);
        if (err instanceof APIUserAbortError) throw err; // not ours: should not happen
        if (wantsCompletionTokens(err)) {
          limitField = 'max_completion_tokens';
          logger?.info({ model }, 'LLM server takes max_completion_tokens instead of max_tokens: using it from now on');
          attempt--; // the same attempt again, with the name it asked for
          continue;
        }
        const e = toLlmError(err, apiKey);
        e.attempts = attempt + 1;
        e.partial = state.emitted;
        let delay: number | undefined;
        if (e.retryable && !state.emitted && attempt < maxRetries) {
          if (e.retryAfterMs !== undefined) {
            delay = e.retryAfterMs <= maxRetryAfterMs ? e.retryAfterMs : undefined;
          } else {
            delay = Math.min(retryBaseDelayMs * 2 ** attempt, MAX_BACKOFF_MS) * (1 - Math.random() * 0.25);
          }
        }
        if (delay === undefined) {
          logger?.error(
            { model, kind: e.kind, status: e.status, attempts: e.attempts, partial: e.partial, err: e.message },
            'LLM request failed',
          );
          throw e;
        }
        logger?.warn(
          { model, kind: e.kind, status: e.status, attempt: attempt + 1, retryInMs: Math.round(delay), err: e.message },
          'LLM request failed, retrying',
        );
        try {
          await sleep(delay, undefined, signal ? { signal } : undefined);
        } catch {
          throw signal?.aborted ? abortReason(signal) : e;
        }
      }
    }
  }

  return {
    model,
    baseURL: client.baseURL,
    maxTokens,
    complete(messages, copts = {}) {
      return limit(() => run(messages, copts));
    },
  };
}
