/** Text helpers for rendering answers within platform limits. */

/**
 * Splits text into chunks of at most `limit` characters, preferring paragraph, then line, then
 * sentence, then word boundaries; never splits inside a surrogate pair.
 */
export function splitText(text: string, limit: number): string[] {
  if (limit < 1) throw new Error('limit must be positive');
  const chunks: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    let cut = -1;
    for (const separator of ['\n\n', '\n', '. ', ' ']) {
      const at = rest.lastIndexOf(separator, limit - separator.length);
      if (at > limit * 0.5) {
        cut = at + separator.length;
        break;
      }
    }
    if (cut <= 0) cut = limit;
    if (isHighSurrogate(rest.charCodeAt(cut - 1))) cut--;
    chunks.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) chunks.push(rest);
  return chunks;
}

/** Shortens text to at most `limit` characters, ending with "…" when cut. */
export function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let cut = limit - 1;
  const space = text.lastIndexOf(' ', cut);
  if (space > limit * 0.7) cut = space;
  if (isHighSurrogate(text.charCodeAt(cut - 1))) cut--;
  return `${text.slice(0, cut).trimEnd()}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
