/**
 * TA answers as the judge's references (the human loop's golden set): a record whose case a TA
 * answered gets its correctness against that answer judged (0–3, same JSON contract), a record
 * judged before the TA answered is judged again, and the summary reports the mean correctness
 * and the agreement between the TA's verdict and the judge's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlm } from '../../src/answer/llm.js';
import { answerCorrectnessMessages, correctnessLabel, evaluateStore, Judge, needsJudging, taReference } from '../../src/evaluation/judge.js';
import { formatSummary, summarize } from '../../src/evaluation/summary.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore, Label } from '../../src/store/types.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeRequest } from '../fakes/fakeOpenAI.js';
import { caseRecord } from '../helpers/humanLoopStoreSuite.js';
import { newAnswer } from '../helpers/records.js';

const logger = createLogger({ level: 'silent' });
const reply = (score: number) => ({ type: 'text' as const, text: JSON.stringify({ criteria: 'c', supporting_evidence: 'e', score }) });
const TA_ANSWER = 'Underfitting é quando o modelo não aprende nem os dados de treino.';

let fake: FakeOpenAI;
let store: FeedbackStore;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(async () => {
  fake.reset();
  await store?.close();
});
afterAll(async () => {
  await fake.close();
});

const isCorrectness = (req: FakeRequest) => (req.messages.find((m) => m.role === 'user')?.content ?? '').startsWith('Tarefa: CORREÇÃO DA RESPOSTA');

function judge(): Judge {
  return new Judge({ llm: createLlm({ apiKey: 'sk-test-ref', baseURL: fake.baseURL, model: 'juiz', timeoutMs: 5000, maxRetries: 0, temperature: 0 }), logger });
}

/** An answer, and its case answered by a TA with `label` as their verdict on the bot. */
async function answeredCase(question: string, label: Label | null) {
  const answer = newAnswer({ question, answer: 'Underfitting é quando o modelo decora o treino [1].' });
  await store.recordAnswer(answer, { platform: 'discord', channel: null, rawUserId: '1' });
  const by = { user: 'slack:0000000000000001', name: 'ana', at: new Date().toISOString() };
  await store.loop.openOrJoin(
    answer.id,
    () => caseRecord({ answerId: answer.id, status: 'answered', resolution: { kind: 'answered', by, text: TA_ANSWER, references: [], botLabel: label, verifiedId: null, noteIds: [] } }),
    () => null,
  );
  return answer;
}

describe('TA answers as references', () => {
  it('the correctness prompt is pt-BR, on the 0–3 scale, with the reference delimited as data', () => {
    const [system, user] = answerCorrectnessMessages('O que é underfitting?', 'resposta <b>', TA_ANSWER);
    expect(system!.content).toContain('<referencia>');
    expect(user!.content).toMatch(/^Tarefa: CORREÇÃO DA RESPOSTA/);
    expect(user!.content).toContain('0 — a resposta contradiz a referência');
    expect(user!.content).toContain(`<referencia>\n${TA_ANSWER}\n</referencia>`);
    expect(user!.content).toContain('resposta &lt;b&gt;');
    expect([correctnessLabel(3), correctnessLabel(2), correctnessLabel(1), correctnessLabel(0)]).toEqual(['C', 'P', 'I', 'I']);
  });

  it('judges correctness against the TA answer, re-judges a record judged before the TA answered, and summarises the agreement', async () => {
    store = await createFeedbackStore({ url: 'memory://', salt: 'sal-ref', logger });
    const plain = newAnswer({ question: 'O que é dropout?' });
    await store.recordAnswer(plain, { platform: 'discord', channel: null, rawUserId: '1' });
    const wrong = await answeredCase('O que é underfitting?', 'I');
    const partial = await answeredCase('Underfitting e overfitting são opostos?', 'P');
    // The judge: 0 for the first answer's correctness, 3 for the second (disagreeing with the TA's P), 3 elsewhere.
    fake.setDefault((req) => {
      if (!isCorrectness(req)) return reply(3);
      return reply(req.messages.some((m) => m.content.includes('Underfitting e overfitting são opostos?')) ? 3 : 0);
    });
    const result = await evaluateStore(store, judge(), { logger });
    expect(result).toMatchObject({ judged: 3, failed: 0 });
    const correctnessCalls = fake.requests.filter(isCorrectness);
    expect(correctnessCalls).toHaveLength(2);

    const records = await store.listRecords();
    const byId = new Map(records.map((r) => [r.id, r]));
    expect(byId.get(plain.id)!.judge!.answerCorrectness).toBeNull();
    expect(byId.get(wrong.id)!.judge!.answerCorrectness).toMatchObject({ raw: 0, normalized: 0 });
    expect(byId.get(partial.id)!.judge!.answerCorrectness).toMatchObject({ raw: 3, normalized: 1 });
    expect(taReference(byId.get(wrong.id)!)).toBe(TA_ANSWER);
    expect(records.every((r) => !needsJudging(r))).toBe(true);

    const summary = summarize(records);
    expect(summary.taReferences).toMatchObject({ count: 2, judged: 2, meanCorrectness: 0.5 });
    expect(summary.taReferences.agreement).toMatchObject({ n: 2, accuracy: 0.5 });
    expect(formatSummary(summary)).toContain('| respostas com resposta do monitor | 2 (avaliadas: 2) |');
    expect(formatSummary(summary)).toMatch(/concordância juiz × monitor .* \| 2 pares: acurácia 0\.50/);

    // A TA answers the plain record's case after it was judged: it needs judging again.
    const by = { user: 'slack:0000000000000001', name: 'ana', at: new Date().toISOString() };
    await store.loop.openOrJoin(
      plain.id,
      () => caseRecord({ answerId: plain.id, status: 'answered', resolution: { kind: 'answered', by, text: 'Dropout desliga neurônios ao acaso.', references: [], botLabel: null, verifiedId: null, noteIds: [] } }),
      () => null,
    );
    const again = await store.listRecords();
    expect(again.filter((r) => needsJudging(r)).map((r) => r.id)).toEqual([plain.id]);
    const rerun = await evaluateStore(store, judge(), { logger });
    expect(rerun).toMatchObject({ judged: 1, skipped: 2 });
  });
});
