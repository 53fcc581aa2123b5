/**
 * Discord, issue #16 end to end: the real discord.js Client against the fake Discord
 * (test/fakes/fakeDiscord.ts: threads, channel messages, MESSAGE_CREATE gated by intents,
 * autocomplete), the real core on the sample course (lexical-only), a memory store and the fake
 * LLM (condensing follow-ups from the conversation it is given, test/helpers/conversationLlm.ts).
 *
 * A student asks, presses "Perguntar mais", gets a threaded answer whose retrieval used the
 * conversation, asks again by mentioning the bot in the thread, and the export shows one
 * conversation with three turns; plus the lecture filter with autocomplete, the daily quota,
 * private follow-ups (DISCORD_EPHEMERAL) and servers that did not grant thread permissions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { questionIn } from '../../adapters/discord/events/messageCreate.js';
import { INVITE_PERMISSIONS } from '../../adapters/discord/threads.js';
import { BotService, type BotServiceOptions } from '../../src/bot/botService.js';
import { CLOSEST_MOMENTS_HEADING, MESSAGES } from '../../src/bot/messages.js';
import { notCoveredInLecturesClosest, notFoundInLectures } from '../../src/answer/answerService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { toJsonl, toMarkdown } from '../../src/evaluation/exportRecords.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { INTENTS, PERMISSIONS, makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type FakeUser, type Json } from '../fakes/fakeDiscord.js';
import { lastMessage, startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { conversationalLlm, isCondenseRequest } from '../helpers/conversationLlm.js';

const TOKEN = 'discord-conversations-token-7c1e';
const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};

let llm: FakeOpenAI;
let work: string;
let core: Core;
const logLines: string[] = [];
let logger: Logger;

interface Running {
  discord: FakeDiscord;
  adapter: DiscordAdapter;
  store: FeedbackStore;
  stop(): Promise<void>;
}

async function startBot(opts: { env?: Record<string, string>; bot?: BotServiceOptions; fake?: Parameters<typeof startFakeDiscord>[0] } = {}): Promise<Running> {
  const discord = await startFakeDiscord({ token: TOKEN, ...opts.fake });
  const config: Config = loadConfig(
    {
      OPENAI_API_KEY: 'sk-test-discord-conversations',
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '0',
      DISCORD_TOKEN: TOKEN,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      ...opts.env,
    },
    path.join(work, 'no.env'),
  );
  const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-discord-conversas', logger });
  const bot = new BotService(core.answers, store, new RateLimiter(100), logger, opts.bot ?? {});
  const adapter = await startDiscord({ config, logger, bot, store }, { editIntervalMs: 100, clientOptions: FAST_IDENTIFY });
  return {
    discord,
    adapter,
    store,
    async stop() {
      await adapter.stop();
      await store.close();
      await discord.close();
    },
  };
}

beforeAll(async () => {
  llm = await startFakeOpenAI({ defaultBehavior: conversationalLlm });
  work = await mkdtemp(path.join(tmpdir(), 'pergunta-discord-conversations-'));
  logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });
  const config = loadConfig({ OPENAI_API_KEY: 'sk-test-discord-conversations', OPENAI_BASE_URL: llm.baseURL, OPENAI_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' }, path.join(work, 'no.env'));
  core = await createCore(config, createLogger({ level: 'silent' }), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
});
afterAll(async () => {
  await llm?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

function buttons(body: Json | undefined): Json[] {
  return ((body?.components ?? []) as Json[]).flatMap((row) => (row.components ?? []) as Json[]);
}
const customIdsOf = (body: Json | undefined) => buttons(body).map((b) => b.custom_id).filter((id): id is string => typeof id === 'string');
const answerIdOf = (body: Json | undefined) => customIdsOf(body).find((id) => id.startsWith('vote:up:'))?.split(':')[2];
const description = (body: Json | undefined) => String(((body?.embeds ?? []) as Json[])[0]?.description ?? '');
const isFinal = (body: Json | undefined) => customIdsOf(body).some((id) => id.startsWith('vote:'));

async function settled(ix: FakeInteraction, running: Running): Promise<FakeInteraction> {
  await ix.waitFor(() => ix.callback);
  await running.adapter.whenIdle();
  return ix;
}

const ask = (running: Running, question: string, user: FakeUser, extra: Partial<Parameters<FakeDiscord['slashCommand']>[0]> = {}) =>
  settled(running.discord.slashCommand({ name: 'pergunta', options: { texto: question }, user, ...extra }), running);

/** Presses "Perguntar mais" on `message` and submits `question` in the modal. */
async function followUp(running: Running, message: Json, question: string, user: FakeUser): Promise<FakeInteraction> {
  const answerId = answerIdOf(message)!;
  const click = await settled(running.discord.clickButton({ customId: `followup:${answerId}`, message, user }), running);
  expect(click.callback?.type).toBe(9);
  return settled(running.discord.submitModal({ customId: `followup:${answerId}`, fields: { pergunta: question }, message, user }), running);
}

