/**
 * Load: 100 questions and 200 votes arriving at once, through each chat adapter with the real
 * answer core on the sample course (lexical-only) and a fake LLM that takes 200–800 ms per
 * answer (streamed on Discord). The two adapters run one after the other (this file), so their
 * bursts do not compete for the machine's two cores.
 *
 * - Discord: the real discord.js Client against test/fakes/fakeDiscord.ts (which also enforces
 *   the 3-second deadline: a late first response gets 10062), the real SQLite feedback store.
 * - Slack, HTTP mode: the real Bolt App with its HTTPReceiver (every request signed and
 *   verified; the bursts are posted from a worker thread, as Slack's clients do not share the
 *   bot's event loop), the real Redis feedback store (a redis-server spawned on loopback).
 *
 * Then the conversations of issue #16 under the same load: 100 "Perguntar mais" pressed at
 * once (every modal opens within 3 s), their 100 follow-ups submitted at once (each acknowledged
 * within 3 s and answered in a thread started on its answer), and 100 mentions of the bot in
 * those threads (each acknowledged by a reply within 3 s); on Slack, 100 app_mention events in
 * the answers' threads (each acked within 3 s and answered in its thread).
 *
 * Timing assertions are only the protocol deadlines (Discord: first response within 3 s of the
 * dispatch; Slack: HTTP 200 within 3 s) and a generous bound on the event-loop lag. Both
 * adapters are warmed up first with a few questions and votes (a running bot's code is compiled;
 * the first burst after a start is slower, see docs/reliability.md). Each part prints one line of
 * measurements (`[load.discord]`, `[load.slack]`).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordAdapter, type DiscordAdapterOptions, startDiscord } from '../../adapters/discord/index.js';
import { ACTION_IDS } from '../../adapters/slack/cards.js';
import { type SlackAdapter, startSlack } from '../../adapters/slack/index.js';
import { BotService } from '../../src/bot/botService.js';
import { MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { nextTurn } from '../../src/bot/turns.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Core, createCore } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore, VoteValue } from '../../src/store/types.js';
import { type FakeDiscord, type FakeInteraction, type Json, makeUser, startFakeDiscord } from '../fakes/fakeDiscord.js';
import { type FakeOpenAI, type FakeRequest, startFakeOpenAI } from '../fakes/fakeOpenAI.js';
import { appMention, blockActions, eventCallback, type FakeSlack, formBody, type ResponseBody, slashCommand, startFakeSlack } from '../fakes/fakeSlack.js';
import { condensedFrom, isCondenseRequest } from '../helpers/conversationLlm.js';
import { recordingLogger, SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { ConcurrencyProbe, maxOf, percentile, slowAnswer } from '../helpers/llmLoad.js';
import { type LagReport, pollUntil, startLagProbe } from '../helpers/loopLag.js';
import { type BurstResult, postBurstOffThread } from '../helpers/offThreadPoster.js';
import { type RedisServer, startRedisServer } from '../helpers/redisServer.js';
import { describeWith } from '../helpers/services.js';

describe('Load: Discord', () => {
  const QUESTIONS = 100;
  const WARMUP = 10;
  const WARMUP_VOTES = 20;
  const VOTERS = 200;
  const LLM_CONCURRENCY = 10;
  /** Discord's interaction deadline: the first response must arrive within 3 s of the dispatch. */
  const DISCORD_DEADLINE_MS = 3000;
  const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
    ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
  };

  const TOPICS = ['overfitting', 'regularização', 'dropout', 'fine-tuning', 'transfer learning', 'gradiente descendente', 'validação cruzada'];
  // A follow-up's condense request gets a standalone question, as a real model writes it
  // (the previous question, then the follow-up): the one a "not covered" decision is made on.
  const answerFor = (question: string, req?: FakeRequest) =>
    req && isCondenseRequest(req) ? condensedFrom(req) : `Resposta sobre "${question}": as aulas explicam isso no trecho citado [1].`;

  let discord: FakeDiscord;
  let llm: FakeOpenAI;
  let work: string;
  let core: Core;
  let store: FeedbackStore;
  let adapter: DiscordAdapter;
  const probe = new ConcurrencyProbe();
  const log = recordingLogger();
  const measured: Record<string, unknown> = {};

  function voteIds(body: Json | undefined): string[] {
    const rows = (body?.components ?? []) as Json[];
    return rows
      .flatMap((row) => (row.components ?? []) as Json[])
      .map((b) => b.custom_id)
      .filter((id): id is string => typeof id === 'string' && id.startsWith('vote:'));
  }

  const description = (ix: FakeInteraction) => String(((ix.original?.embeds ?? []) as Json[])[0]?.description ?? '');
  const firstResponseMs = (ix: FakeInteraction) => ix.callback!.at - ix.dispatchedAt;

  beforeAll(async () => {
    [discord, llm] = await Promise.all([startFakeDiscord({ token: 'load-token' }), startFakeOpenAI()]);
    work = await tempDir('load-discord-');
    const config: Config = loadConfig(
      {
        COURSE_DIR: SAMPLE_COURSE,
        OPENAI_API_KEY: 'sk-load-test-0000',
        OPENAI_BASE_URL: llm.baseURL,
        OPENAI_MODEL: 'fake-model',
        LLM_CONCURRENCY: String(LLM_CONCURRENCY),
        LLM_MAX_RETRIES: '0',
        LLM_TIMEOUT_MS: '20000',
        RATE_LIMIT_PER_MINUTE: '1000',
        DISCORD_TOKEN: 'load-token',
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiUrl,
      },
      path.join(work, 'no.env'),
    );
    core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
    store = await createFeedbackStore({ url: `sqlite://${path.join(work, 'feedback.sqlite')}`, salt: 'load-salt-discord', logger: log.logger });
    const bot = new BotService(core.answers, store, new RateLimiter(config.RATE_LIMIT_PER_MINUTE), log.logger);
    // Production streaming cadence (one edit per second at most).
    adapter = await startDiscord({ config, logger: log.logger, bot, store }, { clientOptions: FAST_IDENTIFY });

    // Warm-up: a running bot has answered questions before the burst (its code paths are
    // compiled); a few questions and votes, not counted below.
    llm.setDefault(slowAnswer(new ConcurrencyProbe(), { minMs: 10, maxMs: 50, text: answerFor }));
    const warm = Array.from({ length: WARMUP }, (_, i) =>
      discord.slashCommand({ name: 'pergunta', options: { texto: `Aquecimento ${i}: o que é dropout?` }, user: makeUser(`aquecimento-${i}`) }),
    );
    await Promise.all(warm.map((ix) => ix.waitFor(() => voteIds(ix.original).length === 2, 30_000)));
    const votes = Array.from({ length: WARMUP_VOTES }, (_, i) =>
      discord.clickButton({ customId: voteIds(warm[0]!.original)[i % 2]!, message: warm[0]!.original, user: makeUser(`aquecimento-voto-${i}`) }),
    );
    await Promise.all(votes.map((ix) => ix.waitFor(() => ix.edits.length > 0, 30_000)));
    await adapter.whenIdle();
    discord.reset();
    llm.reset();
    llm.setDefault(slowAnswer(probe, { minMs: 200, maxMs: 800, text: answerFor }));
  });

  afterAll(async () => {
    await adapter?.stop();
    await store?.close();
    await discord?.close();
    await llm?.close();
    if (work) await rm(work, { recursive: true, force: true });
    // One line per run with what was measured (copied into docs/reliability.md).
    console.info(`[load.discord] ${JSON.stringify(measured)}`);
  });

  describe('Discord adapter under load', () => {
    let answered: FakeInteraction[] = [];

    it('100 questions at once: every one deferred within 3 s, all answered, LLM calls never above LLM_CONCURRENCY, loop responsive', async () => {
      const lag = startLagProbe();
      const started = Date.now();
      const asked = Array.from({ length: QUESTIONS }, (_, i) =>
        discord.slashCommand({
          name: 'pergunta',
          options: { texto: `Pergunta ${i + 1}: o que a aula diz sobre ${TOPICS[i % TOPICS.length]}?` },
          user: makeUser(`aluno-load-${i}`),
        }),
      );
      const done = (ix: FakeInteraction) => voteIds(ix.original).length === 2;
      await pollUntil(() => asked.every(done), 60_000, () => `${asked.filter(done).length}/${QUESTIONS} answers`);
      await adapter.whenIdle();
      const wallMs = Date.now() - started;
      const loop: LagReport = lag.stop();

      // Every interaction got its first response (a defer) within Discord's deadline.
      const first = asked.map((ix) => {
        expect(ix.callback, `interaction ${ix.id} has no callback`).toBeDefined();
        expect(ix.callback!.type).toBe(5);
        return firstResponseMs(ix);
      });
      expect(maxOf(first)).toBeLessThan(DISCORD_DEADLINE_MS);
      // The fake refuses late callbacks with 10062: none happened.
      const callbacks = discord.requests.filter((r) => r.path.endsWith('/callback'));
      expect(callbacks.filter((r) => (r.status ?? 0) >= 300)).toEqual([]);

      // Each one ends with its own answer (no cross-talk between concurrent answers) and 👍/👎.
      asked.forEach((ix, i) => {
        const question = `Pergunta ${i + 1}: o que a aula diz sobre ${TOPICS[i % TOPICS.length]}?`;
        expect(description(ix)).toBe(answerFor(question));
        expect(ix.original?.flags).toBe(0);
      });
      expect((await store.listRecords()).length).toBe(QUESTIONS + WARMUP);

      // The LLM saw exactly one request per question, never more than LLM_CONCURRENCY at once,
      // and the limit was reached (the rest waited in the queue).
      expect(probe.started).toBe(QUESTIONS);
      expect(probe.finished).toBe(QUESTIONS);
      expect(probe.max).toBe(LLM_CONCURRENCY);
      // Queued, not refused: the last request reached the LLM well after the first.
      const arrivals = llm.requests.map((r) => r.receivedAt);
      expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThan(1000);

      // The event loop stayed responsive.
      expect(loop.maxMs).toBeLessThan(500);
      expect(loop.driftMaxMs).toBeLessThan(500);

      answered = asked;
      Object.assign(measured, {
        questions: QUESTIONS,
        wallMs,
        firstResponseMaxMs: maxOf(first),
        firstResponseP95Ms: percentile(first, 95),
        llmConcurrencyMax: probe.max,
        llmConcurrencyLimit: LLM_CONCURRENCY,
        loopLagMaxMs: loop.maxMs,
        loopLagP99Ms: loop.p99Ms,
        loopDriftMaxMs: loop.driftMaxMs,
      });
    });

    it('200 votes on one answer at once (different users): 200 stored, none lost', async () => {
      const target = answered[0];
      expect(target).toBeDefined();
      const [up] = voteIds(target!.original);
      const answerId = up!.split(':')[2]!;
      const values = Array.from({ length: VOTERS }, (_, i) => (i % 5 < 3 ? 'up' : 'down'));
      const clicks = values.map((value, i) =>
        discord.clickButton({ customId: `vote:${value}:${answerId}`, message: target!.original, user: makeUser(`votante-${i}`) }),
      );
      const confirmed = (ix: FakeInteraction) => ix.edits.length > 0;
      await pollUntil(() => clicks.every(confirmed), 25_000, () => `${clicks.filter(confirmed).length}/${VOTERS} confirmations (${clicks.filter((c) => c.callback).length} deferred)`);
      await adapter.whenIdle();

      const first = clicks.map((ix) => {
        expect(ix.callback?.type).toBe(5);
        expect(ix.ephemeral).toBe(true);
        return firstResponseMs(ix);
      });
      expect(maxOf(first)).toBeLessThan(DISCORD_DEADLINE_MS);
      clicks.forEach((ix, i) => expect(ix.original?.content).toBe(MESSAGES.voteRecorded(values[i] as 'up' | 'down', null)));

      const votes = await store.votes(answerId);
      expect(votes).toHaveLength(VOTERS);
      expect(new Set(votes.map((v) => v.user)).size).toBe(VOTERS);
      expect(votes.filter((v) => v.value === 'up')).toHaveLength(values.filter((v) => v === 'up').length);
      const record = (await store.listRecords()).find((r) => r.id === answerId);
      expect(record?.votes).toMatchObject({ up: 120, down: 80 });
      Object.assign(measured, { votes: VOTERS, votesStored: votes.length, voteFirstResponseMaxMs: maxOf(first) });
    });

    it('the same user clicking 👍 and 👎 many times at once ends with exactly one vote', async () => {
      const target = answered[1]!;
      const answerId = voteIds(target.original)[0]!.split(':')[2]!;
      const user = makeUser('indecisa');
      const values = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'up' : 'down') as 'up' | 'down');
      const clicks = values.map((value) => discord.clickButton({ customId: `vote:${value}:${answerId}`, message: target.original, user }));
      await Promise.all(clicks.map((ix) => ix.waitFor(() => ix.edits.length > 0, 30_000)));
      await adapter.whenIdle();

      const votes = await store.votes(answerId);
      expect(votes).toHaveLength(1);
      expect(votes[0]!.user).toBe(store.pseudonymize('discord', user.id));
      // The clicks were applied one after the other: exactly one was the first vote, and every
      // confirmation is one of the three possible sentences for its value.
      const contents = clicks.map((ix) => String(ix.original?.content));
      expect(contents.filter((c) => c === MESSAGES.voteRecorded('up', null) || c === MESSAGES.voteRecorded('down', null))).toHaveLength(1);
      clicks.forEach((ix, i) => {
        const v = values[i]!;
        const other = v === 'up' ? 'down' : 'up';
        expect([MESSAGES.voteRecorded(v, null), MESSAGES.voteRecorded(v, v), MESSAGES.voteRecorded(v, other)]).toContain(contents[i]);
      });
      measured.sameUserVotesStored = votes.length;
    });

    it('100 "Perguntar mais" at once: every modal within 3 s; 100 follow-ups at once: each acknowledged within 3 s and answered in its own thread', async () => {
      expect(answered).toHaveLength(QUESTIONS);
      const answerIds = answered.map((ix) => voteIds(ix.original)[0]!.split(':')[2]!);
      const users = answered.map((_, i) => makeUser(`aluno-mais-${i}`));
      const lag = startLagProbe();
      const clicks = answered.map((ix, i) => discord.clickButton({ customId: `followup:${answerIds[i]}`, message: ix.original, user: users[i] }));
      await pollUntil(() => clicks.every((ix) => ix.callback), 15_000, () => `${clicks.filter((ix) => ix.callback).length}/${QUESTIONS} modals`);
      const modalMs = clicks.map((ix) => {
        expect(ix.callback!.type).toBe(9);
        return firstResponseMs(ix);
      });
      expect(maxOf(modalMs)).toBeLessThan(DISCORD_DEADLINE_MS);

      const llmBefore = llm.requests.length;
      // Follow-ups without numbers: numbers no lecture says would make some "not covered" (no answer call).
      const submits = answered.map((ix, i) =>
        discord.submitModal({ customId: `followup:${answerIds[i]}`, fields: { pergunta: 'E como isso aparece nos exemplos da aula?' }, message: ix.original, user: users[i] }),
      );
      const threadIds = answered.map((ix) => String(ix.original!.id));
      const inThread = (id: string) => discord.messagesIn(id).filter((m) => (m.author as Json).id === discord.botUser.id);
      const done = (id: string) => voteIds(inThread(id).at(-1)).length === 2;
      await pollUntil(() => threadIds.every(done), 90_000, () => `${threadIds.filter(done).length}/${QUESTIONS} threaded answers`);
      await adapter.whenIdle();
      const loop = lag.stop();
      const ackMs = submits.map((ix) => {
        expect(ix.callback?.type).toBe(4); // the private pointer to the thread
        expect(ix.ephemeral).toBe(true);
        return firstResponseMs(ix);
      });
      expect(maxOf(ackMs)).toBeLessThan(DISCORD_DEADLINE_MS);
      expect(discord.requests.filter((r) => r.path.endsWith('/callback') && (r.status ?? 0) >= 300)).toEqual([]);
      // One thread per answer, started within the deadline too.
      expect(threadIds.every((id) => discord.threads.has(id))).toBe(true);
      const threadMs = submits.map((ix, i) => discord.requests.find((r) => r.path.endsWith(`/messages/${threadIds[i]}/threads`))!.at - ix.dispatchedAt);
      expect(maxOf(threadMs)).toBeLessThan(DISCORD_DEADLINE_MS);
      // The condense step adds one LLM call per follow-up, no more.
      expect(llm.requests.length - llmBefore).toBe(2 * QUESTIONS);
      const records = await store.listRecords();
      expect(records.filter((r) => r.turn === 2)).toHaveLength(QUESTIONS);
      expect(loop.maxMs).toBeLessThan(500);
      Object.assign(measured, {
        followUps: QUESTIONS,
        modalMaxMs: maxOf(modalMs),
        followUpAckMaxMs: maxOf(ackMs),
        threadStartMaxMs: maxOf(threadMs),
        followUpLoopLagMaxMs: loop.maxMs,
      });

      // 100 mentions of the bot, one in each thread, at once: each acknowledged by the bot's reply within 3 s.
      const sent = threadIds.map((id, i) => ({ at: Date.now(), message: discord.userMessage({ channelId: id, content: `${discord.mention} e no caso ${i}?`, user: users[i] }) }));
      const replied = (i: number) => inThread(threadIds[i]!).some((m) => (m.message_reference as Json | undefined)?.message_id === sent[i]!.message.id);
      const answeredMention = (i: number) => {
        const reply = inThread(threadIds[i]!).find((m) => (m.message_reference as Json | undefined)?.message_id === sent[i]!.message.id);
        return voteIds(reply).length === 2;
      };
      await pollUntil(() => sent.every((_, i) => answeredMention(i)), 90_000, () => `${sent.filter((_, i) => answeredMention(i)).length}/${QUESTIONS} mentions answered`);
      await adapter.whenIdle();
      const mentionAckMs = sent.map((s, i) => {
        expect(replied(i)).toBe(true);
        const first = discord.requests.find((r) => r.method === 'POST' && r.path === `/channels/${threadIds[i]}/messages` && (r.body as Json).message_reference !== undefined && ((r.body as Json).message_reference as Json).message_id === s.message.id)!;
        return first.at - s.at;
      });
      expect(maxOf(mentionAckMs)).toBeLessThan(DISCORD_DEADLINE_MS);
      expect((await store.listRecords()).filter((r) => r.turn === 3)).toHaveLength(QUESTIONS);
      Object.assign(measured, { mentions: QUESTIONS, mentionAckMaxMs: maxOf(mentionAckMs), mentionAckP95Ms: percentile(mentionAckMs, 95) });
    });
  });
});

