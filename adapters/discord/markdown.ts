/**
 * Discord's Markdown in the text the bot writes: masked links `[text](url)` whose text and
 * target cannot break out of the link. Pure functions, no discord.js involved.
 */
import { truncate } from '../../src/bot/index.js';

/** Longest text of a masked link. */
export const LINK_TEXT_MAX = 100;

/** Masked-link text: brackets escaped, one line. */
export function linkText(text: string): string {
  return truncate(text.replace(/\s+/g, ' ').trim(), LINK_TEXT_MAX).replace(/([[\]\\])/g, '\\$1');
}

/** A URL safe inside `(...)` of a masked link. */
export function linkTarget(url: string): string {
  return url.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\s/g, '%20');
}

/** `[text](url)`, both made safe. */
export function maskedLink(text: string, url: string): string {
  return `[${linkText(text)}](${linkTarget(url)})`;
}
