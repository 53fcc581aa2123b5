/**
 * LLM faults seen through both chat adapters at once: the real Discord adapter (discord.js
 * against test/fakes/fakeDiscord.ts, answers streamed) and the real Slack adapter (Bolt HTTP
 * mode, signed requests, answers not streamed), the real answer core with
 * LLM_MAX_RETRIES=2 / LLM_TIMEOUT_MS=1000, and test/fakes/fakeOpenAI.ts misbehaving per
 * question (429 with retry-after, 500, a stall, a response that stops halfway and hangs, one cut
 * halfway by a connection reset), plus a connection refused
 * (the LLM behind test/helpers/tcpProxy.ts, which stops listening).
 *
 * Each fault must end, on both platforms, in bounded retries and then a clear pt-BR message in
 * the reply (Discord: the deferred reply edited; Slack: respond() via response_url); never a
 * reply left hanging, never an unhandled rejection, and the bot keeps answering afterwards.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import { CUT_ANSWER_NOTICE } from '../../src/answer/answerService.js';
import { LLM_USER_MESSAGES } from '../../src/answer/llm.js';
import { BotService } from '../../src/bot/botService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { DEFAULT_LLM_MAX_TOKENS, loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type Json } from '../fakes/fakeDiscord.js';
import { startFakeOpenAI, type FakeBehavior, type FakeOpenAI, type FakeRequest } from '../fakes/fakeOpenAI.js';
import { postToApp, slashCommand, startFakeSlack, type FakeSlack, type ResponseBody } from '../fakes/fakeSlack.js';
import { SAMPLE_COURSE, recordingLogger, tempDir } from '../helpers/course.js';
import { questionOf } from '../helpers/llmLoad.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

const MAX_RETRIES = 2;
const ATTEMPTS = MAX_RETRIES + 1;
const SIGNING_SECRET = 'faults-signing-secret-0123456789';
const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};
/** How long a faulty question may take before its reply counts as hung (the worst case, a stall, needs ~4.5 s). */
const HUNG_AFTER_MS = 20_000;
const GOOD_ANSWER = 'O dropout desliga neurônios ao acaso durante o treino, o que reduz o overfitting [1].';
/** What a model stuck in a loop repeats (one piece per token) until the request's max_tokens. */
const LOOPING_TEXT = 'e o dropout de novo ';

let discord: FakeDiscord;
let slack: FakeSlack;
let llm: FakeOpenAI;
let proxy: TcpProxy;
let work: string;
let core: Core;
let store: FeedbackStore;
let discordAdapter: DiscordAdapter;
let slackAdapter: SlackAdapter;
let eventsUrl: string;
const log = recordingLogger();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const measured: Record<string, unknown> = {};

/** What the fake LLM does for a question, chosen by a tag in the question text. */
const seenTags = new Map<string, number>();
function behaviourFor(req: FakeRequest): FakeBehavior {
  const question = questionOf(req);
  const tag = /\[(\w[\w-]*)\]/.exec(question)?.[1] ?? 'ok';
  const n = (seenTags.get(question) ?? 0) + 1;
  seenTags.set(question, n);
  switch (tag) {
    case '429':
      return { type: 'error', status: 429, retryAfter: 1, message: 'Rate limit reached for requests' };
    case '429-once':
      return n === 1 ? { type: 'error', status: 429, retryAfter: 1 } : { type: 'text', text: GOOD_ANSWER };
    case '500':
      return { type: 'error', status: 500, message: 'The server had an error while processing your request.' };
    case 'stall':
      return { type: 'stall', after: 'request' };
    case 'stall-mid':
      // Streamed: three pieces of text, then nothing. Not streamed: the first bytes of the JSON, then nothing.
      return { type: 'stall', after: req.stream ? 3 : 40, text: 'O dropout desliga neurônios ao acaso durante o treino' };
    case 'cut':
      return { type: 'cut', afterChunks: 3, chunkDelayMs: 50, text: 'O dropout desliga neurônios ao acaso e isso regulariza a rede inteira' };
    case 'loop':
      return { type: 'loop', text: LOOPING_TEXT, chunkDelayMs: 1 };
    default:
      return { type: 'text', text: GOOD_ANSWER };
  }
}

