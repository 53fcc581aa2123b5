/** Text helpers for rendering answers within platform limits. */
import { fencedCodeBlocks, type FencedBlock } from './markdown.js';

/** Below this many characters per part, fences are no longer kept (nothing useful would fit). */
const MIN_FENCED_PART = 24;

/**
 * Splits an answer (Markdown) into parts of at most `limit` characters (`firstLimit` for the
 * first part), preferring paragraph, then line, then sentence, then word boundaries; never
 * splits inside a surrogate pair. Fenced code blocks are kept whole when a boundary outside
 * them is near enough; a block that must be split is closed at the end of the part (on a line
 * boundary when possible) and opened again, with the same fence and language tag, at the start
 * of the next one, so every part is valid Markdown on its own.
 */
export function splitText(text: string, limit: number, firstLimit: number = limit): string[] {
  if (limit < 1 || firstLimit < 1) throw new Error('limit must be positive');
  const source = text.trim();
  const blocks = source.includes('```') || source.includes('~~~') ? fencedCodeBlocks(source) : [];
  if (blocks.length === 0) return splitPlainText(source, limit, firstLimit);

  const inside = (at: number) => blocks.some((b) => b.start < at && at < b.end);
  const chunks: string[] = [];
  let pos = 0;
  let reopened: FencedBlock | null = null;
  while (pos < source.length) {
    const max = chunks.length === 0 ? firstLimit : limit;
    const head: string = reopened ? `${reopened.open}\n` : '';
    if (head.length + source.length - pos <= max) {
      chunks.push(head + source.slice(pos));
      break;
    }
    const budget: number = max - head.length;
    if (budget < MIN_FENCED_PART) {
      chunks.push(...splitPlainText(head + source.slice(pos), limit, max));
      break;
    }
    const end: number = pos + budget;
    const cut = boundaryBefore(source, pos, end, (at) => !inside(at));
    const block: FencedBlock | undefined = cut === -1 ? blocks.find((b) => b.start < end && end < b.end) : undefined;
    if (!block) {
      const at = cut === -1 ? surrogateSafe(source, end) : cut;
      pushTrimmed(chunks, head + source.slice(pos, at));
      pos = skipWhitespace(source, at);
      reopened = null;
      continue;
    }
    // The window ends inside `block`: close it on the last line boundary that leaves room.
    const room = end - block.close.length;
    const lineCut = source.lastIndexOf('\n', room - 1) + 1;
    const firstLine = Math.max(pos, block.contentStart);
    if (lineCut > firstLine && lineCut < block.contentEnd) {
      chunks.push(`${head}${source.slice(pos, lineCut - 1)}\n${block.close}`);
      pos = lineCut;
      reopened = block;
      continue;
    }
    if (block.start > pos) {
      // No whole line fits: keep the block for the next part.
      pushTrimmed(chunks, head + source.slice(pos, block.start));
      pos = block.start;
      reopened = null;
      continue;
    }
    const hardCut = surrogateSafe(source, room - 1);
    if (hardCut <= firstLine) {
      chunks.push(...splitPlainText(head + source.slice(pos), limit, max));
      break;
    }
    // A code line longer than a whole part: cut inside it.
    chunks.push(`${head}${source.slice(pos, hardCut)}\n${block.close}`);
    pos = hardCut;
    reopened = block;
  }
  return chunks.filter((chunk) => chunk.length > 0);
}

/** `splitText` for text that is not Markdown (transcripts): code fences mean nothing there. */
export function splitPlainText(text: string, limit: number, firstLimit: number = limit): string[] {
  if (limit < 1 || firstLimit < 1) throw new Error('limit must be positive');
  const chunks: string[] = [];
  const source = text.trim();
  let pos = 0;
  while (source.length - pos > (chunks.length === 0 ? firstLimit : limit)) {
    const end = pos + (chunks.length === 0 ? firstLimit : limit);
    const cut = boundaryBefore(source, pos, end, () => true);
    const at = cut === -1 ? surrogateSafe(source, end) : cut;
    pushTrimmed(chunks, source.slice(pos, at));
    pos = skipWhitespace(source, at);
  }
  if (pos < source.length) chunks.push(source.slice(pos));
  return chunks;
}

/**
 * The best place to end a part that starts at `from` and may not go past `to`: just after the
 * last paragraph break, else line break, else sentence end, else space, in the second half of
 * the window and where `allowed`; -1 when there is none.
 */
function boundaryBefore(source: string, from: number, to: number, allowed: (at: number) => boolean): number {
  const half = from + (to - from) * 0.5;
  for (const separator of ['\n\n', '\n', '. ', ' ']) {
    let at = source.lastIndexOf(separator, to - separator.length);
    while (at > half) {
      const cut = at + separator.length;
      if (allowed(cut)) return cut;
      at = source.lastIndexOf(separator, at - 1);
    }
  }
  return -1;
}

function pushTrimmed(chunks: string[], chunk: string): void {
  const trimmed = chunk.trimEnd();
  if (trimmed.length > 0) chunks.push(trimmed);
}

function skipWhitespace(source: string, at: number): number {
  while (at < source.length && /\s/.test(source[at]!)) at++;
  return at;
}

function surrogateSafe(source: string, at: number): number {
  return isHighSurrogate(source.charCodeAt(at - 1)) ? at - 1 : at;
}

/** Bidi embedding, override and isolate controls (U+202A–U+202E, U+2066–U+2069). */
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;

/**
 * A video title for one line of a chat message: one line, without bidi controls (an override
 * or a stray isolate terminator inside a title would reorder the text after it), shortened
 * to `limit` characters.
 */
export function titleLine(title: string, limit: number): string {
  return truncate(title.replace(BIDI_CONTROLS, '').replace(/\s+/g, ' ').trim(), limit);
}

/**
 * `text` in a Unicode bidi isolate (FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE): a
 * right-to-left title then cannot reverse the time range written after it. Use on text
 * from `titleLine` (no bidi controls of its own), after any escaping.
 */
export function isolate(text: string): string {
  return `\u2068${text}\u2069`;
}

/** Shortens text to at most `limit` characters, ending with "…" when cut. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let cut = limit - 1;
  const space = text.lastIndexOf(' ', cut);
  if (space > limit * 0.7) cut = space;
  if (isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
  return `${text.slice(0, cut).trimEnd()}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
