/**
 * Text conversions between plain text / Markdown and Slack's `mrkdwn`, in both directions.
 * Pure functions, no Slack SDK involved.
 */
import { neutralizeMentions } from '../../src/bot/index.js';

/** Escapes the three characters Slack reserves for its own markup: `&`, `<`, `>`. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses `escapeMrkdwn` (Slack sends these three entities in slash-command text). */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Escapes `text` and turns the common Markdown an LLM writes into mrkdwn: `**bold**` →
 * `*bold*`, `__bold__` → `*bold*`, `~~strike~~` → `~strike~`, `# Heading` lines → bold lines,
 * `[label](https://…)` → `<https://…|label>`. Everything else is left as written (Slack shows
 * `- item` lists and `` `code` `` fine). The result never contains a `<` or `>` that is not
 * part of a link it created.
 */
export function markdownToMrkdwn(text: string): string {
  return escapeMrkdwn(text)
    .replace(/^[ \t]{0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm, (_m, title: string) => `*${title.replace(/\*\*/g, '')}*`)
    .replace(/\*\*(?=\S)([^*\n]+?)\*\*/g, '*$1*')
    .replace(/__(?=\S)([^_\n]+?)__/g, '*$1*')
    .replace(/~~(?=\S)([^~\n]+?)~~/g, '~$1~')
    .replace(/\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)/g, (_m, label: string, url: string) => `<${url}|${linkLabel(label)}>`);
}

/** A link label must not contain `|` (it separates URL and label) nor newlines. */
export function linkLabel(label: string): string {
  return label.replace(/\|/g, '/').replace(/\s+/g, ' ').trim();
}

/**
 * A mrkdwn link `<url|label>`: the URL's `&`, `<`, `>` are escaped; `label` must already be
 * escaped mrkdwn-safe text.
 */
export function mrkdwnLink(url: string, label: string): string {
  return `<${escapeMrkdwn(url)}|${linkLabel(label)}>`;
}

/**
 * The text a user typed in a slash command, as plain text: mentions of people, channels and user
 * groups become the core's neutral tokens (`<@U123|ana>` → `@usuário`, `<#C1|geral>` → `#canal`:
 * their raw ids must not be stored), other references what the user saw (`<https://x|x>` → `x`,
 * `<!here>` → `@here`), then the `&amp;`/`&lt;`/`&gt;` entities are decoded.
 */
export function slackTextToPlain(text: string): string {
  return unescapeMrkdwn(
    neutralizeMentions(text).replace(/<([^<>]*)>/g, (_m, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@')) return `@${label ?? target.slice(1)}`;
      if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
      if (target.startsWith('!')) return `@${(label ?? target.slice(1)).replace(/^subteam\^/, '')}`;
      return label ?? target;
    }),
  );
}
