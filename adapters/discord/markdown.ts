/**
 * Discord's Markdown in the text the bot writes: masked links `[text](url)` whose text and
 * target cannot break out of the link, and text shown literally (video titles, the question).
 * Pure functions; escaping is discord.js's own `escapeMarkdown`.
 */
import { escapeMarkdown } from 'discord.js';
import { isolate, titleLine, truncate } from '../../src/bot/index.js';

/** Longest title in a masked link, before escaping. */
export const LINK_TEXT_MAX = 100;

/**
 * `text` shown as written: every Markdown character Discord would format escaped (emphasis,
 * code, spoilers, headings, list markers) and `[`/`]`, which would open or close a masked link.
 */
export function literal(text: string): string {
  return escapeMarkdown(text, { heading: true, bulletedList: true, numberedList: true }).replace(/[[\]]/g, '\\$&');
}

/** The longest shortening of `text` whose `literal` form fits in `limit` characters. */
export function literalWithin(text: string, limit: number): string {
  let room = limit;
  for (;;) {
    const escaped = literal(truncate(text, room));
    if (escaped.length <= limit || room <= 1) return escaped.slice(0, limit);
    room -= Math.max(1, escaped.length - limit);
  }
}

/** A video title as masked-link text (or plain text): one line, escaped, isolated. */
export function linkText(title: string, max: number = LINK_TEXT_MAX): string {
  return isolate(literal(titleLine(title, max)));
}

/** A URL safe inside `(...)` of a masked link. */
export function linkTarget(url: string): string {
  return url.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\s/g, '%20');
}

/** `[title](url)`, both made safe. */
export function maskedLink(title: string, url: string, max: number = LINK_TEXT_MAX): string {
  return `[${linkText(title, max)}](${linkTarget(url)})`;
}
