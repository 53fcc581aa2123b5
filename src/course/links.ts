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

/** `3:03–5:33` for a range, `3:03` for a moment (a TA's link opens one second: start = end). */
export function clockRange(start: number, end: number): string {
  return end > start ? `${formatClock(start)}–${formatClock(end)}` : formatClock(start);
}

/** Always `HH:MM:SS` (hours grow past two digits if needed): 3725 → `01:02:05`. */
export function formatHms(seconds: number): string {
  const s = wholeSeconds(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${pad2(h)}:${pad2(m)}:${pad2(s % 60)}`;
}
