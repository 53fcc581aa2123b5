/**
 * The human loop's Slack side end to end: the real Bolt app over HTTP (signed requests) against the
 * fake Slack (test/fakes/fakeSlack.ts: channels, chat.postMessage/update, views.open,
 * conversations.info), the real core on the sample course, a memory store, and the Discord side
 * replaced by a recorder of deliveries (the Discord adapter has its own suite). A case card in the
 * TAs' channel; Assumir, Responder (modal), the bot's answer confirmed, Encerrar (modal); the card
 * follows; reminders; /pergunta-faq; a TA forwarding a Slack answer; the start-up check.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import { CASE_ACTION_IDS, CASE_VIEW_IDS, INPUTS } from '../../adapters/slack/caseCard.js';
import { FORWARD_ACTION_ID } from '../../adapters/slack/cards.js';
import { BotService } from '../../src/bot/botService.js';
import { isolate } from '../../src/bot/text.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { Knowledge } from '../../src/humanloop/knowledge.js';
import { LOOP_MESSAGES } from '../../src/humanloop/messages.js';
import { HumanLoop, type DeliveryView } from '../../src/humanloop/service.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import {
  blockActions,
  postToApp,
  slashCommand,
  startFakeSlack,
  viewSubmission,
  type BlockActionsPayload,
  type FakeSlack,
  type PostedMessage,
  type ResponseBody,
  type SlackBlock,
  type SlashCommandPayload,
  type ViewSubmissionPayload,
} from '../fakes/fakeSlack.js';
import { newAnswer } from '../helpers/records.js';

const SIGNING_SECRET = 'slack-loop-signing-secret-9f8e';
const CHANNEL = 'C0MONITORES';
const TA = 'U0MONITORA';
const OTHER_TA = 'U0MONITORB';
const NOT_TA = 'U0CURIOSO';
const STUDENT = '401234567890123456';

let slack: FakeSlack;
let dir: string;
let core: Core;
const logLines: string[] = [];

interface Running {
  adapter: SlackAdapter;
  store: FeedbackStore;
  loop: HumanLoop;
  deliveries: DeliveryView[];
  url: string;
  clock: { now: number };
}
const running: Running[] = [];

async function start(extra: Record<string, string> = {}): Promise<Running> {
  const config = loadConfig(
    {
      SLACK_BOT_TOKEN: 'xoxb-loop-bot-token',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ESCALATION_CHANNEL: CHANNEL,
      SLACK_ANNOTATOR_IDS: `${TA},${OTHER_TA}`,
      ...extra,
    },
    path.join(dir, 'no.env'),
  );
  const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });
  const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-slack-loop', logger });
  const knowledge = new Knowledge({ store, embedder: null, logger, thresholds: { dense: 0.93, lexical: 0.85 } });
  const clock = { now: Date.now() };
  const loop = new HumanLoop({
    store,
    logger,
    videos: core.index.videos,
    knowledge,
    settings: { showNames: false, reminderHours: config.ESCALATION_REMINDER_HOURS, pollMs: 100, leaseMs: 5_000 },
    now: () => new Date(clock.now),
  });
  const deliveries: DeliveryView[] = [];
  loop.serve('discord', { deliver: async (view) => (deliveries.push(view), { status: 'delivered', via: 'channel' }) });
  const bot = new BotService(core.answers, store, new RateLimiter(100), logger);
  const adapter = await startSlack({ config, logger, bot, store, humanLoop: loop }, { listen: { port: 0, host: '127.0.0.1' } });
  const r = { adapter, store, loop, deliveries, url: `http://127.0.0.1:${adapter.port}/slack/events`, clock };
  running.push(r);
  return r;
}

beforeAll(async () => {
  slack = await startFakeSlack();
  slack.addChannel({ id: CHANNEL, name: 'monitores', isPrivate: true });
  dir = await mkdtemp(path.join(tmpdir(), 'pergunta-loop-slack-'));
  core = await createCore(loadConfig({}, path.join(dir, 'no.env')), createLogger({ level: 'silent' }), { indexDir: path.join(dir, 'index'), buildIfMissing: true, embedder: null });
});
afterEach(async () => {
  for (const r of running.splice(0)) {
    await r.adapter.stop();
    await r.loop.stop();
    await r.store.close();
  }
  slack.reset();
});
afterAll(async () => {
  await slack?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------------------

const post = (r: Running, payload: SlashCommandPayload | BlockActionsPayload | ViewSubmissionPayload) => postToApp(r.url, payload, { signingSecret: SIGNING_SECRET });
let clicks = 0;

/** A Discord student's case on a recorded answer (the Discord side is covered by its own suite). */
async function discordCase(r: Running, question = 'O que é overfitting?', details = 'Não entendi a parte do erro de validação.') {
  const answer = newAnswer({ question, answer: 'Overfitting é quando o modelo **decora** o treino [1].' });
  await r.store.recordAnswer(answer, { platform: 'discord', channel: '1200000000000000001', rawUserId: STUDENT });
  const outcome = await r.loop.escalate({
    platform: 'discord',
    userId: STUDENT,
    answerId: answer.id,
    details,
    address: { platform: 'discord', userId: STUDENT, channelId: '1200000000000000001', messageId: null, guildId: null, ephemeral: false },
  });
  if (outcome.status !== 'created') throw new Error(outcome.status);
  const card = await slack.waitForMessage((m) => m.channel === CHANNEL && m.text.includes(question) && m.threadTs === null);
  return { answer, caseId: outcome.caseId, card };
}

