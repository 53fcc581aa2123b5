/**
 * Connections to the chat platforms dropping while the bot runs:
 * - Discord: the gateway closes the socket (close frame 4000, an abrupt TCP drop, op 7
 *   RECONNECT) → discord.js resumes the session, an interaction sent while it was away is
 *   replayed and answered within its 3-second window; an invalidated session → it identifies
 *   again. test/fakes/fakeDiscord.ts implements RESUME (see its header).
 * - Slack Socket Mode: the WebSocket is dropped at the TCP level (the app's connection goes
 *   through test/helpers/tcpProxy.ts) → the client reconnects through apps.connections.open and
 *   keeps answering.
 * Both run at the same time (the Slack client waits its own reconnect delay, 5 s by default).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import { BotService } from '../../src/bot/botService.js';
import { MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type Json } from '../fakes/fakeDiscord.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { slashCommand, startFakeSlack, type FakeSlack } from '../fakes/fakeSlack.js';
import { SAMPLE_COURSE, recordingLogger, silentLogger, tempDir } from '../helpers/course.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};
const ANSWER = 'Transfer learning reaproveita um modelo pré-treinado em outra tarefa [1].';

let discord: FakeDiscord;
let slack: FakeSlack;
let llm: FakeOpenAI;
let socketProxy: TcpProxy;
let work: string;
let core: Core;
let store: FeedbackStore;
let discordAdapter: DiscordAdapter;
let slackAdapter: SlackAdapter;
const log = recordingLogger();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const measured: Record<string, unknown> = {};

function answered(ix: FakeInteraction): boolean {
  const rows = (ix.original?.components ?? []) as Json[];
  return Number(ix.original?.flags) === 0 && rows.some((r) => ((r.components ?? []) as Json[]).some((b) => String(b.custom_id).startsWith('vote:')));
}

async function askDiscord(question: string): Promise<FakeInteraction> {
  const ix = discord.slashCommand({ name: 'pergunta', options: { texto: question }, user: makeUser() });
  await ix.waitFor(() => answered(ix), 15_000);
  return ix;
}

let slackKeys = 0;
async function askSlack(question: string): Promise<string> {
  const key = `socket-${++slackKeys}`;
  const channel = `C0RECON${slackKeys}`;
  const ack = await slack.sendEnvelope('slash_commands', slashCommand({ text: question, user_id: `U0R${slackKeys}`, channel_id: channel, response_url: slack.responseUrl(key) }));
  expect(ack.payload).toEqual({ response_type: 'ephemeral', text: MESSAGES.searching });
  const reply = await slack.waitForReply(key, channel, 15_000);
  return String(reply.text);
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  [discord, slack, llm] = await Promise.all([
    startFakeDiscord({ token: 'reconnect-token' }),
    startFakeSlack(),
    startFakeOpenAI({ defaultBehavior: { type: 'text', text: ANSWER } }),
  ]);
  // The app's Socket Mode connection goes through a proxy the test can cut.
  socketProxy = await startTcpProxy(Number(new URL(slack.url).port));
  let tickets = 0;
  slack.onApi('apps.connections.open', () => ({ body: { ok: true, url: socketProxy.url('ws', `/link/?ticket=proxied-${++tickets}&app_id=A0FAKE`) } }));

  work = await tempDir('faults-reconnect-');
  const config: Config = loadConfig(
    {
      COURSE_DIR: SAMPLE_COURSE,
      OPENAI_API_KEY: 'sk-reconnect-0000',
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_PER_MINUTE: '1000',
      DISCORD_TOKEN: 'reconnect-token',
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN: 'xoxb-reconnect',
      SLACK_APP_TOKEN: 'xapp-reconnect',
      SLACK_API_URL: slack.apiUrl,
    },
    path.join(work, 'no.env'),
  );
  core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  store = await createFeedbackStore({ url: 'memory://', salt: 'reconnect-salt', logger: log.logger });
  const bot = new BotService(core.answers, store, new RateLimiter(1000), log.logger);
  [discordAdapter, slackAdapter] = await Promise.all([
    startDiscord({ config, logger: log.logger, bot, store }, { editIntervalMs: 100, clientOptions: FAST_IDENTIFY }),
    startSlack({ config, logger: log.logger, bot, store }),
  ]);
});

afterAll(async () => {
  await discordAdapter?.stop();
  await slackAdapter?.stop();
  await store?.close();
  await socketProxy?.close();
  await Promise.all([discord?.close(), slack?.close(), llm?.close()]);
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  if (work) await rm(work, { recursive: true, force: true });
  console.info(`[faults.reconnect] ${JSON.stringify(measured)}`);
});

describe('platform connections dropping', () => {
  // The Slack scenario takes its client's reconnect delay (5 s): it runs alongside the Discord one.
  let slackScenario: Promise<{ reconnectMs: number; before: string; after: string; opens: number }>;
  beforeAll(() => {
    slackScenario = (async () => {
      const before = await askSlack('O que é transfer learning? (antes da queda)');
      const opensBefore = slack.apiCalls.filter((c) => c.method === 'apps.connections.open').length;
      const dropped = Date.now();
      socketProxy.dropConnections();
      await slack.waitForSocketClose(5_000);
      await slack.waitForSocket(20_000);
      const reconnectMs = Date.now() - dropped;
      const after = await askSlack('O que é transfer learning? (depois da queda)');
      return { reconnectMs, before, after, opens: slack.apiCalls.filter((c) => c.method === 'apps.connections.open').length - opensBefore };
    })();
    slackScenario.catch(() => undefined);
  });

  it('Discord: the gateway closes (4000) → the client resumes, and a question sent meanwhile is replayed and answered in time', async () => {
    const first = await askDiscord('O que é transfer learning? (sessão inicial)');
    expect(first.callback?.type).toBe(5);
    const identifies = discord.identifies.length;

    discord.disconnectGateway({ code: 4000 });
    // Sent while the bot is disconnected: Discord keeps it for the session.
    const missed = discord.slashCommand({ name: 'pergunta', options: { texto: 'O que é transfer learning? (durante a queda)' }, user: makeUser() });
    await missed.waitFor(() => answered(missed), 15_000);
    const [resume] = discord.resumes;
    expect(resume).toMatchObject({ accepted: true });
    expect(resume!.replayed).toBeGreaterThanOrEqual(1);
    expect(missed.callback!.at - missed.dispatchedAt).toBeLessThan(3000);
    expect(discord.identifies).toHaveLength(identifies); // resumed, not a new session
    expect(log.lines.some((l) => l.includes('discord: gateway resumed'))).toBe(true);
    measured.discordResumeFirstResponseMs = missed.callback!.at - missed.dispatchedAt;

    // An abrupt drop (no close frame) and a RECONNECT request: resumed each time, still answering.
    discord.disconnectGateway({ abrupt: true });
    await discord.waitFor(() => discord.resumes.length >= 2 && discord.sessions === 1, 10_000);
    await askDiscord('O que é transfer learning? (depois da queda brusca)');
    discord.requestReconnect();
    await discord.waitFor(() => discord.resumes.length >= 3 && discord.sessions === 1, 10_000);
    await askDiscord('O que é transfer learning? (depois do RECONNECT)');
    expect(discord.resumes.every((r) => r.accepted)).toBe(true);
    expect(discord.identifies).toHaveLength(identifies);
  });

  it('Discord: an invalidated session → the client identifies again and keeps answering', async () => {
    const identifies = discord.identifies.length;
    discord.disconnectGateway({ resumable: false });
    await discord.waitFor(() => discord.identifies.length > identifies && discord.sessions === 1, 15_000);
    expect(discord.resumes.at(-1)).toMatchObject({ accepted: false });
    const ix = await askDiscord('O que é transfer learning? (sessão nova)');
    expect(String(((ix.original?.embeds ?? []) as Json[])[0]?.description)).toBe(ANSWER);
  });

  it('Slack Socket Mode: the WebSocket drops → the client reconnects and keeps answering', async () => {
    const { reconnectMs, before, after, opens } = await slackScenario;
    expect(before).toContain(ANSWER.slice(0, 30));
    expect(after).toContain(ANSWER.slice(0, 30));
    expect(opens).toBeGreaterThanOrEqual(1); // a fresh apps.connections.open for the new socket
    expect(socketProxy.connections).toBeGreaterThanOrEqual(2);
    measured.slackReconnectMs = reconnectMs;
  });

  it('no unhandled rejection or exception, and nothing in flight', async () => {
    await discordAdapter.whenIdle();
    await slackAdapter.idle();
    expect(unhandled).toEqual([]);
  });
});
