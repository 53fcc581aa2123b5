/**
 * Mentions in text people type (questions, vote comments) carry raw platform ids: Discord's
 * `<@123…>` and Slack's `<@U0…|ana>`. Stored as typed, those ids would reach the feedback store,
 * the journal and every export, which promise pseudonyms only. `neutralizeMentions` replaces each
 * mention with a neutral pt-BR token before the text is answered or stored; the display name
 * Slack adds (`|ana`) goes too, since it names a person as well.
 *
 * Syntaxes (both platforms in one pass: their shapes do not overlap, and a question from the
 * terminal is treated the same way):
 * - users: Discord `<@id>`, `<@!id>`; Slack `<@U…>`, `<@W…>`, `<@U…|name>` → `@usuário`
 * - roles: Discord `<@&id>` → `@cargo`
 * - user groups: Slack `<!subteam^S…>`, `<!subteam^S…|@name>` → `@grupo`
 * - channels: Discord `<#id>`; Slack `<#C…>`, `<#C…|name>` → `#canal`
 * - Discord command mentions `</name sub:id>` → `/name sub`, custom emoji `<:name:id>`,
 *   `<a:name:id>` → `:name:` (the ids are not people's, but nothing needs them either)
 * `<!here>`, `<!channel>`, `@everyone` and links name no one and are left alone.
 */

export const MENTION_TOKENS = {
  user: '@usuário',
  role: '@cargo',
  group: '@grupo',
  channel: '#canal',
} as const;

/** An id as either platform writes it: Discord snowflakes are digits, Slack ids letters and digits. */
const ID = '[A-Za-z0-9]{1,40}';
/** Slack's optional `|label` after an id (anything up to the closing `>`). */
const LABEL = '(?:\\|[^<>]{0,200})?';

const PATTERNS: ReadonlyArray<readonly [RegExp, (match: string, name?: string) => string]> = [
  [new RegExp(`<@&${ID}>`, 'g'), () => MENTION_TOKENS.role],
  [new RegExp(`<@!?${ID}${LABEL}>`, 'g'), () => MENTION_TOKENS.user],
  [new RegExp(`<!subteam\\^${ID}${LABEL}>`, 'g'), () => MENTION_TOKENS.group],
  [new RegExp(`<#${ID}${LABEL}>`, 'g'), () => MENTION_TOKENS.channel],
  [new RegExp(`</([\\p{L}\\p{N}_-]{1,32}(?: [\\p{L}\\p{N}_-]{1,32}){0,2}):${ID}>`, 'gu'), (_m, name = '') => `/${name}`],
  [new RegExp(`<a?:(\\w{1,32}):${ID}>`, 'g'), (_m, name = '') => `:${name}:`],
];

/** `text` with every user, role, group and channel mention replaced by a neutral token. */
export function neutralizeMentions(text: string): string {
  return PATTERNS.reduce((out, [pattern, replace]) => out.replace(pattern, replace), text);
}
