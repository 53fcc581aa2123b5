/**
 * The human loop's Discord side end to end: the real discord.js client against the fake Discord
 * (test/fakes/fakeDiscord.ts), the real core on the sample course (lexical-only, fake LLM), a
 * memory store, and the Slack side replaced by a recorder of cards (the Slack adapter has its own
 * suite). A student's 👎 → "Chamar um monitor" → modal → case; a TA's answer comes back as a reply
 * in the channel mentioning only the student, or by DM, or at their next /pergunta when DMs are
 * closed; the student rates it; a lost response is not delivered twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { customIds } from '../../adapters/discord/customIds.js';
import { BotService } from '../../src/bot/botService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { toJsonl } from '../../src/evaluation/exportRecords.js';
import { Knowledge } from '../../src/humanloop/knowledge.js';
import { LOOP_MESSAGES } from '../../src/humanloop/messages.js';
import { HumanLoop, type CaseView, type StaffInput } from '../../src/humanloop/service.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type FakeUser, type Json } from '../fakes/fakeDiscord.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';

const TOKEN = 'discord-loop-TOKEN-secret-1a2b3c4d';
const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) } };
const TA: StaffInput = { platform: 'slack', userId: 'U0MONITORA', name: 'ana', allowed: true };
const ANSWER = 'Overfitting é quando o modelo decora os dados de treino e vai mal em dados novos [1].';

let discord: FakeDiscord;
let llm: FakeOpenAI;
let dir: string;
let core: Core;
const logLines: string[] = [];

interface Running {
  adapter: DiscordAdapter;
  store: FeedbackStore;
  loop: HumanLoop;
  knowledge: Knowledge;
  cards: CaseView[];
}
const running: Running[] = [];

function config(extra: Record<string, string> = {}): Config {
  return loadConfig(
    {
      OPENAI_API_KEY: 'sk-test-loop',
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '0',
      STORE_URL: 'memory://',
      DISCORD_TOKEN: TOKEN,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_ESCALATION_CHANNEL: 'C0MONITORES',
      ...extra,
    },
    path.join(dir, 'no.env'),
  );
}

async function start(extra: Record<string, string> = {}): Promise<Running> {
  const cfg = config(extra);
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });
  const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-discord-loop', logger });
  const knowledge = new Knowledge({ store, embedder: null, logger, thresholds: { dense: 0.93, lexical: 0.85 } });
  const loop = new HumanLoop({ store, logger, videos: core.index.videos, knowledge, settings: { showNames: false, reminderHours: 24, pollMs: 200, leaseMs: 5_000 } });
  const cards: CaseView[] = [];
  loop.serve('slack', {
    postCard: async (view) => {
      cards.push(view);
      return { channel: 'C0MONITORES', ts: `${cards.length}.0001` };
    },
    updateCard: async (view) => void cards.push(view),
  });
  const bot = new BotService(core.answers, store, new RateLimiter(100), logger);
  const adapter = await startDiscord({ config: cfg, logger, bot, store, humanLoop: loop }, { editIntervalMs: 100, clientOptions: FAST_IDENTIFY, checkCommands: false });
  const r = { adapter, store, loop, knowledge, cards };
  running.push(r);
  return r;
}

async function stop(r: Running): Promise<void> {
  await r.adapter.stop();
  await r.loop.stop();
  await r.store.close();
  running.splice(running.indexOf(r), 1);
}

beforeAll(async () => {
  [discord, llm] = await Promise.all([startFakeDiscord({ token: TOKEN }), startFakeOpenAI({ defaultBehavior: { type: 'text', text: ANSWER } })]);
  dir = await mkdtemp(path.join(tmpdir(), 'pergunta-loop-discord-'));
  core = await createCore(loadConfig({}, path.join(dir, 'no.env')), createLogger({ level: 'silent' }), { indexDir: path.join(dir, 'index'), buildIfMissing: true, embedder: null });
});
afterEach(async () => {
  for (const r of [...running]) await stop(r);
});
afterAll(async () => {
  await discord?.close();
  await llm?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------

const buttonsOf = (message: Json | undefined): Json[] => ((message?.components ?? []) as Json[]).flatMap((row) => (row.components ?? []) as Json[]);
const customIdsOf = (message: Json | undefined): string[] => buttonsOf(message).map((b) => String(b.custom_id ?? ''));

async function settled(ix: FakeInteraction, r: Running): Promise<FakeInteraction> {
  await ix.waitFor(() => ix.callback);
  await r.adapter.whenIdle();
  return ix;
}

async function askQuestion(r: Running, user: FakeUser, question = 'O que é overfitting?'): Promise<{ ix: FakeInteraction; answerId: string }> {
  const ix = await settled(discord.slashCommand({ name: 'pergunta', options: { texto: question }, user }), r);
  const up = customIdsOf(ix.original).find((id) => id.startsWith('vote:up:'));
  if (!up) throw new Error(`no vote buttons: ${JSON.stringify(ix.original)}`);
  return { ix, answerId: up.split(':')[2]! };
}

/** 👎 on the answer, "Chamar um monitor" in the private confirmation, the modal, submitted. */
async function escalate(r: Running, user: FakeUser, answerIx: FakeInteraction, answerId: string, details = 'Não entendi a diferença para underfitting.'): Promise<FakeInteraction> {
  const down = await settled(discord.clickButton({ customId: `vote:down:${answerId}`, message: answerIx.original!, user }), r);
  const confirmation = down.edits.at(-1)!.body;
  const escalateId = customIdsOf(confirmation).find((id) => id.startsWith('escalate:'));
  expect(escalateId).toBe(customIds.escalate(answerId, String(answerIx.original!.id)));
  const open = await settled(discord.clickButton({ customId: escalateId!, message: String(answerIx.original!.id), user }), r);
  expect(open.modal).toMatchObject({ custom_id: escalateId, title: 'Chamar um monitor' });
  return settled(discord.submitModal({ customId: escalateId!, fields: { detalhes: details }, user }), r);
}

