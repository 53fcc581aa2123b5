/**
 * Fixture records for tests of the store, export and judge: one place that knows the shape of
 * an answer, a judge verdict and a full (exported) record, so a field added to the data model is
 * added here once. Every factory takes overrides; defaults are plausible pt-BR course data.
 */
import { randomUUID } from 'node:crypto';
import type { AnswerResult } from '../../src/types.js';
import type { AnswerRecord, ConversationTurn, FeedbackStore, FullRecord, JudgeRecord, Platform, StoredSegment } from '../../src/store/types.js';

/** What `FeedbackStore.recordAnswer` takes: an answer without who asked it. */
export type NewAnswer = Parameters<FeedbackStore['recordAnswer']>[0];

export function segment(overrides: Partial<StoredSegment> = {}): StoredSegment {
  return {
    corpusId: 412,
    score: 0.8421,
    foundBy: { dense: { rank: 1, score: 0.91 }, lexical: { rank: 3, score: 6.25 } },
    videoId: 'aula6',
    title: 'Aula 6 — Regularização',
    url: 'https://youtu.be/abc123?t=2470',
    start: 2470,
    end: 2615,
    text: 'então o dropout ele desliga aleatoriamente alguns neurônios',
    ...overrides,
  };
}

/** A fresh answer (new id, created now unless overridden) as BotService hands it to the store. */
export function newAnswer(overrides: Partial<NewAnswer> = {}): NewAnswer {
  return {
    id: randomUUID(),
    question: 'Como funciona o dropout?',
    answer: 'O dropout desliga neurônios aleatoriamente durante o treino [1].',
    kind: 'llm',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-11-26.1',
    segments: [segment()],
    references: [{ videoId: 'aula6', title: 'Aula 6 — Regularização', start: 2470, end: 2615, url: 'https://youtu.be/abc123?t=2470' }],
    notices: [],
    timings: { embedMs: 12, retrieveMs: 30, generateMs: 800, totalMs: 850 },
    createdAt: new Date().toISOString(),
    conversationId: null,
    turn: null,
    lectureFilter: null,
    policy: null,
    retrievalQuery: null,
    ...overrides,
  };
}

/** A stored answer: `newAnswer` plus who asked it (already pseudonymous). */
export function answerRecord(overrides: Partial<AnswerRecord> = {}): AnswerRecord {
  const { platform = 'discord', channel = 'c1', user = 'discord:0123456789abcdef', ...answer } = overrides;
  const fresh = newAnswer(answer);
  return {
    ...fresh,
    conversationId: fresh.conversationId ?? null,
    turn: fresh.turn ?? null,
    lectureFilter: fresh.lectureFilter ?? null,
    policy: fresh.policy ?? null,
    retrievalQuery: fresh.retrievalQuery ?? null,
    platform,
    channel,
    user,
  };
}

/** The part of a stored answer that `recordAnswer` takes, and the context it takes with it. */
export function splitAnswer(record: AnswerRecord, rawUserId: string): [NewAnswer, { platform: Platform; channel: string | null; rawUserId: string }] {
  const { platform, channel, user: _user, ...answer } = record;
  return [answer, { platform, channel, rawUserId }];
}

/** A successful judge verdict with fixed scores and time (the export golden files use it). */
export function judgeRecord(answerId: string, overrides: Partial<JudgeRecord> = {}): JudgeRecord {
  return {
    answerId,
    status: 'ok',
    error: null,
    judgeModel: 'gpt-4o',
    promptVersion: 'juiz-2026-11-26.1',
    at: '2026-03-20T10:00:00.000Z',
    answerRelevance: { raw: 3, normalized: 1, criteria: 'A resposta explica o que foi perguntado.', supportingEvidence: 'Diz que o dropout desliga neurônios.' },
    contextRelevance: [
      { corpusId: 412, raw: 3, normalized: 1, criteria: 'c', supportingEvidence: 'e' },
      { corpusId: 17, raw: 1, normalized: 1 / 3, criteria: 'c', supportingEvidence: 'e' },
    ],
    groundedness: [{ sentence: 'O dropout desliga neurônios aleatoriamente durante o treino [1].', raw: 3, normalized: 1, criteria: 'c', supportingEvidence: 'e' }],
    groundednessMean: 1,
    label: 'C',
    abstained: false,
    reasoning: 'Criteria: A resposta explica o que foi perguntado. Supporting Evidence: Diz que o dropout desliga neurônios. Score: 3',
    ...overrides,
  };
}

/** An answer with no votes, annotation or verdict unless given. */
export function fullRecord(overrides: Partial<FullRecord> = {}): FullRecord {
  const { votes = { up: 0, down: 0, items: [] }, annotation = null, judge = null, case: caseSummary = null, verifiedHits = 0, ...answer } = overrides;
  return { ...answerRecord(answer), votes, annotation, judge, case: caseSummary, verifiedHits };
}

/** Turn `turn` of a conversation, as BotService saves it (question "Pergunta <turn>"). */
export function turnOf(conversationId: string, turn: number, user = 'discord:0123456789abcdef', overrides: Partial<ConversationTurn> = {}): ConversationTurn {
  const { corpusId, videoId, title, start, end, url, text } = segment();
  return {
    conversationId,
    turn,
    answerId: randomUUID(),
    question: `Pergunta ${turn}`,
    retrievalQuery: `Pergunta ${turn}`,
    answer: `Resposta ${turn} [1].`,
    kind: 'llm',
    segments: [{ corpusId, videoId, title, start, end, url, text }],
    lectureFilter: null,
    platform: 'discord',
    user,
    at: new Date().toISOString(),
    ...overrides,
  };
}

/** An answer as the core returns it, for the adapters' pure rendering functions. */
export function answerResult(overrides: Partial<AnswerResult> = {}): AnswerResult {
  return {
    id: randomUUID(),
    question: 'Pergunta?',
    answer: 'Resposta.',
    kind: 'llm',
    references: [],
    segments: [],
    retriever: 'bm25',
    embeddingModel: null,
    model: 'fake-model',
    promptVersion: 'test',
    notices: [],
    timings: { retrieveMs: 1, generateMs: 1, totalMs: 2 },
    createdAt: new Date(0).toISOString(),
    retrievalQuery: null,
    lectureFilter: null,
    policy: null,
    conversationId: null,
    turn: null,
    ...overrides,
  };
}

