/**
 * Answer-level evaluation against a course's labelled questions (`questions.json`, see
 * `retrievalEval.ts`): every question goes through the full answer path (the LLM when one is
 * configured, else the extractive answer), and each answer is checked against its label:
 *
 * - kind: answered, or "not found" — right for a not-covered question, wrong for an answerable one;
 * - whether a reference opens inside a labelled range (same video, link second within the range);
 * - link distance: for the first reference that points into a labelled range (its video is a
 *   labelled one and its time span overlaps that video's range), the link second minus the
 *   range's start (negative: the link opens before the explanation starts). A link is "on time"
 *   when it opens inside the range or at most `LINK_LEAD_TOLERANCE` seconds before it;
 * - the LLM judge's verdict, when a judge is given.
 *
 * Pure apart from the answer service and the judge it is handed.
 */
import pLimit from 'p-limit';
import type { AnswerService } from '../answer/answerService.js';
import type { Judge } from './judge.js';
import { buildAnswerRecord } from '../store/keyvStore.js';
import type { AnswerRecord, JudgeRecord, Label } from '../store/types.js';
import type { AnswerKind, AnswerResult, Reference } from '../types.js';
import { questionKind, type LabelledQuestion, type QuestionKind } from './retrievalEval.js';

/** A link this many seconds (or less) before the labelled start still counts as on time. */
export const LINK_LEAD_TOLERANCE = 10;

/** The second a reference's link opens the video at. */
export function linkSecond(ref: Pick<Reference, 'start'> & { at?: number }): number {
  return ref.at ?? ref.start;
}

export interface LinkCheck {
  videoId: string;
  /** Second the link opens at. */
  at: number;
  /** The labelled range the reference points into. */
  range: [number, number];
  /** at − range start, in seconds. */
  distance: number;
  /** Inside the range, or at most LINK_LEAD_TOLERANCE seconds before it. */
  onTime: boolean;
}

/**
 * The link of the first reference (in answer order) pointing into a labelled range, or null when
 * none does. When a reference overlaps two ranges of its video, the one whose start is nearest
 * the link is used.
 */
export function checkLink(question: LabelledQuestion, references: readonly (Reference & { at?: number })[]): LinkCheck | null {
  for (const ref of references) {
    const at = linkSecond(ref);
    let best: [number, number] | null = null;
    for (let i = 0; i < question.video.length; i++) {
      const range = question.range[i]!;
      if (question.video[i] !== ref.videoId || !(ref.start < range[1] && range[0] < ref.end)) continue;
      if (!best || Math.abs(at - range[0]) < Math.abs(at - best[0])) best = range;
    }
    if (best) {
      const [from, to] = best;
      return { videoId: ref.videoId, at, range: [from, to], distance: at - from, onTime: at >= from - LINK_LEAD_TOLERANCE && at <= to };
    }
  }
  return null;
}

/** True when some reference's link opens inside a labelled range of its video. */
export function opensInRange(question: LabelledQuestion, references: readonly (Reference & { at?: number })[]): boolean {
  return references.some((ref) => {
    const at = linkSecond(ref);
    return question.video.some((videoId, i) => videoId === ref.videoId && at >= question.range[i]![0] && at <= question.range[i]![1]);
  });
}

export interface JudgeSummary {
  status: 'ok' | 'failed';
  /** Answer relevance 0–1, null for abstentions and failed verdicts. */
  answerRelevance: number | null;
  /** Mean groundedness 0–1, or null. */
  groundedness: number | null;
  label: Label | null;
  error: string | null;
}

export interface AnswerOutcome {
  /** 0-based position in the questions file. */
  index: number;
  q: string;
  expected: QuestionKind;
  tags: string[];
  answerKind: AnswerKind;
  /** Answered "not found". */
  refused: boolean;
  /** Right: a not-covered question refused, or an answerable one answered. */
  rightKind: boolean;
  references: { videoId: string; start: number; end: number; at: number; closest: boolean }[];
  /** Answerable questions: whether a reference opens inside a labelled range. */
  opensInRange: boolean | null;
  /** Answerable questions: the link into a labelled range, or null. */
  link: LinkCheck | null;
  answer: string;
  judge: JudgeSummary | null;
}

