/**
 * The moment inside a retrieved window where the question is answered. A window is ~150 s; the
 * explanation may start two minutes after it does, so a link to the window's start makes the
 * student wait or search. Every window keeps where its cues start (`TranscriptWindow.cues`);
 * the cues are grouped into spans of GROUP_SECONDS and each span is scored with the same evidence
 * as the window (how much of the question's content, weighted by specificity, it says), each
 * concept counting more when several cues say it (saturating as BM25's term frequency does), so
 * an explanation outranks a passing mention. The best span starts at a cue that says something
 * of the question, as late as it can without losing score (a partial match of a common word a
 * few cues earlier does not pull the link back). The link opens MOMENT_LEAD_SECONDS before it.
 *
 * Windows with no lexical match (found by the dense retriever alone) are placed by embedding
 * their spans and taking the one closest to the question (`denseMoment`).
 * Windows of older indexes, without cue boundaries, have no moment: their links open at the
 * window's start, as before.
 */
import type { Bm25Index } from '../lexical/bm25Index.js';
import { analyze } from '../lexical/portugueseAnalyzer.js';
import type { ResolvedQuery } from '../lexical/resolvedQuery.js';
import type { Moment, TranscriptWindow } from '../types.js';

/** How long a span of cues scored together is: a sentence or two of speech. */
export const GROUP_SECONDS = 20;
/** How long before the best cue the link opens, so the student hears the sentence start. */
export const MOMENT_LEAD_SECONDS = 3;

/** One cue of a window: its start time and its text's place in the window text. */
export interface CueSpan {
  start: number;
  from: number;
  to: number;
}

/** The cues of a window, or [] when the window has no cue boundaries (or they do not fit its text). */
export function cueSpans(window: TranscriptWindow): CueSpan[] {
  const cues = window.cues;
  if (!cues || cues.offsets.length === 0 || cues.offsets.length !== cues.starts.length) return [];
  const spans: CueSpan[] = [];
  for (let i = 0; i < cues.offsets.length; i++) {
    const from = cues.offsets[i]!;
    const to = i + 1 < cues.offsets.length ? cues.offsets[i + 1]! - 1 : window.text.length;
    if (!(from >= 0 && to >= from && to <= window.text.length)) return [];
    spans.push({ start: cues.starts[i]!, from, to });
  }
  return spans;
}

/** The link second for a moment starting at cue `start`: a little before it, never before the window. */
export function linkSecond(window: Pick<TranscriptWindow, 'start'>, cueStart: number): number {
  return Math.max(window.start, cueStart - MOMENT_LEAD_SECONDS);
}

/** The cues from `first` while they start within GROUP_SECONDS of it. */
function groupEnd(spans: readonly CueSpan[], first: number): number {
  let last = first;
  while (last + 1 < spans.length && spans[last + 1]!.start < spans[first]!.start + GROUP_SECONDS) last++;
  return last;
}

function momentAt(window: TranscriptWindow, spans: readonly CueSpan[], first: number): Moment {
  const last = groupEnd(spans, first);
  return { at: linkSecond(window, spans[first]!.start), excerpt: window.text.slice(spans[first]!.from, spans[last]!.to).trim() };
}

/**
 * The best moment of `window` for the question, from its words: the span of cues holding the
 * most of the question's content (ties: the earliest), opened at its first cue that holds any.
 * Undefined when no cue says any content word, or the window has no cue boundaries.
 */
export function lexicalMoment(window: TranscriptWindow, query: ResolvedQuery, index: Bm25Index): Moment | undefined {
  const spans = cueSpans(window);
  if (spans.length === 0 || query.concepts.length === 0) return undefined;
  // Each concept's forms as sets of analysed terms (ids of terms in no window cannot match).
  const forms = query.concepts.map((c) =>
    c.forms.map((f) => ({ terms: f.ids.map((id) => (id >= 0 ? index.termOf(id) : null)), idfs: f.idfs, mass: f.mass })),
  );
  const cueTerms = spans.map((s) => new Set(analyze(window.text.slice(s.from, s.to))));
  const found = (terms: ReadonlySet<string>, c: number): number => {
    let best = 0;
    for (const form of forms[c]!) {
      if (form.mass <= 0) continue;
      let share = 0;
      form.terms.forEach((t, i) => {
        if (t !== null && terms.has(t)) share += form.idfs[i]!;
      });
      best = Math.max(best, share / form.mass);
    }
    return best;
  };
  const perCue = cueTerms.map((terms) => query.concepts.map((_, c) => found(terms, c)));
  const saysAny = perCue.map((shares) => shares.some((x) => x > 0));
  const scoreFrom = (first: number): number => {
    const last = groupEnd(spans, first);
    const union = new Set<string>();
    for (let i = first; i <= last; i++) for (const t of cueTerms[i]!) union.add(t);
    let score = 0;
    query.concepts.forEach((concept, c) => {
      const share = found(union, c);
      if (share <= 0) return;
      let mentions = 0;
      for (let i = first; i <= last; i++) if (perCue[i]![c]! > 0) mentions++;
      score += concept.mass * share * saturate(Math.max(1, mentions));
    });
    return score;
  };
  const scores = spans.map((_, first) => (saysAny[first] ? scoreFrom(first) : 0));
  let bestFirst = -1;
  for (let first = 0; first < spans.length; first++) {
    if (scores[first]! > (bestFirst < 0 ? 0 : scores[bestFirst]!) + EPSILON) bestFirst = first;
  }
  if (bestFirst < 0) return undefined;
  // As late as possible without losing score: the span's own later cues.
  const last = groupEnd(spans, bestFirst);
  for (let later = bestFirst + 1; later <= last; later++) {
    if (saysAny[later] && scores[later]! >= scores[bestFirst]! - EPSILON) {
      bestFirst = later;
      break;
    }
  }
  return momentAt(window, spans, bestFirst);
}

const EPSILON = 1e-9;
/** BM25's term-frequency saturation (k1 = 1.2): 1 for one mention, 1.375 for two, at most 2.2. */
function saturate(mentions: number): number {
  return (mentions * 2.2) / (mentions + 1.2);
}

/** Non-overlapping spans of GROUP_SECONDS covering the window: their first cue and text. */
export function spanTexts(window: TranscriptWindow): { first: number; text: string }[] {
  const spans = cueSpans(window);
  const out: { first: number; text: string }[] = [];
  for (let first = 0; first < spans.length; ) {
    const last = groupEnd(spans, first);
    out.push({ first, text: window.text.slice(spans[first]!.from, spans[last]!.to).trim() });
    first = last + 1;
  }
  return out;
}

/**
 * The best moment of `window` by meaning: the span whose embedding (`spanVectors[i]`, one per
 * `spanTexts(window)[i]`) is closest to the question's. Undefined without cue boundaries.
 */
export function denseMoment(window: TranscriptWindow, question: ArrayLike<number>, spanVectors: readonly ArrayLike<number>[]): Moment | undefined {
  const spans = cueSpans(window);
  const texts = spanTexts(window);
  if (spans.length === 0 || texts.length !== spanVectors.length) return undefined;
  let best = -1;
  let bestSimilarity = -Infinity;
  spanVectors.forEach((vector, i) => {
    let dot = 0;
    for (let d = 0; d < question.length; d++) dot += question[d]! * (vector[d] ?? 0);
    if (dot > bestSimilarity) {
      bestSimilarity = dot;
      best = i;
    }
  });
  return best < 0 ? undefined : momentAt(window, spans, texts[best]!.first);
}
