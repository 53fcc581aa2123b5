/**
 * HTTP mode: a guard in front of Bolt's request listener, so that a request nobody signed costs
 * next to nothing. Bolt 5.1 reads up to 4 MB of any body before it checks the signature, with no
 * bound on requests in flight, and then parses it: unsigned bulk added hundreds of MB of memory
 * and held up genuine acknowledgements. For each POST to the events path, in this order:
 *
 * 1. Headers only, nothing read: without both signature headers, with a timestamp that is not a
 *    number or older than five minutes (Bolt's rule), or a signature that is not `v0=` → 401.
 *    (Slack's unsigned `ssl_check=1` probe, at most 1 KB, is the one exception Bolt makes too.)
 *    A declared length over MAX_BODY_BYTES → 413.
 * 2. A body larger than SMALL_BODY_BYTES (or of unknown length) takes its declared size from a
 *    budget shared by every unverified request (PENDING_BYTES_BUDGET); when it does not fit →
 *    503 with `Retry-After`. Slack's own requests are a few KB and never wait for the budget.
 * 3. The body is read up to MAX_BODY_BYTES (more → 413) within `readTimeoutMs` (→ 408).
 * 4. The signature is checked on the raw bytes (wrong → 401) before anything is parsed.
 * 5. A signed body that parses to JSON other than an object (`payload=null`, `[]`…) → 400:
 *    Bolt 5.1 would throw an unhandled rejection for it.
 * 6. Everything else goes to Bolt with the body already read (Bolt reuses it).
 *
 * After an early answer the rest of the body is dropped as it comes, and the connection closed
 * after DRAIN_BYTES, so an oversized body is never read whole. Refusals are logged, at most one
 * line per reason every LOG_EVERY_MS (with how many were not logged), so a flood cannot fill the
 * disk.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, isValidSlackRequest, type BufferedIncomingMessage, type HTTPReceiver } from '@slack/bolt';
import type { Logger } from '../../src/bot/index.js';

/** Largest body read: slash commands and clicks are a few KB; a modal with a long text needs more. */
export const MAX_BODY_BYTES = 256 * 1024;
/** Bodies up to this size (all of Slack's usual requests) do not count against the budget. */
export const SMALL_BODY_BYTES = 16 * 1024;
/** Bytes that larger unverified requests may hold at once, all together. */
export const PENDING_BYTES_BUDGET = 4 * 1024 * 1024;
/** Bolt's rule: a timestamp older than this is a replay. */
const MAX_AGE_SECONDS = 5 * 60;
/** What is dropped of a refused body before the connection is closed. */
const DRAIN_BYTES = 64 * 1024;
const SSL_CHECK_MAX_BYTES = 1024;
const LOG_EVERY_MS = 10_000;

export interface HttpGuardOptions {
  /** Longest wait for a body to arrive whole, in ms. Default 10 000. */
  readTimeoutMs?: number;
  /** Paths Bolt serves events on. Default `['/slack/events']`. */
  endpoints?: string[];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** Why the signature headers alone already fail, or null when they may be genuine. */
function headerProblem(req: IncomingMessage, nowSeconds: number): string | null {
  const signature = header(req, 'x-slack-signature');
  const timestamp = header(req, 'x-slack-request-timestamp');
  if (signature === undefined || timestamp === undefined) return 'signature headers missing';
  if (!/^\d{1,12}$/.test(timestamp)) return 'timestamp is not a number';
  if (Number(timestamp) < nowSeconds - MAX_AGE_SECONDS) return 'timestamp older than five minutes';
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) return 'signature is not v0';
  return null;
}

/** True when the body parses (as Bolt parses it) to something other than a plain object. */
function parsesToNonObject(req: BufferedIncomingMessage): boolean {
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(req);
  } catch {
    return false; // not JSON at all: Bolt answers 400 itself
  }
  return typeof body !== 'object' || body === null || Array.isArray(body);
}

class ReadTimeout extends Error {}