async function click(r: Running, userId: string, actionId: string, value: string, card?: PostedMessage, userName?: string): Promise<ResponseBody> {
  const key = `click-${++clicks}`;
  const res = await post(r, blockActions({ userId, userName, action: { type: 'button', action_id: actionId, value }, response_url: slack.responseUrl(key), channelId: CHANNEL, messageTs: card?.ts, triggerId: slack.newTriggerId() }));
  expect(res.status).toBe(200);
  const [reply] = await slack.waitForResponses(key, 1);
  return reply!.body;
}

/** Clicks a button that opens a modal; returns the modal Slack was asked to open. */
async function openModal(r: Running, userId: string, actionId: string, value: string) {
  const before = slack.openedViews.length;
  const res = await post(r, blockActions({ userId, action: { type: 'button', action_id: actionId, value }, response_url: slack.responseUrl(`modal-${++clicks}`), channelId: CHANNEL, triggerId: slack.newTriggerId() }));
  expect(res.status).toBe(200);
  await expect.poll(() => slack.openedViews.length).toBe(before + 1);
  return slack.openedViews.at(-1)!.view as { callback_id: string; private_metadata: string; blocks: SlackBlock[]; title: { text: string } };
}

const textOf = (m: PostedMessage): string => JSON.stringify(m.blocks);
const cardOf = (caseTs: string): PostedMessage => slack.channelMessages.find((m) => m.ts === caseTs)!;

// ------------------------------------------------------------------------------------------------

