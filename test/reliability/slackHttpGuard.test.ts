/**
 * The Slack HTTP receiver's guard (adapters/slack/httpGuard.ts) against unauthenticated bulk:
 * the real Slack adapter in HTTP mode (Bolt's receiver behind the guard) on 127.0.0.1, raw
 * uploads from node:http that send part of a body and then wait, so "answered before the body
 * was read whole" is seen from the client's side, and JSON.parse watched in this process, so
 * "refused before parsing" is seen too. No timing is asserted: each wait is only a bound on a
 * hang.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_BODY_BYTES, SMALL_BODY_BYTES, PENDING_BYTES_BUDGET } from '../../adapters/slack/httpGuard.js';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import { BotService } from '../../src/bot/botService.js';
import { MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { postToApp, slashCommand, startFakeSlack, type FakeSlack } from '../fakes/fakeSlack.js';
import { recordingLogger, SAMPLE_COURSE, tempDir } from '../helpers/course.js';
import { slackSignature } from '../helpers/slackHttp.js';

const SECRET = 'guard-signing-secret-0123456789';
const HANG_MS = 10_000;

let work: string;
let slack: FakeSlack;
let store: FeedbackStore;
let adapter: SlackAdapter;
let port: number;
const log = recordingLogger();

beforeAll(async () => {
  work = await tempDir('slack-guard-');
  slack = await startFakeSlack();
  const config = loadConfig(
    { COURSE_DIR: SAMPLE_COURSE, SLACK_BOT_TOKEN: 'xoxb-guard', SLACK_SIGNING_SECRET: SECRET, SLACK_API_URL: slack.apiUrl, RATE_LIMIT_PER_MINUTE: '1000' },
    path.join(work, 'no.env'),
  );
  const core = await createCore(config, log.logger, { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  store = await createFeedbackStore({ url: 'memory://', salt: 'guard', logger: log.logger });
  const bot = new BotService(core.answers, store, new RateLimiter(1000), log.logger);
  adapter = await startSlack({ config, logger: log.logger, bot, store }, { listen: { port: 0, host: '127.0.0.1' }, httpGuard: { readTimeoutMs: 1000 } });
  port = adapter.port!;
}, 60_000);

afterAll(async () => {
  await adapter?.stop();
  await store?.close();
  await slack?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(() => vi.restoreAllMocks());

/** Fresh timestamp and a `v0=` signature that is well formed but wrong (the secret is not known). */
function forgedHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000);
  return { 'x-slack-request-timestamp': String(ts), 'x-slack-signature': slackSignature('not-the-secret', ts, 'x'), ...extra };
}

interface Upload {
  /** Writes `bytes` more bytes of the body (waits for the socket to take them). */
  send(bytes: number): Promise<void>;
  /** The status the server answered, or 'none' when it did not answer within HANG_MS. */
  status(): Promise<number | 'none' | 'error'>;
  sent: number;
  close(): void;
}

/** A POST to /slack/events that sends only what the test asks for, then waits. */
function upload(headers: Record<string, string>): Upload {
  const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/slack/events', headers });
  let answered: ((s: number | 'error') => void) | undefined;
  const response = new Promise<number | 'error'>((resolve) => (answered = resolve));
  req.on('response', (res: { statusCode?: number; headers: IncomingHttpHeaders; resume(): void }) => {
    res.resume();
    answered?.(res.statusCode ?? 0);
  });
  req.on('error', () => answered?.('error'));
  req.flushHeaders();
  const chunk = Buffer.alloc(16 * 1024, 'a');
  const u: Upload = {
    sent: 0,
    async send(bytes) {
      while (bytes > 0) {
        const piece = chunk.subarray(0, Math.min(bytes, chunk.length));
        await new Promise<void>((resolve) => (req.write(piece) ? resolve() : req.once('drain', resolve)));
        u.sent += piece.length;
        bytes -= piece.length;
      }
    },
    status: () => Promise.race([response, new Promise<'none'>((resolve) => setTimeout(() => resolve('none'), HANG_MS).unref())]),
    close: () => req.destroy(),
  };
  return u;
}

