/**
 * `--hide-urls`: finds every link in a text and replaces it with `oculto`, for reports shared
 * outside the course. Detection is linkify-it's (markdown-it's link finder): URLs with a scheme,
 * protocol-relative `//host/…`, and links without a scheme (`www.…`, `youtu.be/…`,
 * `drive.google.com/…`, an IP with a port), with balanced parentheses kept inside the link
 * (`…/Sobreajuste_(estatística)`), so no tail of a link is left behind.
 *
 * A link without a scheme is hidden when it is clearly a link: it starts with `www.`, has a
 * path, query, fragment or port, has three or more host labels, or ends in a generic web TLD
 * (`.com`, `.org`, …). What is left — a bare `name.xx` with a two-letter ending — reads as code
 * far more often than as a site (`train.py`, `df.at`, `tf.io`, `README.md`, `modelo.pt`), and
 * alone it names no page. Anything still shaped like `scheme://…`, an IPv4 address or
 * `localhost:port` after that is hidden too, and so is what follows a link after a stray `)`.
 */
import { LinkifyIt, type Match } from 'linkify-it';

export const HIDDEN_URL = 'oculto';

/** Newer generic TLDs linkify-it does not know by default (it knows every two-letter one). */
const EXTRA_TLDS = ['app', 'dev', 'xyz', 'online', 'site', 'tech', 'cloud', 'page', 'link', 'live', 'blog', 'academy', 'education', 'school'];

// urlAuth: `https://user:password@host/…` is one link (otherwise the password would be left).
const linkify = new LinkifyIt({ fuzzyLink: true, fuzzyIP: true, fuzzyEmail: false, urlAuth: true }).tlds(EXTRA_TLDS, true);

/** What linkify-it leaves out but is still an address: any `scheme://…` run, an IPv4 address, `localhost:port`. */
const LEFTOVERS = [
  /\b[a-z][a-z0-9+.-]{0,30}:\/\/[^\s<>"'`]*/gi,
  /\b(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?:[/?#][^\s<>"'`]*)?/g,
  /\blocalhost(?::\d{1,5}(?:[/?#][^\s<>"'`]*)?|[/?#][^\s<>"'`]*)/gi,
];

/**
 * The rest of a link after an unbalanced `)` or `]` that linkify-it stops at (`…/a)b`): a run
 * with no space that ends in a character a URL path would (not bare punctuation like `).`).
 */
const TAIL = /^[)\]]+[^\s<>"'`]*[A-Za-z0-9_%/=&#~+-]/;

function isClearlyALink(match: Match): boolean {
  if (match.schema !== '') return true; // http:, https:, ftp:, mailto:, //
  const raw = match.raw;
  if (/^www\./i.test(raw)) return true;
  const host = /^[^/?#:]+/.exec(raw)?.[0] ?? raw;
  if (host.length < raw.length) return true; // a path, query, fragment or port follows
  const labels = host.split('.');
  if (labels.length >= 3) return true;
  return (labels.at(-1) ?? '').length > 2;
}

/** `text` with every link replaced by `oculto`. */
export function hideUrlsInText(text: string): string {
  let out = text;
  const matches = linkify.test(text) ? (linkify.match(text) ?? []) : [];
  // From the end, so earlier indexes stay valid.
  for (const m of [...matches].reverse()) {
    if (!isClearlyALink(m)) continue;
    const tail = TAIL.exec(out.slice(m.lastIndex))?.[0] ?? '';
    out = out.slice(0, m.index) + HIDDEN_URL + out.slice(m.lastIndex + tail.length);
  }
  return LEFTOVERS.reduce((text, pattern) => text.replace(pattern, HIDDEN_URL), out);
}
