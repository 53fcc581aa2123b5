/**
 * Slack, issue #16 end to end: the real Bolt App (HTTP receiver with signed Events API posts, and
 * Socket Mode envelopes), the real core on the sample course (lexical-only), a memory store, the
 * fake LLM condensing follow-ups from the conversation it is given
 * (test/helpers/conversationLlm.ts) and test/fakes/fakeSlack.ts (chat.postMessage/update,
 * x-oauth-scopes, assistant.threads.*).
 *
 * A TA asks with /pergunta, the answer is a real message, a reply in its thread that mentions the
 * bot continues the conversation, again, and the export shows one conversation of three turns;
 * plus the lecture prefix, the daily quota, the scope warnings and Bolt's Assistant.
 */
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../adapters/slack/cards.js';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import { ASSISTANT_TEXT } from '../../adapters/slack/listeners/assistant.js';
import { withoutMention } from '../../adapters/slack/threads.js';
import { BotService, type BotServiceOptions } from '../../src/bot/botService.js';
import { CLOSEST_MOMENTS_HEADING, MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { toJsonl, toMarkdown } from '../../src/evaluation/exportRecords.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { lastMessage, startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import {
  ALL_SCOPES,
  appMention,
  assistantThreadContextChanged,
  assistantThreadStarted,
  eventCallback,
  imMessage,
  postEventToApp,
  postToApp,
  slackTs,
  slashCommand,
  startFakeSlack,
  type FakeSlack,
  type PostedMessage,
  type SlackBlock,
} from '../fakes/fakeSlack.js';
import { conversationalLlm, isCondenseRequest } from '../helpers/conversationLlm.js';

const SIGNING_SECRET = 'slack-conversations-secret-81af';
const BOT_TOKEN = 'xoxb-conversations-bot-token';
const APP_TOKEN = 'xapp-1-A0FAKE-conversations';

let llm: FakeOpenAI;
let work: string;
let core: Core;
const logLines: string[] = [];

interface Running {
  slack: FakeSlack;
  adapter: SlackAdapter;
  store: FeedbackStore;
  url: string;
  stop(): Promise<void>;
}

async function startApp(opts: { env?: Record<string, string>; bot?: BotServiceOptions; scopes?: string[]; socket?: boolean } = {}): Promise<Running> {
  const slack = await startFakeSlack(opts.scopes ? { scopes: opts.scopes } : {});
  // The channels the questions come from (the assistant's D… channel is the app's DM).
  for (const id of ['C0DUVIDAS', 'C0OUTRO', 'C0SOCK']) slack.addChannel({ id });
  const config = loadConfig(
    {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      ...(opts.socket ? { SLACK_APP_TOKEN: APP_TOKEN } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
      SLACK_ANNOTATOR_IDS: 'UMONITORA',
      LOG_LEVEL: 'debug',
      ...opts.env,
    },
    path.join(work, 'no.env'),
  );
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });
  const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-slack-conversas', logger });
  const bot = new BotService(core.answers, store, new RateLimiter(100), logger, opts.bot ?? {});
  const adapter = await startSlack({ config, logger, bot, store }, opts.socket ? {} : { listen: { port: 0, host: '127.0.0.1' } });
  return {
    slack,
    adapter,
    store,
    url: `http://127.0.0.1:${adapter.port}/slack/events`,
    async stop() {
      await adapter.stop();
      if (opts.socket) await slack.waitForSocketClose();
      await store.close();
      await slack.close();
    },
  };
}