/** The bot's messages in a thread (not the users'). */
const botMessages = (running: Running, threadId: string) =>
  running.discord.messagesIn(threadId).filter((m) => (m.author as Json).id === running.discord.botUser.id);

// ------------------------------------------------------------------ tests

describe('Discord: follow-ups in a thread', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startBot();
  });
  afterAll(async () => running?.stop());

  it('asks, presses "Perguntar mais", gets a threaded answer that used the conversation, mentions the bot, and the export shows one conversation of three turns', async () => {
    const { discord, store } = running;
    const student = makeUser('estudante');
    // Only non-privileged intents: Guilds and GuildMessages, not Message Content.
    expect(discord.intents & INTENTS.guildMessages).toBe(INTENTS.guildMessages);
    expect(discord.intents & INTENTS.messageContent).toBe(0);

    // 1. The question, answered with "Perguntar mais" beside 👍/👎.
    const first = await ask(running, 'O que é dropout?', student);
    expect(isFinal(first.original)).toBe(true);
    const firstId = answerIdOf(first.original)!;
    const more = buttons(first.original).find((b) => b.custom_id === `followup:${firstId}`);
    expect(more).toMatchObject({ label: 'Perguntar mais', style: 1 });

    // 2. "Perguntar mais": the modal, then a follow-up that only makes sense with the first question.
    const click = await settled(discord.clickButton({ customId: `followup:${firstId}`, message: first.original, user: student }), running);
    expect(click.modal).toMatchObject({ custom_id: `followup:${firstId}`, title: 'Perguntar mais sobre esta resposta' });
    expect((click.modal!.components as Json[])[0]).toMatchObject({ label: 'Sua pergunta de continuação', component: { type: 4, custom_id: 'pergunta', required: true, max_length: 2000 } });
    expect(click.callback!.at - click.dispatchedAt).toBeLessThan(3000);
    const llmBefore = llm.requests.length;
    const submit = await settled(discord.submitModal({ customId: `followup:${firstId}`, fields: { pergunta: 'e por que isso funciona?' }, message: first.original, user: student }), running);

    // Acknowledged privately at once (a reply, before anything slow), pointing to the thread
    // started on the answer message.
    expect(submit.callback?.type).toBe(4);
    expect(submit.ephemeral).toBe(true);
    expect(submit.callback!.at).toBeLessThan(discord.requests.find((r) => r.path.endsWith(`/messages/${String(first.original!.id)}/threads`))!.at);
    const threadId = String(first.original!.id);
    expect(discord.threads.get(threadId)).toMatchObject({ type: 11, parent_id: discord.channelId, name: 'e por que isso funciona?' });
    expect(String(submit.original?.content)).toBe(`Respondendo no tópico <#${threadId}>: a conversa continua lá (mencione o bot ou use “Perguntar mais”).`);
    const threadCreate = discord.requests.find((r) => r.method === 'POST' && r.path === `/channels/${discord.channelId}/messages/${threadId}/threads`);
    expect(threadCreate?.status).toBe(201);

    // The answer in the thread: who asked, the question, references, 👍/👎 and "Perguntar mais".
    const [inThread] = botMessages(running, threadId);
    expect(inThread?.content).toBe(`Pergunta de <@${student.id}>`);
    expect(((inThread?.embeds ?? []) as Json[])[0]?.title).toBe('e por que isso funciona?');
    expect(isFinal(inThread)).toBe(true);
    const secondId = answerIdOf(inThread)!;
    expect(customIdsOf(inThread)).toContain(`followup:${secondId}`);

    // Retrieval used the conversation: one condense call carrying the first question, and the
    // search it produced reached the lecture on dropout, judged covered (so the LLM answered);
    // the follow-up alone is "not found" and has nothing on dropout.
    const calls = llm.requests.slice(llmBefore);
    expect(calls).toHaveLength(2);
    expect(isCondenseRequest(calls[0]!)).toBe(true);
    expect(lastMessage(calls[0]!)).toContain('<pergunta>O que é dropout?</pergunta>');
    const second = await store.getAnswer(secondId);
    expect(second).toMatchObject({ conversationId: expect.any(String), turn: 2, kind: 'llm', retrievalQuery: 'O que é dropout? (e por que isso funciona?)' });
    expect(second!.segments[0]?.videoId).toBe('aula03');
    expect(second!.segments[0]?.text).toContain('dropout');
    expect(description(inThread)).toContain('[1]');
    const alone = await core.answers.answer('e por que isso funciona?');
    expect(alone.kind).toBe('not-found');
    expect(alone.segments.some((s) => s.text.includes('dropout'))).toBe(false);

    // 3. A message in the thread that mentions the bot continues the conversation.
    const mention = discord.userMessage({ channelId: threadId, content: `${discord.mention} e qual fração de neurônios costuma desligar?`, user: student });
    await discord.waitFor(() => botMessages(running, threadId).length >= 2 && isFinal(botMessages(running, threadId).at(-1)));
    await running.adapter.whenIdle();
    const reply = botMessages(running, threadId).at(-1)!;
    expect(reply.message_reference).toMatchObject({ message_id: mention.id });
    const thirdId = answerIdOf(reply)!;
    const third = await store.getAnswer(thirdId);
    expect(third).toMatchObject({ conversationId: second!.conversationId, turn: 3 });
    expect(third!.question).toBe('e qual fração de neurônios costuma desligar?');

    // The export: one conversation, three turns, shown together in the report.
    const records = (await store.listRecords()).filter((r) => r.conversationId === second!.conversationId);
    expect(records.map((r) => [r.turn, r.id])).toEqual([
      [1, firstId],
      [2, secondId],
      [3, thirdId],
    ]);
    const lines = toJsonl(records).trim().split('\n').map((l) => JSON.parse(l) as { conversationId: string; turn: number });
    expect(new Set(lines.map((l) => l.conversationId)).size).toBe(1);
    expect(lines.map((l) => l.turn)).toEqual([1, 2, 3]);
    expect(toMarkdown(records)).toMatch(/^## Conversa 1 \(3 turnos\)/);
    expect((await store.getConversation(second!.conversationId!))?.turns.map((t) => t.turn)).toEqual([1, 2, 3]);
  });

  it('/pergunta in the thread continues it; "Perguntar mais" on an answer in the thread stays there; a second thread is never started on the same answer', async () => {
    const { discord, store } = running;
    const student = makeUser('outra-estudante');
    const first = await ask(running, 'O que é overfitting?', student);
    const threadId = String(first.original!.id);
    await followUp(running, first.original!, 'e como evito isso?', student);
    expect(discord.threads.has(threadId)).toBe(true);
    const conversationId = (await store.getAnswer(answerIdOf(first.original)!))!.conversationId;

    const inThread = await ask(running, 'e a regularização L2?', student, { channelId: threadId });
    expect(inThread.payload.channel_id).toBe(threadId);
    expect(await store.getAnswer(answerIdOf(inThread.original)!)).toMatchObject({ conversationId, turn: 3 });

    // "Perguntar mais" on that in-thread answer: answered in the same thread, no new thread.
    const threadsBefore = discord.threads.size;
    await followUp(running, inThread.original!, 'e a L1?', student);
    expect(discord.threads.size).toBe(threadsBefore);
    const last = botMessages(running, threadId).at(-1)!;
    expect(await store.getAnswer(answerIdOf(last)!)).toMatchObject({ conversationId, turn: 4 });

    // "Perguntar mais" again on the first answer: its thread is reused (Discord says it has one).
    await followUp(running, first.original!, 'e o dropout?', student);
    expect(discord.requests.filter((r) => r.path === `/channels/${discord.channelId}/messages/${threadId}/threads`).map((r) => r.status)).toEqual([201, 400]);
    expect(await store.getAnswer(answerIdOf(botMessages(running, threadId).at(-1))!)).toMatchObject({ conversationId, turn: 5 });
  });

  it('ignores messages that do not mention the bot, bots, and mentions in threads it did not start', async () => {
    const { discord } = running;
    const student = makeUser('curiosa');
    const first = await ask(running, 'O que é validação cruzada?', student);
    const threadId = String(first.original!.id);
    await followUp(running, first.original!, 'e o k-fold?', student);
    const before = botMessages(running, threadId).length;
    // Without Message Content, Discord sends this one without its text; the bot ignores it.
    discord.userMessage({ channelId: threadId, content: 'obrigada, entendi!', user: student });
    // A mention in the parent channel (not a thread of the bot's).
    discord.userMessage({ channelId: discord.channelId, content: `${discord.mention} o que é dropout?`, user: student });
    // A mention with nothing else asks for a question.
    discord.userMessage({ channelId: threadId, content: discord.mention, user: student });
    await discord.waitFor(() => botMessages(running, threadId).length > before);
    await running.adapter.whenIdle();
    const added = botMessages(running, threadId).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]!.content).toBe(`ℹ️ ${MESSAGES.usage}`);
    expect(botMessages(running, discord.channelId)).toEqual([]);
    expect(questionIn(`<@123> e isso? <@!123>`, '123')).toBe('e isso?');
  });
});