describeWith('redis')('Load: Slack', () => {
  const QUESTIONS = 100;
  const WARMUP = 10;
  const WARMUP_VOTES = 20;
  const VOTERS = 200;
  const LLM_CONCURRENCY = 10;
  /** Slack's deadline: every request must be acknowledged (HTTP 200) within 3 s. */
  const SLACK_ACK_DEADLINE_MS = 3000;
  const SIGNING_SECRET = 'load-signing-secret-0123456789';

  const TOPICS = ['overfitting', 'regularização', 'dropout', 'fine-tuning', 'transfer learning', 'gradiente descendente', 'validação cruzada'];
  // A follow-up's condense request gets a standalone question, as a real model writes it
  // (the previous question, then the follow-up): the one a "not covered" decision is made on.
  const answerFor = (question: string, req?: FakeRequest) =>
    req && isCondenseRequest(req) ? condensedFrom(req) : `Resposta sobre "${question}": as aulas explicam isso no trecho citado [1].`;
  const questionText = (i: number) => `Pergunta ${i + 1}: o que a aula diz sobre ${TOPICS[i % TOPICS.length]}?`;

  let slack: FakeSlack;
  let llm: FakeOpenAI;
  let redis: RedisServer;
  let work: string;
  let core: Core;
  let store: FeedbackStore;
  let adapter: SlackAdapter;
  let eventsUrl: string;
  const probe = new ConcurrencyProbe();
  const log = recordingLogger();
  const measured: Record<string, unknown> = {};

  /** Slack's side of a burst: all at once, signed, from another thread (Slack does not share the bot's event loop). */
  const burst = (payloads: Array<Parameters<typeof formBody>[0]>): Promise<BurstResult[]> =>
    postBurstOffThread(eventsUrl, payloads.map(formBody), SIGNING_SECRET);

  function answerIdOf(body: ResponseBody): string {
    const actions = (body.blocks ?? []).find((b) => b.type === 'actions');
    const id = actions?.elements?.find((e) => e.action_id === ACTION_IDS.voteUp)?.value;
    if (typeof id !== 'string') throw new Error('no 👍 button in the answer');
    return id;
  }

  beforeAll(async () => {
    [slack, llm, redis] = await Promise.all([startFakeSlack(), startFakeOpenAI(), startRedisServer()]);
    // The channel the slash commands come from: the bot is in it, so public answers are posted there.
    slack.addChannel({ id: 'C0DUVIDAS', name: 'duvidas' });
    work = await tempDir('load-slack-');
    const config = loadConfig(
      {
        COURSE_DIR: SAMPLE_COURSE,
        OPENAI_API_KEY: 'sk-load-test-slack-0000',
        OPENAI_BASE_URL: llm.baseURL,
        OPENAI_MODEL: 'fake-model',
        LLM_CONCURRENCY: String(LLM_CONCURRENCY),
        LLM_MAX_RETRIES: '0',
        LLM_TIMEOUT_MS: '20000',
        RATE_LIMIT_PER_MINUTE: '1000',
        SLACK_BOT_TOKEN: 'xoxb-load-test',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
      },
      path.join(work, 'no.env'),
    );
    core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
    store = await createFeedbackStore({ url: redis.url, salt: 'load-salt-slack', logger: log.logger });
    const bot = new BotService(core.answers, store, new RateLimiter(config.RATE_LIMIT_PER_MINUTE), log.logger);
    adapter = await startSlack({ config, logger: log.logger, bot, store }, { listen: { port: 0, host: '127.0.0.1' } });
    eventsUrl = `http://127.0.0.1:${adapter.port}/slack/events`;

    // Warm-up: a running bot has answered questions before the burst (its code paths are
    // compiled); a few questions and votes, not counted below.
    const warmProbe = new ConcurrencyProbe();
    llm.setDefault(slowAnswer(warmProbe, { minMs: 10, maxMs: 50, text: answerFor }));
    const warm = await burst(Array.from({ length: WARMUP }, (_, i) => slashCommand({ text: `Aquecimento ${i}: o que é dropout?`, user_id: `U0WARM${i}`, response_url: slack.responseUrl(`warm${i}`) })));
    expect(warm.every((r) => r.status === 200)).toBe(true);
    await slack.waitFor(() => slack.channelMessages.length >= WARMUP, `${WARMUP} warm-up answers`, 30_000);
    const warmId = answerIdOf({ blocks: slack.channelMessages[0]!.blocks });
    await burst(
      Array.from({ length: WARMUP_VOTES }, (_, i) =>
        blockActions({ userId: `U0WARMV${i}`, action: { type: 'button', action_id: ACTION_IDS.voteUp, value: warmId }, response_url: slack.responseUrl(`warm-vote${i}`) }),
      ),
    );
    await slack.waitForResponseCount(WARMUP_VOTES, 30_000);
    await adapter.idle();
    slack.reset();
    llm.reset();
    llm.setDefault(slowAnswer(probe, { minMs: 200, maxMs: 800, text: answerFor, seed: 7 }));
  });

  afterAll(async () => {
    await adapter?.stop();
    await store?.close();
    await Promise.all([slack?.close(), llm?.close()]);
    await redis?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    console.info(`[load.slack] ${JSON.stringify(measured)}`);
  });

  describe('Slack adapter (HTTP mode) under load', () => {
    let answerIds: string[] = [];

    let answerTs: string[] = [];

    it('100 signed /pergunta at once: all acked with 200 within 3 s, all answered as messages (chat.postMessage), LLM calls bounded, loop responsive', async () => {
      const lag = startLagProbe();
      const started = Date.now();
      const acks = await burst(
        Array.from({ length: QUESTIONS }, (_, i) => slashCommand({ text: questionText(i), user_id: `U0LOAD${i}`, response_url: slack.responseUrl(`q${i}`) })),
      );
      const ackMs = acks.map((a) => a.ms);
      for (const ack of acks) {
        expect(ack.status).toBe(200);
        expect(ack.json).toEqual({ response_type: 'ephemeral', text: MESSAGES.searching });
      }
      expect(maxOf(ackMs)).toBeLessThan(SLACK_ACK_DEADLINE_MS);

      await slack.waitFor(() => slack.channelMessages.length >= QUESTIONS, `${QUESTIONS} answers`, 60_000);
      await adapter.idle();
      const wallMs = Date.now() - started;
      const loop = lag.stop();

      // Exactly one answer per question, each its own (no cross-talk), with feedback buttons.
      answerIds = [];
      answerTs = [];
      expect(slack.responses).toEqual([]);
      for (let i = 0; i < QUESTIONS; i++) {
        const posts = slack.channelMessages.filter((m) => m.text.includes(`Resposta sobre "${questionText(i)}"`));
        expect(posts).toHaveLength(1);
        answerIds.push(answerIdOf({ blocks: posts[0]!.blocks }));
        answerTs.push(posts[0]!.ts);
      }
      expect(new Set(answerIds).size).toBe(QUESTIONS);
      expect((await store.listRecords()).length).toBe(QUESTIONS + WARMUP);

      expect(probe.started).toBe(QUESTIONS);
      expect(probe.finished).toBe(QUESTIONS);
      expect(probe.max).toBe(LLM_CONCURRENCY);

      expect(loop.maxMs).toBeLessThan(500);
      expect(loop.driftMaxMs).toBeLessThan(500);
      Object.assign(measured, {
        questions: QUESTIONS,
        wallMs,
        ackMaxMs: Math.round(maxOf(ackMs)),
        ackP95Ms: Math.round(percentile(ackMs, 95)),
        llmConcurrencyMax: probe.max,
        llmConcurrencyLimit: LLM_CONCURRENCY,
        loopLagMaxMs: loop.maxMs,
        loopLagP99Ms: loop.p99Ms,
        loopDriftMaxMs: loop.driftMaxMs,
      });
    });

    it('200 signed votes on one answer at once (different users): all acked within 3 s, 200 stored in Redis, none lost', async () => {
      const answerId = answerIds[0]!;
      const values: VoteValue[] = Array.from({ length: VOTERS }, (_, i) => (i % 4 === 0 ? 'down' : 'up'));
      slack.reset();
      const acks = await burst(
        values.map((value, i) =>
          blockActions({
            userId: `U0VOTO${i}`,
            action: { type: 'button', action_id: value === 'up' ? ACTION_IDS.voteUp : ACTION_IDS.voteDown, value: answerId },
            response_url: slack.responseUrl(`v${i}`),
          }),
        ),
      );
      for (const ack of acks) expect(ack.status).toBe(200);
      const ackMs = acks.map((a) => a.ms);
      expect(maxOf(ackMs)).toBeLessThan(SLACK_ACK_DEADLINE_MS);
      await slack.waitForResponseCount(VOTERS, 60_000);
      await adapter.idle();
      values.forEach((value, i) => expect(slack.responsesFor(`v${i}`).map((p) => p.body.text)).toEqual([MESSAGES.voteRecorded(value, null)]));

      const votes = await store.votes(answerId);
      expect(votes).toHaveLength(VOTERS);
      expect(new Set(votes.map((v) => v.user)).size).toBe(VOTERS);
      expect(votes.filter((v) => v.value === 'down')).toHaveLength(50);
      Object.assign(measured, { votes: VOTERS, votesStored: votes.length, voteAckMaxMs: Math.round(maxOf(ackMs)) });
    });

    it('the same user clicking 👍 and 👎 many times at once ends with exactly one vote', async () => {
      const answerId = answerIds[1]!;
      const values: VoteValue[] = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 'up' : 'down'));
      slack.reset();
      const acks = await burst(
        values.map((value, i) =>
          blockActions({
            userId: 'U0INDECISO',
            action: { type: 'button', action_id: value === 'up' ? ACTION_IDS.voteUp : ACTION_IDS.voteDown, value: answerId },
            response_url: slack.responseUrl(`same${i}`),
          }),
        ),
      );
      for (const ack of acks) expect(ack.status).toBe(200);
      await slack.waitForResponseCount(values.length, 30_000);
      await adapter.idle();

      const votes = await store.votes(answerId);
      expect(votes).toHaveLength(1);
      expect(votes[0]!.user).toBe(store.pseudonymize('slack', 'U0INDECISO'));
      const texts = values.map((_, i) => slack.responsesFor(`same${i}`)[0]?.body.text);
      expect(texts.filter((t) => t === MESSAGES.voteRecorded('up', null) || t === MESSAGES.voteRecorded('down', null))).toHaveLength(1);
      measured.sameUserVotesStored = votes.length;
    });

    it('100 app_mention events at once, each in an answer’s thread: all acked with 200 within 3 s, each answered in its thread as turn 2', async () => {
      slack.reset();
      const llmBefore = llm.requests.length;
      const lag = startLagProbe();
      const callbacks = answerTs.map((ts, i) =>
        JSON.stringify(eventCallback(appMention({ text: '<@U0BOT> e como isso aparece nos exemplos da aula?', user: `U0LOAD${i}`, channel: 'C0DUVIDAS', thread_ts: ts }))),
      );
      const acks = await postBurstOffThread(eventsUrl, callbacks, SIGNING_SECRET, 60_000, 'application/json');
      for (const ack of acks) expect(ack.status).toBe(200);
      const ackMs = acks.map((a) => a.ms);
      expect(maxOf(ackMs)).toBeLessThan(SLACK_ACK_DEADLINE_MS);
      const answeredIn = (ts: string) => slack.channelMessages.some((m) => m.threadTs === ts && m.edits.some((u) => (u.blocks ?? []).some((b) => b.type === 'actions')));
      await slack.waitFor(() => answerTs.every(answeredIn), `${QUESTIONS} threaded answers`, 90_000);
      await adapter.idle();
      const loop = lag.stop();
      // One reply per thread, and one extra LLM call (the condense step) per follow-up.
      for (const ts of answerTs) expect(slack.channelMessages.filter((m) => m.threadTs === ts)).toHaveLength(1);
      expect(llm.requests.length - llmBefore).toBe(2 * QUESTIONS);
      expect((await store.listRecords()).filter((r) => r.turn === 2)).toHaveLength(QUESTIONS);
      expect(loop.maxMs).toBeLessThan(500);
      Object.assign(measured, { mentions: QUESTIONS, mentionAckMaxMs: Math.round(maxOf(ackMs)), mentionAckP95Ms: Math.round(percentile(ackMs, 95)) });
    });
  });

  describe('BotService + SQLite store under concurrent votes', () => {
    it('200 voters and one user flip-flopping, all at once: 200 + 1 votes, none lost', async () => {
      const sqlite = await createFeedbackStore({ url: `sqlite://${path.join(work, 'votes.sqlite')}`, salt: 'load-salt-sqlite', logger: silentLogger() });
      try {
        const bot = new BotService(core.answers, sqlite, new RateLimiter(1000), silentLogger());
        const asked = await bot.ask({ platform: 'discord', userId: 'asker', channel: null, question: 'O que é dropout?' });
        expect(asked.status).toBe('answered');
        const answerId = asked.status === 'answered' ? asked.result.id : '';
        const outcomes = await Promise.all([
          ...Array.from({ length: VOTERS }, (_, i) => bot.vote({ platform: 'discord', userId: `voter-${i}`, answerId, value: i % 2 ? 'up' : 'down' })),
          ...Array.from({ length: 10 }, (_, i) => bot.vote({ platform: 'discord', userId: 'flip', answerId, value: i % 2 ? 'up' : 'down' })),
        ]);
        expect(outcomes.every((o) => o.ok)).toBe(true);
        const votes = await sqlite.votes(answerId);
        expect(votes).toHaveLength(VOTERS + 1);
        expect(votes.filter((v) => v.user === sqlite.pseudonymize('discord', 'flip'))).toHaveLength(1);
        measured.sqliteVotesStored = votes.length;
      } finally {
        await sqlite.close();
      }
    });
  });
});

describe('Bursts are spread over event-loop turns (src/bot/turns.ts)', () => {
  it('callers of nextTurn() resume one per turn of the event loop, in order', async () => {
    // A ticker that advances once per loop turn (an immediate scheduled from an immediate runs
    // in the next turn).
    let turn = 0;
    let ticking = true;
    const tick = () => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const resumedAt: number[] = [];
    await Promise.all(Array.from({ length: 10 }, (_, i) => nextTurn().then(() => (resumedAt[i] = turn))));
    ticking = false;
    for (let i = 1; i < resumedAt.length; i++) expect(resumedAt[i]!).toBeGreaterThan(resumedAt[i - 1]!);
  });
});
