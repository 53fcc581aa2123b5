/** Entry points: parse a transcript file or text, dispatching on the file extension. */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Cue } from '../types.js';
import { TranscriptError } from './errors.js';
import { parseSrt } from './srt.js';
import { parseVtt } from './vtt.js';
import { parseWhisperJson } from './whisperJson.js';

type Parser = (text: string, file: string) => Cue[];

const PARSERS: Readonly<Record<string, Parser>> = {
  '.vtt': parseVtt,
  '.srt': parseSrt,
  '.json': parseWhisperJson,
};

/** Supported transcript extensions, e.g. for help texts. */
export const TRANSCRIPT_EXTENSIONS: readonly string[] = Object.keys(PARSERS);

/** Picks the parser from `fileName`'s extension; errors name `displayName`. */
function parserFor(fileName: string, displayName: string = fileName): Parser {
  const ext = extname(fileName).toLowerCase();
  const parser = PARSERS[ext];
  if (!parser) {
    const got = ext === '' ? 'no extension' : `extension "${ext}"`;
    throw new TranscriptError(
      displayName,
      undefined,
      `unsupported transcript format (${got}); supported extensions are ${TRANSCRIPT_EXTENSIONS.join(', ')}`,
    );
  }
  return parser;
}

/**
 * Parses transcript text, choosing the parser from `fileName`'s extension
 * (`.vtt`, `.srt`, `.json`; case-insensitive). `fileName` is also used in error messages.
 * @throws TranscriptError
 */
export function parseTranscriptText(text: string, fileName: string): Cue[] {
  return parserFor(fileName)(text, fileName);
}

/** Bytes that are no text this reader knows (see decodeTranscriptBytes). `reason` names no file. */
export class TextEncodingError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TextEncodingError';
  }
}

/** How much of a file the encoding checks look at: plenty to be sure, cheap on a large file. */
const SNIFF_BYTES = 64 * 1024;

/**
 * UTF-16 without a byte-order mark (as some Windows tools save), recognised by its NUL bytes:
 * in Latin-script text (pt-BR included: every letter is at most U+00FF) nearly every code unit
 * has a zero high byte, at odd offsets in little-endian and even offsets in big-endian, and the
 * other offsets almost never hold one. UTF-8 text has no NUL bytes; UTF-32 has them at both.
 */
export function utf16WithoutBom(bytes: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const n = Math.min(bytes.length, SNIFF_BYTES) & ~1;
  const units = n / 2;
  if (units < 2) return null;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZero++;
    if (bytes[i + 1] === 0) oddZero++;
  }
  if (oddZero >= units * 0.6 && evenZero <= units * 0.02) return 'utf-16le';
  if (evenZero >= units * 0.6 && oddZero <= units * 0.02) return 'utf-16be';
  return null;
}

/** Share of NUL bytes at the start of the file. */
function nulShare(bytes: Uint8Array): number {
  const n = Math.min(bytes.length, SNIFF_BYTES);
  let nul = 0;
  for (let i = 0; i < n; i++) if (bytes[i] === 0) nul++;
  return n === 0 ? 0 : nul / n;
}

/**
 * Decodes file bytes: UTF-16 (LE/BE) when it starts with a UTF-16 BOM or has the NUL-byte
 * pattern of UTF-16 without one, otherwise UTF-8, falling back to Windows-1252 when the bytes
 * are not UTF-8 (old pt-BR .srt files often are).
 * A UTF-8 file with a few damaged bytes (a stray byte, a character cut in two) stays UTF-8, the
 * damaged bytes becoming U+FFFD: decoding it all as Windows-1252 would garble every accented
 * letter of the lecture ("validaÃ§Ã£o") and make its words unsearchable.
 * A UTF-8 BOM is kept here and removed by the parsers.
 * @throws TextEncodingError when a tenth or more of the first bytes are NUL but not in UTF-16's
 *   pattern (UTF-32, damaged UTF-16): read as text, it would only give a confusing parse error
 */
export function decodeTranscriptBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  const utf16 = utf16WithoutBom(bytes);
  if (utf16) return new TextDecoder(utf16).decode(bytes);
  const nul = nulShare(bytes);
  if (nul >= 0.1) {
    throw new TextEncodingError(
      `is not text in a supported encoding (${Math.round(nul * 100)}% of its first bytes are NUL: UTF-32, or UTF-16 damaged?): save it as UTF-8`,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const lenient = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return lenient; // declared UTF-8
    let damaged = 0;
    let multiByte = 0;
    for (const ch of lenient) {
      if (ch === '\uFFFD') damaged++;
      else if (ch.charCodeAt(0) > 0x7f) multiByte++;
    }
    // Windows-1252 text almost never forms valid multi-byte UTF-8 sequences by chance.
    return multiByte > damaged ? lenient : decodeWindows1252(bytes);
  }
}

/** What Windows-1252 puts at bytes 0x80–0x9F (the other bytes are Latin-1). */
const CP1252_80_9F = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

/**
 * Windows-1252, decoded by hand: Node 20's `TextDecoder('windows-1252')` decodes bytes
 * 0x80–0x9F as Latin-1 C1 control characters, which would turn the curly quotes, dashes and
 * "…" of subtitles written on Windows into invisible control characters.
 */
export function decodeWindows1252(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    .toString('latin1')
    .replace(/[\x80-\x9f]/g, (c) => CP1252_80_9F[c.charCodeAt(0) - 0x80] ?? c);
}

/**
 * Reads and parses a transcript file (`.vtt`, `.srt` or Whisper `.json`).
 *
 * @param path file to read
 * @param displayName name used in error messages instead of `path` (e.g. the path relative to
 *   the course folder, `transcripts/aula03.srt`)
 * @returns cues sorted by start time, in seconds
 * @throws TranscriptError for an unsupported extension, an unreadable file or malformed content
 */
export async function parseTranscriptFile(path: string, displayName?: string): Promise<Cue[]> {
  const name = displayName ?? path;
  const parser = parserFor(path, name);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
    const why =
      code === 'ENOENT'
        ? 'file does not exist'
        : code === 'EISDIR'
          ? 'is a directory, not a file'
          : `cannot read file (${err instanceof Error ? err.message : String(err)})`;
    throw new TranscriptError(name, undefined, why, { cause: err });
  }
  let text: string;
  try {
    text = decodeTranscriptBytes(bytes);
  } catch (err) {
    if (err instanceof TextEncodingError) throw new TranscriptError(name, undefined, err.reason, { cause: err });
    throw err;
  }
  return parser(text, name);
}
