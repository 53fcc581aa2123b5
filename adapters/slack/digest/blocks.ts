/**
 * The weekly digest (the core's neutral `Digest`) as a Slack message in Block Kit, within
 * Slack's limits: at most 50 blocks, section texts of at most 3,000 characters, a header of at
 * most 150, every text escaped for mrkdwn (`&`, `<`, `>`) and links written `<url|label>`.
 * Pure functions: no Slack SDK calls.
 */
import type { types as slack } from '@slack/bolt';
import { type Digest, type DigestItem, truncate } from '../../../src/bot/index.js';
import { SLACK_LIMITS } from '../cards.js';
import { escapeMrkdwn, linkLabel, mrkdwnLink } from '../markdown.js';

type KnownBlock = slack.KnownBlock;

export const DIGEST_LIMITS = {
  /** Characters of a header block's plain text. */
  headerText: 150,
  /** Characters of one quoted question. */
  quote: 300,
  /** Characters of an item's title. */
  title: 200,
} as const;

export interface DigestMessage {
  text: string;
  blocks: KnownBlock[];
}

/**
 * One item as mrkdwn. Escaping can make text up to five times longer, so instead of cutting the
 * result (which could split an entity or a link) quotes are dropped, then the link, then the
 * title and detail are shortened before escaping, until it fits.
 */
function itemText(item: DigestItem, index: number): string {
  const render = (titleChars: number, withLink: boolean, quotes: number) => {
    const title = escapeMrkdwn(linkLabel(truncate(item.title, titleChars)));
    const head = withLink && item.url && /^https?:\/\//i.test(item.url) ? mrkdwnLink(item.url, title) : title;
    const lines = [`*${index + 1}.* ${head}`, escapeMrkdwn(truncate(item.detail, titleChars))];
    for (const quote of item.quotes.slice(0, quotes)) lines.push(`> “${escapeMrkdwn(truncate(quote.replace(/\s+/g, ' ').trim(), DIGEST_LIMITS.quote))}”`);
    return lines.join('\n');
  };
  for (let quotes = item.quotes.length; quotes >= 0; quotes--) {
    const text = render(DIGEST_LIMITS.title, true, quotes);
    if (text.length <= SLACK_LIMITS.sectionText) return text;
  }
  return render(Math.floor(SLACK_LIMITS.sectionText / 12), false, 0);
}

/**
 * `raw` escaped for mrkdwn in at most `limit` characters (minus `room` for markup around it):
 * cut before escaping, never through an entity.
 */
function escapedWithin(raw: string, limit: number = SLACK_LIMITS.sectionText, room = 0): string {
  let chars = Math.min(raw.length, limit - room);
  for (;;) {
    const text = escapeMrkdwn(truncate(raw, Math.max(1, chars)));
    if (text.length + room <= limit || chars <= 1) return text;
    chars = Math.floor(chars * ((limit - room) / (text.length + 1)));
  }
}

/** A section of mrkdwn already within the limit (built by itemText or escapedWithin). */
function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

function context(raw: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: escapedWithin(raw) }] };
}

export function renderDigest(digest: Digest): DigestMessage {
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(digest.title, DIGEST_LIMITS.headerText), emoji: true } },
    context(digest.period),
    section(escapedWithin(digest.summary)),
  ];
  for (const s of digest.sections) {
    blocks.push({ type: 'divider' });
    blocks.push(section(`*${escapedWithin(s.heading, SLACK_LIMITS.sectionText, 2)}*`));
    if (s.items.length === 0) blocks.push(section(`_${escapedWithin(s.empty, SLACK_LIMITS.sectionText, 2)}_`));
    s.items.forEach((item, i) => blocks.push(section(itemText(item, i))));
    if (s.more) blocks.push(context(s.more));
  }
  blocks.push({ type: 'divider' }, context(digest.footer));
  // The core caps its sections (5 moments, 5 gaps, 10 cases): well under 50 blocks. Kept safe anyway.
  return { text: escapedWithin(digest.fallback, SLACK_LIMITS.fallbackText), blocks: blocks.slice(0, SLACK_LIMITS.blocks) };
}