async function onlyCase(r: Running) {
  const [summary] = await r.store.listCases();
  if (!summary) throw new Error('no case');
  return summary;
}

// ------------------------------------------------------------------------------------------------

describe('Discord: a student calls a TA', () => {
  it('👎 → "Chamar um monitor" → optional details → private confirmation; the case reaches the TAs with the details', async () => {
    const r = await start();
    const student = makeUser('estudante');
    const { ix, answerId } = await askQuestion(r, student);
    const submitted = await escalate(r, student, ix, answerId);
    expect(submitted.ephemeral).toBe(true);
    expect(submitted.edits.at(-1)!.body.content).toBe(LOOP_MESSAGES.escalated(false));
    await r.loop.idle();
    const view = r.cards[0]!;
    expect(view.answer?.id).toBe(answerId);
    expect(view.requesters[0]!.details).toBe('Não entendi a diferença para underfitting.');
    expect(view.case.votesAtEscalation).toEqual({ up: 0, down: 1 });
    const stored = await r.store.loop.getCase(view.case.id);
    expect(JSON.stringify(stored)).not.toContain(student.id);
    expect(logLines.join('\n')).not.toContain(student.id);
  });

  it('in a follow-up thread: 👎 → "Chamar um monitor" on the thread answer; the card carries the conversation and the TA answers inside the thread (#16)', async () => {
    const r = await start();
    const student = makeUser('estudante-topico');
    const { ix, answerId } = await askQuestion(r, student);
    // "Perguntar mais": the follow-up is answered in a thread started on the answer.
    await settled(discord.clickButton({ customId: customIds.followUp(answerId), message: ix.original!, user: student }), r);
    await settled(discord.submitModal({ customId: customIds.followUp(answerId), fields: { pergunta: 'e como evito isso?' }, message: ix.original!, user: student }), r);
    const threadId = String(ix.original!.id);
    const inThread = discord.messagesIn(threadId).filter((m) => (m.author as Json).id === discord.botUser.id);
    const followUp = inThread.at(-1)!;
    const followUpId = customIdsOf(followUp).find((id) => id.startsWith('vote:up:'))!.split(':')[2]!;
    expect(await r.store.getAnswer(followUpId)).toMatchObject({ turn: 2 });

    // 👎 on the thread answer, then "Chamar um monitor" and its form, all inside the thread.
    const down = await settled(discord.clickButton({ customId: `vote:down:${followUpId}`, message: followUp, user: student }), r);
    const escalateId = customIdsOf(down.edits.at(-1)!.body).find((id) => id.startsWith('escalate:'))!;
    expect(escalateId).toBe(customIds.escalate(followUpId, String(followUp.id)));
    await settled(discord.clickButton({ customId: escalateId, message: String(followUp.id), user: student }), r);
    const submitted = await settled(discord.submitModal({ customId: escalateId, fields: { detalhes: '' }, user: student, channelId: threadId }), r);
    expect(submitted.edits.at(-1)!.body.content).toBe(LOOP_MESSAGES.escalated(false));
    await r.loop.idle();
    const card = r.cards[0]!;
    expect(card.answer?.id).toBe(followUpId);
    expect(card.case.conversationId).toBe((await r.store.getAnswer(answerId))?.conversationId);
    expect(card.conversation).toEqual([{ question: 'O que é overfitting?', answer: (await r.store.getAnswer(answerId))!.answer }]);

    await r.loop.answer(card.case.id, TA, { text: 'Use regularização e validação cruzada, como na aula 3.' });
    const delivered = await discord.waitForChannelMessage((m) => m.body.content === `<@${student.id}>`);
    expect(delivered.channelId).toBe(threadId);
    expect(delivered.message.message_reference).toMatchObject({ message_id: followUp.id });
  });

  it('in a conversation every answer after the first offers "Chamar um monitor" with no 👎 (a follow-up, a mention, /pergunta in the thread); pressed on the latest, the card lists the earlier turns and the TA answers in the thread (#16, #17)', async () => {
    const r = await start();
    const student = makeUser('estudante-conversa');
    const { ix, answerId } = await askQuestion(r, student);
    // The first answer (found by the LLM): no button until a 👎.
    expect(customIdsOf(ix.original).some((id) => id.startsWith('escalate:'))).toBe(false);
    const threadId = String(ix.original!.id);
    const botInThread = () => discord.messagesIn(threadId).filter((m) => (m.author as Json).id === discord.botUser.id);
    const idOf = (m: Json | undefined) => customIdsOf(m).find((id) => id.startsWith('vote:up:'))?.split(':')[2];

    // 1. "Perguntar mais": the answer in the thread has the button.
    await settled(discord.clickButton({ customId: customIds.followUp(answerId), message: ix.original!, user: student }), r);
    await settled(discord.submitModal({ customId: customIds.followUp(answerId), fields: { pergunta: 'e como evito isso?' }, message: ix.original!, user: student }), r);
    const followUp = botInThread().at(-1)!;
    const followUpId = idOf(followUp)!;
    expect(customIdsOf(followUp)).toContain(customIds.escalate(followUpId));

    // 2. A mention in the thread: its answer has the button too.
    const mention = discord.userMessage({ channelId: threadId, content: `${discord.mention} e qual taxa de dropout usar?`, user: student });
    await discord.waitFor(() => botInThread().some((m) => (m.message_reference as Json | undefined)?.message_id === mention.id && idOf(m) !== undefined));
    await r.adapter.whenIdle();
    const mentionReply = botInThread().find((m) => (m.message_reference as Json | undefined)?.message_id === mention.id)!;
    const mentionId = idOf(mentionReply)!;
    expect(await r.store.getAnswer(mentionId)).toMatchObject({ turn: 3 });
    expect(customIdsOf(mentionReply)).toContain(customIds.escalate(mentionId));

    // 3. /pergunta in the thread: the same.
    const slash = await settled(discord.slashCommand({ name: 'pergunta', options: { texto: 'e a regularização L2?' }, user: student, channelId: threadId }), r);
    const slashId = idOf(slash.original)!;
    expect(await r.store.getAnswer(slashId)).toMatchObject({ turn: 4 });
    expect(customIdsOf(slash.original)).toContain(customIds.escalate(slashId));

    // The student presses it on the mention's answer, without a 👎: the modal remembers that message.
    const open = await settled(discord.clickButton({ customId: customIds.escalate(mentionId), message: mentionReply, user: student }), r);
    const escalateId = customIds.escalate(mentionId, String(mentionReply.id));
    expect(open.modal?.custom_id).toBe(escalateId);
    const submitted = await settled(discord.submitModal({ customId: escalateId, fields: { detalhes: 'Continuo sem entender.' }, user: student, channelId: threadId }), r);
    expect(submitted.edits.at(-1)!.body.content).toBe(LOOP_MESSAGES.escalated(false));
    await r.loop.idle();
    const card = r.cards[0]!;
    expect(card.answer?.id).toBe(mentionId);
    expect(card.case.votesAtEscalation).toEqual({ up: 0, down: 0 });
    // The turns before the escalated one, oldest first; the later /pergunta is not part of it.
    expect(card.conversation?.map((t) => t.question)).toEqual(['O que é overfitting?', 'e como evito isso?']);

    await r.loop.answer(card.case.id, TA, { text: 'Entre 0,2 e 0,5 costuma funcionar; veja a aula 3.' });
    const delivered = await discord.waitForChannelMessage((m) => m.body.content === `<@${student.id}>`);
    expect(delivered.channelId).toBe(threadId);
    expect(delivered.message.message_reference).toMatchObject({ message_id: mentionReply.id });
    expect(delivered.mentions).toEqual([student.id]);

    // The export: the case carries the conversation it came from (docs/data-and-export.md).
    const exported = toJsonl(await r.store.listRecords()).trim().split('\n').map((line) => JSON.parse(line) as { id: string; conversationId: string | null; case: Json | null });
    const row = exported.find((x) => x.id === mentionId)!;
    expect(row.conversationId).toBe((await r.store.getAnswer(answerId))?.conversationId);
    expect(row.case).toMatchObject({ id: card.case.id, conversationId: row.conversationId });
  });

  it('a thread a moderator locked and archived, or deleted, since the question: the TA\'s answer goes by DM', async () => {
    const r = await start();
    const student = makeUser('estudante-trancado');
    const { ix, answerId } = await askQuestion(r, student);
    const threadId = String(ix.original!.id);
    await settled(discord.clickButton({ customId: customIds.followUp(answerId), message: ix.original!, user: student }), r);
    await settled(discord.submitModal({ customId: customIds.followUp(answerId), fields: { pergunta: 'e como evito isso?' }, message: ix.original!, user: student }), r);
    const followUp = discord.messagesIn(threadId).filter((m) => (m.author as Json).id === discord.botUser.id).at(-1)!;
    const followUpId = customIdsOf(followUp).find((id) => id.startsWith('vote:up:'))!.split(':')[2]!;
    const escalateId = customIds.escalate(followUpId, String(followUp.id));
    await settled(discord.clickButton({ customId: customIds.escalate(followUpId), message: followUp, user: student }), r);
    await settled(discord.submitModal({ customId: escalateId, fields: { detalhes: '' }, user: student, channelId: threadId }), r);
    await r.loop.idle();
    const caseId = r.cards[0]!.case.id;

    const thread = discord.threads.get(threadId)!;
    const metadata = thread.thread_metadata as Json;
    Object.assign(metadata, { archived: true, locked: true });
    await r.loop.answer(caseId, TA, { text: 'Resposta para um tópico trancado.' });
    const dm = await discord.waitForChannelMessage((m) => m.dm && m.recipientId === student.id);
    expect((dm.body.embeds as Json[])[0]!.description).toBe('Resposta para um tópico trancado.');
    expect(discord.requests.some((q) => q.path === `/channels/${threadId}/messages` && q.status === 400)).toBe(true);
    expect(discord.channelMessages.some((m) => m.channelId === threadId && m.body.content === `<@${student.id}>`)).toBe(false);
    await r.loop.idle();
    expect((await r.store.loop.getCase(caseId))?.requesters[0]!.delivery).toMatchObject({ status: 'delivered', via: 'dm' });
    expect(logLines.some((l) => l.includes('the TA answer was refused as rendered') && l.includes(caseId))).toBe(false);

    // A thread deleted since: the same (404 Unknown Channel).
    const other = makeUser('estudante-apagado');
    const asked = await askQuestion(r, other, 'Como funciona o dropout?');
    const otherThread = String(asked.ix.original!.id);
    await settled(discord.clickButton({ customId: customIds.followUp(asked.answerId), message: asked.ix.original!, user: other }), r);
    await settled(discord.submitModal({ customId: customIds.followUp(asked.answerId), fields: { pergunta: 'e no keras?' }, message: asked.ix.original!, user: other }), r);
    const inOther = discord.messagesIn(otherThread).filter((m) => (m.author as Json).id === discord.botUser.id).at(-1)!;
    const inOtherId = customIdsOf(inOther).find((id) => id.startsWith('vote:up:'))!.split(':')[2]!;
    await settled(discord.submitModal({ customId: customIds.escalate(inOtherId, String(inOther.id)), fields: { detalhes: '' }, user: other, channelId: otherThread }), r);
    await r.loop.idle();
    const otherCase = r.cards.find((c) => c.answer?.id === inOtherId)!.case.id;
    discord.threads.delete(otherThread);
    await r.loop.answer(otherCase, TA, { text: 'Resposta para um tópico apagado.' });
    const dm2 = await discord.waitForChannelMessage((m) => m.dm && m.recipientId === other.id);
    expect((dm2.body.embeds as Json[])[0]!.description).toBe('Resposta para um tópico apagado.');
  });

  it('a follow-up answered privately (no thread): it offers "Chamar um monitor", and the TA\'s answer comes by DM, not in the channel', async () => {
    // With DISCORD_EPHEMERAL, and where the bot may not start a thread: the conversation is private.
    for (const setting of ['ephemeral', 'no-thread'] as const) {
      const r = await start(setting === 'ephemeral' ? { DISCORD_EPHEMERAL: 'true' } : {});
      const student = makeUser(`estudante-${setting}`);
      const { ix, answerId } = await askQuestion(r, student);
      if (setting === 'no-thread') discord.failNext({ method: 'POST', path: `/messages/${String(ix.original!.id)}/threads`, status: 403, body: { message: 'Missing Permissions', code: 50013 } });
      await settled(discord.clickButton({ customId: customIds.followUp(answerId), message: ix.original!, user: student }), r);
      const sub = await settled(discord.submitModal({ customId: customIds.followUp(answerId), fields: { pergunta: 'e como evito isso?' }, message: ix.original!, user: student }), r);
      expect(discord.threads.has(String(ix.original!.id))).toBe(false);
      const reply = sub.original!;
      expect(Number(reply.flags) & 64).toBe(64);
      const followUpId = customIdsOf(reply).find((id) => id.startsWith('vote:up:'))!.split(':')[2]!;
      expect(customIdsOf(reply)).toContain(customIds.escalate(followUpId));
      // The button is on a private message: the modal carries no message to reply to.
      const open = await settled(discord.clickButton({ customId: customIds.escalate(followUpId), message: reply, user: student }), r);
      expect(open.modal?.custom_id).toBe(customIds.escalate(followUpId));
      await settled(discord.submitModal({ customId: customIds.escalate(followUpId), fields: { detalhes: '' }, user: student }), r);
      await r.loop.idle();
      const view = r.cards[0]!;
      expect(view.conversation?.map((t) => t.question)).toEqual(['O que é overfitting?']);
      const sentBefore = discord.channelMessages.length;
      await r.loop.answer(view.case.id, TA, { text: `Resposta privada (${setting}).` });
      const dm = await discord.waitForChannelMessage((m) => m.dm && m.recipientId === student.id && JSON.stringify(m.body).includes(setting));
      expect(dm.mentions).toEqual([]);
      expect(discord.channelMessages.slice(sentBefore).filter((m) => !m.dm)).toEqual([]);
      await stop(r);
    }
  });

  it('a "not found" answer (no LLM call) offers "Chamar um monitor" on the answer itself; the TA\'s answer then answers the next student who asks it', async () => {
    const r = await start();
    const student = makeUser();
    // Words the course never uses: "not found" from the evidence, without asking the LLM (#15).
    const QUESTION = 'Quando sai o gabarito da xyzzy plugh?';
    const llmCalls = llm.requests.length;
    const { ix, answerId } = await askQuestion(r, student, QUESTION);
    expect(llm.requests.length).toBe(llmCalls);
    expect((await r.store.getAnswer(answerId))?.kind).toBe('not-found');
    // 👍/👎, "Perguntar mais" (every recorded answer has it, #16), then "Chamar um monitor".
    expect(customIdsOf(ix.original).filter(Boolean)).toEqual([customIds.vote('up', answerId), customIds.vote('down', answerId), customIds.followUp(answerId), customIds.escalate(answerId)]);
    const open = await settled(discord.clickButton({ customId: customIds.escalate(answerId), message: ix.original!, user: student }), r);
    // The button on a public answer carries that answer's id into the modal.
    const escalateId = customIds.escalate(answerId, String(ix.original!.id));
    expect(open.modal?.custom_id).toBe(escalateId);
    const submitted = await settled(discord.submitModal({ customId: escalateId, fields: { detalhes: '' }, user: student }), r);
    expect(submitted.edits.at(-1)!.body.content).toBe(LOOP_MESSAGES.escalated(false));
    await r.loop.idle();
    expect(r.cards[0]!.answer?.kind).toBe('not-found');

    // The TA answers what the lectures do not cover; the next student gets that answer, not "not found".
    const TA_TEXT = 'O gabarito sai na sexta, no mural da disciplina.';
    await r.loop.answer(r.cards[0]!.case.id, TA, { text: TA_TEXT });
    await discord.waitForChannelMessage((m) => m.body.content === `<@${student.id}>`);
    const other = makeUser();
    // What npm start does (adapters/main.ts): the answers use this process's verified answers.
    core.answers.useKnowledge(r.knowledge);
    let again: Awaited<ReturnType<typeof askQuestion>>;
    try {
      again = await askQuestion(r, other, QUESTION);
    } finally {
      core.answers.useKnowledge(null);
    }
    const embed = ((again.ix.original?.embeds ?? []) as Json[])[0]!;
    expect(embed.author).toEqual({ name: LOOP_MESSAGES.verifiedLabel });
    expect(embed.description).toBe(TA_TEXT);
    expect(llm.requests.length).toBe(llmCalls);
    // A verified answer is not a "not found": no escalation button on it (👎 still offers one).
    expect(customIdsOf(again.ix.original).filter(Boolean)).toEqual([customIds.vote('up', again.answerId), customIds.vote('down', again.answerId), customIds.followUp(again.answerId)]);
  });

  it('a "not found" answer Discord refuses as rendered keeps "Chamar um monitor" in its plain-text form', async () => {
    const r = await start();
    const student = makeUser();
    discord.failNext({
      method: 'PATCH',
      path: '/messages/@original',
      match: (call) => ((call.body as Json | undefined)?.embeds as Json[] | undefined)?.length === 1 && customIdsOf(call.body as Json).some((id) => id.startsWith('vote:')),
      status: 400,
      body: { message: 'Invalid Form Body', code: 50035 },
    });
    const { ix, answerId } = await askQuestion(r, student, 'Quando sai o gabarito da xyzzy plugh?');
    expect((ix.original?.embeds as Json[] | undefined) ?? []).toEqual([]);
    expect(customIdsOf(ix.original)).toContain(customIds.escalate(answerId));
  });

  it('the TA answer comes back as a reply to the answer, mentioning only the student, labelled, with references and 👍/👎; the rating reaches the card', async () => {
    const r = await start();
    const student = makeUser('aluna');
    const { ix, answerId } = await askQuestion(r, student);
    await escalate(r, student, ix, answerId);
    await r.loop.idle();
    const caseId = (await onlyCase(r)).id;
    const text = 'Underfitting é o contrário: o modelo não aprende nem o treino. Veja a aula 1 em https://youtu.be/Q7mKx2Lp9aE?t=259 e @everyone leia.';
    // Whatever the TA writes, the delivery pings only the student.
    await r.loop.answer(caseId, TA, { text });
    const delivered = await discord.waitForChannelMessage((m) => m.channelId === discord.channelId && m.body.content === `<@${student.id}>`);
    expect(delivered.mentions).toEqual([student.id]);
    expect(delivered.body.allowed_mentions).toEqual({ parse: [], users: [student.id] });
    expect(delivered.message.message_reference).toMatchObject({ message_id: ix.original!.id });
    expect(delivered.body.nonce).toMatch(/^[0-9a-f]{25}$/);
    expect(delivered.body.enforce_nonce).toBe(true);
    const embed = (delivered.body.embeds as Json[])[0]!;
    expect(embed.author).toEqual({ name: '✅ Resposta do monitor' });
    expect(embed.title).toBe('O que é overfitting?');
    expect(embed.description).toBe(text);
    // The TA's lecture link is rendered like the bot's references, and as a button to the second.
    expect((embed.fields as Json[])[0]).toMatchObject({ name: 'Referências', value: expect.stringContaining('Aula 1 — O que é aprendizado de máquina') });
    expect(String((embed.fields as Json[])[0]!.value)).toContain('· 4:19');
    expect(buttonsOf(delivered.body).find((b) => b.style === 5)).toMatchObject({ url: 'https://www.youtube.com/watch?v=Q7mKx2Lp9aE&t=259' });
    expect(customIdsOf(delivered.body).filter(Boolean)).toEqual([customIds.caseRating('up', caseId), customIds.caseRating('down', caseId)]);

    await r.loop.idle();
    const record = await r.store.loop.getCase(caseId);
    expect(record?.requesters[0]!.delivery).toMatchObject({ status: 'delivered', via: 'channel' });
    expect(record?.requesters[0]!.address).toBeNull();

    const rated = await settled(discord.clickButton({ customId: customIds.caseRating('up', caseId), message: String(delivered.message.id), user: student }), r);
    expect(rated.edits.at(-1)!.body.content).toMatch(/👍 foi registrado/);
    await r.loop.idle();
    expect(Object.values(r.cards.at(-1)!.case.ratings)).toEqual(['up']);
    // Once.
    expect(discord.channelMessages.filter((m) => m.body.content === `<@${student.id}>`)).toHaveLength(1);
  });

  it('a response lost on its way back: Discord\'s nonce makes the resend return the same message (delivered once)', async () => {
    const r = await start();
    const student = makeUser();
    const { ix, answerId } = await askQuestion(r, student);
    await escalate(r, student, ix, answerId);
    await r.loop.idle();
    const caseId = (await onlyCase(r)).id;
    discord.failNext({ method: 'POST', path: `/channels/${discord.channelId}/messages`, status: 502, applied: true });
    const before = discord.channelMessages.length;
    await r.loop.answer(caseId, TA, { text: 'Resposta do monitor.' });
    await expect.poll(async () => (await r.store.loop.getCase(caseId))?.requesters[0]!.delivery.status, { timeout: 15_000 }).toBe('delivered');
    const posts = discord.requests.filter((c) => c.method === 'POST' && c.path === `/channels/${discord.channelId}/messages`);
    expect(posts.filter((c) => (c.body as Json | undefined)?.content === `<@${student.id}>`).length).toBeGreaterThanOrEqual(2);
    expect(discord.channelMessages.slice(before).filter((m) => m.body.content === `<@${student.id}>`)).toHaveLength(1);
  });

  it('a TA answer Discord refuses as rendered (50035) is delivered as plain text, once, still mentioning only the student and rateable', async () => {
    const r = await start();
    const student = makeUser();
    const { ix, answerId } = await askQuestion(r, student);
    await escalate(r, student, ix, answerId);
    await r.loop.idle();
    const caseId = (await onlyCase(r)).id;
    discord.failNext({
      method: 'POST',
      path: `/channels/${discord.channelId}/messages`,
      match: (call) => (((call.body as Json | undefined)?.embeds as Json[] | undefined) ?? []).length > 0,
      status: 400,
      body: { message: 'Invalid Form Body', code: 50035 },
    });
    await r.loop.answer(caseId, TA, { text: 'Resposta em texto simples.' });
    await expect.poll(async () => (await r.store.loop.getCase(caseId))?.requesters[0]!.delivery.status, { timeout: 15_000 }).toBe('delivered');
    const sent = discord.channelMessages.filter((m) => String(m.body.content ?? '').startsWith(`<@${student.id}>`));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.embeds ?? []).toEqual([]);
    expect(String(sent[0]!.body.content)).toContain('✅ Resposta do monitor');
    expect(String(sent[0]!.body.content)).toContain('Resposta em texto simples.');
    expect(sent[0]!.body.allowed_mentions).toEqual({ parse: [], users: [student.id] });
    expect(sent[0]!.message.message_reference).toMatchObject({ message_id: ix.original!.id });
    expect(customIdsOf(sent[0]!.body)).toEqual([customIds.caseRating('up', caseId), customIds.caseRating('down', caseId)]);
    expect(logLines.some((l) => l.includes('the TA answer was refused as rendered'))).toBe(true);
  });

  it('private answers (DISCORD_EPHEMERAL): delivered by DM; when the channel cannot be written, by DM too', async () => {
    const r = await start({ DISCORD_EPHEMERAL: 'true' });
    const student = makeUser();
    const { ix, answerId } = await askQuestion(r, student);
    // An ephemeral answer: the 👎 confirmation carries no message id to reply to.
    const down = await settled(discord.clickButton({ customId: `vote:down:${answerId}`, message: ix.original!, user: student }), r);
    const id = customIdsOf(down.edits.at(-1)!.body).find((x) => x.startsWith('escalate:'))!;
    expect(id).toBe(customIds.escalate(answerId));
    await settled(discord.clickButton({ customId: id, message: String(ix.original!.id), user: student }), r);
    const submitted = await settled(discord.submitModal({ customId: id, fields: { detalhes: '' }, user: student }), r);
    expect(submitted.edits.at(-1)!.body.content).toBe(LOOP_MESSAGES.escalated(true));
    await r.loop.idle();
    const caseId = (await onlyCase(r)).id;
    await r.loop.answer(caseId, TA, { text: 'Resposta por DM.' });
    const dm = await discord.waitForChannelMessage((m) => m.dm && m.recipientId === student.id);
    expect((dm.body.embeds as Json[])[0]!.description).toBe('Resposta por DM.');
    expect(dm.mentions).toEqual([]);
    await r.loop.idle();
    expect((await r.store.loop.getCase(caseId))?.requesters[0]!.delivery).toMatchObject({ status: 'delivered', via: 'dm' });

    // One bot connected at a time: the fake, like Discord, sends every interaction to each session.
    await stop(r);
    const other = makeUser();
    const r2 = await start();
    const asked = await askQuestion(r2, other, 'Como funciona o dropout?');
    await escalate(r2, other, asked.ix, asked.answerId);
    await r2.loop.idle();
    discord.denyChannel(discord.channelId);
    try {
      await r2.loop.answer((await onlyCase(r2)).id, TA, { text: 'Resposta que não cabe no canal.' });
      const fallback = await discord.waitForChannelMessage((m) => m.dm && m.recipientId === other.id);
      expect((fallback.body.embeds as Json[])[0]!.description).toBe('Resposta que não cabe no canal.');
    } finally {
      discord.denyChannel(discord.channelId, false);
    }
  });

  it('DMs closed: the answer waits for the student\'s next /pergunta and is shown there once, privately', async () => {
    const r = await start({ DISCORD_EPHEMERAL: 'true' });
    const student = makeUser();
    discord.setDmsClosed(student.id);
    try {
      const { ix, answerId } = await askQuestion(r, student);
      const down = await settled(discord.clickButton({ customId: `vote:down:${answerId}`, message: ix.original!, user: student }), r);
      const id = customIdsOf(down.edits.at(-1)!.body).find((x) => x.startsWith('escalate:'))!;
      await settled(discord.submitModal({ customId: id, fields: { detalhes: '' }, user: student }), r);
      await r.loop.idle();
      const caseId = (await onlyCase(r)).id;
      await r.loop.answer(caseId, TA, { text: 'Resposta guardada para depois.' });
      await expect.poll(async () => (await r.store.loop.getCase(caseId))?.requesters[0]!.delivery.status, { timeout: 10_000 }).toBe('notice');
      expect(discord.channelMessages.some((m) => m.recipientId === student.id)).toBe(false);

      const next = await settled(discord.slashCommand({ name: 'pergunta', options: { texto: 'Como funciona o dropout?' }, user: student }), r);
      const notice = next.followUps.find((f) => JSON.stringify(f).includes('Resposta guardada para depois.'));
      expect(notice).toBeDefined();
      expect(Number(notice!.flags) & 64).toBe(64);
      expect(notice!.content).toBe(LOOP_MESSAGES.deliveredNoticeIntro);
      const again = await settled(discord.slashCommand({ name: 'pergunta', options: { texto: 'O que é pooling?' }, user: student }), r);
      expect(again.followUps.some((f) => JSON.stringify(f).includes('Resposta guardada para depois.'))).toBe(false);
      expect((await r.store.loop.getCase(caseId))?.requesters[0]!.delivery).toMatchObject({ status: 'delivered', via: 'notice' });
    } finally {
      discord.setDmsClosed(student.id, false);
    }
  });

  it('without the human loop, an old "Chamar um monitor" button gets a private explanation', async () => {
    const cfg = config();
    const logger = createLogger({ level: 'silent' });
    const store = await createFeedbackStore({ url: 'memory://', salt: 'x'.repeat(16), logger });
    const adapter = await startDiscord({ config: cfg, logger, bot: new BotService(core.answers, store, new RateLimiter(10), logger), store }, { clientOptions: FAST_IDENTIFY, checkCommands: false });
    try {
      const ix = discord.clickButton({ customId: 'escalate:abc' });
      await ix.waitFor(() => ix.callback);
      await adapter.whenIdle();
      expect(ix.ephemeral).toBe(true);
      expect(String(ix.callback!.data?.content)).toContain(LOOP_MESSAGES.escalationOff);
    } finally {
      await adapter.stop();
      await store.close();
    }
  });
});
