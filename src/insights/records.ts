/**
 * What the staff insights read from one stored record: a small, flat view built from a
 * `FullRecord` as it streams by, so that the aggregation never keeps segments, answer texts or
 * judge reasoning. Fields that other features add to the record (conversations, #16) are read
 * defensively: a record written before them, or by a version without them, reads as null.
 */
import { cleanTitle } from '../course/cleanText.js';
import { isAbstention } from '../evaluation/exportRecords.js';
import { analyze } from '../lexical/portugueseAnalyzer.js';
import type { EscalationCase, FullRecord, Label } from '../store/types.js';

/** One moment of a lecture an answer cited (a reference, or a retrieved segment when it has none). */
export interface Citation {
  videoId: string;
  title: string;
  /** A link to the video (any second: `videoLinkAt` moves it). */
  url: string;
  start: number;
  end: number;
}

export interface JudgeView {
  /** Answer relevance normalised 0–1 (null for abstentions and when missing). */
  answerRelevance: number | null;
  /** Raw 0–3 answer relevance, for the distribution. */
  answerRelevanceRaw: number | null;
  /** Mean normalised context relevance over the segments, or null. */
  contextRelevance: number | null;
  groundedness: number | null;
  label: Label | null;
  abstained: boolean;
}

export interface InsightRecord {
  id: string;
  createdAtMs: number;
  platform: string;
  /** `llm`, `extractive`, `not-found`, `verified` (#17) or whatever a later version writes. */
  kind: string;
  question: string;
  /** The answer says the lectures do not cover the question (or nothing was found). */
  abstained: boolean;
  conversationId: string | null;
  turn: number | null;
  citations: Citation[];
  up: number;
  down: number;
  /** The TA's label, or null. */
  manualLabel: Label | null;
  /** Only verdicts with status 'ok'; failed ones count as not judged. */
  judge: JudgeView | null;
  judgeFailed: boolean;
  /** The escalation case opened from this answer (#17), if any. */
  escalation: { status: string } | null;
  /**
   * The question's content words found in no lecture (the answer's `coverage.unknown`, #15):
   * what a coverage gap is about ("cuda", "lstm"). Empty for older records.
   */
  unknownWords: string[];
}

/** Listed questions are cut to this many characters (the report is for skimming). */
export const QUESTION_CHARS = 300;

function oneLine(text: string, max = QUESTION_CHARS): string {
  // Control characters (a bell, an escape sequence) have no place in a report; newlines become spaces.
  const clean = text
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

export function questionText(text: string): string {
  return oneLine(text);
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function finiteTime(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

const titles = new Map<string, string>();

/** A lecture title as one clean line; a course has few titles, cited over and over. */
function title(raw: string): string {
  let clean = titles.get(raw);
  if (clean === undefined) {
    clean = cleanTitle(raw);
    if (titles.size >= 10_000) titles.clear();
    titles.set(raw, clean);
  }
  return clean;
}

function citationsOf(record: FullRecord): Citation[] {
  // A "closest moment" of a not-found answer is shown as not being the answer: it cites nothing.
  const references = (record.references ?? []).filter((r) => r.closest !== true);
  const from = record.references?.length > 0 ? references : record.kind === 'not-found' ? [] : (record.segments ?? []);
  const out: Citation[] = [];
  for (const c of from) {
    const start = finiteTime(c.start);
    const end = finiteTime(c.end);
    if (typeof c.videoId !== 'string' || start === null || end === null) continue;
    out.push({ videoId: c.videoId, title: title(String(c.title ?? c.videoId)), url: typeof c.url === 'string' ? c.url : '', start, end: Math.max(start, end) });
  }
  return out;
}

function judgeOf(record: FullRecord): JudgeView | null {
  const j = record.judge;
  if (!j || j.status !== 'ok') return null;
  const contextRelevance = mean((j.contextRelevance ?? []).map((c) => c.normalized).filter((n) => Number.isFinite(n)));
  return {
    answerRelevance: j.abstained ? null : numberOrNull(j.answerRelevance?.normalized),
    answerRelevanceRaw: j.abstained ? null : numberOrNull(j.answerRelevance?.raw),
    contextRelevance,
    groundedness: j.abstained ? null : numberOrNull(j.groundednessMean),
    label: j.label ?? null,
    abstained: j.abstained === true,
  };
}

const UNKNOWN_WORDS = 8;

/**
 * Words of the question no lecture uses, as the answer's coverage estimate recorded them. The
 * estimate keeps analysed forms ("instal", "cud"); staff read the question's own words
 * ("instalar", "cuda"), so each word of the question whose analysed form is unknown is shown.
 */
function unknownWordsOf(record: FullRecord): string[] {
  const unknown = (record.coverage as { unknown?: unknown } | undefined)?.unknown;
  if (!Array.isArray(unknown) || unknown.length === 0) return [];
  // A glossary expression is one concept of several terms, joined by spaces.
  const stems = new Set(unknown.filter((w): w is string => typeof w === 'string').flatMap((w) => w.split(' ')).filter(Boolean));
  const words = new Set<string>();
  for (const word of String(record.question ?? '').match(/[\p{L}\p{N}]+(?:[-'][\p{L}\p{N}]+)*/gu) ?? []) {
    if (words.size >= UNKNOWN_WORDS) break;
    if (analyze(word).some((t) => stems.has(t))) words.add(word.toLocaleLowerCase('pt-BR'));
  }
  return [...words];
}

/** The flat view of `record`; `escalation` is the case opened from it, when the store has cases. */
export function toInsightRecord(record: FullRecord, escalation: EscalationCase | undefined): InsightRecord {
  const extra = record as unknown as Record<string, unknown>;
  const abstained = isAbstention(record);
  const turn = numberOrNull(extra.turn);
  return {
    id: record.id,
    createdAtMs: Date.parse(record.createdAt),
    platform: typeof record.platform === 'string' ? record.platform : 'desconhecida',
    kind: typeof record.kind === 'string' ? record.kind : 'desconhecido',
    question: questionText(record.question ?? ''),
    abstained,
    conversationId: stringOrNull(extra.conversationId),
    turn: turn === null ? null : Math.trunc(turn),
    // An abstention cites nothing: the moments it retrieved did not answer the question.
    citations: abstained ? [] : citationsOf(record),
    up: record.votes?.up ?? 0,
    down: record.votes?.down ?? 0,
    manualLabel: record.annotation?.label ?? null,
    judge: judgeOf(record),
    judgeFailed: record.judge?.status === 'failed',
    escalation: escalation ? { status: escalation.status } : null,
    unknownWords: unknownWordsOf(record),
  };
}