describe('Slack HTTP mode: bodies are bounded and authenticated before they are read whole or parsed', () => {
  /** The answer to a command arrived: posted as a message (public answers) or to its response_url. */
  const answered = (key: string, postedBefore: number) =>
    slack.waitFor(() => slack.channelMessages.length > postedBefore || slack.responsesFor(key).length > 0, `the answer (${key})`, HANG_MS);

  it('a declared 5 MB body gets 413 after a few KB have been sent', async () => {
    const u = upload(forgedHeaders({ 'content-type': 'application/json', 'content-length': String(5 * 1024 * 1024) }));
    await u.send(16 * 1024);
    expect(await u.status()).toBe(413);
    u.close();
  });

  it('a declared 1 MB body (under Bolt’s 4 MB) gets 413 too: the cap is far below', async () => {
    expect(MAX_BODY_BYTES).toBeLessThanOrEqual(256 * 1024);
    const u = upload(forgedHeaders({ 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(1024 * 1024) }));
    await u.send(16 * 1024);
    expect(await u.status()).toBe(413);
    u.close();
  });

  it('a 5 MB chunked body without a length gets 413 once the cap is passed, long before its end', async () => {
    const u = upload(forgedHeaders({ 'content-type': 'application/json' }));
    await u.send(MAX_BODY_BYTES + 64 * 1024);
    expect(await u.status()).toBe(413);
    expect(u.sent).toBeLessThan(5 * 1024 * 1024);
    u.close();
  });

  it('an unsigned or stale request is refused with 401 from its headers, before its body is sent', async () => {
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    const cases: Record<string, string>[] = [
      {}, // no signature headers
      { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)) }, // timestamp only
      { 'x-slack-request-timestamp': String(stale), 'x-slack-signature': slackSignature(SECRET, stale, 'x') }, // stale
      { 'x-slack-request-timestamp': 'agora', 'x-slack-signature': 'v0=abc' }, // not a number
      { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)), 'x-slack-signature': 'v1=abc' }, // unknown version
    ];
    for (const headers of cases) {
      const u = upload({ 'content-type': 'application/json', 'content-length': String(200 * 1024), ...headers });
      await u.send(1024);
      expect(await u.status(), JSON.stringify(headers)).toBe(401);
      u.close();
    }
  });

  it('a wrongly signed JSON array is refused with 401 without being parsed', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    const body = `[${Array.from({ length: 40_000 }, (_, i) => i).join(',')}]`;
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: forgedHeaders({ 'content-type': 'application/json' }),
      body,
    });
    expect(res.status).toBe(401);
    const parsedBodies = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= body.length);
    expect(parsedBodies).toEqual([]);
  });

  it('a body that stops arriving is given up on (408)', async () => {
    const u = upload(forgedHeaders({ 'content-type': 'application/json', 'content-length': String(100 * 1024) }));
    await u.send(1024);
    expect(await u.status()).toBe(408);
    u.close();
  });

  it('large unauthenticated uploads held open share a bounded budget (503 beyond it); a genuine command is still answered', async () => {
    const size = 200 * 1024;
    expect(size).toBeGreaterThan(SMALL_BODY_BYTES);
    const count = Math.floor(PENDING_BYTES_BUDGET / size) + 10;
    const uploads = Array.from({ length: count }, () =>
      upload(forgedHeaders({ 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(size) })),
    );
    await Promise.all(uploads.map((u) => u.send(1024)));
    // A small, correctly signed command while the budget is full: acked and answered.
    const key = 'genuine-under-load';
    const posted = slack.channelMessages.length;
    const ack = await postToApp(`http://127.0.0.1:${port}/slack/events`, slashCommand({ text: 'O que é dropout?', response_url: slack.responseUrl(key) }), {
      signingSecret: SECRET,
    });
    expect(ack.status).toBe(200);
    expect(ack.json?.text).toBe(MESSAGES.searching);
    await answered(key, posted);
    // The uploads beyond the budget were turned away at once; the others were waiting for their bodies.
    const statuses = await Promise.all(uploads.map((u) => u.status()));
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(10);
    expect(statuses.every((s) => s === 503 || s === 408)).toBe(true);
    for (const u of uploads) u.close();
  });

  it('refusals are logged, the budget is free again, and the app keeps answering', async () => {
    expect(log.lines.some((l) => l.includes('"status":413'))).toBe(true);
    expect(log.lines.some((l) => l.includes('"status":401'))).toBe(true);
    // A large forged body sent whole now gets its turn: read, then refused for its signature.
    const large = upload(forgedHeaders({ 'content-type': 'application/json', 'content-length': String(200 * 1024) }));
    await large.send(200 * 1024);
    expect(await large.status()).toBe(401);
    large.close();
    expect(log.lines.some((l) => l.includes('signature does not match'))).toBe(true);
    const key = 'after';
    const posted = slack.channelMessages.length;
    const ack = await postToApp(`http://127.0.0.1:${port}/slack/events`, slashCommand({ text: 'O que é overfitting?', response_url: slack.responseUrl(key) }), {
      signingSecret: SECRET,
    });
    expect(ack.status).toBe(200);
    await answered(key, posted);
    await adapter.idle();
  });
});