function requestsFor(question: string): FakeRequest[] {
  return llm.requests.filter((r) => r.path.endsWith('/chat/completions') && questionOf(r) === question);
}

// ------------------------------------------------------------------ asking on each platform

interface DiscordOutcome {
  ix: FakeInteraction;
  /** Content of the final reply when it is an error notice, else ''. */
  notice: string;
  /** Embed description when it is an answer, else ''. */
  answer: string;
  ms: number;
}

async function askDiscord(question: string): Promise<DiscordOutcome> {
  const started = Date.now();
  const ix = discord.slashCommand({ name: 'pergunta', options: { texto: question }, user: makeUser() });
  // Finished = no longer "thinking" and either an error notice or an answer with 👍/👎.
  const final = (message: Json | undefined) =>
    message && Number(message.flags ?? 0) === 0 && (String(message.content ?? '') !== '' || ((message.components ?? []) as Json[]).length > 0);
  await ix.waitFor(() => final(ix.original), HUNG_AFTER_MS);
  return {
    ix,
    notice: String(ix.original?.content ?? ''),
    answer: String(((ix.original?.embeds ?? []) as Json[])[0]?.description ?? ''),
    ms: Date.now() - started,
  };
}

interface SlackOutcome {
  ackStatus: number;
  body: ResponseBody;
  ms: number;
}

let slackKeys = 0;
async function askSlack(question: string): Promise<SlackOutcome> {
  const started = Date.now();
  const key = `fault-${++slackKeys}`;
  // Each question in its own channel: a public answer is posted there, errors come through the response_url.
  const channel = `C0FAULT${slackKeys}`;
  const ack = await postToApp(eventsUrl, slashCommand({ text: question, user_id: `U0F${slackKeys}`, channel_id: channel, response_url: slack.responseUrl(key) }), {
    signingSecret: SIGNING_SECRET,
  });
  const body = await slack.waitForReply(key, channel, HUNG_AFTER_MS);
  return { ackStatus: ack.status, body, ms: Date.now() - started };
}

// ------------------------------------------------------------------ setup

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  [discord, slack, llm] = await Promise.all([startFakeDiscord({ token: 'faults-token' }), startFakeSlack(), startFakeOpenAI()]);
  llm.setDefault(behaviourFor);
  proxy = await startTcpProxy(llm.port);
  work = await tempDir('faults-llm-');
  const config = loadConfig(
    {
      COURSE_DIR: SAMPLE_COURSE,
      OPENAI_API_KEY: 'sk-faults-test-0000',
      OPENAI_BASE_URL: proxy.url('http', '/v1'),
      OPENAI_MODEL: 'fake-model',
      LLM_MAX_RETRIES: String(MAX_RETRIES),
      LLM_TIMEOUT_MS: '1000',
      // Enough slots for every concurrent fault case (queueing is the load test's subject).
      LLM_CONCURRENCY: '16',
      // Every question reaches the LLM: its tags ("[429]", "(discord)") are words no lecture
      // says, which would otherwise make "not found" answer them without the LLM faults under test.
      MIN_COVERAGE: '0',
      RATE_LIMIT_PER_MINUTE: '1000',
      DISCORD_TOKEN: 'faults-token',
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN: 'xoxb-faults',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
    },
    path.join(work, 'no.env'),
  );
  core = await createCore(config, log.logger, { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  store = await createFeedbackStore({ url: 'memory://', salt: 'faults-salt', logger: log.logger });
  const bot = new BotService(core.answers, store, new RateLimiter(1000), log.logger);
  [discordAdapter, slackAdapter] = await Promise.all([
    startDiscord({ config, logger: log.logger, bot, store }, { editIntervalMs: 100, clientOptions: FAST_IDENTIFY }),
    startSlack({ config, logger: log.logger, bot, store }, { listen: { port: 0, host: '127.0.0.1' } }),
  ]);
  eventsUrl = `http://127.0.0.1:${slackAdapter.port}/slack/events`;
});