describe('Discord: the lecture filter', () => {
  let running: Running;
  beforeAll(async () => {
    running = await startBot();
  });
  afterAll(async () => running?.stop());

  it('autocompletes lecture titles as the student types (at most 25, within the 3-second deadline)', async () => {
    const { discord } = running;
    const empty = await settled(discord.autocomplete({ name: 'pergunta', options: { texto: 'x', aula: '' }, focused: 'aula' }), running);
    expect(empty.callback?.type).toBe(8);
    expect(empty.callback!.at - empty.dispatchedAt).toBeLessThan(3000);
    expect(empty.choices).toHaveLength(7);
    expect(empty.choices![0]).toEqual({ name: 'Aula 1 — O que é aprendizado de máquina', value: 'aula01' });
    const typed = await settled(discord.autocomplete({ name: 'pergunta', options: { texto: 'x', aula: 'regulariz' }, focused: 'aula' }), running);
    expect(typed.choices).toEqual([{ name: 'Aula 3 — Overfitting, regularização e validação cruzada', value: 'aula03' }]);
    const number = await settled(discord.autocomplete({ name: 'pergunta', options: { texto: 'x', aula: '6' }, focused: 'aula' }), running);
    expect(number.choices![0]).toMatchObject({ value: 'aula06' });
  });

  it('searches only the chosen lecture; when it has nothing, says so and offers "Buscar em todas as aulas"', async () => {
    const { discord, store } = running;
    const student = makeUser('filtro');
    const filtered = await ask(running, 'O que é fine-tuning?', student, { options: { texto: 'O que é fine-tuning?', aula: 'aula06' } });
    const record = await store.getAnswer(answerIdOf(filtered.original)!);
    expect(record?.lectureFilter).toEqual(['aula06']);
    expect(record!.references.every((r) => r.videoId === 'aula06')).toBe(true);
    expect(String((((filtered.original?.embeds ?? []) as Json[])[0]?.footer as Json | undefined)?.text)).toContain('Busca restrita à aula: Aula 6 — Transfer learning e fine-tuning.');

    const typedLecture = await ask(running, 'O que é a curva ROC?', student, { options: { texto: 'O que é a curva ROC?', aula: 'aula 1' } });
    expect(description(typedLecture.original)).toBe('Não encontrei isso na aula escolhida (Aula 1 — O que é aprendizado de máquina): ela não parece abordar esse assunto.');
    const id = answerIdOf(typedLecture.original)!;
    const everywhere = buttons(typedLecture.original).find((b) => b.custom_id === `everywhere:${id}`);
    expect(everywhere?.label).toBe('Buscar em todas as aulas');
    const again = await settled(discord.clickButton({ customId: `everywhere:${id}`, message: typedLecture.original, user: student }), running);
    expect(again.callback?.type).toBe(5);
    const broad = await store.getAnswer(answerIdOf(again.original)!);
    expect(broad).toMatchObject({ question: 'O que é a curva ROC?', lectureFilter: null, turn: 2 });
    expect(broad!.references.some((r) => r.videoId === 'aula07')).toBe(true);

    const unknown = await ask(running, 'O que é X?', student, { options: { texto: 'O que é X?', aula: 'aula 99' } });
    expect(String(unknown.original?.content)).toMatch(/^ℹ️ Não encontrei a aula “aula 99”\. Aulas disponíveis: Aula 1/);
  });

  it('a follow-up keeps the lecture; a "not found" in the thread shows the closest moments of that lecture under their own heading, with "Buscar em todas as aulas"', async () => {
    const { discord, store } = running;
    const student = makeUser('filtro-conversa');
    const aula3 = 'Aula 3 — Overfitting, regularização e validação cruzada';
    const footerOf = (body: Json | undefined) => String((((body?.embeds ?? []) as Json[])[0]?.footer as Json | undefined)?.text ?? '');
    const first = await ask(running, 'O que é dropout?', student, { options: { texto: 'O que é dropout?', aula: 'aula03' } });
    const threadId = String(first.original!.id);

    // The follow-up in the thread searches the same lecture, and its answer says so.
    await followUp(running, first.original!, 'e por que isso funciona?', student);
    const answered = botMessages(running, threadId).at(-1)!;
    expect(await store.getAnswer(answerIdOf(answered)!)).toMatchObject({ turn: 2, kind: 'llm', lectureFilter: ['aula03'] });
    expect(footerOf(answered)).toContain(`Busca restrita à aula: ${aula3}.`);

    // A follow-up the lecture does not cover (judged on the rewritten question): "not found",
    // no answer call to the LLM, the lecture's closest moments under their own heading, and the
    // thread's buttons plus "Buscar em todas as aulas".
    const llmBefore = llm.requests.length;
    const mention = discord.userMessage({ channelId: threadId, content: `${discord.mention} e o dropout no keras?`, user: student });
    await discord.waitFor(() => botMessages(running, threadId).length >= 2 && isFinal(botMessages(running, threadId).at(-1)));
    await running.adapter.whenIdle();
    const notFound = botMessages(running, threadId).at(-1)!;
    expect(llm.requests.slice(llmBefore).map(isCondenseRequest)).toEqual([true]);
    const id = answerIdOf(notFound)!;
    const record = await store.getAnswer(id);
    expect(record).toMatchObject({ turn: 3, kind: 'not-found', lectureFilter: ['aula03'] });
    expect(record!.references.length).toBeGreaterThan(0);
    expect(record!.references.every((r) => r.videoId === 'aula03' && r.closest === true)).toBe(true);
    expect(notFound.message_reference).toMatchObject({ message_id: mention.id });
    expect(description(notFound)).toBe(notCoveredInLecturesClosest([aula3]));
    expect(description(notFound).startsWith(notFoundInLectures([aula3]))).toBe(true);
    const fields = (((notFound.embeds ?? []) as Json[])[0]?.fields ?? []) as Json[];
    expect(fields[0]?.name).toBe(CLOSEST_MOMENTS_HEADING);
    expect(customIdsOf(notFound)).toEqual(expect.arrayContaining([`vote:up:${id}`, `followup:${id}`, `everywhere:${id}`]));
    expect(footerOf(notFound)).toContain(`Busca restrita à aula: ${aula3}.`);
  });
});

