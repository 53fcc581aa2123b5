/** WebVTT (.vtt) parser. */
import type { Cue } from '../types.js';
import { TranscriptError } from './errors.js';
import { finishCues, quote, readCueBlocks, splitLines } from './common.js';

/**
 * Parses WebVTT text into cues sorted by start time (seconds).
 *
 * The first line must be `WEBVTT`, optionally followed by a space/tab and any text; header lines
 * (`Kind: captions`, `Language: pt-BR`…) up to the first blank line are ignored. NOTE, STYLE and
 * REGION blocks are skipped, cue identifiers are optional, cue settings after the end time are
 * ignored, and cue markup (`<v Professora>`, `<c.yellow>`, `<00:00:01.000>`…) is stripped.
 *
 * @param file name used in error messages (e.g. `transcripts/aula03.vtt`)
 * @throws TranscriptError naming the file and 1-based line for malformed input
 */
export function parseVtt(text: string, file: string): Cue[] {
  const lines = splitLines(text);
  const first = lines[0] ?? '';
  if (!/^WEBVTT(?:[ \t]|$)/.test(first)) {
    const found = first.trim().length > 0 ? `, found ${quote(first)}` : '';
    throw new TranscriptError(file, 1, `missing "WEBVTT" header on the first line${found}`);
  }
  // Header: everything up to the first blank line (a timing line also ends it, for files that
  // forget the blank line after the header).
  let i = 1;
  while (i < lines.length && (lines[i] ?? '').trim().length > 0 && !(lines[i] ?? '').includes('-->')) i++;
  return finishCues(readCueBlocks(lines, i, file, 'vtt'), file);
}
