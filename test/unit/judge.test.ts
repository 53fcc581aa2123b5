/**
 * The LLM judge against the fake OpenAI-compatible server (127.0.0.1 only): JSON parsing and
 * normalisation, retries, failures recorded as failures, temperature 0, pt-BR prompts,
 * abstentions, re-runs, and the `evaluate` command end to end.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlm } from '../../src/answer/llm.js';
import { NOT_COVERED_SENTENCE } from '../../src/answer/prompt.js';
import {
  answerCorrectnessMessages,
  answerRelevanceMessages,
  automatedLabel,
  contextRelevanceMessages,
  evaluateStore,
  formatReasoning,
  groundednessMessages,
  Judge,
  labelFromMean,
  labelFromScore,
  JUDGE_PROMPT_VERSION,
  JudgeAbortError,
  parseJudgeReply,
  splitSentences,
} from '../../src/evaluation/judge.js';
import { JsonModeMemory } from '../../src/evaluation/jsonMode.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { AnswerRecord, FeedbackStore } from '../../src/store/types.js';
import { startFakeOpenAI, type FakeBehavior, type FakeOpenAI, type FakeRequest } from '../fakes/fakeOpenAI.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { answerRecord, segment, splitAnswer } from '../helpers/records.js';

const logger = createLogger({ level: 'silent' });
const API_KEY = 'sk-test-judge-0123456789abcdef';

const json = (score: unknown, criteria = 'responde à pergunta', evidence = 'a resposta explica o dropout') =>
  JSON.stringify({ criteria, supporting_evidence: evidence, score });

type Task = 'ar' | 'cr' | 'g';

/** Which judge task a request is (from the first user message; retries add messages after it). */
function taskOf(req: FakeRequest): Task {
  const first = req.messages.find((m) => m.role === 'user')?.content ?? '';
  if (first.startsWith('Tarefa: RELEVÂNCIA DA RESPOSTA')) return 'ar';
  if (first.startsWith('Tarefa: RELEVÂNCIA DO CONTEXTO')) return 'cr';
  if (first.startsWith('Tarefa: FUNDAMENTAÇÃO')) return 'g';
  throw new Error(`unexpected judge prompt: ${first.slice(0, 80)}`);
}

function byTask(replies: Record<Task, string | ((req: FakeRequest) => FakeBehavior)>): (req: FakeRequest) => FakeBehavior {
  return (req) => {
    const r = replies[taskOf(req)];
    return typeof r === 'string' ? { type: 'text', text: r } : r(req);
  };
}

/** Two answer sentences over two retrieved segments: the judge makes one request per each. */
function record(overrides: Partial<AnswerRecord> = {}): AnswerRecord {
  return answerRecord({
    answer: 'O dropout desliga neurônios aleatoriamente durante o treino [1]. Isso reduz o sobreajuste da rede [2].',
    segments: [
      segment({ foundBy: { dense: { rank: 1, score: 0.9 } } }),
      segment({
        corpusId: 17,
        score: 0.5,
        foundBy: { lexical: { rank: 1, score: 4 } },
        videoId: 'aula2',
        title: 'Aula 2 — Redes',
        url: 'https://youtu.be/def456?t=60',
        start: 60,
        end: 200,
        text: 'uma rede neural tem camadas de neurônios',
      }),
    ],
    references: [],
    timings: { retrieveMs: 5, generateMs: 100, totalMs: 110 },
    ...overrides,
  });
}

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

/** Each judge gets its own JSON-mode memory unless one is shared on purpose. */
function makeJudge(opts: { maxRetries?: number; maxAttempts?: number; jsonMode?: JsonModeMemory } = {}): Judge {
  const llm = createLlm({
    apiKey: API_KEY,
    baseURL: fake.baseURL,
    model: 'juiz-fake',
    timeoutMs: 5_000,
    maxRetries: opts.maxRetries ?? 2,
    retryBaseDelayMs: 1,
    temperature: 0,
    maxConcurrency: 4,
  });
  return new Judge({
    llm,
    logger,
    jsonMode: opts.jsonMode ?? new JsonModeMemory(),
    ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
  });
}

