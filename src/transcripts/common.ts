/**
 * Helpers shared by the transcript parsers: line splitting, timestamps, caption text
 * clean-up, and the cue-block reader used by both SRT and WebVTT.
 */
import type { Cue } from '../types.js';
import { TranscriptError } from './errors.js';

export type CaptionFormat = 'srt' | 'vtt';

/** Removes a leading UTF-8 BOM. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Removes a BOM and turns CRLF and lone CR into LF. */
export function normalizeNewlines(text: string): string {
  return stripBom(text).replace(/\r\n?/g, '\n');
}

/** Splits into lines after BOM / newline normalisation. Index `i` is line `i + 1`. */
export function splitLines(text: string): string[] {
  return normalizeNewlines(text).split('\n');
}

/** 1-based line number of a character offset in `text` (newlines already normalised to LF). */
export function lineAt(text: string, offset: number): number {
  let line = 1;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Returns a fast `offset → 1-based line` lookup for `text` (newlines already normalised to LF). */
export function lineLookup(text: string): (offset: number) => number {
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}

/** 1-based column of a character offset in `text` (newlines already normalised to LF). */
export function columnAt(text: string, offset: number): number {
  const end = Math.min(offset, text.length);
  return end - text.lastIndexOf('\n', end - 1);
}

/**
 * Shortens a line for quoting in an error message, as a JSON string whose control and format
 * characters are all escaped (`\u009b`, `\u202e`…): a hostile or binary file must not be able
 * to send terminal escape sequences or reorder the text of the admin's terminal.
 */
export function quote(s: string, max = 60): string {
  const t = s.trim();
  return JSON.stringify(t.length > max ? `${t.slice(0, max)}…` : t).replace(
    /[\p{Cc}\p{Cf}]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

// [HH:]MM:SS[.,]f{1,3} — hours are optional and may have any number of digits (up to
// MAX_CUE_SECONDS); minutes and seconds take one or two digits; the fraction is decimal
// ("1,5" is 1.5 s).
const TIMESTAMP = /^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$/;

/**
 * No cue starts or ends later than this (48 hours), in any format. Longer times are a damaged
 * file: a 400-digit hour field parsed to Infinity, which JSON wrote as `null` (links at 0:00),
 * and 1e308 seconds made links like `t=1e%2B308`.
 */
export const MAX_CUE_SECONDS = 48 * 3600;

/**
 * Parses a caption timestamp into seconds (exact to the millisecond).
 * Accepts comma or dot before the fraction in both formats, hour-less `mm:ss.mmm`,
 * a 1–3 digit fraction or none. Returns an error reason when invalid or beyond MAX_CUE_SECONDS.
 */
export function parseTimestamp(raw: string, format: CaptionFormat): number | { error: string } {
  const expected = format === 'srt' ? 'HH:MM:SS,mmm' : 'HH:MM:SS.mmm';
  const m = TIMESTAMP.exec(raw);
  if (!m) return { error: `timestamp ${quote(raw)} is not valid (expected ${expected})` };
  const hours = m[1] === undefined ? 0 : Number(m[1]);
  const minutes = Number(m[2]);
  const seconds = Number(m[3]);
  if (minutes > 59 || seconds > 59) {
    return {
      error: `timestamp ${quote(raw)} is not valid (minutes and seconds must be below 60; expected ${expected})`,
    };
  }
  const millis = m[4] === undefined ? 0 : Number(m[4].padEnd(3, '0'));
  const total = (hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + millis) / 1000;
  if (!Number.isFinite(total) || total > MAX_CUE_SECONDS) {
    return { error: `timestamp ${quote(raw)} is beyond ${MAX_CUE_SECONDS / 3600} hours (no lecture is that long)` };
  }
  return total;
}

/**
 * Parses `start --> end [settings]`. Anything after the end time (WebVTT cue settings such as
 * `align:start position:10%`, or SRT `X1:… Y1:…` coordinates) is ignored.
 * Throws TranscriptError for bad timestamps and for a cue that ends before it starts.
 */
export function parseTimingLine(
  line: string,
  lineNo: number,
  file: string,
  format: CaptionFormat,
): { start: number; end: number } {
  const arrow = line.indexOf('-->');
  if (arrow < 0) throw new TranscriptError(file, lineNo, `missing "-->" in timing line ${quote(line)}`);
  const left = line.slice(0, arrow).trim();
  const right = line.slice(arrow + 3).trim();
  const [endRaw = ''] = right.split(/\s+/);
  const start = parseTimestamp(left, format);
  if (typeof start !== 'number') throw new TranscriptError(file, lineNo, start.error);
  const end = parseTimestamp(endRaw, format);
  if (typeof end !== 'number') throw new TranscriptError(file, lineNo, end.error);
  if (end < start) {
    throw new TranscriptError(
      file,
      lineNo,
      `cue ends before it starts (end ${quote(endRaw)} is before start ${quote(left)})`,
    );
  }
  return { start, end };
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  lrm: '',
  rlm: '',
};

/**
 * Format characters (zero-width spaces and joiners, bidi marks and overrides, soft hyphens,
 * BOMs…) and unpaired UTF-16 surrogates, except a zero-width joiner that links two emoji into
 * one (👩‍💻, 🤷‍♂️): group 1 captures such an emoji with its joiner, which is kept.
 */
const INVISIBLE = /(\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]*\u200D)(?=\p{Extended_Pictographic})|\p{Cf}+|\p{Cs}+/gu;

/**
 * Removes characters that are invisible or not valid Unicode: format characters (zero-width,
 * bidi controls, soft hyphen, BOM) except the joiners inside emoji sequences, and unpaired
 * surrogates. They split words that look whole (so searches miss them) and can reorder how
 * text is displayed.
 */
export function removeInvisible(text: string): string {
  return text.replace(INVISIBLE, (_match, emojiJoin: string | undefined) => emojiJoin ?? '');
}

/** Decodes the HTML entities found in captions (`&amp;` `&lt;` `&gt;` `&nbsp;` `&#39;` `&#x27;`…). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);/g, (whole: string, body: string) => {
    if (body.startsWith('#')) {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
      return code === 0xa0 ? ' ' : String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

/**
 * Turns the text lines of one cue into plain text: markup removed (`<i>`, `</b>`, `<c.color>`,
 * `<v Speaker>`, `<font color=…>`, karaoke timestamps `<00:00:01.000>`, ASS overrides `{\an8}`),
 * entities decoded, invisible characters removed (see `removeInvisible`), control characters
 * turned into spaces, lines joined with a space, whitespace collapsed.
 * A bare `<` that does not start a tag (e.g. `x < y`) is kept.
 */
export function cleanCueText(lines: readonly string[]): string {
  const joined = lines.join(' ');
  const noTags = joined
    .replace(/<\d[\d:.]*>/g, '') // karaoke / timestamp tags
    .replace(/<\/?[A-Za-z][^<>]*>/g, '') // <i> </i> <c.yellow> <v Professor> <font ...>
    .replace(/\{\\[^{}]*\}/g, ''); // {\an8} {\i1}
  return removeInvisible(decodeEntities(noTags)).replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim();
}

/** Drops empty cues, sorts by start (stable), and refuses a file with no cues at all. */
export function finishCues(cues: Cue[], file: string): Cue[] {
  const kept = cues.filter((c) => c.text.length > 0);
  if (kept.length === 0) {
    const why = cues.length > 0 ? ` (all ${cues.length} cue(s) have empty text)` : '';
    throw new TranscriptError(file, undefined, `no cues found${why}`);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** True when a line is a WebVTT NOTE / STYLE / REGION block header. */
function isVttNonCueBlock(line: string): boolean {
  return /^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(line);
}

function isBlank(line: string): boolean {
  return line.trim().length === 0;
}

/**
 * Reads cue blocks from `lines[from..]` for SRT or WebVTT.
 *
 * A block is an optional identifier line (SRT: the cue number, WebVTT: any text), a timing
 * line, then text lines up to a blank line (an empty line, or a whitespace-only line once the
 * cue has text). Robust to missing blank lines between cues: a line
 * containing `-->` always starts a new cue (as in the WebVTT parsing algorithm), and in SRT a
 * number line directly followed by a timing line does too.
 */
export function readCueBlocks(lines: readonly string[], from: number, file: string, format: CaptionFormat): Cue[] {
  const example = format === 'srt' ? '00:00:01,000 --> 00:00:04,000' : '00:00:01.000 --> 00:00:04.000';
  const cues: Cue[] = [];
  const isTiming = (i: number): boolean => i < lines.length && (lines[i] ?? '').includes('-->');
  const isSrtNumber = (i: number): boolean => /^\s*\d+\s*$/.test(lines[i] ?? '');

  let i = from;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    if (isBlank(line)) {
      i++;
      continue;
    }

    let timingIndex: number;
    if (line.includes('-->')) {
      timingIndex = i;
    } else if (format === 'vtt' && isVttNonCueBlock(line)) {
      while (i < lines.length && !isBlank(lines[i] ?? '')) i++;
      continue;
    } else {
      // Identifier / cue number line: the timing line must follow.
      const next = i + 1;
      if (format === 'srt' && !isSrtNumber(i)) {
        throw new TranscriptError(
          file,
          i + 1,
          `expected a cue number or a timing line like "${example}", found ${quote(line)} (missing "-->")`,
        );
      }
      if (!isTiming(next)) {
        const found = next < lines.length && !isBlank(lines[next] ?? '') ? `found ${quote(lines[next] ?? '')}` : 'found nothing';
        const what = format === 'srt' ? `cue number ${line.trim()}` : `cue identifier ${quote(line)}`;
        throw new TranscriptError(
          file,
          Math.min(next, lines.length - 1) + 1,
          `expected a timing line like "${example}" after ${what}, ${found} (missing "-->")`,
        );
      }
      timingIndex = next;
    }

    const { start, end } = parseTimingLine(lines[timingIndex] ?? '', timingIndex + 1, file, format);
    const text: string[] = [];
    i = timingIndex + 1;
    while (i < lines.length) {
      const t = lines[i] ?? '';
      if (t === '' || t.includes('-->')) break;
      if (isBlank(t)) {
        // A whitespace-only line ends the cue, except before its first text line: YouTube
        // auto-captions put a " " line there as part of the cue text.
        if (text.length > 0) break;
        i++;
        continue;
      }
      if (format === 'srt' && isSrtNumber(i) && isTiming(i + 1)) break;
      text.push(t);
      i++;
    }
    cues.push({ start, end, text: cleanCueText(text) });
  }
  return cues;
}

// ---------------------------------------------------------------------------------------------
// JSON positions: JSON.parse gives no locations, so this scanner records where each value
// starts, to report "line N" for a bad segment or manifest entry. It only runs on text that
// JSON.parse already accepted; on anything unexpected it gives up and returns undefined.

export interface JsonPos {
  /** Offset of the first character of the value. */
  offset: number;
  /** Object members (last one wins on duplicate keys, like JSON.parse). */
  keys?: Map<string, JsonPos>;
  /** Array elements. */
  items?: JsonPos[];
}

export function locateJson(text: string): JsonPos | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const str = (): string => {
    const startAt = i;
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++; // closing quote
    return JSON.parse(text.slice(startAt, i)) as string;
  };
  const value = (): JsonPos => {
    ws();
    const pos: JsonPos = { offset: i };
    const c = text[i];
    if (c === '{') {
      pos.keys = new Map();
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return pos;
      }
      for (;;) {
        ws();
        const key = str();
        ws();
        i++; // ':'
        pos.keys.set(key, value());
        ws();
        if (text[i++] === '}') return pos;
      }
    }
    if (c === '[') {
      pos.items = [];
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return pos;
      }
      for (;;) {
        pos.items.push(value());
        ws();
        if (text[i++] === ']') return pos;
      }
    }
    if (c === '"') {
      str();
      return pos;
    }
    while (i < text.length && !/[\s,\]}]/.test(text[i] ?? '')) i++;
    return pos;
  };
  try {
    return value();
  } catch {
    return undefined;
  }
}

