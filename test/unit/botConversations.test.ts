/**
 * BotService end to end on the sample course (real core, memory store): conversations (turns,
 * follow-ups by answer and by thread, caps), the lecture filter (explicit, Slack prefix,
 * inherited by follow-ups, "search everywhere"), the daily quota (reset at the course's
 * midnight, staff exempt, follow-ups counted) and the answer policy in the stored record, with
 * the fake LLM recording every prompt.
 */
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotService, type AskOutcome } from '../../src/bot/botService.js';
import { MESSAGES } from '../../src/bot/messages.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { toJsonl } from '../../src/evaluation/exportRecords.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { lastMessage, startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { SAMPLE_COURSE, recordingLogger, silentLogger, tempDir } from '../helpers/course.js';
import { startSampleCore, type SampleCore } from '../helpers/sampleBot.js';

let sample: SampleCore;
const stores: FeedbackStore[] = [];
const memoryStore = async () => {
  const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-conversas', logger: silentLogger() });
  stores.push(store);
  return store;
};
const bot = (store: FeedbackStore, options: ConstructorParameters<typeof BotService>[4] = {}, now: () => number = Date.now) =>
  new BotService(sample.core.answers, store, new RateLimiter(1000, 60_000, now), silentLogger(), options);

function answered(outcome: AskOutcome) {
  if (outcome.status !== 'answered') throw new Error(`not answered: ${JSON.stringify(outcome)}`);
  return outcome.result;
}

beforeAll(async () => {
  sample = await startSampleCore();
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await sample?.close();
});

describe('conversations', () => {
  it('a question starts a conversation; follow-ups by answer and by thread continue it; the store and the export show three turns', async () => {
    const store = await memoryStore();
    const service = bot(store);
    const first = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: 'c1', question: 'O que é overfitting?' }));
    expect(first.conversationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.turn).toBe(1);
    expect(first.retrievalQuery).toBeNull();

    // "isso" only makes sense with the first question: retrieval adds its key terms (no LLM here).
    const second = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: 'c1', question: 'E como se evita isso?', conversation: { answerId: first.id } }));
    expect(second).toMatchObject({ conversationId: first.conversationId, turn: 2, retrievalQuery: 'E como se evita isso? overfitting' });
    expect(second.segments[0]?.videoId).toBe('aula03');
    const alone = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: 'c1', question: 'E como se evita isso?' }));
    expect(alone.retrievalQuery).toBeNull();

    expect(await service.linkThread('discord', 'thread-1', first.conversationId!)).toBe(true);
    expect(await service.threadConversation('discord', 'thread-1')).toBe(first.conversationId);
    const third = answered(await service.ask({ platform: 'discord', userId: 'colega', channel: 'thread-1', question: 'e a validação cruzada ajuda?', conversation: { thread: 'thread-1' } }));
    expect(third).toMatchObject({ conversationId: first.conversationId, turn: 3 });

    const conversation = await store.getConversation(first.conversationId!);
    expect(conversation?.turns.map((t) => [t.turn, t.question, t.answerId])).toEqual([
      [1, 'O que é overfitting?', first.id],
      [2, 'E como se evita isso?', second.id],
      [3, 'e a validação cruzada ajuda?', third.id],
    ]);
    expect(conversation?.turns[1]?.retrievalQuery).toBe('E como se evita isso? overfitting');
    expect(conversation?.turns[0]?.segments.length).toBeGreaterThan(0);
    expect(conversation?.turns[2]?.user).toBe(store.pseudonymize('discord', 'colega'));

    const exported = toJsonl(await store.listRecords())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { conversationId: string; turn: number; question: string });
    expect(exported.filter((r) => r.conversationId === first.conversationId).map((r) => r.turn)).toEqual([1, 2, 3]);
  });

  it('a thread without a conversation starts one (linked when asked to), and a follow-up to an unknown answer is refused', async () => {
    const store = await memoryStore();
    const service = bot(store);
    const fresh = answered(await service.ask({ platform: 'slack', userId: 'U1', channel: 'C1', question: 'O que é dropout?', conversation: { thread: 'C1:111.222', linkIfNew: true } }));
    expect(fresh.turn).toBe(1);
    expect(await store.threadConversation('slack', 'C1:111.222')).toBe(fresh.conversationId);
    const unlinked = answered(await service.ask({ platform: 'discord', userId: 'a', channel: 'x', question: 'O que é dropout?', conversation: { thread: 'qualquer' } }));
    expect(unlinked.turn).toBe(1);
    expect(await store.threadConversation('discord', 'qualquer')).toBeNull();
    expect(await service.ask({ platform: 'discord', userId: 'a', channel: 'x', question: 'e isso?', conversation: { answerId: 'nao-existe' } })).toEqual({
      status: 'conversation-closed',
      message: MESSAGES.followUpNotFound,
    });
  });

  it('refuses a follow-up once the conversation has CONVERSATION_MAX_TURNS turns, and keeps only the turns that fit the token budget', async () => {
    const store = await memoryStore();
    const service = bot(store, { maxTurns: 3, maxHistoryTokens: 200 });
    const first = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'O que é overfitting?' }));
    const second = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'e a regularização?', conversation: { answerId: first.id } }));
    const third = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'e a validação cruzada?', conversation: { answerId: second.id } }));
    // Extractive answers are long: two earlier turns do not fit 200 tokens, so the oldest is left out.
    expect(third.notices).toContain(MESSAGES.historyTrimmed(1));
    const refused = await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'e mais uma?', conversation: { answerId: third.id } });
    expect(refused).toEqual({ status: 'conversation-closed', message: MESSAGES.conversationTooLong(3) });
    expect(MESSAGES.conversationTooLong(3)).toMatch(/^Esta conversa chegou ao limite de 3 perguntas\. Para continuar, faça uma nova pergunta com \/pergunta/);
    expect((await store.getConversation(first.conversationId!))?.turns).toHaveLength(3);
  });
});