describe('parseJudgeReply', () => {
  it('reads and normalises the score field', () => {
    const parsed = parseJudgeReply(json(2));
    expect(parsed).toEqual({
      ok: true,
      score: { raw: 2, normalized: 2 / 3, criteria: 'responde à pergunta', supportingEvidence: 'a resposta explica o dropout' },
    });
    expect(parseJudgeReply(json(3))).toMatchObject({ ok: true, score: { raw: 3, normalized: 1 } });
    expect(parseJudgeReply(json(0))).toMatchObject({ ok: true, score: { raw: 0, normalized: 0 } });
    expect(parseJudgeReply(json('1'))).toMatchObject({ ok: true, score: { raw: 1 } });
  });

  it('reads JSON inside a ```json fence', () => {
    expect(parseJudgeReply('```json\n' + json(3) + '\n```')).toMatchObject({ ok: true, score: { raw: 3 } });
    expect(parseJudgeReply('Segue a avaliação:\n```\n' + json(1) + '\n```\nObrigado.')).toMatchObject({ ok: true, score: { raw: 1 } });
  });

  it('never scrapes numbers from prose: "numa escala de 0 a 3, dou 3" around the JSON reads 3', () => {
    const reply = `Numa escala de 0 a 3, dou 3 para esta resposta.\n${json(3, 'escala de 0 a 3', 'nota 0 seria sem relação')}\nNota final: 3 (de 0 a 3).`;
    expect(parseJudgeReply(reply)).toMatchObject({ ok: true, score: { raw: 3, normalized: 1 } });
    expect(parseJudgeReply('Numa escala de 0 a 3, dou 3.')).toEqual({ ok: false, reason: 'a resposta do juiz não contém um JSON válido' });
  });

  it('copes with braces inside strings and takes the first object that has a score', () => {
    const reply = `{"nota": "ver abaixo"} ${json(2, 'usa { e } no texto', 'citou "{x}"')} ${json(0)}`;
    expect(parseJudgeReply(reply)).toMatchObject({ ok: true, score: { raw: 2, criteria: 'usa { e } no texto' } });
  });

  it('rejects scores that are not integers from 0 to 3', () => {
    expect(parseJudgeReply(json(4))).toEqual({ ok: false, reason: 'score fora da escala de 0 a 3: 4' });
    expect(parseJudgeReply(json(-1))).toMatchObject({ ok: false });
    expect(parseJudgeReply(json(2.5))).toMatchObject({ ok: false, reason: expect.stringContaining('não é um número inteiro') });
    expect(parseJudgeReply(json('três'))).toMatchObject({ ok: false });
    expect(parseJudgeReply(json(null))).toMatchObject({ ok: false });
    expect(parseJudgeReply('{"criteria": "x"}')).toEqual({ ok: false, reason: 'o JSON da resposta do juiz não tem o campo "score"' });
    expect(parseJudgeReply('{"score": 3')).toMatchObject({ ok: false });
  });

  it('renders the reasoning as "Criteria: … Supporting Evidence: … Score: N"', () => {
    const parsed = parseJudgeReply(json(2, 'cobre\na maior parte', 'falta  o exemplo'));
    if (!parsed.ok) throw new Error('expected ok');
    expect(formatReasoning(parsed.score)).toBe('Criteria: cobre a maior parte Supporting Evidence: falta o exemplo Score: 2');
  });
});

