/** Agreement between manual and automated labels (accuracy, Cohen's kappa, confusion matrix) and the summary. */
import { describe, expect, it } from 'vitest';
import { NOT_COVERED_SENTENCE } from '../../src/answer/prompt.js';
import { agreement, cohensKappa, confusionMatrix, type LabelPair } from '../../src/evaluation/agreement.js';
import { formatSummary, summarize } from '../../src/evaluation/summary.js';
import type { FullRecord, JudgeRecord, Label } from '../../src/store/types.js';

function pairs(spec: [Label, Label, number][]): LabelPair[] {
  return spec.flatMap(([manual, automated, n]) => Array.from({ length: n }, () => ({ manual, automated })));
}

describe("Cohen's kappa", () => {
  it('is 1 for perfect agreement', () => {
    const p = pairs([
      ['C', 'C', 5],
      ['P', 'P', 3],
      ['I', 'I', 2],
    ]);
    expect(agreement(p)).toMatchObject({ n: 10, accuracy: 1, kappa: 1 });
    expect(cohensKappa([[4, 0, 0], [0, 4, 0], [0, 0, 4]])).toBe(1);
  });

  it('matches textbook examples', () => {
    // Two raters, 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → pₒ = 0.7, pₑ = 0.5, κ = 0.4.
    expect(cohensKappa([[20, 5], [10, 15]])).toBeCloseTo(0.4, 10);
    // The same table on the C/P/I matrix, with an unused third category.
    const p = pairs([
      ['C', 'C', 20],
      ['C', 'I', 5],
      ['I', 'C', 10],
      ['I', 'I', 15],
    ]);
    const a = agreement(p);
    expect(a.accuracy).toBeCloseTo(0.7, 10);
    expect(a.kappa).toBeCloseTo(0.4, 10);
    expect(a.matrix).toEqual([
      [20, 0, 5],
      [0, 0, 0],
      [10, 0, 15],
    ]);
    // Same observed agreement (0.6), different marginals: κ = 0.1304 and 0.2593.
    expect(cohensKappa([[45, 15], [25, 15]])).toBeCloseTo(0.1304, 4);
    expect(cohensKappa([[25, 35], [5, 35]])).toBeCloseTo(0.2593, 4);
    // A 3×3 table: pₒ = 78/100, pₑ = (30·36 + 30·28 + 40·36) / 100² = 0.336, κ = 0.444/0.664 ≈ 0.6687.
    expect(cohensKappa([[25, 3, 2], [5, 22, 3], [6, 3, 31]])).toBeCloseTo(0.444 / 0.664, 10);
  });

  it('is 0 for chance-level agreement and negative below it', () => {
    expect(cohensKappa([[25, 25], [25, 25]])).toBeCloseTo(0, 10);
    expect(cohensKappa([[0, 10], [10, 0]])).toBeCloseTo(-1, 10);
  });

  it('handles the edge cases without NaN', () => {
    // Both raters used one and the same category for everything.
    const same = agreement(pairs([['C', 'C', 7]]));
    expect(same).toMatchObject({ n: 7, accuracy: 1, kappa: 1 });
    // Each rater used one category, different ones.
    const apart = agreement(pairs([['C', 'I', 4]]));
    expect(apart.accuracy).toBe(0);
    expect(apart.kappa).toBe(0);
    expect(Number.isNaN(apart.kappa)).toBe(false);
    // Nothing to compare.
    expect(agreement([])).toEqual({ n: 0, accuracy: null, kappa: null, labels: ['C', 'P', 'I'], matrix: [[0, 0, 0], [0, 0, 0], [0, 0, 0]] });
    expect(cohensKappa([[0, 0], [0, 0]])).toBeNull();
  });

  it('rejects malformed matrices and labels', () => {
    expect(() => cohensKappa([[1, 2, 3], [4, 5, 6]])).toThrow(RangeError);
    expect(() => cohensKappa([[1, -1], [0, 1]])).toThrow(RangeError);
    expect(() => confusionMatrix([{ manual: 'X' as Label, automated: 'C' }])).toThrow(RangeError);
  });
});

