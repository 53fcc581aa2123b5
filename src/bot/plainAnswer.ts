/**
 * An answer and its references as plain text in a platform's text markup: what an adapter
 * sends when the platform refuses the rendered answer (Slack `invalid_blocks`, Discord 50035),
 * so the user still gets the same answer and links instead of an error.
 */
import { excerptTag } from '../answer/references.js';
import { clockRange } from '../course/links.js';
import type { AnswerResult, Reference } from '../types.js';
import { MESSAGES } from './messages.js';
import { isolate, titleLine } from './text.js';

/** Longest title in a plain-text reference line, before escaping. */
const TITLE_MAX = 150;

export interface PlainTextFormat {
  /** A title (one line, without bidi controls) as literal text in the platform's markup. */
  title(title: string): string;
  /** `url` as a link in the platform's text, or null when it cannot be one (too long). */
  link(url: string): string | null;
}

/** `• [1] Título · 16:28–22:47 — <link>` (`· 3:03` for a TA's moment), or the line saying the link was too long. */
export function plainReferenceLine(ref: Reference, format: PlainTextFormat): string {
  const head = `• ${excerptTag(ref)}${isolate(format.title(titleLine(ref.title, TITLE_MAX)))} · ${clockRange(ref.start, ref.end)}`;
  const link = /^https?:\/\//i.test(ref.url) ? format.link(ref.url) : null;
  return link ? `${head} — ${link}` : `${head} (${MESSAGES.linkTooLong})`;
}

/** The reference lines of `result` under `heading` ('' when it has none). */
export function plainReferences(result: AnswerResult, heading: string, format: PlainTextFormat): string {
  if (result.references.length === 0) return '';
  return [heading, ...result.references.map((ref) => plainReferenceLine(ref, format))].join('\n');
}
