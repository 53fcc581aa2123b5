/**
 * The human loop's core (src/humanloop/service.ts) on a memory store with fake platform handlers:
 * a case's whole life (escalate, join, claim, answer, endorse, close), deliveries that fail and
 * are retried, students who cannot be reached, reminders, verified answers and notes, what is
 * sealed and what is never stored.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AddressUnreadableError, openAddress, sealAddress, type DeliveryAddress } from '../../src/humanloop/address.js';
import { Knowledge } from '../../src/humanloop/knowledge.js';
import { lectureReferences, linkSeconds, parseTime, videoKey } from '../../src/humanloop/lectureLinks.js';
import { LOOP_MESSAGES } from '../../src/humanloop/messages.js';
import {
  deliveryNonce,
  HumanLoop,
  PermanentDeliveryError,
  type CaseView,
  type DeliveryResult,
  type DeliveryView,
  type OutboxHandlers,
  type StaffInput,
} from '../../src/humanloop/service.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import type { Video } from '../../src/types.js';
import { recordingLogger } from '../helpers/course.js';
import { newAnswer, turnOf } from '../helpers/records.js';

const STUDENT = '301234567890123456';
const STUDENT_2 = '301234567890123457';
const TA: StaffInput = { platform: 'slack', userId: 'U0MONITORA', name: 'ana', allowed: true };
const TA_2: StaffInput = { platform: 'slack', userId: 'U0MONITORB', name: 'bruno', allowed: true };
const CHANNEL = '1200000000000000099';

const VIDEOS = new Map<string, Video>([
  ['aula03', { id: 'aula03', title: 'Aula 3 — Overfitting e regularização', url: 'https://www.youtube.com/watch?v=abcdefghijk', transcript: 't/3.vtt' }],
  ['aula06', { id: 'aula06', title: 'Aula 6 — Transfer learning', url: 'https://youtu.be/zyxwvutsrqp', transcript: 't/6.vtt' }],
  ['extra', { id: 'extra', title: 'Aula extra', url: 'https://vimeo.com/123456789', transcript: 't/x.vtt' }],
]);

const address = (userId = STUDENT, extra: Partial<DeliveryAddress> = {}): DeliveryAddress => ({
  platform: 'discord',
  userId,
  channelId: CHANNEL,
  messageId: '1300000000000000001',
  guildId: '1100000000000000001',
  ephemeral: false,
  ...extra,
});

class FakePlatforms {
  cards: Array<{ view: CaseView; channel: string; ts: string }> = [];
  updates: CaseView[] = [];
  reminders: CaseView[] = [];
  deliveries: Array<{ view: DeliveryView; address: DeliveryAddress; nonce: string }> = [];
  deliverBehaviour: Array<() => DeliveryResult> = [];
  slack(): OutboxHandlers {
    return {
      postCard: async (view) => {
        const card = { channel: 'C0MONITORES', ts: `${1700000000 + this.cards.length}.000100` };
        this.cards.push({ view, ...card });
        return card;
      },
      updateCard: async (view) => {
        this.updates.push(view);
      },
      remind: async (view) => {
        this.reminders.push(view);
      },
    };
  }
  discord(): OutboxHandlers {
    return {
      deliver: async (view, addr, nonce) => {
        const next = this.deliverBehaviour.shift();
        const result = next ? next() : ({ status: 'delivered', via: 'channel' } as const);
        if (result.status === 'delivered') this.deliveries.push({ view, address: addr, nonce });
        return result;
      },
    };
  }
}

let store: FeedbackStore;
let knowledge: Knowledge;
let loop: HumanLoop;
let platforms: FakePlatforms;
let log: ReturnType<typeof recordingLogger>;
let clock: number;
const stops: Array<() => Promise<void>> = [];

async function recordedAnswer(question = 'O que é overfitting?', extra: Partial<ReturnType<typeof newAnswer>> = {}) {
  const answer = newAnswer({
    question,
    answer: 'Overfitting é quando o modelo decora o treino [1].',
    references: [{ videoId: 'aula03', title: 'Aula 3 — Overfitting e regularização', start: 51, end: 94, url: 'https://www.youtube.com/watch?v=abcdefghijk&t=51' }],
    ...extra,
  });
  await store.recordAnswer(answer, { platform: 'discord', channel: CHANNEL, rawUserId: STUDENT });
  return answer;
}

function serveBoth(): void {
  stops.push(loop.serve('slack', platforms.slack()), loop.serve('discord', platforms.discord()));
}

/** Lets the workers run what this process kicked, then waits until they are idle. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await loop.idle();
  }
}

beforeEach(async () => {
  log = recordingLogger();
  clock = Date.parse('2026-03-10T12:00:00.000Z');
  store = await createFeedbackStore({ url: 'memory://', salt: 'sal-do-loop', logger: log.logger });
  knowledge = new Knowledge({ store, embedder: null, logger: log.logger, thresholds: { dense: 0.9, lexical: 0.8 } });
  platforms = new FakePlatforms();
  loop = new HumanLoop({
    store,
    logger: log.logger,
    videos: VIDEOS,
    knowledge,
    settings: { showNames: false, reminderHours: 24, pollMs: 60_000, leaseMs: 5_000 },
    now: () => new Date(clock),
  });
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await loop.stop();
  await store.close();
});

describe('escalation', () => {
  it('opens one case per answer, posts its card once, and adds later students to it', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    await store.vote({ answerId: answer.id, platform: 'discord', rawUserId: STUDENT, value: 'down' });
    const first = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, details: 'Não entendi\u0000 a parte\n\n\n\ndo treino', address: address() });
    expect(first).toMatchObject({ status: 'created', message: LOOP_MESSAGES.escalated(false) });
    await settle();
    expect(platforms.cards).toHaveLength(1);
    const card = platforms.cards[0]!.view;
    expect(card.answer?.question).toBe('O que é overfitting?');
    expect(card.case.votesAtEscalation).toEqual({ up: 0, down: 1 });
    expect(card.requesters[0]!.details).toBe('Não entendi a parte\n\ndo treino');
    expect(card.requesters[0]!.label).toMatch(/^estudante [0-9a-f]{6}$/);

    const again = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    expect(again).toMatchObject({ status: 'already-waiting', message: LOOP_MESSAGES.escalatedAgain });
    const joined = await loop.escalate({ platform: 'discord', userId: STUDENT_2, answerId: answer.id, address: address(STUDENT_2, { ephemeral: true }) });
    expect(joined).toMatchObject({ status: 'joined', message: LOOP_MESSAGES.escalated(true) });
    await settle();
    expect(platforms.cards).toHaveLength(1);
    expect(platforms.updates.at(-1)?.requesters).toHaveLength(2);
    const stored = await store.loop.getCase(first.status === 'created' ? first.caseId : '');
    expect(stored?.outbox).toEqual([]);
    expect(stored?.card).toEqual({ channel: 'C0MONITORES', ts: '1700000000.000100' });
  });

  it('answers an unknown answer id with the pt-BR not-found message and stores nothing', async () => {
    const outcome = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: 'nao-existe', address: address() });
    expect(outcome.status).toBe('not-found');
    expect(await store.listCases()).toEqual([]);
  });

  it('keeps the delivery address sealed: no raw id in the store, listCases, exports or logs', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    const outcome = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address(), displayName: 'Maria Silva' });
    await settle();
    const raw = await store.loop.getCase(outcome.status === 'created' ? outcome.caseId : '');
    const text = JSON.stringify(raw);
    expect(text).not.toContain(STUDENT);
    expect(text).not.toContain(CHANNEL);
    expect(text).not.toContain('Maria Silva'); // ESCALATION_SHOW_NAMES is off
    expect(raw!.requesters[0]!.address).toMatchObject({ v: 1 });
    expect(JSON.stringify(await store.listCases())).not.toContain('"address"');
    expect(JSON.stringify(await store.listRecords())).not.toContain(raw!.requesters[0]!.address!.data);
    expect(log.lines.join('\n')).not.toContain(STUDENT);
    // The key opens it, bound to this case and requester.
    const key = await store.deriveKey('delivery-address v1');
    expect(openAddress(raw!.requesters[0]!.address!, key, raw!.id, raw!.requesters[0]!.user)).toEqual(address());
    expect(() => openAddress(raw!.requesters[0]!.address!, key, 'outro-caso', raw!.requesters[0]!.user)).toThrow(AddressUnreadableError);
  });

  it('mentions typed into the loop (details, the TA answer, a closing reason) lose their raw ids before anything is stored', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    const outcome = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, details: `pergunta também de <@${STUDENT_2}> e <@&1100000000000000077>`, address: address() });
    const caseId = outcome.status === 'created' ? outcome.caseId : '';
    await loop.answer(caseId, TA, { text: 'Como disse <@U0MONITORB|bruno> em <#C0GERAL|geral>: decorar o treino.' });
    await settle();
    const other = await recordedAnswer('O que é dropout?');
    const second = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: other.id, address: address() });
    await loop.close(second.status === 'created' ? second.caseId : '', TA, `pergunte a <@${STUDENT_2}>`);
    await settle();
    const text = JSON.stringify([await store.loop.getCase(caseId), await store.listCases(), await store.loop.loadKnowledge()]);
    for (const raw of [STUDENT_2, '1100000000000000077', 'U0MONITORB', 'C0GERAL', 'bruno']) expect(text).not.toContain(raw);
    expect(text).toContain('pergunta também de @usuário e @cargo');
    expect(text).toContain('Como disse @usuário em #canal: decorar o treino.');
    expect(text).toContain('pergunte a @usuário');
  });

  it('keeps display names only with ESCALATION_SHOW_NAMES', async () => {
    const named = new HumanLoop({ store, logger: log.logger, videos: VIDEOS, knowledge, settings: { showNames: true, reminderHours: 24, pollMs: 60_000 } });
    const answer = await recordedAnswer();
    const outcome = await named.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address(), displayName: 'Maria Silva' });
    const view = await named.caseView(outcome.status === 'created' ? outcome.caseId : '');
    expect(view?.requesters[0]!.label).toBe('Maria Silva');
    await named.stop();
  });

  it('fills the card with the conversation before the answer (conversations, #16)', async () => {
    // The answer is turn 2 of a conversation whose turns the store keeps (and a turn 3 came later).
    const answer = await recordedAnswer('e no keras, como faço isso?', { conversationId: 'conv-1', turn: 2 });
    await store.saveTurn(turnOf('conv-1', 1, undefined, { question: 'O que é dropout?', answer: 'É desligar neurônios ao acaso [1].' }));
    await store.saveTurn(turnOf('conv-1', 2, undefined, { answerId: answer.id, question: answer.question, answer: answer.answer }));
    await store.saveTurn(turnOf('conv-1', 3, undefined, { question: 'e no pytorch?' }));
    const outcome = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    const view = await loop.caseView(outcome.status === 'created' ? outcome.caseId : '');
    expect(view?.conversation).toEqual([{ question: 'O que é dropout?', answer: 'É desligar neurônios ao acaso [1].' }]);
    // The case keeps which conversation it came from, for the staff report and exports.
    expect(view?.case.conversationId).toBe('conv-1');
    expect((await store.listCases())[0]?.conversationId).toBe('conv-1');
    // An answer outside a conversation: no conversation.
    const lone = await recordedAnswer();
    const loneCase = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: lone.id, address: address() });
    expect((await loop.caseView(loneCase.status === 'created' ? loneCase.caseId : ''))?.conversation).toBeNull();
  });
});

describe('TA actions', () => {
  async function openCase(userId = STUDENT, extra: Partial<DeliveryAddress> = {}) {
    const answer = await recordedAnswer();
    const outcome = await loop.escalate({ platform: 'discord', userId, answerId: answer.id, address: address(userId, extra) });
    if (outcome.status !== 'created') throw new Error(outcome.status);
    return { answer, caseId: outcome.caseId };
  }

  it('claim: the card shows who; another TA is told; first action time kept', async () => {
    serveBoth();
    const { caseId } = await openCase();
    clock += 90_000;
    const claimed = await loop.claim(caseId, TA);
    expect(claimed).toMatchObject({ ok: true, message: LOOP_MESSAGES.claimed });
    expect(await loop.claim(caseId, TA_2)).toMatchObject({ ok: false, reason: 'claimed', message: LOOP_MESSAGES.claimedByOther('ana') });
    expect(await loop.claim(caseId, { ...TA_2, allowed: false })).toMatchObject({ ok: false, reason: 'forbidden' });
    await settle();
    const view = platforms.updates.at(-1)!;
    expect(view.case.status).toBe('claimed');
    expect(view.case.claimedBy?.name).toBe('ana');
    expect(view.case.timings.firstActionMs).toBe(90_000);
  });

  it('answer: delivered once to each waiting student, verified answer stored and matched, TA label and note recorded', async () => {
    serveBoth();
    const { answer, caseId } = await openCase();
    await loop.escalate({ platform: 'discord', userId: STUDENT_2, answerId: answer.id, address: address(STUDENT_2) });
    clock += 10 * 60_000;
    const text = 'O overfitting aparece quando o erro de validação sobe; veja https://youtu.be/abcdefghijk?t=61 e https://vimeo.com/123456789#t=1m5s.';
    const outcome = await loop.answer(caseId, TA, { text, botLabel: 'I', pinNote: true });
    expect(outcome).toMatchObject({ ok: true, message: LOOP_MESSAGES.answered });
    await settle();

    expect(platforms.deliveries).toHaveLength(2);
    const [d1, d2] = platforms.deliveries;
    expect(d1!.view).toMatchObject({ kind: 'answered', label: '✅ Resposta do monitor', text, question: 'O que é overfitting?' });
    expect(d1!.view.references.map((r) => [r.videoId, r.start])).toEqual([
      ['aula03', 61],
      ['extra', 65],
    ]);
    expect(new Set([d1!.address.userId, d2!.address.userId])).toEqual(new Set([STUDENT, STUDENT_2]));
    expect(d1!.nonce).toHaveLength(25);
    expect(d1!.nonce).not.toBe(d2!.nonce);

    const record = (await store.loop.getCase(caseId))!;
    expect(record.status).toBe('answered');
    expect(record.requesters.map((r) => [r.delivery.status, r.address])).toEqual([
      ['delivered', null],
      ['delivered', null],
    ]);
    expect(record.outbox).toEqual([]);
    expect((await store.annotation(answer.id))?.label).toBe('I');
    const [summary] = await store.listCases();
    expect(summary!.timings.resolvedMs).toBe(10 * 60_000);

    // Another student's same question now matches the verified answer.
    const hit = knowledge.match('o que é overfitting', null);
    expect(hit?.answer.answer).toBe(text);
    expect(hit?.answer).toMatchObject({ caseId, answerId: answer.id, source: 'ta-answer' });
    expect(knowledge.match('Como funciona o dropout?', null)).toBeNull();
    // The correction is pinned to the lecture moment the bot cited.
    expect(knowledge.notesFor([{ videoId: 'aula03', start: 80, end: 200 }]).map((n) => n.text)).toEqual([text]);
    expect(knowledge.notesFor([{ videoId: 'aula03', start: 100, end: 200 }])).toEqual([]);

    // Resolved: further actions are refused, nothing is delivered twice.
    expect(await loop.answer(caseId, TA_2, { text: 'outra' })).toMatchObject({ ok: false, reason: 'resolved', message: LOOP_MESSAGES.alreadyResolved('answered') });
    expect(await loop.endorse(caseId, TA_2)).toMatchObject({ ok: false, reason: 'resolved' });
    await settle();
    expect(platforms.deliveries).toHaveLength(2);
    // A student who asks again sees the answer at once.
    const late = await loop.escalate({ platform: 'discord', userId: STUDENT_2, answerId: answer.id, address: address(STUDENT_2) });
    expect(late).toMatchObject({ status: 'resolved', delivery: { text, kind: 'answered' } });
  });

  it('answer: an empty text is refused; a student rates the TA answer, the card shows it', async () => {
    serveBoth();
    const { caseId } = await openCase();
    expect(await loop.answer(caseId, TA, { text: ' \n ' })).toMatchObject({ ok: false, reason: 'invalid', message: LOOP_MESSAGES.emptyAnswer });
    await loop.answer(caseId, TA, { text: 'Resposta.' });
    await settle();
    expect(await loop.rateAnswer({ caseId, platform: 'discord', userId: STUDENT, value: 'up' })).toMatchObject({ ok: true });
    expect(await loop.rateAnswer({ caseId: 'nada', platform: 'discord', userId: STUDENT, value: 'up' })).toMatchObject({ ok: false, message: LOOP_MESSAGES.caseNotFound });
    await settle();
    expect(Object.values(platforms.updates.at(-1)!.case.ratings)).toEqual(['up']);
  });

  it('endorse: the bot answer becomes verified, label C, students told; an abstention is not kept as verified', async () => {
    serveBoth();
    const { answer, caseId } = await openCase();
    expect(await loop.endorse(caseId, TA)).toMatchObject({ ok: true, message: LOOP_MESSAGES.endorsed });
    await settle();
    expect(platforms.deliveries[0]!.view).toMatchObject({ kind: 'endorsed', text: LOOP_MESSAGES.endorsedText });
    expect((await store.annotation(answer.id))?.label).toBe('C');
    expect(knowledge.match('O que é overfitting?', null)?.answer).toMatchObject({ source: 'endorsement', answer: answer.answer });

    const abstained = await recordedAnswer('Qual a receita de bolo?', { kind: 'not-found', answer: 'Não encontrei nada sobre isso nas transcrições.', references: [] });
    const other = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: abstained.id, address: address() });
    expect(await loop.endorse(other.status === 'created' ? other.caseId : '', TA)).toMatchObject({ ok: true, message: LOOP_MESSAGES.endorsedAbstention });
    expect(knowledge.match('Qual a receita de bolo?', null)).toBeNull();
  });

  it('close: needs a reason, tells the students, keeps no verified answer', async () => {
    serveBoth();
    const { caseId } = await openCase();
    expect(await loop.close(caseId, TA, '   ')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(await loop.close(caseId, TA, 'Pergunta sobre a prova: veja o edital.')).toMatchObject({ ok: true });
    await settle();
    expect(platforms.deliveries[0]!.view).toMatchObject({ kind: 'closed', text: LOOP_MESSAGES.closedText('Pergunta sobre a prova: veja o edital.') });
    expect(knowledge.verifiedAnswers).toEqual([]);
    expect((await store.listCases())[0]!.status).toBe('closed');
  });

  it('two TAs answering at once: one answer wins, the other is told, no duplicate verified answer stays live', async () => {
    serveBoth();
    const { caseId } = await openCase();
    const [a, b] = await Promise.all([loop.answer(caseId, TA, { text: 'Resposta A' }), loop.answer(caseId, TA_2, { text: 'Resposta B' })]);
    expect([a.ok, b.ok].sort()).toEqual([false, true]);
    await settle();
    expect(platforms.deliveries).toHaveLength(1);
    expect(knowledge.verifiedAnswers).toHaveLength(1);
  });
});

describe('delivery', () => {
  it('retries a failed delivery with backoff and delivers it once; the nonce stays the same', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    const caseId = opened.status === 'created' ? opened.caseId : '';
    const nonces: string[] = [];
    const handlers = platforms.discord();
    let calls = 0;
    stops.push(await (async () => {
      await stops.pop()!(); // the discord worker of serveBoth
      return loop.serve('discord', {
        deliver: async (view, addr, nonce) => {
          nonces.push(nonce);
          if (++calls === 1) throw new Error('503 Service Unavailable');
          return handlers.deliver!(view, addr, nonce);
        },
      });
    })());
    await loop.answer(caseId, TA, { text: 'Resposta.' });
    await settle();
    let record = (await store.loop.getCase(caseId))!;
    const task = record.outbox.find((t) => t.kind === 'deliver')!;
    expect(task).toMatchObject({ attempts: 1, lastError: '503 Service Unavailable' });
    expect(task.notBefore).toBeGreaterThan(clock);
    clock = task.notBefore + 1;
    loop.kick('discord');
    await settle();
    record = (await store.loop.getCase(caseId))!;
    expect(record.requesters[0]!.delivery.status).toBe('delivered');
    expect(platforms.deliveries).toHaveLength(1);
    expect(nonces).toHaveLength(2);
    expect(nonces[0]).toBe(nonces[1]);
    expect(nonces[0]).toBe(deliveryNonce(task.id));
  });

  it('a student who cannot be reached gets the answer at their next question, once', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address(STUDENT, { ephemeral: true }) });
    const caseId = opened.status === 'created' ? opened.caseId : '';
    platforms.deliverBehaviour.push(() => ({ status: 'unreachable', reason: 'Cannot send messages to this user (50007)' }));
    await loop.answer(caseId, TA, { text: 'Resposta para quem está com DM fechada.' });
    await settle();
    let record = (await store.loop.getCase(caseId))!;
    expect(record.requesters[0]!.delivery).toMatchObject({ status: 'notice', via: 'notice' });
    expect(record.requesters[0]!.address).toBeNull();

    const shown: DeliveryView[] = [];
    // A failure to show it keeps it for the next question.
    expect(await loop.deliverNotices('discord', STUDENT, async () => Promise.reject(new Error('network')))).toBe(0);
    expect(await loop.deliverNotices('discord', STUDENT_2, async (v) => void shown.push(v))).toBe(0);
    expect(await loop.deliverNotices('discord', STUDENT, async (v) => void shown.push(v))).toBe(1);
    expect(await loop.deliverNotices('discord', STUDENT, async (v) => void shown.push(v))).toBe(0);
    expect(shown.map((v) => v.text)).toEqual(['Resposta para quem está com DM fechada.']);
    record = (await store.loop.getCase(caseId))!;
    expect(record.requesters[0]!.delivery).toMatchObject({ status: 'delivered', via: 'notice' });
  });

  it('a delivery that can never succeed is marked failed, not retried forever', async () => {
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    const caseId = opened.status === 'created' ? opened.caseId : '';
    stops.push(loop.serve('slack', platforms.slack()));
    stops.push(loop.serve('discord', { deliver: async () => Promise.reject(new PermanentDeliveryError('Unknown Channel and DMs closed')) }));
    await loop.answer(caseId, TA, { text: 'Resposta.' });
    await settle();
    const record = (await store.loop.getCase(caseId))!;
    expect(record.requesters[0]!.delivery).toMatchObject({ status: 'failed', error: 'Unknown Channel and DMs closed' });
    expect(record.outbox.filter((t) => t.kind === 'deliver')).toEqual([]);
  });

  it('work written while no process serves a target waits in the store and is done when one starts', async () => {
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    const caseId = opened.status === 'created' ? opened.caseId : '';
    await loop.answer(caseId, TA, { text: 'Resposta.' });
    expect((await store.loop.getCase(caseId))!.outbox.map((t) => t.kind).sort()).toEqual(['deliver', 'post-card', 'update-card']);
    expect(await store.loop.pendingCases('discord')).toEqual([caseId]);
    serveBoth();
    await settle();
    expect(platforms.cards).toHaveLength(1);
    expect(platforms.deliveries).toHaveLength(1);
    expect((await store.loop.getCase(caseId))!.outbox).toEqual([]);
  });
});

describe('reminders', () => {
  it('reminds once about a case open longer than ESCALATION_REMINDER_HOURS', async () => {
    serveBoth();
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    await settle();
    clock += 23 * 3_600_000;
    loop.kick('slack');
    await settle();
    expect(platforms.reminders).toHaveLength(0);
    clock += 2 * 3_600_000;
    loop.kick('slack');
    await settle();
    expect(platforms.reminders).toHaveLength(1);
    clock += 5 * 3_600_000;
    loop.kick('slack');
    await settle();
    expect(platforms.reminders).toHaveLength(1);
    expect((await store.loop.getCase(opened.status === 'created' ? opened.caseId : ''))!.remindedAt).not.toBeNull();
  });
});

describe('verified answers from Slack', () => {
  it('lists, edits and retires verified answers and notes; another Knowledge on the store sees the changes', async () => {
    const answer = await recordedAnswer();
    const opened = await loop.escalate({ platform: 'discord', userId: STUDENT, answerId: answer.id, address: address() });
    await loop.answer(opened.status === 'created' ? opened.caseId : '', TA, { text: 'Resposta original.', pinNote: true });
    const [verified] = loop.listVerified();
    expect(loop.listVerified('ORIGINAL')).toHaveLength(1);
    expect(loop.listVerified('dropout')).toHaveLength(0);
    const other = new Knowledge({ store, embedder: null, logger: log.logger, thresholds: { dense: 0.9, lexical: 0.8 } });
    await other.refresh();
    expect(other.match('O que é overfitting?', null)?.answer.answer).toBe('Resposta original.');

    expect(await loop.editVerified(verified!.id, { ...TA, allowed: false }, { question: 'x', answer: 'y' })).toMatchObject({ ok: false, message: LOOP_MESSAGES.notAllowed });
    expect(await loop.editVerified(verified!.id, TA_2, { question: 'O que é overfitting?', answer: 'Resposta editada, veja https://youtu.be/zyxwvutsrqp?t=200' })).toMatchObject({ ok: true });
    expect(await other.refresh()).toBe(true);
    expect(other.match('O que é overfitting?', null)?.answer).toMatchObject({ answer: 'Resposta editada, veja https://youtu.be/zyxwvutsrqp?t=200', updatedBy: { name: 'bruno' } });
    expect(other.match('O que é overfitting?', null)?.answer.references.map((r) => r.videoId)).toEqual(['aula06']);

    const [note] = loop.listNotes();
    expect(await loop.retireNote(note!.id, TA)).toMatchObject({ ok: true, message: LOOP_MESSAGES.noteRetired });
    expect(await loop.retireVerified(verified!.id, TA)).toMatchObject({ ok: true, message: LOOP_MESSAGES.verifiedRetired });
    expect(await loop.retireVerified('nenhuma', TA)).toMatchObject({ ok: false, message: LOOP_MESSAGES.verifiedNotFound });
    await other.refresh();
    expect(other.match('O que é overfitting?', null)).toBeNull();
    expect(other.notesFor([{ videoId: 'aula03', start: 0, end: 1000 }])).toEqual([]);
    expect(loop.listVerified()).toEqual([]);
    // Retired, not deleted: still in the store for the record.
    expect((await store.loop.getVerified(verified!.id))?.retired?.name).toBe('ana');
  });
});

describe('lecture links in a TA answer', () => {
  it('reads YouTube, youtu.be, Vimeo and other course links with their times; ignores links outside the course', () => {
    expect(parseTime('183')).toBe(183);
    expect(parseTime('183s')).toBe(183);
    expect(parseTime('3m3s')).toBe(183);
    expect(parseTime('1h2m3s')).toBe(3723);
    expect(parseTime('3:03')).toBe(183);
    expect(parseTime('abc')).toBeNull();
    expect(videoKey('https://m.youtube.com/watch?v=abcdefghijk&t=5')).toBe('yt:abcdefghijk');
    expect(videoKey('https://youtu.be/abcdefghijk')).toBe('yt:abcdefghijk');
    expect(videoKey('https://www.youtube.com/embed/abcdefghijk?start=9')).toBe('yt:abcdefghijk');
    expect(linkSeconds('https://www.youtube.com/embed/abcdefghijk?start=9')).toBe(9);
    expect(linkSeconds('https://vimeo.com/123456789#t=2m5s')).toBe(125);
    const refs = lectureReferences(
      'Veja https://www.youtube.com/watch?v=abcdefghijk&t=3m3s, depois https://youtu.be/abcdefghijk?t=183 (repetido) e https://exemplo.org/outro?t=5 e https://youtu.be/zyxwvutsrqp.',
      VIDEOS,
    );
    expect(refs).toEqual([
      { videoId: 'aula03', title: 'Aula 3 — Overfitting e regularização', start: 183, end: 183, url: 'https://www.youtube.com/watch?v=abcdefghijk&t=183' },
      { videoId: 'aula06', title: 'Aula 6 — Transfer learning', start: 0, end: 0, url: 'https://youtu.be/zyxwvutsrqp?t=0' },
    ]);
  });
});

describe('sealed addresses', () => {
  it('round-trip with the right key, case and requester only', async () => {
    const key = await store.deriveKey('delivery-address v1');
    const otherKey = await (await createFeedbackStore({ url: 'memory://', salt: 'outro-sal', logger: log.logger })).deriveKey('delivery-address v1');
    const sealed = sealAddress(address(), key, 'case-1', 'discord:abc');
    expect(JSON.stringify(sealed)).not.toContain(STUDENT);
    expect(openAddress(sealed, key, 'case-1', 'discord:abc')).toEqual(address());
    expect(() => openAddress(sealed, otherKey, 'case-1', 'discord:abc')).toThrow(AddressUnreadableError);
    expect(() => openAddress(sealed, key, 'case-1', 'discord:xyz')).toThrow(AddressUnreadableError);
    expect(() => openAddress({ ...sealed, data: Buffer.from('x').toString('base64') }, key, 'case-1', 'discord:abc')).toThrow(AddressUnreadableError);
    expect(sealAddress(address(), key, 'case-1', 'discord:abc').iv).not.toBe(sealed.iv);
    expect(randomUUID()).toBeTruthy();
  });
});