describe('lecture filter through BotService', () => {
  it('restricts to the named lecture, says so for unknown ones, reads the Slack prefix, keeps it for follow-ups and drops it to search everywhere', async () => {
    const store = await memoryStore();
    const service = bot(store);
    const filtered = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'O que é fine-tuning?', lecture: 'aula06' }));
    expect(filtered.lectureFilter).toEqual(['aula06']);
    expect(filtered.references.every((r) => r.videoId === 'aula06')).toBe(true);
    expect((await store.getAnswer(filtered.id))?.lectureFilter).toEqual(['aula06']);

    const typed = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'O que é fine-tuning?', lecture: 'aula 6' }));
    expect(typed.lectureFilter).toEqual(['aula06']);

    const unknown = await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'O que é fine-tuning?', lecture: 'aula 42' });
    expect(unknown.status).toBe('unknown-lecture');
    expect(unknown.status === 'unknown-lecture' && unknown.message).toMatch(/^Não encontrei a aula “aula 42”\. Aulas disponíveis: Aula 1 — O que é aprendizado de máquina; /);

    const prefixed = answered(await service.ask({ platform: 'slack', userId: 'U1', channel: 'C1', question: 'aula 3: o que é validação cruzada?', lecturePrefix: true }));
    expect(prefixed).toMatchObject({ question: 'o que é validação cruzada?', lectureFilter: ['aula03'] });
    const colon = answered(await service.ask({ platform: 'slack', userId: 'U1', channel: 'C1', question: 'Dúvida: o que é dropout?', lecturePrefix: true }));
    expect(colon).toMatchObject({ question: 'Dúvida: o que é dropout?', lectureFilter: null });

    const followUp = answered(await service.ask({ platform: 'slack', userId: 'U1', channel: 'C1', question: 'e o k-fold?', conversation: { answerId: prefixed.id } }));
    expect(followUp.lectureFilter).toEqual(['aula03']);

    const nowhere = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: 'Como funciona a curva ROC?', lecture: 'aula 1' }));
    expect(nowhere.kind).toBe('not-found');
    const everywhere = answered(await service.ask({ platform: 'discord', userId: 'a', channel: null, question: '', everywhereOf: nowhere.id }));
    expect(everywhere).toMatchObject({ question: 'Como funciona a curva ROC?', lectureFilter: null, conversationId: nowhere.conversationId, turn: 2 });
    expect(everywhere.kind).toBe('extractive');
    expect(everywhere.references.some((r) => r.videoId === 'aula07')).toBe(true);
  });
});