afterAll(async () => {
  await discordAdapter?.stop();
  await slackAdapter?.stop();
  await store?.close();
  await proxy?.close();
  await Promise.all([discord?.close(), slack?.close(), llm?.close()]);
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  if (work) await rm(work, { recursive: true, force: true });
  console.info(`[faults.llm] ${JSON.stringify(measured)}`);
});

// ------------------------------------------------------------------ tests

interface FaultCase {
  tag: string;
  what: string;
  /** pt-BR message expected on both platforms (null: the answer itself). */
  message: string | null;
  /** LLM requests per question on Discord (streamed) and Slack (not streamed). */
  attempts: { discord: number; slack: number };
}

const CASES: FaultCase[] = [
  { tag: '429', what: '429 with retry-after: 1 on every attempt', message: LLM_USER_MESSAGES['rate-limited'], attempts: { discord: ATTEMPTS, slack: ATTEMPTS } },
  { tag: '429-once', what: 'one 429 with retry-after: 1, then an answer', message: null, attempts: { discord: 2, slack: 2 } },
  { tag: '500', what: '500 on every attempt', message: LLM_USER_MESSAGES.unavailable, attempts: { discord: ATTEMPTS, slack: ATTEMPTS } },
  { tag: 'stall', what: 'a server that accepts the request and never answers', message: LLM_USER_MESSAGES.timeout, attempts: { discord: ATTEMPTS, slack: ATTEMPTS } },
  // Streamed (Discord): text was already shown, so it is not retried (it would appear twice).
  // Not streamed (Slack): a body that stops is retried like any broken response.
  { tag: 'stall-mid', what: 'a response that stops halfway and hangs', message: LLM_USER_MESSAGES.timeout, attempts: { discord: 1, slack: ATTEMPTS } },
  { tag: 'cut', what: 'a response that stops halfway (connection reset)', message: LLM_USER_MESSAGES.unavailable, attempts: { discord: 1, slack: ATTEMPTS } },
];

