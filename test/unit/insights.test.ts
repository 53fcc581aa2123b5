/**
 * The staff insights' data: the aggregation shared by the report and the digest (heatmap bins,
 * top moments, per-lecture figures, time series, judge distributions, agreement), the
 * defensive reading of records (conversation fields of #16, escalation cases of #17), the
 * coverage gaps grouped lexically and with an embedding model, and the streamed read of a store.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { videoLinkAt } from '../../src/course/links.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { agreement } from '../../src/evaluation/agreement.js';
import { InsightsAggregator, KNOWN_KINDS, type AggregateOptions, type GapQuestion } from '../../src/insights/aggregate.js';
import { weekOf } from '../../src/insights/calendar.js';
import { collectInsights, insightsSource } from '../../src/insights/collect.js';
import { groupGaps } from '../../src/insights/gaps.js';
import type { LectureCatalog } from '../../src/insights/lectures.js';
import { toInsightRecord } from '../../src/insights/records.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { KeyvFeedbackStore } from '../../src/store/keyvStore.js';
import type { CaseStatus, EscalationCase, FullRecord, Label } from '../../src/store/types.js';
import { silentLogger } from '../helpers/course.js';
import { caseRecord } from '../helpers/humanLoopStoreSuite.js';
import { generateActivity, writeActivity } from '../helpers/insightsData.js';
import { fullRecord, judgeRecord } from '../helpers/records.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const NOW = new Date('2026-04-15T12:00:00.000Z');
const TZ = 'America/Sao_Paulo';

const CATALOG: LectureCatalog = new Map([
  ['aula1', { id: 'aula1', title: 'Aula 1 — Introdução', url: 'https://www.youtube.com/watch?v=AAAAAAAAAAA', durationSec: 600, order: 0 }],
  ['aula2', { id: 'aula2', title: 'Aula 2 — Redes', url: 'https://vimeo.com/123456', durationSec: 300, order: 1 }],
]);

function ref(videoId: string, start: number, end: number) {
  const lecture = CATALOG.get(videoId);
  return { videoId, title: lecture?.title ?? videoId, start, end, url: videoLinkAt(lecture?.url ?? `https://example.edu/${videoId}.mp4`, start) };
}

function record(overrides: { [K in keyof FullRecord]?: unknown } & Record<string, unknown>): FullRecord {
  return fullRecord({ createdAt: '2026-04-14T15:00:00.000Z', ...overrides } as Partial<FullRecord>);
}

function votes(up: number, down: number): FullRecord['votes'] {
  const items = [
    ...Array.from({ length: up }, (_, i) => ({ answerId: 'x', user: `discord:${i}`, value: 'up' as const, comment: null, platform: 'discord' as const, at: '2026-04-14T15:00:00.000Z' })),
    ...Array.from({ length: down }, (_, i) => ({ answerId: 'x', user: `slack:${i}`, value: 'down' as const, comment: null, platform: 'slack' as const, at: '2026-04-14T15:00:00.000Z' })),
  ];
  return { up, down, items };
}

function annotation(answerId: string, label: Label): FullRecord['annotation'] {
  return { answerId, label, annotator: 'slack:ta', platform: 'slack', at: '2026-04-14T16:00:00.000Z' };
}

function aggregate(records: FullRecord[], options: Partial<AggregateOptions> = {}, cases: EscalationCase[] = []) {
  const aggregator = new InsightsAggregator({ now: NOW, timeZone: TZ, lectures: CATALOG, ...options });
  for (const c of cases) aggregator.addCase(c);
  for (const r of records) aggregator.add(toInsightRecord(r, aggregator.caseFor(r.id)));
  return { insights: aggregator.finish(), aggregator };
}

describe('reading a record for the insights', () => {
  it('reads conversation fields when present and null when missing or malformed', () => {
    const plain = toInsightRecord(record({}), undefined);
    expect(plain.conversationId).toBeNull();
    expect(plain.turn).toBeNull();
    const turn = toInsightRecord(record({ conversationId: 'c-1', turn: 2 }), undefined);
    expect(turn).toMatchObject({ conversationId: 'c-1', turn: 2 });
    const odd = toInsightRecord(record({ conversationId: 42, turn: 'dois', lectureFilter: 'x', policy: 7 }), undefined);
    expect(odd).toMatchObject({ conversationId: null, turn: null });
  });

  it('cites references (segments when there are none), nothing for an abstention, and keeps the kind as text', () => {
    const seg = record({ references: [], segments: [{ ...fullRecord().segments[0]!, videoId: 'aula2', start: 30, end: 90 }] });
    expect(toInsightRecord(seg, undefined).citations.map((c) => [c.videoId, c.start])).toEqual([['aula2', 30]]);
    const abstained = record({ answer: 'As aulas não abordam isso: não encontrei esse assunto nos trechos das aulas.', references: [ref('aula1', 0, 60)] });
    expect(toInsightRecord(abstained, undefined)).toMatchObject({ abstained: true, citations: [] });
    expect(toInsightRecord(record({ kind: 'verified' as FullRecord['kind'] }), undefined).kind).toBe('verified');
  });

  it('a not-found answer\'s closest moments are not citations', () => {
    const closest = { ...ref('aula1', 60, 120), closest: true };
    const notFound = record({ kind: 'not-found', answer: 'Não encontrei isso nas aulas.', references: [closest] });
    expect(toInsightRecord(notFound, undefined).citations).toEqual([]);
    // Even on a record that is not an abstention (a later version's mix), only real references count.
    const mixed = record({ references: [ref('aula2', 0, 30), closest] });
    expect(toInsightRecord(mixed, undefined).citations.map((c) => c.videoId)).toEqual(['aula2']);
  });

  it('shows the question\'s own words that no lecture uses, from the answer\'s coverage (none for older records)', () => {
    const coverage = { lexical: 0, matched: [], unknown: ['instal', 'cud', 'windows'], contentWords: 3, dense: null };
    const r = toInsightRecord(record({ kind: 'not-found', question: 'Como instalar o CUDA no Windows?', coverage }), undefined);
    expect(r.unknownWords).toEqual(['instalar', 'cuda', 'windows']);
    expect(toInsightRecord(record({}), undefined).unknownWords).toEqual([]);
    expect(toInsightRecord(record({ coverage: { unknown: 'cud' } as unknown as FullRecord['coverage'] }), undefined).unknownWords).toEqual([]);
  });

  it('keeps questions to one line without control characters', () => {
    const r = toInsightRecord(record({ question: 'linha 1\nlinha\u0007 2\u202e' }), undefined);
    expect(r.question).toBe('linha 1 linha 2');
  });
});

describe('the insights aggregation', () => {
  it('counts each cited minute once per question, with 👎, I labels and escalations marked', () => {
    const a = record({ id: 'a', references: [ref('aula1', 100, 250), ref('aula1', 200, 260)], votes: votes(0, 1) });
    const b = record({ id: 'b', references: [ref('aula1', 130, 170)], annotation: annotation('b', 'I') });
    const c = record({ id: 'c', references: [ref('aula2', 0, 50)], votes: votes(2, 0) });
    const cases: EscalationCase[] = [{ id: 'case-b', answerId: 'b', question: 'b?', status: 'open', createdAt: '2026-04-14T16:00:00.000Z' }];
    const { insights } = aggregate([a, b, c], {}, cases);
    const aula1 = insights.lectures.find((l) => l.id === 'aula1')!;
    expect(aula1.minutes).toBe(10);
    expect(aula1.bins).toHaveLength(10);
    // a covers 100–260 s → minutes 1–4 (once, though its two references overlap); b covers minute 2.
    expect(aula1.bins.map((bin) => bin.count)).toEqual([0, 1, 2, 1, 1, 0, 0, 0, 0, 0]);
    expect(aula1.bins[2]).toEqual({ minute: 2, count: 2, down: 1, incorrect: 1, escalated: 1 });
    expect(aula1.bins[1]).toMatchObject({ down: 1, incorrect: 0, escalated: 0 });
    expect(aula1).toMatchObject({ questions: 2, up: 0, down: 1, upRate: 0 });
    const aula2 = insights.lectures.find((l) => l.id === 'aula2')!;
    expect(aula2).toMatchObject({ questions: 1, up: 2, down: 0, upRate: 1, minutes: 5 });

    const top = insights.topMoments[0]!;
    expect(top).toMatchObject({ lectureId: 'aula1', minute: 2, count: 2, down: 1, incorrect: 1, escalated: 1 });
    expect(top.url).toBe('https://www.youtube.com/watch?v=AAAAAAAAAAA&t=120');
    expect(top.questions.map((q) => q.id).sort()).toEqual(['a', 'b']);
    expect(insights.topMoments.find((m) => m.lectureId === 'aula2')?.url).toBe('https://vimeo.com/123456#t=0m0s');
    expect(insights.topMoments.length).toBeLessThanOrEqual(10);
  });

  it('shows lectures the index does not know, with the length the records cite', () => {
    const { insights } = aggregate([record({ references: [ref('extra', 3000, 3150)] })], { lectures: null });
    const extra = insights.lectures.find((l) => l.id === 'extra')!;
    expect(extra.minutes).toBe(53);
    expect(extra.bins.filter((b) => b.count > 0).map((b) => b.minute)).toEqual([50, 51, 52]);
    expect(insights.topMoments[0]!.url).toBe('https://example.edu/extra.mp4#t=3000');
  });

  it('merges the same question asked in other words order, case or accents among the most asked', () => {
    const qs = ['O que é overfitting?', 'overfitting é o que', 'O QUE E OVERFITTING', 'Como funciona o dropout?'];
    const { insights } = aggregate(qs.map((question, i) => record({ id: `q${i}`, question, createdAt: `2026-04-1${i}T10:00:00.000Z`, references: [ref('aula1', 0, 30)] })));
    const top = insights.lectures.find((l) => l.id === 'aula1')!.topQuestions;
    expect(top[0]).toEqual({ text: 'O QUE E OVERFITTING', count: 3 });
    expect(top[1]).toEqual({ text: 'Como funciona o dropout?', count: 1 });
  });

  it('builds day-by-day series with empty days, weekly quality and kinds (verified included), and compares the last two weeks', () => {
    const records = [
      record({ id: 'd1', platform: 'discord', createdAt: '2026-04-01T13:00:00.000Z', votes: votes(1, 1), judge: judgeRecord('d1') }),
      record({ id: 'd2', platform: 'slack', createdAt: '2026-04-03T13:00:00.000Z', kind: 'extractive' }),
      record({ id: 'd3', platform: 'discord', createdAt: '2026-04-10T13:00:00.000Z', kind: 'verified' as FullRecord['kind'] }),
      // 02:00 UTC on the 10th is still the 9th in São Paulo.
      record({ id: 'd4', platform: 'cli', createdAt: '2026-04-10T02:00:00.000Z', kind: 'not-found', references: [], answer: 'Não encontrei nada.' }),
    ];
    const { insights } = aggregate(records);
    expect(insights.granularity).toBe('day');
    expect(insights.period).toEqual({ first: '2026-04-01', last: '2026-04-10' });
    const days = [...new Set(insights.questionsOverTime.map((p) => p.period))];
    expect(days).toHaveLength(10);
    const on = (day: string, platform: string) => insights.questionsOverTime.find((p) => p.period === day && p.platform === platform)?.count;
    expect(on('2026-04-09', 'cli')).toBe(1);
    expect(on('2026-04-10', 'discord')).toBe(1);
    expect(on('2026-04-05', 'discord')).toBe(0);
    expect(insights.totals.byKind).toMatchObject({ llm: 1, extractive: 1, verified: 1, 'not-found': 1 });
    expect(Object.keys(insights.totals.byKind)).toEqual(expect.arrayContaining([...KNOWN_KINDS]));
    const weeks = [...new Set(insights.kindsOverTime.map((k) => k.week))];
    expect(weeks).toEqual([weekOf('2026-04-01'), weekOf('2026-04-10')]);
    expect(insights.kindsOverTime.find((k) => k.week === weekOf('2026-04-10') && k.kind === 'verified')?.count).toBe(1);
    const firstWeek = insights.qualityOverTime[0]!;
    expect(firstWeek).toMatchObject({ votes: 2, upRate: 0.5, judged: 1, answerRelevance: 1, groundedness: 1 });
    expect(firstWeek.contextRelevance).toBeCloseTo(2 / 3);
    // NOW is 2026-04-15 12:00Z: d3 and d4 fall in the last 7 days, d1 and d2 in the 7 before.
    expect(insights.weeks).toEqual({ thisWeek: 2, lastWeek: 2 });
  });

  it('switches to weekly series over a long period and honours since (the week comparison does not)', () => {
    const records = [record({ id: 'old', createdAt: '2025-12-01T12:00:00.000Z' }), record({ id: 'new', createdAt: '2026-04-14T12:00:00.000Z' })];
    expect(aggregate(records).insights.granularity).toBe('week');
    const since = aggregate(records, { since: new Date('2026-04-01T00:00:00.000Z') }).insights;
    expect(since.totals.questions).toBe(1);
    expect(since.since).toBe('2026-04-01T00:00:00.000Z');
    const late = aggregate(records, { since: new Date('2026-04-15T00:00:00.000Z') }).insights;
    expect(late.totals.questions).toBe(0);
    expect(late.weeks.thisWeek).toBe(1);
  });

  it('distributes judge scores and measures agreement overall and per lecture with the evaluation module', () => {
    const pairs: [Label, Label, string][] = [
      ['C', 'C', 'aula1'],
      ['C', 'P', 'aula1'],
      ['I', 'I', 'aula2'],
      ['P', 'P', 'aula2'],
    ];
    const records = pairs.map(([manual, automated, lecture], i) =>
      record({
        id: `p${i}`,
        references: [ref(lecture, 0, 60)],
        annotation: annotation(`p${i}`, manual),
        judge: judgeRecord(`p${i}`, { label: automated, answerRelevance: { raw: i % 4, normalized: (i % 4) / 3, criteria: '', supportingEvidence: '' }, groundednessMean: 0.95 }),
      }),
    );
    records.push(record({ id: 'failed', judge: judgeRecord('failed', { status: 'failed', error: 'x' }) }));
    const { insights } = aggregate(records);
    expect(insights.judgeDistribution.answerRelevance).toEqual([1, 1, 1, 1]);
    expect(insights.judgeDistribution.groundedness[9]).toBe(4);
    expect(insights.judgeDistribution.contextRelevance.reduce((a, b) => a + b, 0)).toBe(4);
    expect(insights.totals).toMatchObject({ judged: 4, judgeFailed: 1 });
    expect(insights.agreement).toEqual(agreement(pairs.map(([manual, automated]) => ({ manual, automated }))));
    expect(insights.agreementByLecture.map((l) => [l.lectureId, l.agreement.n, l.agreement.accuracy])).toEqual([
      ['aula1', 2, 0.5],
      ['aula2', 2, 1],
    ]);
  });

  it('lists the turns of a conversation together, once', () => {
    const turns = [
      record({ id: 't1', conversationId: 'conv', turn: 1, question: 'O que é dropout?', createdAt: '2026-04-14T10:00:00.000Z', references: [ref('aula1', 0, 30)] }),
      record({ id: 't2', conversationId: 'conv', turn: 2, question: 'E na camada de saída?', createdAt: '2026-04-14T10:01:00.000Z', references: [ref('aula1', 0, 30)] }),
      record({ id: 'solo', question: 'Outra pergunta', createdAt: '2026-04-14T09:00:00.000Z', references: [ref('aula1', 0, 30)] }),
    ];
    const { insights } = aggregate(turns);
    const listed = insights.topMoments[0]!.questions;
    expect(listed).toHaveLength(2);
    expect(listed[0]!.conversation?.turns.map((t) => [t.turn, t.text])).toEqual([
      [1, 'O que é dropout?'],
      [2, 'E na camada de saída?'],
    ]);
    expect(listed[1]).toMatchObject({ id: 'solo', conversation: null });
  });

  it('collects gap questions (abstentions, 👎, escalations) and the open cases with their moment', () => {
    const records = [
      record({ id: 'nf', kind: 'not-found', references: [], answer: 'Não encontrei nada sobre isso nas transcrições.' }),
      record({ id: 'down', votes: votes(0, 1), references: [ref('aula2', 60, 120)] }),
      record({ id: 'esc', references: [ref('aula1', 300, 360)] }),
      record({ id: 'fine', votes: votes(1, 0) }),
    ];
    const cases: EscalationCase[] = [
      { id: 'case-esc', answerId: 'esc', question: 'esc?', status: 'claimed', createdAt: '2026-04-14T16:00:00.000Z' },
      { id: 'case-alone', answerId: null, question: 'Quando sai a nota?', status: 'open', createdAt: '2026-04-13T16:00:00.000Z' },
      { id: 'case-done', answerId: null, question: 'Resolvida', status: 'closed', createdAt: '2026-04-13T16:00:00.000Z' },
    ];
    const { insights } = aggregate(records, {}, cases);
    const gaps = Object.fromEntries(insights.gapQuestions.map((g) => [g.id, g]));
    expect(Object.keys(gaps).sort()).toEqual(['case-alone', 'case-done', 'down', 'esc', 'nf']);
    expect(gaps.nf).toMatchObject({ notFound: true, down: false, escalated: false });
    expect(gaps.down).toMatchObject({ down: true, lectureId: 'aula2' });
    expect(gaps.esc).toMatchObject({ escalated: true, lectureId: 'aula1' });
    expect(insights.totals.escalated).toBe(1);
    expect(insights.openCases.map((c) => [c.id, c.status, c.lectureTitle, c.url])).toEqual([
      ['case-alone', 'open', null, null],
      ['case-esc', 'claimed', 'Aula 1 — Introdução', 'https://www.youtube.com/watch?v=AAAAAAAAAAA&t=300'],
    ]);
  });

  it('hides every URL with hideUrls', () => {
    const records = [record({ question: 'veja https://exemplo.com/x e diga', references: [ref('aula1', 0, 60)], votes: votes(0, 1) })];
    const cases: EscalationCase[] = [{ id: 'k', answerId: records[0]!.id, question: 'link http://a.b/c', status: 'open', createdAt: '2026-04-14T16:00:00.000Z' }];
    const { insights } = aggregate(records, { hideUrls: true }, cases);
    const text = JSON.stringify(insights);
    expect(text).not.toMatch(/https?:\/\//);
    expect(insights.topMoments[0]!.url).toBeNull();
    expect(insights.topMoments[0]!.questions[0]!.text).toBe('veja oculto e diga');
    expect(insights.lectures.every((l) => l.url === null)).toBe(true);
  });
});

describe('coverage gaps', () => {
  const gap = (id: string, text: string, extra: Partial<GapQuestion> = {}): GapQuestion => ({
    id,
    text,
    atMs: Date.parse('2026-04-14T10:00:00.000Z') + Number(id.replace(/\D/g, '') || 0) * 1000,
    notFound: true,
    down: false,
    escalated: false,
    lectureId: null,
    conversationId: null,
    turn: null,
    unknownWords: [],
    ...extra,
  });
  const questions = [
    gap('g1', 'Como instalar o CUDA no Windows?', { unknownWords: ['instalar', 'cuda', 'windows'] }),
    gap('g2', 'como instalo o cuda no windows', { unknownWords: ['instalo', 'cuda', 'windows'] }),
    gap('g3', 'Instalar CUDA no Windows dá erro', { down: true, notFound: false, lectureId: 'aula1' }),
    gap('g4', 'Quando é a prova final?', { escalated: true, notFound: false }),
    gap('g5', 'quando é a prova final'),
    gap('g6', 'O que é atenção em transformers?'),
  ];

  it('groups by shared terms without a model, largest first, with counts and examples', async () => {
    const report = await groupGaps(questions, { embedder: null, lectureTitle: (id) => `título ${id}` });
    expect(report.method).toBe('lexical');
    expect(report.questions).toBe(6);
    expect(report.groups.map((g) => g.size)).toEqual([3, 2, 1]);
    const [cuda, prova, atencao] = report.groups;
    // g1 and g2 have the same terms: one example, the latest wording.
    expect(cuda!.examples.map((e) => e.id).sort()).toEqual(['g2', 'g3']);
    expect(cuda).toMatchObject({ notFound: 2, down: 1, escalated: 0, lectures: ['título aula1'] });
    // The words no lecture uses, most frequent first: what the lectures (or the bot) miss.
    expect(cuda!.unknownWords).toEqual(['cuda', 'windows', 'instalar', 'instalo']);
    expect(prova!.unknownWords).toEqual([]);
    expect(prova).toMatchObject({ size: 2, escalated: 1 });
    expect(atencao!.label).toBe('O que é atenção em transformers?');
  });

  it('shows a conversation once among the examples, with its turns', async () => {
    const conv = { id: 'c', turns: [{ id: 'g1', turn: 1, text: 'Como instalar o CUDA no Windows?', at: '' }, { id: 'g7', turn: 2, text: 'e no Linux?', at: '' }] };
    const report = await groupGaps(
      [gap('g1', 'Como instalar o CUDA no Windows?', { conversationId: 'c' }), gap('g2', 'como instalo o cuda no windows', { conversationId: 'c' })],
      { embedder: null, conversationOf: () => conv },
    );
    expect(report.groups[0]!.size).toBe(2);
    expect(report.groups[0]!.examples).toHaveLength(1);
    expect(report.groups[0]!.examples[0]!.conversation).toEqual(conv);
  });

  describe('with an embedding model', () => {
    let dir: string;
    let embedder: TransformersEmbedder;
    beforeAll(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'pergunta-gaps-'));
      const tiny = await writeTinyModel(path.join(dir, 'models'));
      embedder = await loadTransformersEmbedder({ modelId: tiny.modelId, localModelPath: tiny.modelPath, cacheDir: path.join(dir, 'cache'), allowRemote: false });
    });
    afterAll(async () => {
      await embedder?.dispose();
      await rm(dir, { recursive: true, force: true });
    });

    it('groups questions by their vectors (the tiny model: shared words, related vectors)', async () => {
      const report = await groupGaps(questions, { embedder, cosineThreshold: 0.6 });
      expect(report.method).toBe('embeddings');
      expect(report.groups.reduce((n, g) => n + g.size, 0)).toBe(6);
      const groupOf = (id: string) => report.groups.findIndex((g) => g.examples.some((e) => e.id === id));
      expect(report.groups.map((g) => g.size)).toEqual([3, 2, 1]);
      expect(groupOf('g3')).toBe(groupOf('g2'));
      expect(groupOf('g5')).not.toBe(groupOf('g2'));
      // Above the model's reach, every distinct question (4: two pairs share their terms) stands alone;
      // past embedLimit, words decide.
      expect((await groupGaps(questions, { embedder, cosineThreshold: 1.01 })).groups).toHaveLength(4);
      expect((await groupGaps(questions, { embedder, embedLimit: 2 })).method).toBe('lexical');
    });
  });
});

describe('collecting insights from a store', () => {
  it('streams the store once: same insights as aggregating listRecords, escalations from the human loop\'s cases', async () => {
    const store = (await createFeedbackStore({ url: 'memory://', salt: 'sal-insights', logger: silentLogger(), journalDir: null })) as KeyvFeedbackStore;
    const cases: EscalationCase[] = [];
    for (const item of generateActivity({ count: 300, end: NOW, days: 30 })) {
      await writeActivity(store, item);
      if (item.escalation) cases.push(item.escalation);
    }
    expect(cases.length).toBeGreaterThan(3);
    // The cases as the human loop (#17) records them; the question comes from the escalated answer.
    for (const c of cases) {
      await store.loop.openOrJoin(c.answerId!, () => caseRecord({ id: c.id, answerId: c.answerId!, status: c.status as CaseStatus, createdAt: c.createdAt, origin: c.platform ?? 'discord' }), () => null);
    }
    const options = { now: NOW, timeZone: TZ, lectures: null, embedder: null, logger: silentLogger() };
    const report = await collectInsights(insightsSource(store), options);

    const { insights } = aggregate(await store.listRecords(), { lectures: null }, cases);
    const { gapQuestions, ...expected } = insights;
    const { gaps, ...got } = report;
    expect(got).toEqual(expected);
    expect(gaps.questions).toBe(gapQuestions.length);
    expect(report.totals.questions).toBe(300);
    expect(report.totals.escalated).toBe(cases.length);
    expect(report.openCases.length).toBe(cases.filter((c) => c.status === 'open' || c.status === 'claimed').length);
    expect(report.lectures.some((l) => l.bins.some((b) => b.escalated > 0))).toBe(true);
    expect(gaps.groups.reduce((n, g) => n + g.escalated, 0)).toBe(cases.length);
    // A conversation's turns were written with the record (#16 fields) and read back.
    expect(report.topMoments.some((m) => m.questions.some((q) => q.conversation !== null))).toBe(true);
    await store.close();
  });
});
