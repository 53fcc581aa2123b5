/**
 * Answers that reuse a TA's verified answer (AnswerService + Knowledge on a memory store, fake
 * OpenAI server): the verified answer goes first, labelled by kind `verified`; the LLM gets the
 * rule not to contradict it and may add a complement; "nothing to add" and LLM failures leave the
 * verified answer alone; without an LLM it is given as it is; staff notes attach to answers that
 * cite their lecture moment.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnswerService, VERIFIED_COMPLEMENT_HEADER } from '../../src/answer/answerService.js';
import { createLlm } from '../../src/answer/llm.js';
import { NOTHING_TO_ADD, PROMPT_VERSION, VERIFIED_PROMPT_VERSION } from '../../src/answer/prompt.js';
import { Knowledge } from '../../src/humanloop/knowledge.js';
import type { Retriever, SearchResult } from '../../src/retrieval/retriever.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore, StaffRef, VerifiedAnswer } from '../../src/store/types.js';
import type { RetrievedSegment, Video } from '../../src/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { silentLogger } from '../helpers/course.js';

const videos = new Map<string, Video>([['aula03', { id: 'aula03', title: 'Aula 3 — Overfitting', url: 'https://youtu.be/abcdefghijk', transcript: 'a.vtt' }]]);
const SEGMENT: RetrievedSegment = {
  corpusId: 7,
  videoId: 'aula03',
  start: 51,
  end: 94,
  text: 'overfitting é quando o modelo decora o treino e vai mal em dados novos',
  score: 0.03,
  foundBy: { lexical: { rank: 1, score: 5 } },
  title: 'Aula 3 — Overfitting',
  url: 'https://youtu.be/abcdefghijk?t=51',
};
const retriever: Retriever = {
  async search(): Promise<SearchResult> {
    return { segments: [SEGMENT], retriever: 'bm25', embeddingModel: null, notices: [], searchMs: 1 };
  },
};
const TA: StaffRef = { user: 'slack:0123456789abcdef', name: 'ana', at: '2026-03-10T12:00:00.000Z' };
const VERIFIED_TEXT = 'Overfitting é quando o modelo se ajusta demais ao treino. Veja a aula 3 a partir de 1:01.';

let fake: FakeOpenAI;
let store: FeedbackStore;
let knowledge: Knowledge;

beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(async () => {
  store = await createFeedbackStore({ url: 'memory://', salt: 'sal-verificado', logger: silentLogger() });
  knowledge = new Knowledge({ store, embedder: null, logger: silentLogger(), thresholds: { dense: 0.93, lexical: 0.85 } });
  const verified: VerifiedAnswer = {
    id: randomUUID(),
    question: 'O que é overfitting?',
    answer: VERIFIED_TEXT,
    references: [{ videoId: 'aula03', title: 'Aula 3 — Overfitting', start: 61, end: 61, url: 'https://youtu.be/abcdefghijk?t=61' }],
    source: 'ta-answer',
    caseId: 'case-1',
    answerId: 'answer-1',
    by: TA,
    createdAt: TA.at,
    updatedAt: TA.at,
    updatedBy: null,
    retired: null,
    embedding: null,
  };
  await store.loop.addVerified(verified);
  await store.loop.addNotes([
    { id: 'note-1', text: 'Atenção: no minuto 1:10 o professor troca treino por teste.', videoId: 'aula03', title: 'Aula 3 — Overfitting', start: 60, end: 80, url: 'https://youtu.be/abcdefghijk?t=60', caseId: 'case-0', answerId: null, by: TA, createdAt: TA.at, retired: null },
  ]);
  await knowledge.refresh();
});
afterEach(async () => {
  fake.reset();
  await store.close();
});

function service(withLlm: boolean): AnswerService {
  const s = new AnswerService({
    retriever,
    videos,
    llm: withLlm ? createLlm({ apiKey: 'sk-test-verified', baseURL: fake.baseURL, model: 'fake-model', timeoutMs: 2000, maxRetries: 0 }) : null,
    k: 3,
  });
  s.useKnowledge(knowledge);
  return s;
}

describe('a question that matches a verified answer', () => {
  it('gets the verified answer first, then the LLM complement, with the TA links and the cited excerpt', async () => {
    fake.enqueue({ type: 'text', text: 'Nas aulas, o professor sugere comparar o erro de treino com o de validação [1].' });
    const deltas: string[] = [];
    const r = await service(true).answer('o que é overfitting', { onDelta: (d) => deltas.push(d) });
    expect(r.kind).toBe('verified');
    expect(r.promptVersion).toBe(VERIFIED_PROMPT_VERSION);
    expect(r.verified).toMatchObject({ question: 'O que é overfitting?', method: 'lexical', similarity: 1, at: TA.at });
    expect(r.answer).toBe(`${VERIFIED_TEXT}\n\n**${VERIFIED_COMPLEMENT_HEADER}** Nas aulas, o professor sugere comparar o erro de treino com o de validação [1].`);
    expect(deltas[0]).toBe(VERIFIED_TEXT);
    expect(deltas.join('')).toBe(r.answer);
    expect(r.references.map((ref) => [ref.start, ref.end])).toEqual([
      [61, 61],
      [51, 94],
    ]);
    // The LLM was told the verified answer and the rule not to contradict it.
    const [request] = fake.requests;
    const system = request!.messages.find((m) => m.role === 'system')!.content;
    const user = request!.messages.find((m) => m.role === 'user')!.content;
    expect(system).toMatch(/Não a repita, não a contradiga/);
    expect(system).toContain(NOTHING_TO_ADD);
    expect(user).toContain('<resposta_verificada>');
    expect(user).toContain('Overfitting é quando o modelo se ajusta demais ao treino.');
    // The note pinned to 1:00–1:20 shows: the answer cites 1:01 and 0:51–1:34.
    expect(r.notes?.map((n) => n.id)).toEqual(['note-1']);
  });

  it('drops the complement when the LLM has nothing to add, or fails; never fails the question', async () => {
    fake.enqueue({ type: 'text', text: `${NOTHING_TO_ADD}.` });
    const quiet = await service(true).answer('O que é overfitting?');
    expect(quiet.answer).toBe(VERIFIED_TEXT);
    expect(quiet.references).toHaveLength(1);
    fake.enqueue({ type: 'error', status: 500 });
    const failed = await service(true).answer('O que é overfitting?');
    expect(failed.kind).toBe('verified');
    expect(failed.answer).toBe(VERIFIED_TEXT);
  });

  it('without an LLM, gives the verified answer as it is', async () => {
    const r = await service(false).answer('O que é overfitting?');
    expect(r.kind).toBe('verified');
    expect(r.answer).toBe(VERIFIED_TEXT);
    expect(fake.requests).toHaveLength(0);
  });

  it('a different question is answered as usual, and still shows the note of the moment it cites', async () => {
    fake.enqueue({ type: 'text', text: 'Regularização penaliza pesos grandes [1].' });
    const r = await service(true).answer('Como a regularização ajuda?');
    expect(r.kind).toBe('llm');
    expect(r.promptVersion).toBe(PROMPT_VERSION);
    expect(r.verified).toBeUndefined();
    expect(r.notes?.map((n) => n.text)).toEqual(['Atenção: no minuto 1:10 o professor troca treino por teste.']);
    expect(fake.requests[0]!.messages.some((m) => m.content.includes('resposta_verificada'))).toBe(false);
  });

  it('is matched before the "not covered" decision: a TA answer to what the lectures do not cover is shown, with no LLM call', async () => {
    // The retriever's evidence says the course never uses the question's words ("not found", #15).
    const notCovered: Retriever = {
      async search(): Promise<SearchResult> {
        return {
          // Found by meaning alone (kept), sharing no word with the question.
          segments: [{ ...SEGMENT, foundBy: { dense: { rank: 1, score: 0.4 } }, evidence: { coverage: 0, matched: [] } }],
          retriever: 'bm25',
          embeddingModel: null,
          notices: [],
          searchMs: 1,
          coverage: { lexical: 0, matched: [], unknown: ['prova', 'cair'], contentWords: 2, dense: null },
        };
      },
    };
    const make = (withKnowledge: boolean) => {
      const s = new AnswerService({ retriever: notCovered, videos, llm: createLlm({ apiKey: 'sk-test-verified', baseURL: fake.baseURL, model: 'fake-model', timeoutMs: 2000, maxRetries: 0 }), k: 3 });
      if (withKnowledge) s.useKnowledge(knowledge);
      return s;
    };
    const EXAM = 'A prova cobre as aulas 1 a 6; transformers não caem.';
    await store.loop.addVerified({
      id: randomUUID(),
      question: 'Vai cair na prova?',
      answer: EXAM,
      references: [],
      source: 'ta-answer',
      caseId: 'case-2',
      answerId: 'answer-2',
      by: TA,
      createdAt: TA.at,
      updatedAt: TA.at,
      updatedBy: null,
      retired: null,
      embedding: null,
    });
    await knowledge.refresh();

    const before = await make(false).answer('vai cair na prova?');
    expect(before.kind).toBe('not-found');
    const after = await make(true).answer('vai cair na prova?');
    expect(after.kind).toBe('verified');
    expect(after.answer).toBe(EXAM);
    // Excerpts that do not cover the question are not handed to the LLM for a complement.
    expect(fake.requests).toHaveLength(0);
  });

  it('BotService records the verified answer it used and the notes it showed', async () => {
    const { BotService } = await import('../../src/bot/botService.js');
    const { RateLimiter } = await import('../../src/bot/rateLimiter.js');
    const bot = new BotService(service(false), store, new RateLimiter(100), silentLogger());
    const outcome = await bot.ask({ platform: 'discord', userId: '123', channel: null, question: 'O que é overfitting?' });
    expect(outcome.status).toBe('answered');
    const id = outcome.status === 'answered' ? outcome.result.id : '';
    const stored = await store.getAnswer(id);
    expect(stored).toMatchObject({ kind: 'verified', verified: { method: 'lexical', similarity: 1 }, staffNotes: ['note-1'] });
    expect(Object.keys(stored!.verified!).sort()).toEqual(['id', 'method', 'similarity']);
  });
});
