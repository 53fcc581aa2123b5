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

/**
 * Decodes file bytes: UTF-16 (LE/BE) when it starts with a UTF-16 BOM, otherwise UTF-8, falling
 * back to Windows-1252 when the bytes are not valid UTF-8 (old pt-BR .srt files often are).
 * A UTF-8 BOM is kept here and removed by the parsers.
 */
export function decodeTranscriptBytes(bytes: Uint8Array): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return new TextDecoder('utf-16be').decode(bytes.subarray(2));
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
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
  return parser(decodeTranscriptBytes(bytes), name);
}