export function guardRequestBodies(receiver: HTTPReceiver, signingSecret: string, logger: Logger, options: HttpGuardOptions = {}): void {
  const bolt = receiver.requestListener;
  const endpoints = new Set(options.endpoints ?? ['/slack/events']);
  const readTimeoutMs = options.readTimeoutMs ?? 10_000;
  let pendingBytes = 0;

  const logged = new Map<string, { at: number; suppressed: number }>();
  const note = (status: number, reason: string) => {
    const key = `${status} ${reason}`;
    const now = Date.now();
    const last = logged.get(key);
    if (last && now - last.at < LOG_EVERY_MS) {
      last.suppressed++;
      return;
    }
    logged.set(key, { at: now, suppressed: 0 });
    logger.warn({ status, reason, ...(last?.suppressed ? { notLogged: last.suppressed } : {}) }, 'slack: request refused');
  };

  /** Answers at once; drops what the client still sends, up to DRAIN_BYTES, then closes. */
  const refuse = (req: IncomingMessage, res: ServerResponse, status: number, reason: string, headers: Record<string, string> = {}) => {
    note(status, reason);
    if (!res.headersSent) {
      res.writeHead(status, headers);
      res.end();
    }
    let dropped = 0;
    req.on('data', (chunk: Buffer) => {
      dropped += chunk.length;
      if (dropped > DRAIN_BYTES) req.socket.destroy();
    });
    req.on('error', () => undefined);
    req.resume();
  };

  /** The body, read whole within the size and time limits. */
  const read = async (req: IncomingMessage, limit: number): Promise<BufferedIncomingMessage> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ReadTimeout()), readTimeoutMs);
    });
    try {
      return await Promise.race([HTTPModuleFunctions.bufferIncomingMessage(req, limit), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const declared = header(req, 'content-length');
    const length = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : undefined;
    const problem = headerProblem(req, Math.floor(Date.now() / 1000));
    if (problem) {
      // Slack's SSL probe is unsigned: read it only when it is tiny.
      const form = header(req, 'content-type') === 'application/x-www-form-urlencoded';
      if (!(form && problem === 'signature headers missing' && length !== undefined && length <= SSL_CHECK_MAX_BYTES)) {
        return refuse(req, res, 401, problem);
      }
      const probe = await read(req, SSL_CHECK_MAX_BYTES).catch(() => undefined);
      if (probe && new URLSearchParams(probe.rawBody.toString()).get('ssl_check') === '1') return bolt(probe, res);
      return refuse(req, res, 401, problem);
    }
    if (length !== undefined && length > MAX_BODY_BYTES) return refuse(req, res, 413, `declared body of ${length} bytes`);

    const reserved = length !== undefined && length <= SMALL_BODY_BYTES ? 0 : (length ?? MAX_BODY_BYTES);
    if (pendingBytes + reserved > PENDING_BYTES_BUDGET) return refuse(req, res, 503, 'too many large unverified requests at once', { 'retry-after': '1' });
    pendingBytes += reserved;
    let buffered: BufferedIncomingMessage;
    try {
      buffered = await read(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof ReadTimeout) return refuse(req, res, 408, `body not received within ${readTimeoutMs} ms`);
      const status = HTTPModuleFunctions.isRawBodyError(err) ? err.statusCode : 400;
      return refuse(req, res, status, status === 413 ? `body over ${MAX_BODY_BYTES} bytes` : 'body could not be read');
    } finally {
      pendingBytes -= reserved;
    }

    const signed = isValidSlackRequest({
      signingSecret,
      body: buffered.rawBody.toString(),
      headers: {
        'x-slack-signature': header(req, 'x-slack-signature') ?? '',
        'x-slack-request-timestamp': Number(header(req, 'x-slack-request-timestamp')),
      },
    });
    if (!signed) return refuse(req, res, 401, 'signature does not match');
    if (parsesToNonObject(buffered)) return refuse(req, res, 400, 'signed body is not a JSON object');
    bolt(buffered, res);
  };

  receiver.requestListener = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST' || !endpoints.has((req.url ?? '').split('?')[0] ?? '')) {
      bolt(req, res);
      return;
    }
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'slack: request failed');
      if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, 500);
    });
  };
}