describe('summarize', () => {
  const score = (raw: number) => ({ raw, normalized: raw / 3, criteria: 'c', supportingEvidence: 'e' });
  const verdict = (answerId: string, o: Partial<JudgeRecord>): JudgeRecord => ({
    answerId,
    status: 'ok',
    error: null,
    judgeModel: 'juiz',
    promptVersion: 'juiz-x',
    at: '2026-03-20T10:00:00.000Z',
    answerRelevance: score(3),
    contextRelevance: [{ ...score(3), corpusId: 1 }],
    groundedness: [{ ...score(3), sentence: 's' }],
    groundednessMean: 1,
    label: 'C',
    abstained: false,
    reasoning: 'Criteria: c Supporting Evidence: e Score: 3',
    ...o,
  });
  const rec = (id: string, o: Partial<FullRecord>): FullRecord => ({
    id,
    question: 'q',
    answer: 'Uma resposta qualquer.',
    kind: 'llm',
    retriever: 'bm25',
    embeddingModel: null,
    model: 'm',
    promptVersion: 'p',
    segments: [],
    references: [],
    notices: [],
    timings: { retrieveMs: 1, generateMs: 1, totalMs: 2 },
    platform: 'discord',
    channel: null,
    user: 'discord:0000000000000000',
    createdAt: '2026-03-01T00:00:00.000Z',
    conversationId: null,
    turn: null,
    lectureFilter: null,
    policy: null,
    retrievalQuery: null,
    votes: { up: 0, down: 0, items: [] },
    annotation: null,
    judge: null,
    case: null,
    verifiedHits: 0,
    ...o,
  });
  const ann = (answerId: string, label: Label) => ({ answerId, label, annotator: 'slack:1', platform: 'slack' as const, at: '2026-03-02T00:00:00.000Z' });

  it('averages the answered records, reports abstentions apart and computes agreement', () => {
    const records = [
      rec('a', { judge: verdict('a', {}), annotation: ann('a', 'C'), votes: { up: 3, down: 1, items: [] } }),
      rec('b', {
        judge: verdict('b', {
          answerRelevance: score(1),
          contextRelevance: [{ ...score(0), corpusId: 1 }, { ...score(3), corpusId: 2 }],
          groundednessMean: 0.5,
          label: 'I',
        }),
        annotation: ann('b', 'P'),
      }),
      rec('c', {
        answer: NOT_COVERED_SENTENCE,
        kind: 'not-found',
        judge: verdict('c', { abstained: true, answerRelevance: null, groundedness: [], groundednessMean: null, contextRelevance: [{ ...score(1), corpusId: 1 }] }),
        annotation: ann('c', 'C'),
        votes: { up: 0, down: 1, items: [] },
      }),
      rec('d', { judge: verdict('d', { status: 'failed', error: 'x', answerRelevance: null, label: null }), annotation: ann('d', 'I') }),
      rec('e', {}),
    ];
    const s = summarize(records, { now: new Date('2026-04-01T00:00:00Z') });
    // One verdict of the four made failed.
    expect(s.records).toEqual({ total: 5, judged: 3, failed: 1, unjudged: 1, failedShare: 0.25 });
    expect(s.answered).toEqual({ count: 4, judged: 2, meanAnswerRelevance: (1 + 1 / 3) / 2, meanContextRelevance: (1 + 0.5) / 2, meanGroundedness: 0.75 });
    expect(s.abstentions).toEqual({ count: 1, judged: 1, meanContextRelevance: 1 / 3 });
    expect(s.votes).toEqual({ up: 3, down: 2, upRate: 0.6 });
    expect(s.labels).toEqual({ manual: { C: 2, P: 1, I: 1 }, automated: { C: 2, P: 0, I: 1 } });
    expect(s.agreement.n).toBe(3);
    expect(s.agreement.accuracy).toBeCloseTo(2 / 3, 10);
    expect(s.judgeModels).toEqual(['juiz']);
    expect(s.labelled).toEqual({ total: 4, failedVerdict: 1, noVerdict: 0 });
    // Per metric: 'a' (TA C) reads C on every metric; 'b' (TA P) has AR 1 → I, context relevance
    // mean 0.5 → P, groundedness 0.5 → P; the abstention 'c' only counts for the label.
    const m = s.agreementByMetric;
    expect(m.label).toEqual(s.agreement);
    expect([m.answerRelevance.n, m.contextRelevance.n, m.groundedness.n, m.label.n]).toEqual([2, 2, 2, 3]);
    expect(m.answerRelevance.accuracy).toBe(0.5);
    // pₒ = 1/2, pₑ = 1/2 · 1/2 (C) = 1/4 → κ = 1/3.
    expect(m.answerRelevance.kappa).toBeCloseTo(1 / 3, 10);
    expect(m.answerRelevance.matrix).toEqual([
      [1, 0, 0],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    expect(m.contextRelevance).toMatchObject({ accuracy: 1, kappa: 1 });
    expect(m.groundedness).toMatchObject({ accuracy: 1, kappa: 1 });
    const table = formatSummary(s);
    expect(table).toContain('| Answer Relevance (AR) média | 0.67 |');
    expect(table).toContain('| taxa de 👍 | 60% (👍 3 · 👎 2) |');
    expect(table).toContain('| C | 2 | 0 | 0 |');
    expect(table).toContain('| P | 0 | 0 | 1 |');
    expect(table).toContain('| avaliações que falharam | 25% (1 de 4) |');
    expect(table).toContain('| relevância da resposta (AR: 3 → C, 2 → P, 0–1 → I) | 2 | 0.50 | 0.33 |');
    expect(table).toContain('| relevância do contexto (média dos trechos: ≥ 2/3 → C, < 1/3 → I, senão P) | 2 | 1.00 | 1.00 |');
    expect(table).toContain('| fundamentação (média das frases: ≥ 2/3 → C, < 1/3 → I, senão P) | 2 | 1.00 | 1.00 |');
    expect(table).toContain('| anotação automatizada (C/P/I) | 3 | 0.67 | 0.40 |');
    expect(table).toContain('Das 4 respostas anotadas, ficaram fora da comparação 1 cuja avaliação falhou e 0 ainda sem avaliação.');
  });

  it('reads each metric as C/P/I at the automated label’s thresholds, and leaves out what has no score', () => {
    // [TA label, AR raw, context relevance raws, groundedness mean, automated label]
    const cases: [Label, number, number[], number | null, Label][] = [
      ['C', 3, [3, 3, 0], 2 / 3, 'C'], // context mean exactly 2/3 → C
      ['P', 2, [1, 1, 2], 0.5, 'P'], // context mean 4/9 → P
      ['I', 3, [0, 1, 0], 0.2, 'I'], // context mean 1/9 → I; groundedness < 1/3 → I; AR 3 → C
      ['I', 0, [], null, 'I'], // no segments, no judgeable sentence: AR and label only
    ];
    const records = cases.map(([ta, ar, cr, g, label], i) =>
      rec(`r${i}`, {
        annotation: ann(`r${i}`, ta),
        judge: verdict(`r${i}`, {
          answerRelevance: score(ar),
          contextRelevance: cr.map((raw, k) => ({ ...score(raw), corpusId: k })),
          groundedness: [],
          groundednessMean: g,
          label,
        }),
      }),
    );
    records.push(rec('sem-avaliacao', { annotation: ann('sem-avaliacao', 'C') }));
    const s = summarize(records);
    const m = s.agreementByMetric;
    expect(m.answerRelevance.matrix).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
    expect(m.contextRelevance.matrix).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    expect(m.groundedness.n).toBe(3);
    expect(m.groundedness.accuracy).toBe(1);
    expect(m.label).toMatchObject({ n: 4, accuracy: 1, kappa: 1 });
    expect(s.labelled).toEqual({ total: 5, failedVerdict: 0, noVerdict: 1 });
    expect(s.records.failedShare).toBe(0);
  });

  it('has no NaN when nothing was judged nor voted', () => {
    const s = summarize([]);
    expect(s.answered.meanAnswerRelevance).toBeNull();
    expect(s.votes.upRate).toBeNull();
    expect(s.agreement.kappa).toBeNull();
    expect(s.records.failedShare).toBeNull();
    for (const metric of Object.values(s.agreementByMetric)) expect(metric).toMatchObject({ n: 0, accuracy: null, kappa: null });
    expect(JSON.stringify(s)).not.toContain('NaN');
    expect(formatSummary(s)).toContain('| avaliações que falharam | — (0 de 0) |');
    expect(formatSummary(s)).toContain('| taxa de 👍 | — (👍 0 · 👎 0) |');
  });
});
