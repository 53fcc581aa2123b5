/** SubRip (.srt) parser. */
import type { Cue } from '../types.js';
import { finishCues, readCueBlocks, splitLines } from './common.js';

/**
 * Parses SubRip text into cues sorted by start time (seconds).
 *
 * Lenient with real-world files: BOM, CRLF / lone CR, missing or non-sequential cue numbers,
 * comma or dot milliseconds, hour-less `mm:ss,mmm`, 1–3 digit fractions, hours of any digit
 * count (times up to 48 hours), extra blank lines, markup (`<i>`, `<font>`, `{\an8}`), HTML
 * entities; empty cues are dropped.
 *
 * @param file name used in error messages (e.g. `transcripts/aula03.srt`)
 * @throws TranscriptError naming the file and 1-based line for malformed input
 */
export function parseSrt(text: string, file: string): Cue[] {
  return finishCues(readCueBlocks(splitLines(text), 0, file, 'srt'), file);
}
