/**
 * Answer built without an LLM: from each of the best retrieved windows (up to three, leaving out
 * those far below the best), the sentence or two at the moment that best matches the question
 * (`RetrievedSegment.moment`), each with its link to that moment, about 600 characters of
 * quotes in all. Windows of older indexes, without a moment, are quoted at the ~60-word stretch
 * that holds most of the question's words.
 */
import type { RetrievedSegment } from '../types.js';
import { formatClock, videoLinkAt } from '../course/links.js';
import { GROUP_SECONDS } from '../retrieval/moments.js';
import { NOT_FOUND_MESSAGE } from './prompt.js';
import type { VideoInfo } from './references.js';

export const EXTRACTIVE_HEADER = 'Resposta extraída das transcrições (sem modelo de linguagem configurado):';

export interface ExtractiveOptions {
  /** Passages quoted at most. Default 3. */
  maxPassages?: number;
  /** Words per passage at most, for windows without a moment. Default 60. */
  windowWords?: number;
  /** Characters of quotes in all, at most (each passage gets its share). Default 600. */
  maxChars?: number;
}

/** A window whose coverage is below this share of the best one's is not quoted. */
export const RELATIVE_FLOOR = 0.5;

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
 * Whether quoting `b` after `a` would repeat it: the same video, and their moments less than a
 * span apart (windows overlap by ~40 s, yet often hold two different moments), or, without
 * moments, overlapping windows.
 */
function repeats(a: RetrievedSegment, b: RetrievedSegment): boolean {
  if (a.videoId !== b.videoId) return false;
  if (a.moment && b.moment) return Math.abs(a.moment.at - b.moment.at) < GROUP_SECONDS;
  return b.start < a.end && a.start < b.end;
}

/** `text` cut at a word boundary to at most `max` characters, with `…` where it was cut. */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, Math.max(1, max - 1));
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '')}…`;
}

/** `[label](url)` with the characters that would end the label or the URL early escaped. */
function markdownLink(label: string, url: string): string {
  const safeLabel = label.replace(/[[\]]/g, (c) => (c === '[' ? '(' : ')'));
  return url ? `[${safeLabel}](${url.replace(/\)/g, '%29').replace(/\s/g, '%20')})` : safeLabel;
}

/**
 * A pt-BR answer quoting up to `maxPassages` of the retrieved windows, best first. A window
 * whose moment is near an already quoted one of the same video is skipped (its text would
 * repeat), and so are windows whose coverage is below RELATIVE_FLOOR of the best quoted one. Each passage ends
 * with `[n]` (n = 1-based position of its segment in `segments`, the numbering an LLM answer
 * uses) and a link with the lecture title and clock time of the moment it quotes.
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
  const maxChars = opts.maxChars ?? 600;
  const terms = questionTerms(question);
  const best = Math.max(0, ...segments.map((s) => s.evidence?.coverage ?? 0));
  const chosen: Array<{ seg: RetrievedSegment; n: number }> = [];
  segments.forEach((seg, i) => {
    if (chosen.length >= maxPassages || seg.text.trim() === '') return;
    if (seg.evidence && best > 0 && seg.evidence.coverage < RELATIVE_FLOOR * best) return;
    if (!chosen.some((c) => repeats(c.seg, seg))) chosen.push({ seg, n: i + 1 });
  });
  if (chosen.length === 0) return NOT_FOUND_MESSAGE;

  const share = Math.floor(maxChars / chosen.length);
  const passages = chosen.map(({ seg, n }) => {
    const video = videos.get(seg.videoId);
    const title = video?.title ?? seg.title;
    const at = seg.moment?.at ?? seg.start;
    const quote = clip(seg.moment?.excerpt ?? bestWindow(seg.text, terms, windowWords).replace(/…/g, ''), share);
    const url = video ? videoLinkAt(video.url, at) : seg.url;
    return `“${quote}” [${n}] — ${markdownLink(`${title}, ${formatClock(at)}`, url)}`;
  });
  return [EXTRACTIVE_HEADER, ...passages].join('\n\n');
}