export interface AnswerEvalSummary {
  questions: number;
  answerable: number;
  notCovered: number;
  /** Not-covered questions answered "not found". */
  notCoveredRefused: number;
  /** notCoveredRefused / notCovered, or null. */
  notFoundRecall: number | null;
  /** Answerable questions answered "not found". */
  wronglyRefused: number;
  /** Answerable questions with a reference opening inside a labelled range. */
  opensInRange: number;
  /** Answerable questions with a link into a labelled range. */
  links: number;
  /** Median |distance| of those links (seconds), or null. */
  medianLinkDistance: number | null;
  /** Share of those links on time (inside, or ≤ LINK_LEAD_TOLERANCE s before), or null. */
  onTimeShare: number | null;
  judge: {
    judged: number;
    failed: number;
    /** Mean answer relevance (0–1) of the answered (non-abstaining) questions, or null. */
    meanAnswerRelevance: number | null;
    labels: Record<Label, number>;
  } | null;
}

export interface AnswerEvalReport {
  questionsFile: string | null;
  /** e.g. `bm25` or `e5+bm25`. */
  retriever: string;
  /** LLM model id, or `extractive`. */
  model: string;
  judgeModel: string | null;
  summary: AnswerEvalSummary;
  /** The same summary over the questions of each tag. */
  byTag: Record<string, AnswerEvalSummary>;
  questions: AnswerOutcome[];
}

export interface EvaluateAnswersOptions {
  answers: AnswerService;
  questions: readonly LabelledQuestion[];
  /** Judges each answer when given. */
  judge?: Judge | null;
  /** Questions answered at once (the LLM client queues beyond its own limit anyway). Default 1. */
  concurrency?: number;
  questionsFile?: string;
  onProgress?: (done: number, total: number) => void;
}

/** The record the judge reads, built as the store builds it from an answer that is never stored. */
function asRecord(result: AnswerResult): AnswerRecord {
  return buildAnswerRecord(result, { platform: 'cli', channel: null, rawUserId: 'eval-answers' }, () => 'cli:eval-answers');
}