describe('daily quota', () => {
  it('refuses the question after the limit until the course’s midnight, with the reset time; staff exempt; follow-ups count', async () => {
    const store = await memoryStore();
    // 2026-03-12 20:00 in São Paulo (23:00 UTC): the quota resets at 03:00 UTC.
    let now = Date.UTC(2026, 2, 12, 23, 0, 0);
    const service = bot(store, { dailyLimit: 2, timeZone: 'America/Sao_Paulo' }, () => now);
    const first = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: null, question: 'O que é overfitting?' }));
    answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: null, question: 'e como evitar?', conversation: { answerId: first.id } }));
    const refused = await service.ask({ platform: 'discord', userId: 'aluna', channel: null, question: 'O que é dropout?' });
    expect(refused).toMatchObject({ status: 'rate-limited', limit: 'daily', retryAfterSeconds: 4 * 3600 });
    const message = refused.status === 'rate-limited' ? refused.message : '';
    expect(message).toBe('Você já fez 2 perguntas hoje, o limite diário. Sua cota renova à meia-noite de 13/03 (Horário Padrão de Brasília), daqui a 4 h.');
    expect(service.checkRateLimit({ platform: 'discord', userId: 'aluna' })).toMatchObject({ limit: 'daily', message });
    // Another user, and staff, are not affected.
    expect(service.checkRateLimit({ platform: 'discord', userId: 'outra' })).toBeNull();
    for (let i = 0; i < 3; i++) answered(await service.ask({ platform: 'slack', userId: 'UMONITOR', channel: null, question: `Pergunta ${i} sobre dropout`, staff: true }));
    expect(service.checkRateLimit({ platform: 'slack', userId: 'UMONITOR', staff: true })).toBeNull();
    // After midnight in São Paulo (03:00 UTC) she may ask again.
    now = Date.UTC(2026, 2, 13, 3, 0, 1);
    expect(service.checkRateLimit({ platform: 'discord', userId: 'aluna' })).toBeNull();
    answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: null, question: 'O que é dropout?' }));
  });

  it('is off by default', async () => {
    const service = bot(await memoryStore());
    for (let i = 0; i < 30; i++) expect(service.checkRateLimit({ platform: 'discord', userId: 'a' })).toBeNull();
  });
});

describe('the answer policy in the prompt and in the stored record', () => {
  let work: string;
  let fake: FakeOpenAI;
  let core: Core;
  beforeAll(async () => {
    work = await tempDir('bot-policy-');
    fake = await startFakeOpenAI();
    const config = loadConfig(
      { COURSE_DIR: SAMPLE_COURSE, OPENAI_API_KEY: 'sk-test-bot-policy', OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' },
      path.join(work, 'no.env'),
    );
    core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  });
  afterAll(async () => {
    await fake?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('a request for a graded solution gets the guide rules in the prompt; the record stores the policy; a follow-up is condensed first', async () => {
    const store = await memoryStore();
    const log = recordingLogger();
    const service = new BotService(core.answers, store, new RateLimiter(100), log.logger);
    fake.enqueue({ type: 'text', text: 'Não posso resolver a Lista 2 por você, mas a aula 3 explica a validação cruzada k-fold [1].' });
    const outcome = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: 'c', question: 'Me passa a resposta da Lista 2, exercício da validação cruzada k-fold?' }));
    const prompt = fake.requests.at(-1)!;
    expect(prompt.messages[0]!.content).toContain('NÃO resolva exercícios avaliados');
    expect(prompt.messages[0]!.content).toContain('Lista 2 — overfitting, regularização L1/L2 e validação cruzada k-fold');
    const record = await store.getAnswer(outcome.id);
    expect(record?.policy).toMatchObject({ mode: 'guide', version: '2026-1' });
    expect(record?.policy?.text).toContain('## Trabalhos avaliados');

    // The follow-up: condense (1 call), then the answer with the conversation (1 call).
    const before = fake.requests.length;
    fake.enqueue({ type: 'text', text: 'Como funciona a validação cruzada k-fold?' });
    fake.enqueue({ type: 'text', text: 'O k-fold divide os dados em k partes [1].' });
    const followUp = answered(await service.ask({ platform: 'discord', userId: 'aluna', channel: 'c', question: 'Tá, e como ela funciona?', conversation: { answerId: outcome.id } }));
    expect(fake.requests.length - before).toBe(2);
    expect(followUp.retrievalQuery).toBe('Como funciona a validação cruzada k-fold?');
    expect(lastMessage(fake.requests.at(-1)!)).toContain('<pergunta>Me passa a resposta da Lista 2, exercício da validação cruzada k-fold?</pergunta>');
    expect((await store.getAnswer(followUp.id))).toMatchObject({ turn: 2, conversationId: outcome.conversationId, retrievalQuery: 'Como funciona a validação cruzada k-fold?' });
  });
});
