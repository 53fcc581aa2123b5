/**
 * The lecture links in a TA's answer, as references like the bot's own: a TA pastes a video link
 * with its time (`https://youtu.be/ID?t=183`, `…watch?v=ID&t=3m3s`, Vimeo `#t=3m3s`, any other
 * course URL with `#t=183`), and the student sees "Aula 6 — Transfer learning · 3:03" opening
 * the video at that second. Links to videos that are not in the course are left in the text as
 * they are (they are not references).
 */
import { videoLinkAt } from '../course/links.js';
import type { Reference, Video } from '../types.js';

const URL_IN_TEXT = /\bhttps?:\/\/[^\s<>"'`()[\]{}|]+/gi;

/** A key that names a video whatever the form of its URL: YouTube or Vimeo id, else host + path. */
export function videoKey(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname.toLowerCase().replace(/^(www|m|music)\./, '');
  if (host === 'youtu.be') return `yt:${u.pathname.split('/')[1] ?? ''}`;
  if (host === 'youtube.com' || host === 'youtube-nocookie.com') {
    const v = u.searchParams.get('v');
    if (v) return `yt:${v}`;
    const m = /^\/(?:embed|shorts|live|v)\/([^/?#]+)/.exec(u.pathname);
    if (m) return `yt:${m[1]}`;
  }
  if (host === 'vimeo.com' || host.endsWith('.vimeo.com')) {
    const id = /\/(\d+)(?:\/|$)/.exec(u.pathname)?.[1];
    if (id) return `vimeo:${id}`;
  }
  return `url:${host}${u.pathname.replace(/\/+$/, '')}`;
}

/** `183`, `183s`, `3m3s`, `1h2m3s`, `3:03`, `1:02:03` → seconds; null when not a time. */
export function parseTime(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?s?$/.test(v)) return Math.floor(Number.parseFloat(v));
  const hms = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(v);
  if (hms && (hms[1] || hms[2] || hms[3])) return Number(hms[1] ?? 0) * 3600 + Number(hms[2] ?? 0) * 60 + Number(hms[3] ?? 0);
  const clock = /^(?:(\d+):)?(\d{1,2}):(\d{2})$/.exec(v);
  if (clock) return Number(clock[1] ?? 0) * 3600 + Number(clock[2]) * 60 + Number(clock[3]);
  return null;
}

/** The second a link opens its video at (`t=`, `start=`, `#t=`), or 0. */
export function linkSeconds(url: string): number {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 0;
  }
  for (const name of ['t', 'start']) {
    const value = u.searchParams.get(name);
    const s = value === null ? null : parseTime(value);
    if (s !== null) return s;
  }
  const hash = /(?:^#|&)t=([^&]+)/.exec(u.hash)?.[1];
  return hash ? (parseTime(decodeURIComponent(hash)) ?? 0) : 0;
}

/**
 * References for the course-video links in `text`, in order of appearance, one per distinct
 * (video, second). `start` = `end` = the linked second: a TA links a moment, not a range.
 */
export function lectureReferences(text: string, videos: ReadonlyMap<string, Video>): Reference[] {
  const byKey = new Map<string, Video>();
  for (const video of videos.values()) {
    const key = videoKey(video.url);
    if (key && !byKey.has(key)) byKey.set(key, video);
  }
  const out: Reference[] = [];
  const seen = new Set<string>();
  for (const match of text.matchAll(URL_IN_TEXT)) {
    const url = match[0].replace(/[.,;:!?]+$/, '');
    const key = videoKey(url);
    const video = key ? byKey.get(key) : undefined;
    if (!video) continue;
    const seconds = linkSeconds(url);
    const id = `${video.id}@${seconds}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ videoId: video.id, title: video.title, start: seconds, end: seconds, url: videoLinkAt(video.url, seconds) });
  }
  return out;
}
