import { describe, expect, it } from 'vitest';
import type { Cue } from '../../src/types.js';
import { approximateTokenCount, buildWindows, DEFAULT_WINDOW_SETTINGS, type TokenCounter } from '../../src/windowing.js';

/** Cues of `seconds` each, with numbered words so every cue has distinct text. */
function cues(count: number, seconds = 3, wordsPerCue = 6): Cue[] {
  return Array.from({ length: count }, (_, i) => ({
    start: i * seconds,
    end: i * seconds + seconds,
    text: Array.from({ length: wordsPerCue }, (_, w) => `palavra${i}_${w}`).join(' '),
  }));
}

/** One token per word, plus 2 special tokens and the 2-token `passage:` prefix. */
const wordTokens: TokenCounter = (text) => 4 + (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);

describe('buildWindows', () => {
  it('makes ~150 s windows advancing ~110 s with ~40 s overlap by default', () => {
    const windows = buildWindows(cues(200), DEFAULT_WINDOW_SETTINGS, wordTokens); // 600 s of speech
    expect(windows[0]).toMatchObject({ start: 0, end: 150 });
    expect(windows[1]!.start).toBe(111);
    expect(windows[1]!.end).toBe(261);
    for (let i = 1; i < windows.length; i++) {
      const overlap = windows[i - 1]!.end - windows[i]!.start;
      expect(overlap).toBeGreaterThanOrEqual(30);
      expect(overlap).toBeLessThanOrEqual(45);
    }
    expect(windows.at(-1)!.end).toBe(600);
  });

  it('covers every cue: no gap between consecutive windows', () => {
    const input = cues(200);
    const windows = buildWindows(input, { windowSeconds: 60, strideSeconds: 45, maxTokens: 512 }, wordTokens);
    for (const cue of input) {
      expect(windows.some((w) => w.start <= cue.start && cue.end <= w.end)).toBe(true);
    }
  });

  it('never exceeds the token limit, counting with the given tokenizer, and still leaves no gap', () => {
    const input = cues(100, 3, 20); // 20 words per cue: 150 s would be 1000 tokens
    const settings = { windowSeconds: 150, strideSeconds: 110, maxTokens: 128 };
    const windows = buildWindows(input, settings, wordTokens);
    for (const w of windows) expect(wordTokens(w.text)).toBeLessThanOrEqual(128);
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.start).toBeLessThan(windows[i - 1]!.end);
    expect(windows.at(-1)!.end).toBe(300);
    // every cue's text is in some window
    for (const cue of input) expect(windows.some((w) => w.text.includes(cue.text))).toBe(true);
  });

  it('takes times from the cues, joins text with single spaces and skips empty cues', () => {
    const windows = buildWindows(
      [
        { start: 1.5, end: 4, text: ' então  o gradiente ' },
        { start: 4, end: 6.25, text: '' },
        { start: 6.25, end: 9.75, text: 'desce né' },
      ],
      DEFAULT_WINDOW_SETTINGS,
      wordTokens,
    );
    expect(windows).toEqual([{ start: 1.5, end: 9.75, text: 'então o gradiente desce né', cues: { offsets: [0, 18], starts: [1.5, 6.25] } }]);
  });

  it('keeps where each cue starts in the window text and in time', () => {
    const input = cues(200, 3, 4);
    for (const w of buildWindows(input, DEFAULT_WINDOW_SETTINGS, wordTokens)) {
      expect(w.cues.offsets).toHaveLength(w.cues.starts.length);
      expect(w.cues.starts[0]).toBe(w.start);
      w.cues.offsets.forEach((offset, i) => {
        const cue = input.find((c) => c.start === w.cues.starts[i])!;
        expect(w.text.slice(offset, offset + cue.text.length)).toBe(cue.text);
      });
    }
  });

  it('returns nothing for a transcript without text', () => {
    expect(buildWindows([], DEFAULT_WINDOW_SETTINGS, wordTokens)).toEqual([]);
    expect(buildWindows([{ start: 0, end: 1, text: '  ' }], DEFAULT_WINDOW_SETTINGS, wordTokens)).toEqual([]);
  });

  it('keeps a long silence from producing empty or backwards windows', () => {
    const input: Cue[] = [
      { start: 0, end: 5, text: 'início da aula' },
      { start: 900, end: 905, text: 'depois do intervalo' },
      { start: 910, end: 915, text: 'voltando ao conteúdo' },
    ];
    const windows = buildWindows(input, DEFAULT_WINDOW_SETTINGS, wordTokens);
    expect(windows.map((w) => [w.start, w.end])).toEqual([
      [0, 5],
      [900, 915],
    ]);
  });

  it('approximate counter over-counts relative to words, keeping lexical-only windows under the limit', () => {
    const text = 'o modelo aprende os pesos com o gradiente descendente estocástico';
    expect(approximateTokenCount(text)).toBeGreaterThan(wordTokens(text));
  });
});