function summarizeJudge(verdict: JudgeRecord): JudgeSummary {
  return {
    status: verdict.status,
    answerRelevance: verdict.answerRelevance?.normalized ?? null,
    groundedness: verdict.groundednessMean,
    label: verdict.label,
    error: verdict.error,
  };
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarizeAnswers(outcomes: readonly AnswerOutcome[], judged: boolean): AnswerEvalSummary {
  const answerable = outcomes.filter((o) => o.expected === 'answerable');
  const notCovered = outcomes.filter((o) => o.expected === 'not-covered');
  const links = answerable.flatMap((o) => (o.link ? [o.link] : []));
  const notCoveredRefused = notCovered.filter((o) => o.refused).length;
  const verdicts = outcomes.flatMap((o) => (o.judge ? [o.judge] : []));
  const relevances = verdicts.flatMap((v) => (v.status === 'ok' && v.answerRelevance !== null ? [v.answerRelevance] : []));
  const labels: Record<Label, number> = { C: 0, P: 0, I: 0 };
  for (const v of verdicts) if (v.label) labels[v.label]++;
  return {
    questions: outcomes.length,
    answerable: answerable.length,
    notCovered: notCovered.length,
    notCoveredRefused,
    notFoundRecall: notCovered.length === 0 ? null : notCoveredRefused / notCovered.length,
    wronglyRefused: answerable.filter((o) => o.refused).length,
    opensInRange: answerable.filter((o) => o.opensInRange).length,
    links: links.length,
    medianLinkDistance: median(links.map((l) => Math.abs(l.distance))),
    onTimeShare: links.length === 0 ? null : links.filter((l) => l.onTime).length / links.length,
    judge: judged
      ? {
          judged: verdicts.filter((v) => v.status === 'ok').length,
          failed: verdicts.filter((v) => v.status === 'failed').length,
          meanAnswerRelevance: relevances.length === 0 ? null : relevances.reduce((a, b) => a + b, 0) / relevances.length,
          labels,
        }
      : null,
  };
}

/** Answers (and judges) every labelled question, in file order. */
export async function evaluateAnswers(options: EvaluateAnswersOptions): Promise<AnswerEvalReport> {
  const { answers, questions } = options;
  const judge = options.judge ?? null;
  const limit = pLimit(Math.max(1, options.concurrency ?? 1));
  let done = 0;
  let retriever = '';
  let model = '';
  options.onProgress?.(0, questions.length);
  const outcomes = await Promise.all(
    questions.map((question, index) =>
      limit(async (): Promise<AnswerOutcome> => {
        const result = await answers.answer(question.q);
        retriever ||= result.retriever;
        model ||= result.model;
        const expected = questionKind(question);
        const refused = result.kind === 'not-found';
        const verdict = judge ? summarizeJudge(await judge.judge(asRecord(result))) : null;
        const references = result.references as (Reference & { at?: number; closest?: boolean })[];
        options.onProgress?.(++done, questions.length);
        return {
          index,
          q: question.q,
          expected,
          tags: question.tags ?? [],
          answerKind: result.kind,
          refused,
          rightKind: expected === 'not-covered' ? refused : !refused,
          references: references.map((r) => ({ videoId: r.videoId, start: r.start, end: r.end, at: linkSecond(r), closest: r.closest === true })),
          opensInRange: expected === 'answerable' ? !refused && opensInRange(question, references) : null,
          link: expected === 'answerable' && !refused ? checkLink(question, references) : null,
          answer: result.answer,
          judge: verdict,
        };
      }),
    ),
  );
  const tags = [...new Set(questions.flatMap((q) => q.tags ?? []))].sort();
  const byTag: Record<string, AnswerEvalSummary> = {};
  for (const tag of tags) byTag[tag] = summarizeAnswers(outcomes.filter((o) => o.tags.includes(tag)), judge !== null);
  return {
    questionsFile: options.questionsFile ?? null,
    retriever,
    model,
    judgeModel: judge?.model ?? null,
    summary: summarizeAnswers(outcomes, judge !== null),
    byTag,
    questions: outcomes,
  };
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function share(n: number, of: number): string {
  return of === 0 ? '–' : `${n} of ${of} (${((100 * n) / of).toFixed(0)}%)`;
}

function fixed(x: number | null, digits = 2): string {
  return x === null ? '–' : x.toFixed(digits);
}

/** Pipes and line breaks would break a Markdown table cell. */
function cell(text: string, max = 70): string {
  const flat = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function summaryRows(label: string, s: AnswerEvalSummary): string {
  const onTime = s.onTimeShare === null ? '–' : `${(100 * s.onTimeShare).toFixed(0)}%`;
  return (
    `| ${label} | ${s.answerable} | ${s.wronglyRefused} | ${share(s.opensInRange, s.answerable)} | ${s.links} | ` +
    `${s.medianLinkDistance === null ? '–' : `${s.medianLinkDistance.toFixed(1)} s`} | ${onTime} | ` +
    `${s.notCovered === 0 ? '–' : `${s.notCoveredRefused} of ${s.notCovered}`} |`
  );
}

/** The report as Markdown: the summary (all questions, then per tag), then one row per question. */
export function formatAnswerReport(report: AnswerEvalReport): string {
  const s = report.summary;
  const lines: string[] = [];
  lines.push(
    `Answer quality: ${s.questions} questions (${s.answerable} answerable, ${s.notCovered} not covered), retriever ${report.retriever || '–'}, ` +
      `answers ${report.model || '–'}${report.judgeModel ? `, judge ${report.judgeModel}` : ', no judge'}`,
  );
  lines.push('');
  lines.push(
    `| questions | answerable | answerable → not found (wrong) | a reference opens in the range | links into the range | median link distance | on time (inside or ≤ ${LINK_LEAD_TOLERANCE} s before) | not covered → not found |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  lines.push(summaryRows('all', s));
  for (const [tag, t] of Object.entries(report.byTag)) lines.push(summaryRows(tag, t));
  if (s.judge) {
    const j = s.judge;
    lines.push('');
    lines.push(
      `Judge: ${j.judged} verdicts (${j.failed} failed); mean answer relevance of the answers ${fixed(j.meanAnswerRelevance)}; ` +
        `labels C ${j.labels.C}, P ${j.labels.P}, I ${j.labels.I}.`,
    );
  }
  lines.push('');
  const judged = s.judge !== null;
  lines.push(`| # | question | label | answer | in range | link → labelled start | distance |${judged ? ' AR | judge |' : ''}`);
  lines.push(`|---|---|---|---|---|---|---|${judged ? '---|---|' : ''}`);
  for (const o of report.questions) {
    const answer = o.refused ? (o.rightKind ? 'not found ✓' : 'not found ✗') : o.rightKind ? o.answerKind : `${o.answerKind} ✗`;
    const inRange = o.opensInRange === null ? '–' : o.opensInRange ? 'yes' : 'no';
    const link = o.link ? `${o.link.videoId} ${clock(o.link.at)} → ${clock(o.link.range[0])}` : '–';
    const distance = o.link ? `${o.link.distance >= 0 ? '+' : ''}${o.link.distance.toFixed(0)} s${o.link.onTime ? '' : ' ✗'}` : '–';
    const judgeCells = judged
      ? ` ${fixed(o.judge?.answerRelevance ?? null)} | ${o.judge ? (o.judge.status === 'failed' ? 'failed' : (o.judge.label ?? '–')) : '–'} |`
      : '';
    lines.push(`| ${o.index + 1} | ${cell(o.q)} | ${o.expected} | ${answer} | ${inRange} | ${link} | ${distance} |${judgeCells}`);
  }
  return `${lines.join('\n')}\n`;
}