describe('judge prompts', () => {
  it('are pinned to JUDGE_PROMPT_VERSION: changing their text means bumping the version (and this hash)', () => {
    const seg = (n: number) => ({
      corpusId: n,
      score: 1,
      foundBy: {},
      videoId: 'v',
      title: `Aula ${n} <"&>`,
      url: 'u',
      start: 60 * n,
      end: 60 * n + 150,
      text: ` texto ${n} com <tag> & "aspas" `,
    });
    const prompts = [
      answerRelevanceMessages(' Pergunta <x>? ', ' Resposta & mais. '),
      contextRelevanceMessages('Pergunta?', seg(1)),
      groundednessMessages('Uma afirmação.', [seg(1), seg(2)]),
    ];
    const hash = createHash('sha256').update(JSON.stringify(prompts)).digest('hex');
    // The correctness prompt (against a TA's answer, the human loop) came with juiz-2026-12-06.1;
    // the three prompts above kept their text (their hash is unchanged).
    const correctness = answerCorrectnessMessages(' Pergunta <x>? ', ' Resposta & mais. ', ' Referência <b> & c. ');
    const correctnessHash = createHash('sha256').update(JSON.stringify(correctness)).digest('hex');
    expect({ version: JUDGE_PROMPT_VERSION, hash, correctnessHash }).toEqual({
      version: 'juiz-2026-12-06.1',
      hash: '003dadd3da46c3287d31a25aecea135164cb7fd8b45b87e84b3a390a5b8697ee',
      correctnessHash: '1ac17b5f9cba525ef75592932a618ab4f0dc8891b0fae0f5489c8af232477978',
    });
    expect(prompts[2]?.[1]?.content).toBe(
      [
        'Tarefa: FUNDAMENTAÇÃO (groundedness).',
        'Avalie se a afirmação abaixo, tirada da resposta do assistente, é sustentada pelos trechos das transcrições das aulas, e somente por eles (não use conhecimento externo). As transcrições são legendas automáticas: podem não ter pontuação e ter erros de reconhecimento.',
        'Escala:',
        '0 — a afirmação não é sustentada pelos trechos, ou os contradiz.',
        '1 — só uma pequena parte da afirmação é sustentada pelos trechos.',
        '2 — a maior parte da afirmação é sustentada pelos trechos.',
        '3 — a afirmação é totalmente sustentada pelos trechos (ou não afirma nada sobre o conteúdo, como uma saudação ou uma frase de transição).',
        '',
        '<trechos>',
        '<trecho n="1" aula="Aula 1 &lt;&quot;&amp;&gt;" inicio="1:00" fim="3:30">',
        'texto 1 com &lt;tag&gt; &amp; "aspas"',
        '</trecho>',
        '<trecho n="2" aula="Aula 2 &lt;&quot;&amp;&gt;" inicio="2:00" fim="4:30">',
        'texto 2 com &lt;tag&gt; &amp; "aspas"',
        '</trecho>',
        '</trechos>',
        '<afirmacao>',
        'Uma afirmação.',
        '</afirmacao>',
        '',
        'Responda apenas com o objeto JSON {"criteria": "...", "supporting_evidence": "...", "score": N}, com N inteiro de 0 a 3.',
      ].join('\n'),
    );
  });
});

describe('automatedLabel and splitSentences', () => {
  it('maps answer relevance and groundedness to C/P/I', () => {
    const l = (ar: number | null, g: number | null) => automatedLabel({ abstained: false, answerRelevance: ar, groundednessMean: g, contextRelevance: [] });
    expect(l(3, 1)).toBe('C');
    expect(l(3, 2 / 3)).toBe('C');
    expect(l(3, 0.5)).toBe('P');
    expect(l(2, 1)).toBe('P');
    expect(l(1, 1)).toBe('I');
    expect(l(3, 0.2)).toBe('I');
    expect(l(3, null)).toBe('C');
    expect(l(2, null)).toBe('P');
    expect(l(0, null)).toBe('I');
    expect(l(null, null)).toBeNull();
    const abst = (cr: number[]) => automatedLabel({ abstained: true, answerRelevance: null, groundednessMean: null, contextRelevance: cr });
    expect(abst([0, 1])).toBe('C');
    expect(abst([])).toBe('C');
    expect(abst([1, 2])).toBe('I');
  });

  it('reads C/P/I from one metric with the thresholds of the automated label, which is the worse of AR and G', () => {
    expect([0, 1, 2, 3].map(labelFromScore)).toEqual(['I', 'I', 'P', 'C']);
    expect([0, 0.3, 1 / 3, 0.5, 0.66, 2 / 3, 1].map(labelFromMean)).toEqual(['I', 'I', 'P', 'P', 'P', 'C', 'C']);
    // Groundedness means as the judge computes them (averages of k/3 over up to 20 sentences).
    const means = new Set<number>([0, 1]);
    for (let n = 1; n <= 20; n++) for (let k = 0; k <= 3 * n; k++) means.add(k / 3 / n);
    for (const ar of [0, 1, 2, 3]) {
      for (const g of means) {
        const rule = ar <= 1 || g < 1 / 3 ? 'I' : ar >= 3 && g >= 2 / 3 ? 'C' : 'P';
        expect(automatedLabel({ abstained: false, answerRelevance: ar, groundednessMean: g, contextRelevance: [] })).toBe(rule);
      }
    }
  });

  it('splits an answer into judgeable sentences', () => {
    const answer = '**O dropout** desliga neurônios [1]. Isso ajuda!\n\n- Reduz o sobreajuste da rede.\n1. Usado só no treino, não na inferência.';
    expect(splitSentences(answer)).toEqual([
      'O dropout desliga neurônios [1].',
      'Reduz o sobreajuste da rede.',
      'Usado só no treino, não na inferência.',
    ]);
    expect(splitSentences('a b c. d e f. g h i.', 2)).toHaveLength(2);
  });
});

