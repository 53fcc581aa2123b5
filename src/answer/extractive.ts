/**
 * Answer built without an LLM: short quoted passages of the best transcript excerpts,
 * each cut to the ~60-word window that contains most of the question's words.
 */
import type { RetrievedSegment } from '../types.js';
import { formatClock } from '../course/links.js';
import { NOT_FOUND_MESSAGE } from './prompt.js';
import type { VideoInfo } from './references.js';

export const EXTRACTIVE_HEADER = 'Resposta extraída das transcrições (sem modelo de linguagem configurado):';

export interface ExtractiveOptions {
  /** Passages quoted at most. Default 3. */
  maxPassages?: number;
  /** Words per passage at most. Default 60. */
  windowWords?: number;
}

/** Short Portuguese function words that say nothing about the topic. */
const STOPWORDS = new Set(
  (
    'a o e é as os um uma uns umas de do da dos das em no na nos nas por pelo pela pelos pelas para pra pro ' +
    'com sem que se como qual quais quando onde porque porquê quem ao aos à às ou mas mais menos muito ' +
    'isso isto esse essa este esta aquele aquela ele ela eles elas eu você vocês me te lhe nós seu sua ' +
    'ser são foi era está estão tem têm ter há sobre entre também já não sim então aula aulas professor ' +
    'professora explica explicou falou fala diz disse pode podem fazer faz'
  ).split(/\s+/),
);

/** Lowercase, no accents, letters and digits only. */
function fold(word: string): string {
  return word
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

/** Question terms: folded words of 3+ characters that are not stopwords. */
export function questionTerms(question: string): string[] {
  const terms = new Set<string>();
  for (const raw of question.split(/\s+/)) {
    const w = fold(raw);
    if (w.length >= 3 && !STOPWORDS.has(w)) terms.add(w);
  }
  return [...terms];
}

/** Crude stemming: equal, or sharing the first 5 characters when both are that long. */
function matches(word: string, terms: readonly string[]): boolean {
  if (word.length < 3) return false;
  for (const t of terms) {
    if (word === t) return true;
    if (word.length >= 5 && t.length >= 5 && word.slice(0, 5) === t.slice(0, 5)) return true;
  }
  return false;
}

/**
 * The `windowWords`-word window of `text` with most question terms (earliest on ties),
 * with `…` where text was cut.
 */
export function bestWindow(text: string, terms: readonly string[], windowWords = 60): string {
  const words = text.split(/\s+/).filter(Boolean);
  if (words.length <= windowWords) return words.join(' ');
  const hit = words.map((w) => (matches(fold(w), terms) ? 1 : 0));
  let sum = 0;
  for (let i = 0; i < windowWords; i++) sum += hit[i] ?? 0;
  let best = sum;
  let bestStart = 0;
  for (let start = 1; start + windowWords <= words.length; start++) {
    sum += (hit[start + windowWords - 1] ?? 0) - (hit[start - 1] ?? 0);
    if (sum > best) {
      best = sum;
      bestStart = start;
    }
  }
  const slice = words.slice(bestStart, bestStart + windowWords).join(' ');
  return `${bestStart > 0 ? '…' : ''}${slice}${bestStart + windowWords < words.length ? '…' : ''}`;
}

/**
 * A pt-BR answer made of 2–3 quoted passages of the best excerpts, no LLM involved.
 * Each passage ends with `[n]` (n = 1-based position of its segment in `segments`, the same
 * numbering an LLM answer uses) and the lecture title with the clock time. Windows that
 * overlap an already quoted one of the same video are skipped (their text would repeat).
 * No segments → `NOT_FOUND_MESSAGE`.
 */
export function extractiveAnswer(
  question: string,
  segments: readonly RetrievedSegment[],
  videos: ReadonlyMap<string, VideoInfo>,
  opts: ExtractiveOptions = {},
): string {
  const maxPassages = opts.maxPassages ?? 3;
  const windowWords = opts.windowWords ?? 60;
  const terms = questionTerms(question);
  const chosen: Array<{ seg: RetrievedSegment; n: number }> = [];
  segments.forEach((seg, i) => {
    if (chosen.length >= maxPassages || seg.text.trim() === '') return;
    const overlaps = chosen.some(
      (c) => c.seg.videoId === seg.videoId && seg.start < c.seg.end && c.seg.start < seg.end,
    );
    if (!overlaps) chosen.push({ seg, n: i + 1 });
  });
  if (chosen.length === 0) return NOT_FOUND_MESSAGE;

  const passages = chosen.map(({ seg, n }) => {
    const title = videos.get(seg.videoId)?.title ?? seg.title;
    return `“${bestWindow(seg.text, terms, windowWords)}” [${n}] — ${title}, ${formatClock(seg.start)}`;
  });
  return [EXTRACTIVE_HEADER, ...passages].join('\n\n');
}