describe('LLM faults through the Discord and Slack adapters', () => {
  // Every case runs on both platforms at the same time (they are independent questions).
  const running = new Map<string, Promise<[DiscordOutcome, SlackOutcome]>>();
  beforeAll(() => {
    for (const c of CASES) {
      running.set(c.tag, Promise.all([askDiscord(`[${c.tag}] O que é dropout? (discord)`), askSlack(`[${c.tag}] O que é dropout? (slack)`)]));
    }
    // Keep a rejection (a hung reply) from being reported as unhandled before its test awaits it.
    for (const p of running.values()) p.catch(() => undefined);
  });

  it.each(CASES)('$what → bounded retries, then a clear pt-BR reply on both platforms', async (c) => {
    const [d, s] = await running.get(c.tag)!;

    // Discord: the deferred reply was edited to the message (or the answer); never left loading.
    expect(d.ix.callback?.type).toBe(5);
    expect(d.ix.callback!.at - d.ix.dispatchedAt).toBeLessThan(3000);
    if (c.message) {
      expect(d.notice).toBe(`⚠️ ${c.message}`);
      expect(d.ix.original?.embeds).toEqual([]);
    } else {
      expect(d.answer).toBe(GOOD_ANSWER);
    }
    // Slack: acked at once, then the message (privately) or the answer via response_url.
    expect(s.ackStatus).toBe(200);
    if (c.message) expect(s.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: c.message });
    else expect(s.body.text).toContain(GOOD_ANSWER.slice(0, 40));

    // Bounded retries, counted at the LLM.
    expect(requestsFor(`[${c.tag}] O que é dropout? (discord)`)).toHaveLength(c.attempts.discord);
    expect(requestsFor(`[${c.tag}] O que é dropout? (slack)`)).toHaveLength(c.attempts.slack);
    measured[c.tag] = { discordMs: d.ms, slackMs: s.ms, attempts: c.attempts };
  });

  it('a model stuck in a loop: the answer ends at LLM_MAX_TOKENS (default) on both platforms, with the text and a "cortada" notice', async () => {
    const [d, s] = await Promise.all([askDiscord('[loop] O que é dropout? (discord)'), askSlack('[loop] O que é dropout? (slack)')]);
    const [discordRequest] = requestsFor('[loop] O que é dropout? (discord)');
    const [slackRequest] = requestsFor('[loop] O que é dropout? (slack)');
    // Nothing set LLM_MAX_TOKENS in this suite: the default bound applies.
    expect(discordRequest?.maxTokens).toBe(DEFAULT_LLM_MAX_TOKENS);
    expect(slackRequest?.maxTokens).toBe(DEFAULT_LLM_MAX_TOKENS);
    expect(discordRequest?.tokensSent).toBe(DEFAULT_LLM_MAX_TOKENS);
    // Discord: the answer (as far as it went) with 👍/👎, and the notice in the footer.
    expect(d.notice).toBe('');
    expect(d.answer.startsWith(LOOPING_TEXT.repeat(3))).toBe(true);
    const embed = ((d.ix.original?.embeds ?? []) as Json[])[0];
    expect(String((embed?.footer as Json | undefined)?.text ?? '')).toContain(CUT_ANSWER_NOTICE);
    // Slack: the answer with the notice.
    expect(s.body.text).toContain(LOOPING_TEXT.repeat(3).trim());
    expect(JSON.stringify(s.body.blocks)).toContain(CUT_ANSWER_NOTICE);
    expect(log.lines.filter((l) => l.includes('"msg":"answer cut at the length limit (LLM_MAX_TOKENS)"'))).toHaveLength(2);
    // Recorded with the notice (the evaluation sees the answer was cut).
    const records = (await store.listRecords()).filter((r) => r.question.startsWith('[loop]'));
    expect(records).toHaveLength(2);
    for (const r of records) expect(r.notices).toContain(CUT_ANSWER_NOTICE);
  });

  it('a 429 retry honours retry-after (the second attempt waits ≥ 1 s)', async () => {
    await running.get('429-once');
    const [first, second] = requestsFor('[429-once] O que é dropout? (slack)');
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(950);
  });

  it('connection refused → bounded retries and the pt-BR message; once the LLM is back, answers again', async () => {
    await Promise.allSettled(running.values());
    await proxy.refuse();
    const before = proxy.connections;
    const [d, s] = await Promise.all([askDiscord('O que é dropout? (recusada, discord)'), askSlack('O que é dropout? (recusada, slack)')]);
    expect(d.notice).toBe(`⚠️ ${LLM_USER_MESSAGES.unavailable}`);
    expect(s.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: LLM_USER_MESSAGES.unavailable });
    expect(proxy.connections).toBe(before); // nothing got through
    expect(requestsFor('O que é dropout? (recusada, discord)')).toHaveLength(0);
    // Logged with the reason: each retry, then the final failure, for each of the two questions.
    const refused = log.lines.filter((l) => l.includes('ECONNREFUSED'));
    expect(refused.filter((l) => l.includes('"msg":"LLM request failed, retrying"'))).toHaveLength(2 * MAX_RETRIES);
    expect(refused.filter((l) => l.includes('"msg":"LLM request failed"'))).toHaveLength(2);
    expect(refused.filter((l) => l.includes('"msg":"answer failed: LLM connection failed'))).toHaveLength(2);
    measured.refused = { discordMs: d.ms, slackMs: s.ms };

    await proxy.accept();
    const [d2, s2] = await Promise.all([askDiscord('O que é dropout? (de volta, discord)'), askSlack('O que é dropout? (de volta, slack)')]);
    expect(d2.answer).toBe(GOOD_ANSWER);
    expect(s2.body.text).toContain(GOOD_ANSWER.slice(0, 40));
  });

  it('every failure was logged, no unhandled rejection or exception, and both adapters are idle', async () => {
    await discordAdapter.whenIdle();
    await slackAdapter.idle();
    expect(unhandled).toEqual([]);
    const failed = log.lines.filter((l) => l.includes('"msg":"answer failed'));
    // 429, 500, stall, stall-mid, cut on two platforms + refused on two platforms.
    expect(failed.length).toBeGreaterThanOrEqual(12);
    // No failed answer was recorded as an answer (the looping one is an answer, cut).
    const records = (await store.listRecords()).filter((r) => !r.question.startsWith('[loop]'));
    expect(records.every((r) => r.answer === GOOD_ANSWER)).toBe(true);
  });
});