beforeAll(async () => {
  llm = await startFakeOpenAI({ defaultBehavior: conversationalLlm });
  work = await mkdtemp(path.join(tmpdir(), 'pergunta-slack-conversations-'));
  const config = loadConfig({ OPENAI_API_KEY: 'sk-test-slack-conversations', OPENAI_BASE_URL: llm.baseURL, OPENAI_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' }, path.join(work, 'no.env'));
  core = await createCore(config, createLogger({ level: 'silent' }), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
});
afterAll(async () => {
  await llm?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

function answerIdOf(message: PostedMessage | undefined): string | undefined {
  const blocks = (message?.edits.at(-1)?.blocks ?? message?.blocks ?? []) as SlackBlock[];
  const actions = blocks.find((b) => b.type === 'actions');
  return actions?.elements?.find((e) => e.action_id === ACTION_IDS.voteUp)?.value as string | undefined;
}
const finalText = (message: PostedMessage | undefined) => JSON.stringify(message?.edits.at(-1)?.blocks ?? message?.blocks ?? []);

/** /pergunta over HTTP; resolves with the message the answer was posted as. */
async function command(running: Running, text: string, userId: string): Promise<PostedMessage> {
  const posted = running.slack.channelMessages.length;
  const res = await postToApp(running.url, slashCommand({ text, user_id: userId, response_url: running.slack.responseUrl() }), { signingSecret: SIGNING_SECRET });
  expect(res.status).toBe(200);
  await running.slack.waitFor(() => running.slack.channelMessages.length > posted, `the answer to ${text}`);
  await running.adapter.idle();
  return running.slack.channelMessages[posted]!;
}

/** A mention of the bot in a thread, as the Events API posts it; resolves with the bot's reply there. */
async function mention(running: Running, text: string, userId: string, threadTs: string | undefined, channel = 'C0DUVIDAS'): Promise<{ reply: PostedMessage; ackMs: number; ts: string }> {
  const ts = slackTs();
  const posted = running.slack.channelMessages.length;
  const res = await postEventToApp(running.url, eventCallback(appMention({ text: `<@U0BOT> ${text}`, user: userId, channel, ts, ...(threadTs ? { thread_ts: threadTs } : {}) })), { signingSecret: SIGNING_SECRET });
  expect(res.status).toBe(200);
  await running.slack.waitFor(() => running.slack.channelMessages.length > posted, `the reply to ${text}`);
  await running.adapter.idle();
  return { reply: running.slack.channelMessages[posted]!, ackMs: res.ms, ts };
}

// ------------------------------------------------------------------ tests

describe('Slack over HTTP: follow-ups in the thread of an answer', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startApp();
  });
  afterEach(() => running.adapter.idle());
  afterAll(async () => running?.stop());

  it('a TA asks, replies in the answer’s thread mentioning the bot (twice), and the export shows one conversation of three turns', async () => {
    const { slack, store } = running;
    const first = await command(running, 'O que é dropout?', 'UMONITORA');
    const firstId = answerIdOf(first)!;
    expect(first.threadTs).toBeNull();

    const llmBefore = llm.requests.length;
    const second = await mention(running, 'e por que isso funciona?', 'UMONITORA', first.ts);
    // Acknowledged within Slack's 3 seconds, the reply in the thread at once, then the answer.
    expect(second.ackMs).toBeLessThan(3000);
    expect(second.reply).toMatchObject({ channel: 'C0DUVIDAS', threadTs: first.ts });
    const placeholder = slack.apiCalls.find((c) => c.method === 'chat.postMessage' && c.body.thread_ts === first.ts)!;
    expect(placeholder.body.text).toBe(MESSAGES.searching);
    expect(second.reply.edits).toHaveLength(1);
    const secondId = answerIdOf(second.reply)!;
    const record = await store.getAnswer(secondId);
    expect(record).toMatchObject({ platform: 'slack', turn: 2, kind: 'llm', retrievalQuery: 'O que é dropout? (e por que isso funciona?)' });
    expect(record!.segments[0]?.text).toContain('dropout');
    const calls = llm.requests.slice(llmBefore);
    expect(calls.map(isCondenseRequest)).toEqual([true, false]);
    expect(lastMessage(calls[0]!)).toContain('<pergunta>O que é dropout?</pergunta>');
    expect(finalText(second.reply)).toContain('<@UMONITORA>');

    const third = await mention(running, 'e quantos neurônios costuma desligar?', 'UMONITORA', first.ts);
    expect(third.reply.threadTs).toBe(first.ts);
    const thirdId = answerIdOf(third.reply)!;

    const conversationId = (await store.getAnswer(firstId))!.conversationId!;
    const records = (await store.listRecords()).filter((r) => r.conversationId === conversationId);
    expect(records.map((r) => [r.turn, r.id])).toEqual([
      [1, firstId],
      [2, secondId],
      [3, thirdId],
    ]);
    expect(toJsonl(records).trim().split('\n').map((l) => (JSON.parse(l) as { turn: number }).turn)).toEqual([1, 2, 3]);
    expect(toMarkdown(records)).toMatch(/^## Conversa 1 \(3 turnos\)/);
    expect(slack.threadMessages('C0DUVIDAS', first.ts)).toHaveLength(3);
  });

  it('a mention outside a thread starts a conversation answered in a thread under it, which the next mention there continues', async () => {
    const { store } = running;
    const started = await mention(running, 'O que é overfitting?', 'UMONITORA', undefined, 'C0OUTRO');
    expect(started.reply.threadTs).toBe(started.ts);
    const turn1 = await store.getAnswer(answerIdOf(started.reply)!);
    expect(turn1).toMatchObject({ turn: 1, channel: 'C0OUTRO' });
    const next = await mention(running, 'e como evito isso?', 'UMONITORA', started.ts, 'C0OUTRO');
    expect(await store.getAnswer(answerIdOf(next.reply)!)).toMatchObject({ turn: 2, conversationId: turn1!.conversationId });
    expect(withoutMention('<@U0BOT> e isso? <@U0BOT|pergunta>', 'U0BOT')).toBe('e isso?');
  });

  it('reads the lecture prefix: "aula 3: …" searches that lecture; a lecture without the subject says how to search every lecture', async () => {
    const { store } = running;
    const filtered = await command(running, 'aula 3: o que é validação cruzada?', 'UMONITORA');
    expect(await store.getAnswer(answerIdOf(filtered)!)).toMatchObject({ question: 'o que é validação cruzada?', lectureFilter: ['aula03'] });
    expect(finalText(filtered)).toContain('Busca restrita à aula: Aula 3');
    // A reply in its thread keeps the lecture; one the lecture does not cover (judged on the
    // rewritten question) shows that lecture's closest moments under their own heading.
    const notCovered = await mention(running, 'e no tensorflow e no keras?', 'UMONITORA', filtered.ts);
    const record = await store.getAnswer(answerIdOf(notCovered.reply)!);
    expect(record).toMatchObject({ turn: 2, kind: 'not-found', lectureFilter: ['aula03'] });
    expect(record!.references.length).toBeGreaterThan(0);
    expect(record!.references.every((r) => r.videoId === 'aula03' && r.closest === true)).toBe(true);
    expect(finalText(notCovered.reply)).toContain(CLOSEST_MOMENTS_HEADING);
    expect(finalText(notCovered.reply)).toContain('Não encontrei isso na aula escolhida (Aula 3');
    expect(finalText(notCovered.reply)).toContain(MESSAGES.searchEverywhereHint('e no tensorflow e no keras?'));
    const nowhere = await command(running, 'aula 1: como funciona a curva ROC?', 'UMONITORA');
    expect(finalText(nowhere)).toContain('Não encontrei isso na aula escolhida (Aula 1 — O que é aprendizado de máquina)');
    expect(finalText(nowhere)).toContain(MESSAGES.searchEverywhereHint('como funciona a curva ROC?'));
    const key = 'unknown-lecture';
    await postToApp(running.url, slashCommand({ text: 'aula 42: o que é X?', user_id: 'UMONITORA', response_url: running.slack.responseUrl(key) }), { signingSecret: SIGNING_SECRET });
    const [reply] = await running.slack.waitForResponses(key, 1);
    expect(reply!.body.text).toMatch(/^Não encontrei a aula “aula 42”\. Aulas disponíveis: /);
  });
});

describe('Slack: daily quota and scopes', () => {
  it('DAILY_QUESTION_LIMIT applies to students (in the ack, and privately for mentions), not to annotators', async () => {
    const running = await startApp({ bot: { dailyLimit: 1, timeZone: 'America/Sao_Paulo' } });
    try {
      const answer = await command(running, 'O que é dropout?', 'U0ALUNA');
      const res = await postToApp(running.url, slashCommand({ text: 'O que é overfitting?', user_id: 'U0ALUNA', response_url: running.slack.responseUrl() }), { signingSecret: SIGNING_SECRET });
      expect(res.json?.response_type).toBe('ephemeral');
      expect(String(res.json?.text)).toMatch(/^Você já fez 1 pergunta hoje, o limite diário\. Sua cota renova à meia-noite de \d\d\/\d\d \(Horário Padrão de Brasília\), daqui a /);
      // A mention is a question too: refused privately, nothing posted in the thread.
      const before = running.slack.channelMessages.length;
      await postEventToApp(running.url, eventCallback(appMention({ text: '<@U0BOT> e no keras?', user: 'U0ALUNA', thread_ts: answer.ts })), { signingSecret: SIGNING_SECRET });
      await running.slack.waitFor(() => running.slack.apiCalls.some((c) => c.method === 'chat.postEphemeral'), 'the private refusal');
      await running.adapter.idle();
      const refusal = running.slack.apiCalls.find((c) => c.method === 'chat.postEphemeral')!;
      expect(refusal.body).toMatchObject({ user: 'U0ALUNA', channel: 'C0DUVIDAS', thread_ts: answer.ts });
      expect(String(refusal.body.text)).toMatch(/^Você já fez 1 pergunta hoje/);
      expect(running.slack.channelMessages.length).toBe(before);
      // The annotator has no quota.
      for (let i = 0; i < 3; i++) expect(answerIdOf(await command(running, `O que é regularização ${i}?`, 'UMONITORA'))).toBeDefined();
    } finally {
      await running.stop();
    }
  });

  it('warns at start-up about every scope an older installation lacks; a complete one is said to be complete', async () => {
    const before = logLines.length;
    const partial = await startApp({ scopes: ['commands', 'chat:write'] });
    await partial.stop();
    const warnings = logLines.slice(before).filter((l) => l.includes('slack: the bot token lacks'));
    expect(warnings.map((l) => (JSON.parse(l) as { scope: string }).scope).sort()).toEqual(['app_mentions:read', 'assistant:write', 'chat:write.public', 'im:history']);
    expect(warnings.find((l) => l.includes('app_mentions:read'))).toContain('follow-up questions by mentioning the bot');
    expect(warnings[0]).toContain('reinstall the app');

    const at = logLines.length;
    const full = await startApp({ scopes: ALL_SCOPES });
    await full.stop();
    expect(logLines.slice(at).some((l) => l.includes('slack: the bot token lacks'))).toBe(false);
    expect(logLines.slice(at).some((l) => l.includes('has every scope the bot uses'))).toBe(true);
  });
});

describe('Slack in Socket Mode: mentions and the Assistant', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startApp({ socket: true });
  });
  afterAll(async () => running?.stop());

  it('acknowledges an app_mention envelope and answers in the thread', async () => {
    const { slack } = running;
    const posted = slack.channelMessages.length;
    const ack = await slack.sendEnvelope('events_api', eventCallback(appMention({ text: '<@U0BOT> O que é fine-tuning?', user: 'UMONITORA', channel: 'C0SOCK' })));
    expect(ack.envelope_id).toBeTruthy();
    await slack.waitFor(() => slack.channelMessages.length > posted && slack.channelMessages[posted]!.edits.length > 0, 'the answer');
    await running.adapter.idle();
    expect(answerIdOf(slack.channelMessages[posted])).toBeDefined();
  });

  it('Assistant: a greeting with prompts from the lectures; "thinking" status, a title and the answer; the next message continues the thread', async () => {
    const { slack, store } = running;
    const channel = 'D0ASSIST';
    const threadTs = slackTs();
    await slack.sendEnvelope('events_api', eventCallback(assistantThreadStarted({ user: 'UMONITORA', channel, thread_ts: threadTs })));
    await slack.waitFor(() => slack.apiCalls.some((c) => c.method === 'assistant.threads.setSuggestedPrompts'), 'the suggested prompts');
    await running.adapter.idle();
    expect(slack.threadMessages(channel, threadTs)[0]).toMatchObject({ threadTs, text: ASSISTANT_TEXT.greeting });
    const prompts = slack.apiCalls.find((c) => c.method === 'assistant.threads.setSuggestedPrompts')!.body;
    expect(prompts).toMatchObject({ channel_id: channel, thread_ts: threadTs });
    expect(JSON.parse(String(prompts.prompts))).toEqual([
      { title: 'Aula 1 — O que é aprendizado de máquina', message: 'aula 1: quais são os pontos principais desta aula?' },
      { title: 'Aula 2 — Regressão linear e gradiente descendente', message: 'aula 2: quais são os pontos principais desta aula?' },
      { title: 'Aula 3 — Overfitting, regularização e validação cruzada', message: 'aula 3: quais são os pontos principais desta aula?' },
    ]);

    // The context changing (another channel opened) writes nothing.
    const callsBefore = slack.apiCalls.length;
    await slack.sendEnvelope('events_api', eventCallback(assistantThreadContextChanged({ user: 'UMONITORA', channel, thread_ts: threadTs, context: { channel_id: 'C0DUVIDAS' } })));
    await running.adapter.idle();
    expect(slack.apiCalls.length).toBe(callsBefore);

    await slack.sendEnvelope('events_api', eventCallback(imMessage({ user: 'UMONITORA', channel, text: 'O que é dropout?', thread_ts: threadTs })));
    await slack.waitFor(() => slack.threadMessages(channel, threadTs).length >= 2, 'the answer');
    await running.adapter.idle();
    const status = slack.apiCalls.find((c) => c.method === 'assistant.threads.setStatus')!;
    expect(status.body).toMatchObject({ channel_id: channel, thread_ts: threadTs, status: MESSAGES.searching });
    const statusAt = slack.apiCalls.indexOf(status);
    const answerAt = slack.apiCalls.findIndex((c, i) => i > statusAt && c.method === 'chat.postMessage');
    expect(answerAt).toBeGreaterThan(statusAt);
    expect(slack.apiCalls.find((c) => c.method === 'assistant.threads.setTitle')?.body).toMatchObject({ title: 'O que é dropout?' });
    const firstId = answerIdOf(slack.threadMessages(channel, threadTs)[1])!;
    expect(await store.getAnswer(firstId)).toMatchObject({ turn: 1, channel });

    await slack.sendEnvelope('events_api', eventCallback(imMessage({ user: 'UMONITORA', channel, text: 'e por que isso funciona?', thread_ts: threadTs })));
    await slack.waitFor(() => slack.threadMessages(channel, threadTs).length >= 3, 'the follow-up answer');
    await running.adapter.idle();
    const second = await store.getAnswer(answerIdOf(slack.threadMessages(channel, threadTs)[2])!);
    expect(second).toMatchObject({ turn: 2, conversationId: (await store.getAnswer(firstId))!.conversationId, retrievalQuery: 'O que é dropout? (e por que isso funciona?)' });
    expect(slack.apiCalls.filter((c) => c.method === 'assistant.threads.setTitle')).toHaveLength(1);
  });
});