describe('Judge against the fake OpenAI server', () => {
  it('judges answer relevance, context relevance per segment and groundedness per sentence, at temperature 0, in pt-BR', async () => {
    fake.setDefault(
      byTask({
        ar: json(2, 'responde a maior parte', 'explica o dropout mas não quando usar'),
        cr: (req) => ({ type: 'text', text: json(req.messages[1]?.content.includes('desliga aleatoriamente') ? 3 : 1) }),
        g: (req) => ({ type: 'text', text: json(req.messages[1]?.content.includes('<afirmacao>\nIsso reduz') ? 1 : 3) }),
      }),
    );
    const r = record();
    const verdict = await makeJudge().judge(r);
    expect(verdict).toMatchObject({
      answerId: r.id,
      status: 'ok',
      error: null,
      judgeModel: 'juiz-fake',
      promptVersion: JUDGE_PROMPT_VERSION,
      abstained: false,
      answerRelevance: { raw: 2, normalized: 2 / 3 },
      reasoning: 'Criteria: responde a maior parte Supporting Evidence: explica o dropout mas não quando usar Score: 2',
    });
    expect(verdict.contextRelevance.map((c) => [c.corpusId, c.raw, c.normalized])).toEqual([
      [412, 3, 1],
      [17, 1, 1 / 3],
    ]);
    expect(verdict.groundedness.map((g) => [g.sentence, g.raw])).toEqual([
      ['O dropout desliga neurônios aleatoriamente durante o treino [1].', 3],
      ['Isso reduz o sobreajuste da rede [2].', 1],
    ]);
    expect(verdict.groundednessMean).toBeCloseTo((1 + 1 / 3) / 2, 10);
    expect(verdict.label).toBe('P');

    expect(fake.requests).toHaveLength(1 + 2 + 2);
    for (const req of fake.requests) {
      const body = req.body as { temperature?: number; model?: string; response_format?: unknown };
      expect(body.temperature).toBe(0);
      expect(body.response_format).toEqual({ type: 'json_object' });
      expect(body.model).toBe('juiz-fake');
      expect(req.messages[0]?.role).toBe('system');
      expect(req.messages[0]?.content).toContain('Você é um avaliador rigoroso e imparcial');
      expect(req.messages[0]?.content).toContain('"supporting_evidence"');
      expect(req.messages[1]?.content).toMatch(/Escala:\n0 — /);
      if (taskOf(req) === 'g') expect(req.messages[1]?.content).toContain('<trecho n="2" aula="Aula 2 — Redes" inicio="1:00" fim="3:20">');
      else expect(req.messages[1]?.content).toContain('<pergunta>\nComo funciona o dropout?\n</pergunta>');
    }
  });

  it('falls back to prompt-only JSON when the server refuses JSON mode, after one rejected call, and remembers it', async () => {
    const judgeReplies = byTask({ ar: json(3), cr: json(3), g: json(3) });
    fake.setDefault((req) =>
      (req.body as { response_format?: unknown }).response_format === undefined
        ? judgeReplies(req)
        : { type: 'error', status: 400, message: "Invalid parameter: 'response_format' is not supported with this model.", param: 'response_format' },
    );
    const memory = new JsonModeMemory();
    const judge = makeJudge({ jsonMode: memory });
    expect(judge.jsonMode).toBe('unknown');
    const verdict = await judge.judge(record());
    expect(verdict).toMatchObject({ status: 'ok', label: 'C', answerRelevance: { raw: 3 } });
    expect(judge.jsonMode).toBe('prompt-only');
    const withFormat = fake.requests.filter((r) => (r.body as { response_format?: unknown }).response_format !== undefined);
    expect(withFormat).toHaveLength(1);
    expect(fake.requests).toHaveLength(1 + 1 + 2 + 2);
    // The prompts are the same in both modes: they ask for JSON in words.
    for (const req of fake.requests) expect(req.messages[0]?.content).toContain('Responda SOMENTE com um objeto JSON');

    // Another run in the same process, on the same server and model: no rejected call at all.
    fake.requests.length = 0;
    const again = await makeJudge({ jsonMode: memory }).judge(record());
    expect(again.status).toBe('ok');
    expect(fake.requests).toHaveLength(5);
    expect(fake.requests.every((r) => (r.body as { response_format?: unknown }).response_format === undefined)).toBe(true);
  });

  it('reads fenced JSON and JSON surrounded by the "numa escala de 0 a 3, dou 3" trap from the server', async () => {
    fake.setDefault(
      byTask({
        ar: `Numa escala de 0 a 3, dou 3.\n\`\`\`json\n${json(3)}\n\`\`\``,
        cr: `Avaliação (0 a 3): ${json(2)} — portanto 2 de 3.`,
        g: '```json\n' + json(3) + '\n```',
      }),
    );
    const verdict = await makeJudge().judge(record());
    expect(verdict.status).toBe('ok');
    expect(verdict.answerRelevance?.raw).toBe(3);
    expect(verdict.contextRelevance.map((c) => c.raw)).toEqual([2, 2]);
    expect(verdict.label).toBe('C');
  });

  it('asks again after a malformed reply, telling the model what was wrong', async () => {
    let arCalls = 0;
    fake.setDefault(
      byTask({
        ar: () => ({ type: 'text', text: ++arCalls === 1 ? 'Numa escala de 0 a 3, dou 3.' : json(3) }),
        cr: json(3),
        g: json(3),
      }),
    );
    const verdict = await makeJudge().judge(record());
    expect(verdict.status).toBe('ok');
    expect(verdict.answerRelevance?.raw).toBe(3);
    const arRequests = fake.requests.filter((r) => taskOf(r) === 'ar');
    expect(arRequests).toHaveLength(2);
    const retry = arRequests[1]?.messages ?? [];
    expect(retry.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(retry[2]?.content).toBe('Numa escala de 0 a 3, dou 3.');
    expect(retry[3]?.content).toContain('Sua resposta anterior não pôde ser usada (a resposta do juiz não contém um JSON válido)');
  });

  it('records a failed verdict with the reason after bounded attempts at malformed replies (no made-up score)', async () => {
    fake.setDefault(byTask({ ar: 'Ótima resposta, nota máxima!', cr: json(3), g: json(3) }));
    const verdict = await makeJudge({ maxAttempts: 3 }).judge(record());
    expect(verdict).toMatchObject({
      status: 'failed',
      answerRelevance: null,
      contextRelevance: [],
      groundedness: [],
      groundednessMean: null,
      label: null,
      reasoning: '',
    });
    expect(verdict.error).toBe('relevância da resposta: a resposta do juiz não contém um JSON válido (após 3 tentativas)');
    expect(fake.requests.filter((r) => taskOf(r) === 'ar')).toHaveLength(3);
  });

  it('records an out-of-range score as a failure', async () => {
    fake.setDefault(byTask({ ar: json(3), cr: json(5), g: json(3) }));
    const verdict = await makeJudge({ maxAttempts: 2 }).judge(record());
    expect(verdict.status).toBe('failed');
    expect(verdict.error).toMatch(/^relevância do trecho \d \(corpus \d+\): score fora da escala de 0 a 3: 5 \(após 2 tentativas\)$/);
    expect(verdict.label).toBeNull();
  });

  it('records API 500s as a failure after the client’s bounded retries, and stops the other calls', async () => {
    fake.setDefault({ type: 'error', status: 500, message: 'modelo caiu' });
    const verdict = await makeJudge({ maxRetries: 2 }).judge(record());
    expect(verdict.status).toBe('failed');
    expect(verdict.error).toMatch(/erro da API do LLM após 3 tentativa\(s\): .*modelo caiu.*\(HTTP 500\)/);
    // A request already on the wire when the verdict failed may still reach the fake a moment
    // later (it records on arrival): let those land, then nothing new may start.
    await new Promise((resolve) => setTimeout(resolve, 150));
    const count = fake.requests.length;
    // 5 calls (1 AR + 2 CR + 2 G) × at most 3 attempts each.
    expect(count).toBeLessThanOrEqual(15);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(fake.requests.length).toBe(count);
  });

  it('judges abstentions apart: no answer relevance nor groundedness, label from context relevance', async () => {
    fake.setDefault(byTask({ ar: json(0), cr: json(1), g: json(0) }));
    const verdict = await makeJudge().judge(record({ answer: NOT_COVERED_SENTENCE, kind: 'not-found' }));
    expect(verdict).toMatchObject({ status: 'ok', abstained: true, answerRelevance: null, groundedness: [], label: 'C' });
    expect(verdict.reasoning).toContain('Abstenção');
    expect(fake.requests.map(taskOf)).toEqual(['cr', 'cr']);

    fake.reset();
    fake.setDefault(byTask({ ar: json(0), cr: json(3), g: json(0) }));
    const missed = await makeJudge().judge(record({ answer: `${NOT_COVERED_SENTENCE} Tente outra pergunta.`, kind: 'llm' }));
    expect(missed).toMatchObject({ abstained: true, label: 'I' });

    fake.reset();
    const nothing = await makeJudge().judge(record({ answer: 'Não encontrei nada.', kind: 'not-found', segments: [] }));
    expect(nothing).toMatchObject({ status: 'ok', abstained: true, label: 'C', contextRelevance: [] });
    expect(fake.requests).toHaveLength(0);
  });
});

describe('evaluateStore', () => {
  async function storeWith(n: number): Promise<{ store: FeedbackStore; ids: string[] }> {
    const store = await createFeedbackStore({ url: 'memory://', salt: 'sal-de-teste-1234', logger });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const [answer] = splitAnswer(record({ createdAt: new Date(Date.UTC(2026, 2, 1 + i)).toISOString() }), `u${i}`);
      await store.recordAnswer(answer, { platform: 'discord', channel: 'c', rawUserId: `u${i}` });
      ids.push(answer.id);
    }
    return { store, ids };
  }

  it('judges the unjudged records, skips them on a re-run, and judges them again with force', async () => {
    fake.setDefault(byTask({ ar: json(3), cr: json(3), g: json(3) }));
    const { store } = await storeWith(3);
    const judge = makeJudge();
    const progress: [number, number][] = [];
    const first = await evaluateStore(store, judge, { onProgress: (d, t) => progress.push([d, t]) });
    expect(first).toEqual({ considered: 3, skipped: 0, judged: 3, failed: 0, stoppedEarly: null });
    expect(progress[0]).toEqual([0, 3]);
    expect(progress.at(-1)).toEqual([3, 3]);
    const requests = fake.requests.length;
    expect((await store.listRecords()).every((r) => r.judge?.status === 'ok' && r.judge.label === 'C')).toBe(true);

    const again = await evaluateStore(store, judge);
    expect(again).toEqual({ considered: 3, skipped: 3, judged: 0, failed: 0, stoppedEarly: null });
    expect(fake.requests.length).toBe(requests);

    const forced = await evaluateStore(store, judge, { force: true, limit: 2 });
    expect(forced).toMatchObject({ judged: 2, skipped: 0 });
    await store.close();
  });

  it('judges again a record whose last verdict failed, and honours since and limit', async () => {
    const { store, ids } = await storeWith(3);
    fake.setDefault(byTask({ ar: 'sem json', cr: json(3), g: json(3) }));
    const failed = await evaluateStore(store, makeJudge({ maxAttempts: 1 }), { limit: 1 });
    expect(failed).toMatchObject({ judged: 0, failed: 1 });
    expect((await store.judge(ids[0] ?? ''))?.status).toBe('failed');

    fake.reset();
    fake.setDefault(byTask({ ar: json(2), cr: json(3), g: json(3) }));
    const retried = await evaluateStore(store, makeJudge(), { since: new Date(Date.UTC(2026, 2, 1)), limit: 1 });
    expect(retried).toMatchObject({ judged: 1, failed: 0 });
    expect((await store.judge(ids[0] ?? ''))?.status).toBe('ok');
    const later = await evaluateStore(store, makeJudge(), { since: new Date(Date.UTC(2026, 2, 3)) });
    expect(later).toMatchObject({ considered: 1, judged: 1 });
    expect(await store.judge(ids[1] ?? '')).toBeNull();
    await store.close();
  });

  it('stops the run when the server refuses the credentials', async () => {
    fake.setDefault({ type: 'error', status: 401, message: 'invalid api key' });
    const { store } = await storeWith(2);
    await expect(evaluateStore(store, makeJudge())).rejects.toBeInstanceOf(JudgeAbortError);
    expect((await store.listRecords()).every((r) => r.judge === null)).toBe(true);
    await store.close();
  });

  it('stops after too many failed verdicts in a row', async () => {
    fake.setDefault({ type: 'error', status: 500 });
    const { store } = await storeWith(4);
    const result = await evaluateStore(store, makeJudge({ maxRetries: 0 }), { concurrency: 1, maxConsecutiveFailures: 2 });
    expect(result.failed).toBe(2);
    expect(result.stoppedEarly).toMatch(/2 avaliações seguidas falharam/);
    await store.close();
  });
});