describe('Slack: the TAs\' queue', () => {
  it('checks at start-up that it can post in the TAs\' channel, in one log line', async () => {
    logLines.length = 0;
    await start();
    expect(logLines.filter((l) => l.includes("TAs' channel")).map((l) => JSON.parse(l).msg)).toEqual([
      "slack: TAs' channel #monitores ready: the bot can post the students' requests there (human loop)",
    ]);
    for (const r of running.splice(0)) {
      await r.adapter.stop();
      await r.loop.stop();
      await r.store.close();
    }
    slack.addChannel({ id: 'C0FORADOCANAL', name: 'fora', isMember: false });
    logLines.length = 0;
    await start({ SLACK_ESCALATION_CHANNEL: 'C0FORADOCANAL' });
    expect(logLines.find((l) => l.includes("TAs' channel"))).toContain('invite it there (/invite @Pergunta)');
  });

  it('posts a card with the question, the details, the bot answer, the segments with their links, votes and a pseudonym; no raw id', async () => {
    const r = await start();
    const { card, answer, caseId } = await discordCase(r);
    const blocks = card.blocks;
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: '🙋 Pedido de ajuda — Discord' } });
    const text = textOf(card);
    expect(text).toContain('*Pergunta:* O que é overfitting?');
    expect(text).toContain('Não entendi a parte do erro de validação.');
    expect(text).toContain('*decora*'); // the bot's Markdown in mrkdwn
    // Titles are isolated (bidi) from the time range, like the answers' references.
    expect(text).toContain(`<${answer.segments[0]!.url}|${isolate('Aula 6 — Regularização')} · 41:10–43:35>`);
    expect(text).toContain('Votos quando pediu ajuda');
    expect(text).toMatch(/estudante [0-9a-f]{6}/);
    expect(text).toContain('<!date^');
    expect(text).not.toContain(STUDENT);
    const actions = blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements!.map((e) => [e.action_id, e.value])).toEqual([
      [CASE_ACTION_IDS.claim, caseId],
      [CASE_ACTION_IDS.answer, caseId],
      [CASE_ACTION_IDS.endorse, caseId],
      [CASE_ACTION_IDS.close, caseId],
    ]);
    await expect.poll(async () => (await r.store.loop.getCase(caseId))?.card).toEqual({ channel: CHANNEL, ts: card.ts });
  });

  it('a follow-up\'s card lists the conversation before it: the latest turns, oldest first, literally, within Slack\'s limits, saying how many were left out; its compact form still posts (#16)', async () => {
    const r = await start();
    const conversationId = 'c0c0c0c0-0000-4000-8000-000000000016';
    const long = (n: number) => `Resposta ${n}: ${'o modelo **aprende** & <b>generaliza</b> '.repeat(40)}`;
    // Seven turns before the escalated one, and one after it; what students typed may look like markup.
    const questions = Array.from({ length: 9 }, (_, i) => (i === 4 ? `pergunta 5 <!here> *negrito* & <@U0OUTRO> ${'&'.repeat(400)}` : `pergunta ${i + 1} sobre dropout?`));
    const ids: string[] = [];
    for (const [i, question] of questions.entries()) {
      const answer = newAnswer({ question, answer: long(i + 1), conversationId, turn: i + 1 });
      ids.push(answer.id);
      await r.store.recordAnswer(answer, { platform: 'discord', channel: '1200000000000000001', rawUserId: STUDENT });
      await r.store.saveTurn({
        conversationId, turn: i + 1, answerId: answer.id, question, retrievalQuery: question, answer: answer.answer, kind: 'llm',
        segments: [], lectureFilter: null, platform: 'discord', user: 'discord:0123456789abcdef', at: answer.createdAt,
      });
    }
    const escalated = ids[7]!;
    const outcome = await r.loop.escalate({
      platform: 'discord', userId: STUDENT, answerId: escalated, details: '',
      address: { platform: 'discord', userId: STUDENT, channelId: '1200000000000000001', messageId: null, guildId: null, ephemeral: false },
    });
    expect(outcome.status).toBe('created');
    const card = await slack.waitForMessage((m) => m.channel === CHANNEL && m.text.includes('pergunta 8') && m.threadTs === null);
    const text = textOf(card);
    expect(text).toContain('Resposta do bot'); // the full card: Slack (the fake, with its limits) took it
    const sectionTexts = card.blocks.filter((b) => b.type === 'section').map((b) => String((b.text as { text: string }).text));
    const conversation = sectionTexts.find((t) => t.startsWith('*Conversa até aqui:*'))!;
    expect(conversation).toBeDefined();
    expect(conversation.length).toBeLessThanOrEqual(3000);
    expect(card.blocks.length).toBeLessThanOrEqual(50);
    // Turns 4 to 7, oldest first; 1 to 3 left out and counted; not the escalated turn, not turn 9.
    expect(conversation).toContain('3 turnos anteriores não mostrados');
    const order = [4, 5, 6, 7].map((n) => conversation.indexOf(`*P:* pergunta ${n}`));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const absent of ['pergunta 1 ', 'pergunta 2 ', 'pergunta 3 ', 'pergunta 8', 'pergunta 9']) expect(conversation).not.toContain(absent);
    // An excerpt of each answer, shown literally: no tag, no ping, no bold.
    expect(conversation).toContain('*R:* Resposta 4:');
    expect(conversation).toContain('&lt;!here&gt;');
    expect(conversation).not.toContain('<!here>');
    expect(conversation).not.toContain('<@U0OUTRO>');
    expect(conversation).not.toContain('*negrito*');
    expect(conversation).not.toContain('**aprende**');

    // Refused anyway: the compact card (no conversation) is posted and works.
    const other = ids[8]!;
    slack.rejectBlocksNext('chat.postMessage');
    await r.loop.escalate({
      platform: 'discord', userId: STUDENT, answerId: other, details: '',
      address: { platform: 'discord', userId: STUDENT, channelId: '1200000000000000001', messageId: null, guildId: null, ephemeral: false },
    });
    const compact = await slack.waitForMessage((m) => m.channel === CHANNEL && m.text.includes('pergunta 9') && m.threadTs === null);
    expect(textOf(compact)).not.toContain('Conversa até aqui');
    expect(compact.blocks.find((b) => b.type === 'actions')!.elements!.map((e) => e.action_id)).toContain(CASE_ACTION_IDS.answer);
  });

  it('a card Slack refuses (invalid_blocks) is posted and updated in its compact form: the TAs can still act on it', async () => {
    const r = await start();
    slack.rejectBlocksNext('chat.postMessage');
    const { card, caseId } = await discordCase(r, 'O que é dropout?');
    const text = textOf(card);
    expect(text).toContain('*Pergunta:* O que é dropout?');
    expect(text).not.toContain('Resposta do bot'); // the compact card leaves out what may have been refused
    expect(card.blocks.find((b) => b.type === 'actions')!.elements!.map((e) => e.action_id)).toContain(CASE_ACTION_IDS.answer);
    await expect.poll(async () => (await r.store.loop.getCase(caseId))?.card).toEqual({ channel: CHANNEL, ts: card.ts });
    expect(logLines.some((l) => l.includes('the case card was refused'))).toBe(true);

    slack.rejectBlocksNext('chat.update');
    await click(r, TA, CASE_ACTION_IDS.claim, caseId, card, 'ana');
    await expect.poll(() => textOf(cardOf(card.ts))).toContain('Assumido por ana');
  });

  it('Assumir: the card shows who; another TA is told; someone who is not a TA is refused', async () => {
    const r = await start();
    const { card, caseId } = await discordCase(r);
    expect((await click(r, NOT_TA, CASE_ACTION_IDS.claim, caseId, card)).text).toBe(LOOP_MESSAGES.notAllowed);
    expect((await click(r, TA, CASE_ACTION_IDS.claim, caseId, card, 'ana')).text).toBe(LOOP_MESSAGES.claimed);
    await expect.poll(() => textOf(cardOf(card.ts))).toContain('Assumido por ana');
    expect(textOf(cardOf(card.ts))).not.toContain(CASE_ACTION_IDS.claim);
    expect((await click(r, OTHER_TA, CASE_ACTION_IDS.claim, caseId, card, 'bruno')).text).toBe(LOOP_MESSAGES.claimedByOther('ana'));
  });

  it('Responder: a modal; an empty answer is refused inside it; the answer goes to the student, the card says "Respondido por … em …"', async () => {
    const r = await start();
    const { card, caseId, answer } = await discordCase(r);
    const modal = await openModal(r, TA, CASE_ACTION_IDS.answer, caseId);
    expect(modal.callback_id).toBe(CASE_VIEW_IDS.answer);
    expect(modal.title.text).toBe('Responder ao estudante');
    expect(JSON.parse(modal.private_metadata)).toEqual({ id: caseId, channel: CHANNEL });

    const submit = (text: string) =>
      post(
        r,
        viewSubmission({
          userId: TA,
          userName: 'ana',
          callbackId: CASE_VIEW_IDS.answer,
          privateMetadata: modal.private_metadata,
          values: {
            [INPUTS.answer.block]: { [INPUTS.answer.action]: { type: 'plain_text_input', value: text } },
            [INPUTS.label.block]: { [INPUTS.label.action]: { type: 'radio_buttons', selected_option: { value: 'I' } } },
            [INPUTS.pin.block]: { [INPUTS.pin.action]: { type: 'checkboxes', selected_options: [{ value: 'pin' }] } },
          },
        }),
      );
    const empty = await submit('   ');
    expect(empty.json).toEqual({ response_action: 'errors', errors: { [INPUTS.answer.block]: LOOP_MESSAGES.emptyAnswer } });
    expect((await r.store.loop.getCase(caseId))?.status).toBe('open');

    const text = 'Overfitting é **decorar** o treino; veja https://youtu.be/Q7mKx2Lp9aE?t=259 para a intuição.';
    const ok = await submit(text);
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('');
    await expect.poll(() => r.deliveries.length).toBe(1);
    expect(r.deliveries[0]).toMatchObject({ kind: 'answered', text, question: 'O que é overfitting?' });
    await expect.poll(() => textOf(cardOf(card.ts))).toContain('Respondido por ana');
    const updated = textOf(cardOf(card.ts));
    expect(updated).toContain('*decorar*');
    expect(updated).toContain(`${isolate('Aula 1 — O que é aprendizado de máquina')} · 4:19`);
    expect(updated).toContain('estava errada');
    expect(updated).toContain('Nota fixada');
    await expect.poll(() => textOf(cardOf(card.ts))).toContain('entregue no canal');
    expect(cardOf(card.ts).blocks.some((b) => b.type === 'actions')).toBe(false);
    expect((await r.store.annotation(answer.id))?.label).toBe('I');
    // The verified answer exists and a second answer from the modal is told the case is done.
    expect(r.loop.listVerified()).toHaveLength(1);
    await submit('Outra resposta.');
    await expect.poll(() => slack.apiCalls.filter((c) => c.method === 'chat.postEphemeral').length).toBe(1);
    expect(slack.apiCalls.find((c) => c.method === 'chat.postEphemeral')!.body).toMatchObject({ channel: CHANNEL, user: TA, text: LOOP_MESSAGES.alreadyResolved('answered') });
    expect(r.deliveries).toHaveLength(1);
  });

  it('"A resposta do bot está certa" (confirmed in a dialog) and Encerrar (with a reason) resolve the case', async () => {
    const r = await start();
    const first = await discordCase(r);
    const endorse = first.card.blocks.find((b) => b.type === 'actions')!.elements!.find((e) => e.action_id === CASE_ACTION_IDS.endorse)!;
    expect(endorse.confirm).toMatchObject({ confirm: { text: 'Confirmar' } });
    expect((await click(r, TA, CASE_ACTION_IDS.endorse, first.caseId, first.card, 'ana')).text).toBe(LOOP_MESSAGES.endorsed);
    await expect.poll(() => textOf(cardOf(first.card.ts))).toContain('Resposta do bot confirmada por ana');

    const second = await discordCase(r, 'Como funciona o dropout?', '');
    const modal = await openModal(r, TA, CASE_ACTION_IDS.close, second.caseId);
    expect(modal.callback_id).toBe(CASE_VIEW_IDS.close);
    const empty = await post(r, viewSubmission({ userId: TA, callbackId: CASE_VIEW_IDS.close, privateMetadata: modal.private_metadata, values: { [INPUTS.reason.block]: { [INPUTS.reason.action]: { type: 'plain_text_input', value: '' } } } }));
    expect(empty.json).toMatchObject({ response_action: 'errors' });
    await post(r, viewSubmission({ userId: TA, userName: 'ana', callbackId: CASE_VIEW_IDS.close, privateMetadata: modal.private_metadata, values: { [INPUTS.reason.block]: { [INPUTS.reason.action]: { type: 'plain_text_input', value: 'Dúvida sobre a prova: veja o edital.' } } } }));
    await expect.poll(() => textOf(cardOf(second.card.ts))).toContain('Encerrado por ana');
    await expect.poll(() => r.deliveries.map((d) => d.kind)).toEqual(['endorsed', 'closed']);
    // A resolved case's Responder refuses without opening a modal.
    const views = slack.openedViews.length;
    expect((await click(r, TA, CASE_ACTION_IDS.answer, second.caseId)).text).toBe(LOOP_MESSAGES.alreadyResolved('closed'));
    expect(slack.openedViews.length).toBe(views);
  });

  it('a case open longer than ESCALATION_REMINDER_HOURS gets one reminder, in the card\'s thread and in the channel', async () => {
    const r = await start({ ESCALATION_REMINDER_HOURS: '2' });
    const { card } = await discordCase(r);
    r.clock.now += 3 * 3_600_000;
    const reminder = await slack.waitForMessage((m) => m.threadTs === card.ts, 10_000);
    expect(reminder.replyBroadcast).toBe(true);
    expect(reminder.text).toContain(LOOP_MESSAGES.reminder(2));
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(slack.channelMessages.filter((m) => m.threadTs === card.ts)).toHaveLength(1);
  });

  it('/pergunta-faq lists the verified answers; Editar (modal) changes one, Retirar retires it; notes too', async () => {
    const r = await start();
    const { caseId } = await discordCase(r);
    await r.loop.answer(caseId, { platform: 'slack', userId: TA, name: 'ana', allowed: true }, { text: 'Resposta original.', pinNote: true });
    const key = `faq-${++clicks}`;
    const res = await post(r, slashCommand({ command: '/pergunta-faq', text: '', user_id: TA, response_url: slack.responseUrl(key), trigger_id: slack.newTriggerId() }));
    expect(res.status).toBe(200);
    const [list] = await slack.waitForResponses(key, 1);
    const listText = JSON.stringify(list!.body.blocks);
    expect(list!.body.response_type).toBe('ephemeral');
    expect(listText).toContain('O que é overfitting?');
    expect(listText).toContain('Resposta original.');
    expect(listText).toContain(CASE_ACTION_IDS.noteRetire);
    const [verified] = r.loop.listVerified();

    const modal = await openModal(r, TA, CASE_ACTION_IDS.faqEdit, verified!.id);
    expect(modal.callback_id).toBe(CASE_VIEW_IDS.faqEdit);
    await post(
      r,
      viewSubmission({
        userId: TA,
        userName: 'ana',
        callbackId: CASE_VIEW_IDS.faqEdit,
        privateMetadata: modal.private_metadata,
        values: {
          [INPUTS.question.block]: { [INPUTS.question.action]: { type: 'plain_text_input', value: 'O que é overfitting?' } },
          [INPUTS.answer.block]: { [INPUTS.answer.action]: { type: 'plain_text_input', value: 'Resposta editada.' } },
        },
      }),
    );
    await expect.poll(() => r.loop.listVerified()[0]?.answer).toBe('Resposta editada.');
    expect((await click(r, NOT_TA, CASE_ACTION_IDS.faqRetire, verified!.id)).text).toBe(LOOP_MESSAGES.notAllowed);
    expect((await click(r, TA, CASE_ACTION_IDS.faqRetire, verified!.id)).text).toBe(LOOP_MESSAGES.verifiedRetired);
    expect(r.loop.listVerified()).toEqual([]);
    const [note] = r.loop.listNotes();
    expect((await click(r, TA, CASE_ACTION_IDS.noteRetire, note!.id)).text).toBe(LOOP_MESSAGES.noteRetired);
  });

  it('the manifest asks for what the loop needs: /pergunta-faq, the scopes to check the channel, the messages tab', async () => {
    const manifest = await readFile('adapters/slack/manifest.yml', 'utf8');
    expect(manifest).toMatch(/- command: \/pergunta-faq\n\s+description: \S/);
    expect(manifest).toMatch(/bot:\n(\s+- \S+\n)*\s+- channels:read\n\s+- groups:read\n/);
    expect(manifest).toMatch(/messages_tab_enabled: true/);
    expect(manifest).toMatch(/invite the bot there \(\/invite @Pergunta\)/i);
  });

  it('a TA forwards a Slack answer to the queue; the TA answer comes back to them by DM', async () => {
    const r = await start();
    const key = `ask-${++clicks}`;
    await post(r, slashCommand({ text: 'O que é fine-tuning?', user_id: TA, response_url: slack.responseUrl(key) }));
    const [answered] = await slack.waitForResponses(key, 1);
    const actions = answered!.body.blocks!.find((b) => b.type === 'actions')!;
    const forward = actions.elements!.find((e) => e.action_id === FORWARD_ACTION_ID)!;
    expect(forward).toMatchObject({ text: { text: '🙋 Encaminhar aos monitores' } });
    expect((await click(r, TA, FORWARD_ACTION_ID, String(forward.value))).text).toBe(LOOP_MESSAGES.forwarded);
    const card = await slack.waitForMessage((m) => m.channel === CHANNEL && m.text.includes('O que é fine-tuning?'));
    expect(card.blocks[0]).toMatchObject({ text: { text: '🙋 Pedido de ajuda — Slack' } });
    const [summary] = await r.store.listCases();
    await r.loop.answer(summary!.id, { platform: 'slack', userId: OTHER_TA, name: 'bruno', allowed: true }, { text: 'Fine-tuning é continuar o treino.' });
    const dm = await slack.waitForMessage((m) => m.user === TA);
    expect(dm.channel).toMatch(/^D/);
    expect(JSON.stringify(dm.blocks)).toContain('Fine-tuning é continuar o treino.');
    expect(JSON.stringify(await r.store.loop.getCase(summary!.id))).not.toContain(TA);
  });
});
