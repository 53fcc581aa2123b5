/**
 * The feedback store going away mid-run: a real redis-server (append-only file, fsync always)
 * is killed with SIGKILL while the Discord adapter is answering, then started again on the same
 * port. The answer must still go out, with its vote buttons; the answer and the votes given
 * meanwhile are kept in the local journal (logged) and confirmed to the user as usual; afterwards
 * every earlier record is intact, the journaled ones are stored, and the bot stores votes again
 * without a restart. (test/reliability/faults.journal.test.ts tests the journal itself.)
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { BotService, type FeedbackOutcome } from '../../src/bot/botService.js';
import { MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore, FullRecord } from '../../src/store/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type Json } from '../fakes/fakeDiscord.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { SAMPLE_COURSE, recordingLogger, silentLogger, tempDir } from '../helpers/course.js';
import { startRestartableRedis, type RestartableRedis } from '../helpers/restartableRedis.js';
import { describeWith } from '../helpers/services.js';

const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};
const ANSWER = 'Regularização penaliza pesos grandes para o modelo não decorar o treino [1].';

let discord: FakeDiscord;
let llm: FakeOpenAI;
let redis: RestartableRedis;
let work: string;
let core: Core;
let store: FeedbackStore;
let adapter: DiscordAdapter;
const log = recordingLogger();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
const measured: Record<string, unknown> = {};

function voteIds(body: Json | undefined): string[] {
  return ((body?.components ?? []) as Json[])
    .flatMap((row) => (row.components ?? []) as Json[])
    .map((b) => b.custom_id)
    .filter((id): id is string => typeof id === 'string' && id.startsWith('vote:'));
}

/** Polls `probe` until it returns a value (the journal is replayed in the background). */
async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function ask(question: string): Promise<FakeInteraction> {
  const ix = discord.slashCommand({ name: 'pergunta', options: { texto: question }, user: makeUser() });
  await ix.waitFor(() => ix.original && Number(ix.original.flags) === 0 && ix.edits.length > 0, 20_000);
  await adapter.whenIdle();
  return ix;
}

async function click(customId: string, message: Json | undefined, user = makeUser()): Promise<FakeInteraction> {
  const ix = discord.clickButton({ customId, message, user });
  await ix.waitFor(() => ix.edits.length > 0, 20_000);
  await adapter.whenIdle();
  return ix;
}

describeWith('redis')('feedback store outage (needs redis-server)', () => {
beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  [discord, llm, redis] = await Promise.all([
    startFakeDiscord({ token: 'store-faults-token' }),
    startFakeOpenAI({ defaultBehavior: { type: 'text', text: ANSWER } }),
    startRestartableRedis(),
  ]);
  work = await tempDir('faults-store-');
  const config = loadConfig(
    {
      COURSE_DIR: SAMPLE_COURSE,
      OPENAI_API_KEY: 'sk-store-faults-0000',
      OPENAI_BASE_URL: llm.baseURL,
      LLM_MAX_RETRIES: '0',
      RATE_LIMIT_PER_MINUTE: '1000',
      STORE_URL: redis.url,
      DISCORD_TOKEN: 'store-faults-token',
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
    },
    path.join(work, 'no.env'),
  );
  core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  store = await createFeedbackStore({ url: config.STORE_URL, salt: 'store-faults-salt', logger: log.logger, journalDir: path.join(work, 'journal'), journalReplayMs: 200 });
  const bot = new BotService(core.answers, store, new RateLimiter(1000), log.logger);
  adapter = await startDiscord({ config, logger: log.logger, bot, store }, { editIntervalMs: 100, clientOptions: FAST_IDENTIFY });
});

afterAll(async () => {
  await adapter?.stop();
  if (redis && !redis.running) await redis.start().catch(() => undefined);
  await store?.close();
  await Promise.all([discord?.close(), llm?.close()]);
  await redis?.destroy();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  if (work) await rm(work, { recursive: true, force: true });
  console.info(`[faults.store] ${JSON.stringify(measured)}`);
});

