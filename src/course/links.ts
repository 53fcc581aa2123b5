/**
 * Links that open a lecture video at a given second, plus clock formatting for
 * user-facing text. Pure functions, no I/O. They belong to the course (its videos), so that
 * retrieval, answers, evaluation and the adapters all use them without depending on each other.
 */

/** Floors to an integer number of seconds, never negative; NaN/Infinity become 0. */
export function wholeSeconds(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0) return 0;
  return Math.floor(seconds);
}

const YOUTUBE_HOSTS = new Set(['youtube.com', 'm.youtube.com', 'music.youtube.com', 'youtu.be', 'youtube-nocookie.com']);

function isVimeoHost(host: string): boolean {
  return host === 'vimeo.com' || host.endsWith('.vimeo.com');
}

/**
 * Returns `url` changed so that it opens the video at `seconds` (floored, never negative).
 *
 * - YouTube (`youtube.com/watch?v=`, `m.youtube.com`, `youtu.be/ID`, `/shorts/`, `/live/`):
 *   sets the `t=<seconds>` query parameter, replacing an existing `t` and keeping every
 *   other parameter (`v`, `list`, `si`...). A legacy `#t=` fragment is dropped.
 *   Embed URLs (`/embed/ID`) use `start=<seconds>` instead, which is what the player reads.
 * - Vimeo (`vimeo.com/...`, `player.vimeo.com/...`): fragment `#t=<m>m<s>s` (125 → `#t=2m5s`),
 *   replacing any existing fragment.
 * - Anything else: fragment `#t=<seconds>` (the W3C media-fragment syntax understood by
 *   browsers' native players), replacing any existing fragment and keeping the query string.
 * - A string that is not an absolute URL is returned unchanged.
 */
export function videoLinkAt(url: string, seconds: number): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  const s = wholeSeconds(seconds);
  const host = u.hostname.toLowerCase().replace(/^www\./, '');

  if (YOUTUBE_HOSTS.has(host)) {
    u.hash = '';
    if (u.pathname.startsWith('/embed/')) {
      u.searchParams.set('start', String(s));
    } else {
      u.searchParams.set('t', String(s));
    }
    return u.toString();
  }
  if (isVimeoHost(host)) {
    u.hash = `t=${Math.floor(s / 60)}m${s % 60}s`;
    return u.toString();
  }
  u.hash = `t=${s}`;
  return u.toString();
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** `M:SS` below one hour, `H:MM:SS` from one hour on (988 → `16:28`, 3725 → `1:02:05`). */
export function formatClock(seconds: number): string {
  const s = wholeSeconds(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(sec)}` : `${m}:${pad2(sec)}`;
}

/** Always `HH:MM:SS` (hours grow past two digits if needed): 3725 → `01:02:05`. */
export function formatHms(seconds: number): string {
  const s = wholeSeconds(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${pad2(h)}:${pad2(m)}:${pad2(s % 60)}`;
}

/**
 * `videoLinkAt(url, seconds)` without parsing the URL on every call (a URL parse costs ~10 µs,
 * ten of them per search): per video URL, the link is split around the seconds once, and the
 * split is used only if it reproduces `videoLinkAt` exactly on a range of probe values.
 * Otherwise (e.g. Vimeo's `#t=1m5s`) every call goes to `videoLinkAt`.
 */
class LinkTemplates {
  private readonly templates = new Map<string, { before: string; after: string } | null>();

  at(url: string, seconds: number): string {
    let template = this.templates.get(url);
    if (template === undefined) {
      template = splitAroundSeconds(url);
      if (this.templates.size >= 100_000) this.templates.clear();
      this.templates.set(url, template);
    }
    return template ? template.before + String(wholeSeconds(seconds)) + template.after : videoLinkAt(url, seconds);
  }
}

function splitAroundSeconds(url: string): { before: string; after: string } | null {
  const probe = 7_654_321;
  const parts = videoLinkAt(url, probe).split(String(probe));
  if (parts.length !== 2) return null;
  const template = { before: parts[0]!, after: parts[1]! };
  // Where a minutes or hours format would differ from plain seconds (3 URL parses per video: the
  // first link to each video pays them, ~10 µs).
  for (const s of [0, 61.5, 3661]) {
    if (template.before + String(wholeSeconds(s)) + template.after !== videoLinkAt(url, s)) return null;
  }
  return template;
}

const templates = new LinkTemplates();

/**
 * Same as `videoLinkAt(url, seconds)`, for hot paths (every retrieved segment gets a link):
 * cached per URL for the whole process, since a template depends only on the URL.
 */
export function cachedVideoLinkAt(url: string, seconds: number): string {
  return templates.at(url, seconds);
}
