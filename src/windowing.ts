/**
 * Cues → overlapping time windows. A window starts at a cue, takes cues while they start within
 * `windowSeconds` of its start and while the text fits the embedding model's token limit, and the
 * next window starts at the first cue at least `strideSeconds` later. With the defaults (150 s
 * windows, 110 s stride) consecutive windows share about 40 s, so an explanation that crosses a
 * window border is whole in one of them.
 */
import type { Cue, WindowCues } from './types.js';

export interface WindowSettings {
  windowSeconds: number;
  strideSeconds: number;
  /** Token limit of the embedding model, special tokens and the `passage: ` prefix included. */
  maxTokens: number;
}

export const DEFAULT_WINDOW_SETTINGS: WindowSettings = { windowSeconds: 150, strideSeconds: 110, maxTokens: 512 };

/** A window before it receives its corpus id. */
export interface WindowDraft {
  start: number;
  end: number;
  text: string;
  /** Where each of its cues starts, in the text and in time. */
  cues: WindowCues;
}

/** Counts tokens the way the embedding model will see the passage. */
export type TokenCounter = (text: string) => number;

/**
 * Rough count for when no tokenizer can be loaded (lexical-only ingest): about one token per
 * three characters of Portuguese, which over-counts slightly, so windows stay under the limit.
 */
export const approximateTokenCount: TokenCounter = (text) => 2 + Math.ceil((text.length + 9) / 3);

export function buildWindows(cues: readonly Cue[], settings: WindowSettings, countTokens: TokenCounter): WindowDraft[] {
  const usable = cues.filter((c) => c.text.trim() !== '');
  if (usable.length === 0) return [];
  const base = countTokens('');
  const cueTokens = usable.map((c) => Math.max(1, countTokens(c.text) - base));
  const windows: WindowDraft[] = [];
  let first = 0;
  while (first < usable.length) {
    const windowStart = usable[first]!.start;
    let last = first;
    let tokens = base + cueTokens[first]!;
    while (
      last + 1 < usable.length &&
      usable[last + 1]!.start < windowStart + settings.windowSeconds &&
      tokens + cueTokens[last + 1]! <= settings.maxTokens
    ) {
      last++;
      tokens += cueTokens[last]!;
    }
    // The per-cue sum is an estimate: check the joined text and drop cues until it truly fits.
    let joined = joinCues(usable, first, last);
    while (last > first && countTokens(joined.text) > settings.maxTokens) {
      last--;
      joined = joinCues(usable, first, last);
    }
    windows.push({ start: windowStart, end: maxEnd(usable, first, last), text: joined.text, cues: joined.cues });
    const cutByTokens = usable[last + 1] !== undefined && usable[last + 1]!.start < windowStart + settings.windowSeconds;
    if (last === usable.length - 1) break;

    let next = first + 1;
    while (next < usable.length && usable[next]!.start < windowStart + settings.strideSeconds) next++;
    // A window cut short by the token limit must not leave a gap: restart inside it, keeping
    // the same overlap ratio as time-based windows.
    if (cutByTokens) {
      const keep = Math.max(1, Math.floor(((last - first + 1) * settings.strideSeconds) / settings.windowSeconds));
      next = Math.min(next, first + keep);
    }
    first = Math.min(next, last + 1);
  }
  return windows;
}

/**
 * The cues' texts joined by single spaces (whitespace inside a cue collapsed too), and where each
 * cue starts in that text. Cues are trimmed and never empty here, so collapsing each one and
 * joining with one space gives the same text as collapsing the joined text.
 */
function joinCues(cues: readonly Cue[], from: number, to: number): { text: string; cues: WindowCues } {
  let text = '';
  const offsets: number[] = [];
  const starts: number[] = [];
  for (let i = from; i <= to; i++) {
    if (i > from) text += ' ';
    offsets.push(text.length);
    starts.push(cues[i]!.start);
    text += cues[i]!.text.trim().replace(/\s+/g, ' ');
  }
  return { text, cues: { offsets, starts } };
}

function maxEnd(cues: readonly Cue[], from: number, to: number): number {
  let end = cues[from]!.end;
  for (let i = from + 1; i <= to; i++) end = Math.max(end, cues[i]!.end);
  return end;
}
