/**
 * Answer-level evaluation: the link checks on hand-made references, the summary, and
 * `npm run eval:answers` as a child process — extractive on the sample course, then with a fake
 * OpenAI-compatible server answering and judging.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JUDGE_SYSTEM_PROMPT } from '../../src/evaluation/judge.js';
import {
  checkLink,
  opensInRange,
  summarizeAnswers,
  type AnswerEvalReport,
  type AnswerOutcome,
} from '../../src/evaluation/answerEval.js';
import type { LabelledQuestion } from '../../src/evaluation/retrievalEval.js';
import type { Reference } from '../../src/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { SAMPLE_COURSE, tempDir } from '../helpers/course.js';

function ref(videoId: string, start: number, end: number, at?: number): Reference & { at?: number } {
  return { videoId, title: videoId, start, end, url: `https://youtu.be/x?t=${Math.floor(at ?? start)}`, ...(at !== undefined ? { at } : {}) };
}

const question: LabelledQuestion = { q: 'q', video: ['a', 'b'], range: [[100, 150], [30, 60]] };

describe('link checks', () => {
  it('takes the first reference pointing into a labelled range, and measures from its start', () => {
    // The first reference is in an unlabelled video; the second overlaps b's range [30, 60].
    const link = checkLink(question, [ref('c', 0, 150), ref('b', 0, 150), ref('a', 90, 240)]);
    expect(link).toEqual({ videoId: 'b', at: 0, range: [30, 60], distance: -30, onTime: false });
    // Linked to a moment 8 s before the range: on time.
    expect(checkLink(question, [ref('b', 0, 150, 22)])).toMatchObject({ at: 22, distance: -8, onTime: true });
    // Inside the range: on time; after it: not.
    expect(checkLink(question, [ref('a', 90, 240, 149)])).toMatchObject({ distance: 49, onTime: true });
    expect(checkLink(question, [ref('a', 90, 240, 151)])).toMatchObject({ onTime: false });
    // A window that only touches the range does not point into it.
    expect(checkLink(question, [ref('a', 150, 300)])).toBeNull();
    expect(checkLink(question, [])).toBeNull();
  });

  it('picks the nearest of two ranges of the same video', () => {
    const twice: LabelledQuestion = { q: 'q', video: ['a', 'a'], range: [[10, 40], [100, 130]] };
    expect(checkLink(twice, [ref('a', 0, 150, 95)])).toMatchObject({ range: [100, 130], distance: -5 });
  });

  it('a reference opens in the range when its link second is inside it', () => {
    expect(opensInRange(question, [ref('a', 0, 150)])).toBe(false);
    expect(opensInRange(question, [ref('a', 0, 150, 120)])).toBe(true);
    expect(opensInRange(question, [ref('c', 0, 150, 120), ref('b', 30, 150)])).toBe(true);
  });
});

describe('summary', () => {
  const outcome = (o: Partial<AnswerOutcome>): AnswerOutcome => ({
    index: 0,
    q: 'q',
    expected: 'answerable',
    tags: [],
    answerKind: 'extractive',
    refused: false,
    rightKind: true,
    references: [],
    opensInRange: false,
    link: null,
    answer: '',
    judge: null,
    ...o,
  });
  const link = (distance: number, onTime: boolean) => ({ videoId: 'a', at: 100 + distance, range: [100, 150] as [number, number], distance, onTime });

  it('counts refusals both ways, links and their median distance', () => {
    const s = summarizeAnswers(
      [
        outcome({ link: link(-5, true), opensInRange: false }),
        outcome({ link: link(20, true), opensInRange: true }),
        outcome({ link: link(-40, false) }),
        outcome({ refused: true, rightKind: false, answerKind: 'not-found', opensInRange: false }),
        outcome({ expected: 'not-covered', refused: true, answerKind: 'not-found', opensInRange: null }),
        outcome({ expected: 'not-covered', refused: false, rightKind: false, opensInRange: null }),
      ],
      false,
    );
    expect(s).toEqual({
      questions: 6,
      answerable: 4,
      notCovered: 2,
      notCoveredRefused: 1,
      notFoundRecall: 0.5,
      wronglyRefused: 1,
      opensInRange: 1,
      links: 3,
      medianLinkDistance: 20,
      onTimeShare: 2 / 3,
      judge: null,
    });
  });

  it('averages the judge over answers, abstentions and failures apart', () => {
    const judged = summarizeAnswers(
      [
        outcome({ judge: { status: 'ok', answerRelevance: 1, groundedness: 1, label: 'C', error: null } }),
        outcome({ judge: { status: 'ok', answerRelevance: 1 / 3, groundedness: 0.5, label: 'P', error: null } }),
        outcome({ expected: 'not-covered', refused: true, judge: { status: 'ok', answerRelevance: null, groundedness: null, label: 'C', error: null } }),
        outcome({ judge: { status: 'failed', answerRelevance: null, groundedness: null, label: null, error: 'x' } }),
      ],
      true,
    );
    expect(judged.judge).toEqual({ judged: 3, failed: 1, meanAnswerRelevance: 2 / 3, labels: { C: 2, P: 1, I: 0 } });
  });
});

describe('npm run eval:answers', () => {
  let work: string;
  let llm: FakeOpenAI;
  beforeAll(async () => {
    work = await tempDir('eval-answers-');
    llm = await startFakeOpenAI();
  });
  afterAll(async () => {
    await llm.close();
    await rm(work, { recursive: true, force: true });
  });

  it('without an LLM: extractive answers on the sample course, a Markdown table on stdout and the JSON beside it', async () => {
    const out = path.join(work, 'extractive.json');
    const res = await runCli('src/cli/evalAnswers.ts', ['--out', out], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') }), process.cwd(), 120_000);
    expect(res.code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as AnswerEvalReport;
    const questions = JSON.parse(await readFile(path.join(SAMPLE_COURSE, 'questions.json'), 'utf8')) as unknown[];
    expect(report.questions).toHaveLength(questions.length);
    expect(report.model).toBe('extractive');
    expect(report.retriever).toBe('bm25');
    expect(report.judgeModel).toBeNull();
    expect(report.summary.answerable + report.summary.notCovered).toBe(questions.length);
    expect(report.byTag.informal?.questions).toBeGreaterThanOrEqual(12);
    for (const o of report.questions) {
      expect(o.rightKind).toBe(o.expected === 'not-covered' ? o.refused : !o.refused);
      if (o.link) expect(o.link.distance).toBeCloseTo(o.link.at - o.link.range[0], 9);
    }
    expect(report.summary.links).toBeGreaterThan(0);
    // stdout: the Markdown report alone; logs and progress on stderr.
    expect(res.stdout).toMatch(/^Answer quality: \d+ questions \(\d+ answerable, \d+ not covered\), retriever bm25, answers extractive, no judge/);
    expect(res.stdout).toMatch(/\| all \| \d+ \| \d+ \| \d+ of \d+ \(\d+%\) \| \d+ \| [\d.]+ s \| \d+% \| \d+ of \d+ \|/);
    expect(res.stdout).toContain('| 1 | O que é aprendizado de máquina? | answerable |');
    expect(res.stdout).not.toContain('"level"');
    expect(res.stderr).toContain('eval:answers');
  });

  it('with an LLM: answers from the model and the judge scores each answer', async () => {
    const questionsFile = path.join(work, 'questions.json');
    await writeFile(
      questionsFile,
      JSON.stringify([
        { q: 'O que é dropout?', video: ['aula03'], range: [[297.1, 392.3]] },
        { q: 'O que é uma LSTM?', video: [], range: [] },
      ]),
    );
    llm.setDefault((req) => {
      if (req.messages[0]?.content === JUDGE_SYSTEM_PROMPT) {
        return { type: 'text', text: '{"criteria": "c", "supporting_evidence": "e", "score": 3}' };
      }
      return { type: 'text', text: 'O dropout desliga neurônios aleatoriamente durante o treino [1].' };
    });
    const out = path.join(work, 'llm.json');
    const env = cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models'), OPENAI_API_KEY: 'sk-test-eval', OPENAI_BASE_URL: llm.baseURL, OPENAI_MODEL: 'fake-answer', JUDGE_MODEL: 'fake-judge' });
    const res = await runCli('src/cli/evalAnswers.ts', ['--questions', questionsFile, '--out', out], env, process.cwd(), 120_000);
    expect(res.code).toBe(0);
    const report = JSON.parse(await readFile(out, 'utf8')) as AnswerEvalReport;
    expect(report.model).toBe('fake-answer');
    expect(report.judgeModel).toBe('fake-judge');
    const dropout = report.questions[0]!;
    expect(dropout.answerKind).toBe('llm');
    expect(dropout.judge).toMatchObject({ status: 'ok', answerRelevance: 1 });
    expect(report.summary.judge).toMatchObject({ judged: 2, failed: 0 });
    expect(res.stdout).toMatch(/\| # \| question \| label \| answer \| in range \| link → labelled start \| distance \| AR \| judge \|/);
    expect(res.stdout).toContain('judge fake-judge');
    // The answers went to the answer model, the verdicts to the judge model.
    expect(new Set(llm.requests.map((r) => r.model))).toEqual(new Set(['fake-answer', 'fake-judge']));
    expect(JSON.stringify(report)).not.toContain('sk-test-eval');

    const noJudge = await runCli('src/cli/evalAnswers.ts', ['--questions', questionsFile, '--out', out, '--no-judge'], env, process.cwd(), 120_000);
    expect(noJudge.code).toBe(0);
    expect(noJudge.stdout).toContain('no judge');
  });

  it('a questions file that cannot be used: exit 1 naming it', async () => {
    const bad = path.join(work, 'bad.json');
    await writeFile(bad, JSON.stringify([{ q: 'x', video: ['aula01'], range: [] }]));
    const res = await runCli('src/cli/evalAnswers.ts', ['--questions', bad, '--out', path.join(work, 'x.json')], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') }), process.cwd(), 60_000);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('bad.json');
    expect(res.stderr).toContain('must have one [start, end] per video');
  });
});