describe('Redis stopped mid-run (Discord adapter)', () => {
  it('answers go out with vote buttons, the answer and votes are journaled and confirmed; after Redis is back nothing is lost', async () => {
    // Normal operation: an answer and five votes are stored.
    const first = await ask('O que é regularização?');
    const [up] = voteIds(first.original);
    expect(up).toBeDefined();
    const answerId = up!.split(':')[2]!;
    for (let i = 0; i < 5; i++) {
      const ok = await click(`vote:${i % 2 ? 'down' : 'up'}:${answerId}`, first.original);
      expect(ok.original?.content).toMatch(/^Obrigado!/);
    }
    const before: FullRecord[] = await store.listRecords();
    expect(before).toHaveLength(1);
    expect(before[0]!.votes.items).toHaveLength(5);

    // Redis dies (SIGKILL: a crash, not a clean shutdown).
    await redis.kill();
    const linesBefore = log.lines.length;

    // A question still gets its answer, with its vote buttons: its record waits in the journal.
    const started = Date.now();
    const during = await ask('O que é regularização L2?');
    measured.answerWhileDownMs = Date.now() - started;
    expect(String(((during.original?.embeds ?? []) as Json[])[0]?.description)).toBe(ANSWER);
    const [duringUp] = voteIds(during.original);
    expect(voteIds(during.original)).toHaveLength(2);
    const duringId = duringUp!.split(':')[2]!;
    const newLines = () => log.lines.slice(linesBefore);
    expect(newLines().some((l) => l.includes('answer kept in the local journal') && l.includes('ECONNREFUSED'))).toBe(true);

    // Votes get the usual confirmation, privately: on the journaled answer and on the stored one.
    const voteStarted = Date.now();
    const kept = await click(`vote:up:${answerId}`, first.original);
    measured.voteWhileDownMs = Date.now() - voteStarted;
    expect(kept.ephemeral).toBe(true);
    expect(kept.original?.content).toBe(MESSAGES.voteRecorded('up', null));
    const onJournaled = await click(`vote:down:${duringId}`, during.original);
    expect(onJournaled.original?.content).toBe(MESSAGES.voteRecorded('down', null));
    expect(newLines().some((l) => l.includes('"msg":"vote not recorded"'))).toBe(false);

    // Redis comes back on the same port with its append-only file: everything recorded before is
    // there, unchanged, and the journal is replayed into it.
    await redis.start();
    const after = await until(async () => {
      const records = await store.listRecords();
      return records.length === 2 && records[0]!.votes.items.length === 6 ? records : undefined;
    });
    expect(after[0]).toEqual({ ...before[0]!, votes: { up: 4, down: 2, items: [...before[0]!.votes.items, expect.objectContaining({ value: 'up' })] } });
    expect(after[1]).toMatchObject({ id: duringId, question: 'O que é regularização L2?', votes: { up: 0, down: 1 } });

    // The same store object works again without a restart of the bot.
    const again = await click(`vote:up:${answerId}`, first.original, kept.user);
    expect(again.original?.content).toBe(MESSAGES.voteRecorded('up', 'up'));
    expect(await store.votes(answerId)).toHaveLength(6);
    const next = await ask('O que é dropout?');
    expect(voteIds(next.original)).toHaveLength(2);
    expect(unhandled).toEqual([]);
  });

  it('votes in flight when Redis is killed: every vote is confirmed, and stored after the restart; nothing stored is corrupt', async () => {
    const bot = new BotService(core.answers, store, new RateLimiter(1000), silentLogger());
    const asked = await bot.ask({ platform: 'discord', userId: 'asker', channel: null, question: 'O que é overfitting?' });
    expect(asked.status).toBe('answered');
    const answerId = asked.status === 'answered' ? asked.result.id : '';

    const VOTES = 60;
    let settledOk = 0;
    const outcomes: Array<Promise<FeedbackOutcome>> = [];
    // Votes keep arriving, 5 ms apart; Redis is killed once 20 have been confirmed, and started
    // again 300 ms later, while the rest are still being written or retried.
    let killedAt = -1;
    for (let i = 0; i < VOTES; i++) {
      const vote = bot.vote({ platform: 'discord', userId: `inflight-${i}`, answerId, value: i % 3 ? 'up' : 'down' });
      void vote.then((r) => (settledOk += r.ok ? 1 : 0));
      outcomes.push(vote);
      if (killedAt < 0 && settledOk >= 20) {
        killedAt = i;
        await redis.kill();
        setTimeout(() => void redis.start(), 300);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await Promise.all(outcomes);
    expect(killedAt).toBeGreaterThan(0);
    await redis.start(); // no-op when the timer already started it
    const confirmed = results.flatMap((r, i) => (r.ok ? [i] : []));
    const refused = results.filter((r) => !r.ok);
    // Votes the store could not take were journaled: every one is confirmed.
    expect(refused).toEqual([]);
    expect(confirmed).toHaveLength(VOTES);

    const stored = await until(async () => {
      const votes = await store.votes(answerId);
      return votes.length === VOTES ? votes : undefined;
    });
    const storedUsers = new Set(stored.map((v) => v.user));
    for (const i of confirmed) expect(storedUsers.has(store.pseudonymize('discord', `inflight-${i}`)), `confirmed vote ${i}`).toBe(true);

    // Every vote key in Redis holds a valid vote (none half-written).
    const client = createClient({ url: redis.url });
    await client.connect();
    try {
      const keys = await client.keys(`pergunta::vote:${encodeURIComponent(answerId)}:*`);
      expect(keys.length).toBe(stored.length);
    } finally {
      await client.close();
    }
    measured.inflight = { votes: VOTES, killedAfterVote: killedAt, confirmed: confirmed.length, refused: refused.length, storedAfterRestart: stored.length };
    expect(unhandled).toEqual([]);
  });
});
});