describe('npm run evaluate (CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pergunta-evaluate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** `npm run evaluate` in a folder with no .env; only the given settings reach it. */
  const run = (args: string[], env: Record<string, string>) => runCli('src/cli/evaluate.ts', args, cliEnv(env), dir);

  it('exits with a clear message when no LLM is configured', async () => {
    const result = await run([], { STORE_URL: `sqlite://${path.join(dir, 'none.sqlite')}` });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('O juiz automático precisa de um LLM: defina OPENAI_API_KEY');
  }, 60_000);

  it('judges the stored answers, prints the summary table and writes it as JSON', async () => {
    const file = path.join(dir, 'store.sqlite');
    const store = await createFeedbackStore({ url: `sqlite://${file}`, salt: 'sal-de-teste-1234', logger });
    const [answer] = splitAnswer(record(), 'U1');
    await store.recordAnswer(answer, { platform: 'slack', channel: 'c', rawUserId: 'U1' });
    await store.vote({ answerId: answer.id, platform: 'slack', rawUserId: 'U2', value: 'up' });
    await store.annotate({ answerId: answer.id, platform: 'slack', rawUserId: 'U3', label: 'C' });
    await store.close();

    fake.setDefault(byTask({ ar: json(3), cr: json(3), g: json(3) }));
    const out = path.join(dir, 'out', 'summary.json');
    const env = { STORE_URL: `sqlite://${file}`, OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: fake.baseURL, JUDGE_MODEL: 'juiz-cli', USER_ID_SALT: 'sal-de-teste-1234' };
    const result = await run(['--out', out], env);
    expect(result.stderr).not.toContain(API_KEY);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Resumo da avaliação (juiz: juiz-cli');
    expect(result.stdout).toContain('| Answer Relevance (AR) média | 1.00 |');
    expect(result.stdout).toContain('| taxa de 👍 | 100% (👍 1 · 👎 0) |');
    expect(result.stdout).toContain('1 pares: acurácia 1.00, kappa de Cohen 1.00');
    expect(result.stdout).toContain('| avaliações que falharam | 0% (0 de 1) |');
    expect(result.stdout).toContain('| relevância da resposta (AR: 3 → C, 2 → P, 0–1 → I) | 1 | 1.00 | 1.00 |');
    expect(result.stdout).toContain('| anotação automatizada (C/P/I) | 1 | 1.00 | 1.00 |');
    // The fake accepts JSON mode: every judge call asked for it.
    expect(fake.requests.every((r) => (r.body as { response_format?: unknown }).response_format !== undefined)).toBe(true);
    expect(result.stderr).toContain('"jsonMode":"json-object"');
    expect(existsSync(out)).toBe(true);
    const summary = JSON.parse(readFileSync(out, 'utf8')) as {
      records: { judged: number; failedShare: number };
      agreement: { matrix: number[][] };
      agreementByMetric: Record<string, { n: number; kappa: number }>;
    };
    expect(summary.records.judged).toBe(1);
    expect(summary.records.failedShare).toBe(0);
    expect(Object.keys(summary.agreementByMetric)).toEqual(['answerRelevance', 'contextRelevance', 'groundedness', 'label']);
    expect(Object.values(summary.agreementByMetric).map((a) => [a.n, a.kappa])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
    expect(summary.agreement.matrix).toEqual([
      [1, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
    ]);
    const requests = fake.requests.length;
    expect(requests).toBe(5);

    const again = await run(['--out', out], env);
    expect(again.code).toBe(0);
    expect(fake.requests.length).toBe(requests);
    const forced = await run(['--out', out, '--force', '--limit', '1'], env);
    expect(forced.code).toBe(0);
    expect(fake.requests.length).toBe(requests * 2);

    const bad = await run(['--since', 'ontem'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since: data inválida "ontem"');
  }, 90_000);

  it('falls back to prompt-only JSON on a server that refuses JSON mode, and reports the failed share', async () => {
    const file = path.join(dir, 'refusing.sqlite');
    const store = await createFeedbackStore({ url: `sqlite://${file}`, salt: 'sal-de-teste-1234', logger });
    for (const [i, question] of ['Como funciona o dropout?', 'E a normalização em lote?'].entries()) {
      const { platform: _p, channel: _c, user: _u, ...answer } = record({ question, createdAt: new Date(Date.UTC(2026, 2, 1 + i)).toISOString() });
      await store.recordAnswer(answer, { platform: 'slack', channel: 'c', rawUserId: `U${i}` });
      await store.annotate({ answerId: answer.id, platform: 'slack', rawUserId: 'TA', label: 'C' });
    }
    await store.close();

    // The second answer's relevance never comes back as JSON: its verdict fails.
    const replies = byTask({
      ar: (req) => ({ type: 'text', text: req.messages[1]?.content.includes('normalização') ? 'Nota 3.' : json(3) }),
      cr: json(3),
      g: json(3),
    });
    fake.setDefault((req) =>
      (req.body as { response_format?: unknown }).response_format === undefined
        ? replies(req)
        : { type: 'error', status: 400, message: "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.", param: 'response_format' },
    );
    const out = path.join(dir, 'refusing.json');
    const env = { STORE_URL: `sqlite://${file}`, OPENAI_API_KEY: API_KEY, OPENAI_BASE_URL: fake.baseURL, JUDGE_MODEL: 'juiz-sem-json', USER_ID_SALT: 'sal-de-teste-1234' };
    const result = await run(['--out', out], env);
    expect(result.stderr).not.toContain(API_KEY);
    expect(result.code).toBe(1);
    expect(fake.requests.filter((r) => (r.body as { response_format?: unknown }).response_format !== undefined)).toHaveLength(1);
    expect(result.stderr).toContain('does not accept JSON mode');
    expect(result.stderr).toContain('"jsonMode":"prompt-only"');
    expect(result.stdout).toContain('| avaliações que falharam | 50% (1 de 2) |');
    expect(result.stdout).toContain('Das 2 respostas anotadas, ficaram fora da comparação 1 cuja avaliação falhou e 0 ainda sem avaliação.');
    const summary = JSON.parse(readFileSync(out, 'utf8')) as { records: { failedShare: number }; labelled: { failedVerdict: number } };
    expect(summary.records.failedShare).toBe(0.5);
    expect(summary.labelled.failedVerdict).toBe(1);
  }, 60_000);
});
