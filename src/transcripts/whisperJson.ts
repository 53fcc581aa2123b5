/** Whisper-style JSON transcripts: `{ "segments": [{ "start", "end", "text" }] }` or a bare array of segments. */
import type { Cue } from '../types.js';
import { TranscriptError } from './errors.js';
import { MAX_CUE_SECONDS, cleanCueText, finishCues, lineAt, locateJson, normalizeNewlines, parseJsonText, quote, type JsonPos } from './common.js';

const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return quote(value, 40);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a Whisper JSON transcript into cues sorted by start time (seconds).
 *
 * `start`/`end` may be numbers or numeric strings (`"12.5"`); negative, non-finite or values
 * beyond 48 hours (MAX_CUE_SECONDS) are refused. `text` is cleaned like caption text (trimmed, whitespace collapsed, markup/entities
 * handled); segments with empty text are dropped. Other segment fields (`id`, `tokens`,
 * `avg_logprob`…) are ignored.
 *
 * @param file name used in error messages (e.g. `transcripts/aula03.json`)
 * @throws TranscriptError naming the file and, when it can be located, the 1-based line
 */
export function parseWhisperJson(text: string, file: string): Cue[] {
  const source = normalizeNewlines(text);
  const parsed = parseJsonText(source);
  if (!parsed.ok) throw new TranscriptError(file, parsed.line, parsed.reason);

  const root = parsed.value;
  let positions: JsonPos | undefined;
  const where = (pos: JsonPos | undefined): number | undefined => {
    return pos === undefined ? undefined : lineAt(source, pos.offset);
  };
  const locate = (): JsonPos | undefined => (positions ??= locateJson(source));

  let segments: unknown[];
  let segmentsPos: (() => JsonPos | undefined) | undefined;
  if (Array.isArray(root)) {
    segments = root;
    segmentsPos = locate;
  } else if (isRecord(root)) {
    const value = root['segments'];
    if (value === undefined) {
      throw new TranscriptError(file, undefined, 'missing "segments": expected {"segments": [{"start", "end", "text"}, …]}');
    }
    if (!Array.isArray(value)) {
      throw new TranscriptError(file, where(locate()?.keys?.get('segments')), `"segments" must be an array, got ${describe(value)}`);
    }
    segments = value;
    segmentsPos = () => locate()?.keys?.get('segments');
  } else {
    throw new TranscriptError(
      file,
      1,
      `expected an object with a "segments" array or an array of segments, got ${describe(root)}`,
    );
  }

  const cues: Cue[] = [];
  segments.forEach((segment, index) => {
    const segPos = (): JsonPos | undefined => segmentsPos?.()?.items?.[index];
    const label = `segments[${index}]`;
    if (!isRecord(segment)) {
      throw new TranscriptError(file, where(segPos()), `${label} must be an object with "start", "end" and "text", got ${describe(segment)}`);
    }
    const time = (key: 'start' | 'end'): number => {
      const raw = segment[key];
      const fieldLine = (): number | undefined => where(segPos()?.keys?.get(key) ?? segPos());
      let value: number | undefined;
      if (typeof raw === 'number') value = raw;
      else if (typeof raw === 'string' && NUMERIC_STRING.test(raw.trim())) value = Number(raw.trim());
      if (raw === undefined) throw new TranscriptError(file, where(segPos()), `${label} has no "${key}"`);
      if (value === undefined || !Number.isFinite(value)) {
        throw new TranscriptError(file, fieldLine(), `${label}: "${key}" must be a number of seconds, got ${describe(raw)}`);
      }
      if (value < 0) throw new TranscriptError(file, fieldLine(), `${label}: "${key}" must not be negative, got ${value}`);
      if (value > MAX_CUE_SECONDS) {
        throw new TranscriptError(file, fieldLine(), `${label}: "${key}" is beyond ${MAX_CUE_SECONDS / 3600} hours (${MAX_CUE_SECONDS} seconds), got ${value}`);
      }
      return value;
    };
    const start = time('start');
    const end = time('end');
    if (end < start) {
      throw new TranscriptError(file, where(segPos()), `${label} ends before it starts (start ${start}, end ${end})`);
    }
    const rawText = segment['text'];
    if (rawText !== undefined && rawText !== null && typeof rawText !== 'string') {
      throw new TranscriptError(file, where(segPos()?.keys?.get('text') ?? segPos()), `${label}: "text" must be a string, got ${describe(rawText)}`);
    }
    cues.push({ start, end, text: cleanCueText([rawText ?? '']) });
  });
  return finishCues(cues, file);
}