describe('Discord: daily quota, private follow-ups, missing permissions, long conversations', () => {
  it('DAILY_QUESTION_LIMIT: the next question (or follow-up) gets a private message saying when the quota resets', async () => {
    const running = await startBot({ bot: { dailyLimit: 2, timeZone: 'America/Sao_Paulo' } });
    try {
      const student = makeUser('cota');
      const first = await ask(running, 'O que é dropout?', student);
      await followUp(running, first.original!, 'e no treino?', student); // follow-ups count
      const llmBefore = llm.requests.length;
      const refused = await ask(running, 'O que é overfitting?', student);
      expect(refused.callback?.type).toBe(4);
      expect(refused.ephemeral).toBe(true);
      expect(String(refused.original?.content)).toMatch(/^⏳ Você já fez 2 perguntas hoje, o limite diário\. Sua cota renova à meia-noite de \d\d\/\d\d \(Horário Padrão de Brasília\), daqui a /);
      const moreRefused = await settled(running.discord.submitModal({ customId: `followup:${answerIdOf(first.original)}`, fields: { pergunta: 'e mais?' }, message: first.original, user: student }), running);
      expect(moreRefused.ephemeral).toBe(true);
      expect(String(moreRefused.original?.content)).toMatch(/^⏳ Você já fez 2 perguntas hoje/);
      expect(llm.requests.length).toBe(llmBefore);
      // Another student is not affected.
      expect(isFinal((await ask(running, 'O que é dropout?', makeUser('outro'))).original)).toBe(true);
    } finally {
      await running.stop();
    }
  });

  it('DISCORD_EPHEMERAL=true: the follow-up is answered privately with the conversation, and can go on', async () => {
    const running = await startBot({ env: { DISCORD_EPHEMERAL: 'true' } });
    try {
      const student = makeUser('privada');
      const first = await ask(running, 'O que é dropout?', student);
      expect(first.ephemeral).toBe(true);
      const submit = await followUp(running, first.original!, 'e por que isso funciona?', student);
      expect(submit.ephemeral).toBe(true);
      expect(running.discord.threads.size).toBe(0);
      const secondId = answerIdOf(submit.original)!;
      expect(await running.store.getAnswer(secondId)).toMatchObject({ turn: 2, kind: 'llm', retrievalQuery: 'O que é dropout? (e por que isso funciona?)' });
      const third = await followUp(running, submit.original!, 'e quanto desligar?', student);
      expect(await running.store.getAnswer(answerIdOf(third.original)!)).toMatchObject({ turn: 3 });
    } finally {
      await running.stop();
    }
  });

  it('a server that did not grant thread permissions: a start-up warning, and follow-ups answered privately', async () => {
    const permissions = (2248473465835073n & ~PERMISSIONS.createPublicThreads & ~PERMISSIONS.sendMessagesInThreads).toString();
    const before = logLines.length;
    const running = await startBot({ fake: { botPermissions: permissions } });
    try {
      const warning = logLines.slice(before).find((l) => l.includes('discord: the bot lacks'));
      expect(warning).toContain('CreatePublicThreads, SendMessagesInThreads');
      expect(warning).toContain(`permissions=${INVITE_PERMISSIONS}`);
      const student = makeUser('sem-permissao');
      const first = await ask(running, 'O que é dropout?', student);
      const submit = await followUp(running, first.original!, 'e por que isso funciona?', student);
      expect(submit.ephemeral).toBe(true);
      expect(isFinal(submit.original)).toBe(true);
      expect(await running.store.getAnswer(answerIdOf(submit.original)!)).toMatchObject({ turn: 2 });
      expect(logLines.slice(before).some((l) => l.includes('cannot start a thread here (grant the bot Create Public Threads'))).toBe(true);
    } finally {
      await running.stop();
    }
  });

  it('a conversation at CONVERSATION_MAX_TURNS says so in the thread', async () => {
    const running = await startBot({ bot: { maxTurns: 2 } });
    try {
      const student = makeUser('longa');
      const first = await ask(running, 'O que é dropout?', student);
      const threadId = String(first.original!.id);
      await followUp(running, first.original!, 'e no keras?', student);
      running.discord.userMessage({ channelId: threadId, content: `${running.discord.mention} e mais uma?`, user: student });
      await running.discord.waitFor(() => botMessages(running, threadId).length >= 2);
      await running.adapter.whenIdle();
      expect(botMessages(running, threadId).at(-1)?.content).toBe(`ℹ️ ${MESSAGES.conversationTooLong(2)}`);
    } finally {
      await running.stop();
    }
  });
});
