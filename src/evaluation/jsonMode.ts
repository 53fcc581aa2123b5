/**
 * JSON mode for the judge: ask for `response_format: {type: "json_object"}` when the server
 * accepts it, and fall back to prompt-only JSON (the same prompts, no `response_format`) when
 * it does not, remembering which per server (base URL + model) for the life of the process, so
 * a server that refuses JSON mode costs one rejected call, not one per judge call.
 *
 * - While a server's answer is unknown, one call probes and the calls made meanwhile wait for
 *   it: the judge sends many calls at once, which would otherwise all be rejected.
 * - The probe is rejected with a 400/422 that names `response_format` (in the error's param,
 *   code or message) or an unsupported parameter: the server is remembered as prompt-only and
 *   the call is made again without it.
 * - The probe is rejected with a 400/422 that says nothing readable (servers word the refusal
 *   differently, and some send a body the client cannot read): the call is made again without
 *   `response_format`; only if that one succeeds is the server remembered as prompt-only. If
 *   it fails too, the 400 was about the call itself (a context too long...): nothing is
 *   remembered and that error is the call's.
 * - Any other outcome of the probe (success → JSON mode; 5xx, timeout, abort → still unknown,
 *   the next call probes) follows the LLM client's own rules.
 * - A server remembered as accepting JSON mode that later refuses it by name (a proxy that
 *   switched models) is switched to prompt-only the same way; its other 400s are the call's.
 * The reply is parsed the same way in both modes (see `parseJudgeReply`).
 */
import { LlmError, type Llm, type ResponseFormat } from '../answer/llm.js';
import type { ChatMessage } from '../answer/prompt.js';
import type { Logger } from '../logger.js';

export type JsonModeState = 'unknown' | 'json-object' | 'prompt-only';

const JSON_OBJECT: ResponseFormat = { type: 'json_object' };

/** Wordings servers use to refuse a request field they do not support. */
const NAMES_RESPONSE_FORMAT = /response[_ .-]?format|unsupported[_ ]param|unrecognized request argument|extra (?:fields|inputs) not permitted/i;

interface ServerEntry {
  state: JsonModeState;
  /** Settles when the call probing this server has its answer. */
  probe: Promise<void> | null;
}

/** A 400/422 refusal of the request as sent (not a server failure). */
function isRejection(err: unknown): err is LlmError {
  return err instanceof LlmError && err.kind === 'bad-response' && (err.status === 400 || err.status === 422);
}

/** A refusal that names `response_format` or an unsupported parameter. */
export function refusesResponseFormat(err: unknown): boolean {
  if (!isRejection(err)) return false;
  return [err.param, err.code, err.message].some((s) => s !== undefined && NAMES_RESPONSE_FORMAT.test(s));
}

/** Base URL without credentials, query or fragment (for log lines). */
export function describeServer(baseURL: string | undefined): string {
  if (baseURL === undefined) return '(default)';
  try {
    const url = new URL(baseURL);
    return `${url.origin}${url.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function waitFor(probe: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return probe;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void probe.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

export interface JsonCompleteOptions {
  signal?: AbortSignal;
  logger?: Logger;
}

export class JsonModeMemory {
  private readonly servers = new Map<string, ServerEntry>();

  private static key(llm: Pick<Llm, 'model' | 'baseURL'>): string {
    return `${llm.baseURL ?? ''}\n${llm.model}`;
  }

  private entry(llm: Pick<Llm, 'model' | 'baseURL'>): ServerEntry {
    const key = JsonModeMemory.key(llm);
    let entry = this.servers.get(key);
    if (!entry) {
      entry = { state: 'unknown', probe: null };
      this.servers.set(key, entry);
    }
    return entry;
  }

  /** What is known of this server (base URL + model). */
  state(llm: Pick<Llm, 'model' | 'baseURL'>): JsonModeState {
    return this.servers.get(JsonModeMemory.key(llm))?.state ?? 'unknown';
  }

  /** `llm.complete` in JSON mode when the server accepts it, prompt-only otherwise (see the module comment). */
  async complete(llm: Llm, messages: readonly ChatMessage[], opts: JsonCompleteOptions = {}): Promise<string> {
    const entry = this.entry(llm);
    const plain = opts.signal ? { signal: opts.signal } : {};
    const json = { ...plain, responseFormat: JSON_OBJECT };
    const call = async (options: typeof plain | typeof json): Promise<string> => (await llm.complete(messages, options)).text;
    const refused = (err: LlmError) => {
      if (entry.state === 'prompt-only') return;
      entry.state = 'prompt-only';
      opts.logger?.warn(
        { server: describeServer(llm.baseURL), model: llm.model, status: err.status, err: err.message },
        'the LLM server does not accept JSON mode (response_format json_object): the judge asks for JSON in the prompt only',
      );
    };
    for (;;) {
      if (entry.state === 'prompt-only') return call(plain);
      if (entry.state === 'json-object') {
        try {
          return await call(json);
        } catch (err) {
          if (!refusesResponseFormat(err)) throw err;
          refused(err as LlmError);
          continue;
        }
      }
      if (entry.probe) {
        await waitFor(entry.probe, opts.signal);
        continue;
      }
      let release!: () => void;
      entry.probe = new Promise<void>((resolve) => (release = resolve));
      try {
        try {
          const reply = await call(json);
          entry.state = 'json-object';
          opts.logger?.info({ server: describeServer(llm.baseURL), model: llm.model }, 'the LLM server accepts JSON mode');
          return reply;
        } catch (err) {
          if (!isRejection(err)) throw err;
          if (refusesResponseFormat(err)) {
            refused(err);
            release(); // the waiting calls go prompt-only now
            return await call(plain);
          }
          const reply = await call(plain);
          refused(err);
          return reply;
        }
      } finally {
        entry.probe = null;
        release();
      }
    }
  }
}

/** The memory the `evaluate` command uses: one per process. */
export const processJsonModeMemory = new JsonModeMemory();