/**
 * Offset of the first syntax error in `text` (which JSON.parse refused), or undefined when it
 * cannot be told. V8 does not always say where the error is (e.g. "Unexpected token ']', …
 * is not valid JSON" for a trailing comma), so this strict scanner finds it.
 */
export function jsonSyntaxErrorOffset(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw new JsonSyntaxAt(i);
  };
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        const e = text[i + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail();
          i += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') i += 2;
        else fail();
      } else i++;
    }
    fail(); // unterminated
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    JSON_LITERAL.lastIndex = i;
    const literal = JSON_LITERAL.exec(text);
    if (!literal) fail();
    i += (literal as RegExpExecArray)[0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : undefined;
  } catch (err) {
    // Anything else (e.g. a stack overflow on absurdly deep nesting): no location.
    return err instanceof JsonSyntaxAt ? Math.min(err.offset, text.length) : undefined;
  }
}

const JSON_LITERAL = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;

class JsonSyntaxAt {
  constructor(readonly offset: number) {}
}

/**
 * JSON.parse with a readable error: returns the value, or the reason and 1-based line.
 * `text` must already have its BOM removed and newlines normalised.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; reason: string; line?: number } {
  if (text.trim().length === 0) return { ok: false, reason: 'invalid JSON: the file is empty' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = /at position (\d+)/.exec(message);
    // Drop V8's own location details and its quote of the text; we report line and column.
    const clean = message
      .replace(/\s*in JSON at position \d+.*$/s, '')
      .replace(/ at position \d+.*$/s, '')
      .replace(/\s*\(line \d+ column \d+\)$/, '')
      .replace(/,\s*(?:\.\.\.)?".*"(?:\.\.\.)?\s*is not valid JSON$/s, '');
    if (/end of JSON input/i.test(message)) {
      return { ok: false, reason: `invalid JSON: ${clean} (the file ends too early)`, line: lineAt(text, text.length) };
    }
    const offset = pos ? Number(pos[1]) : jsonSyntaxErrorOffset(text);
    if (offset !== undefined) {
      const line = lineAt(text, offset);
      return { ok: false, reason: `invalid JSON: ${clean} (line ${line}, column ${columnAt(text, offset)})`, line };
    }
    return { ok: false, reason: `invalid JSON: ${clean}` };
  }
}
