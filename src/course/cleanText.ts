/**
 * Manifest text that people see: video titles and URLs reach terminals (`npm run ask`), the LLM
 * prompt, Discord, Slack and exported reports. A title holding `\x1b[2J` (clear screen), an OSC
 * `\x1b]0;…\x07` (window title) or a C1 CSI `\u009b…` would act on an admin's terminal, and
 * bidi controls could reorder what is displayed. Cleaned at ingest and again when an index is
 * loaded (older indexes may hold them), the way transcript text is.
 */
import stripAnsi from 'strip-ansi';
import { removeInvisible } from '../transcripts/common.js';

/**
 * A title as one line of plain text: escape sequences removed whole (strip-ansi: CSI, also as
 * the C1 `\u009b`, and OSC up to BEL/ST), other control characters (C0 including line breaks
 * and tabs, DEL, C1) turned into spaces, invisible format characters removed, whitespace
 * collapsed.
 */
export function cleanTitle(text: string): string {
  return removeInvisible(stripAnsi(text)).replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim();
}

/** A URL without escape sequences, control or invisible characters (removed: a URL has no spaces). */
export function cleanUrl(text: string): string {
  return removeInvisible(stripAnsi(text)).replace(/\p{Cc}+/gu, '').trim();
}
