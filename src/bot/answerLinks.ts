/**
 * Which links in an answer may stay clickable. The answer is written by an LLM that reads
 * transcripts and questions, so a prompt-injected answer could carry a phishing link dressed
 * as course material ("[Aula 3 — slides oficiais](https://evil.example/login)"). Only links to
 * the course's own videos (any time variant of a video URL in the index) and, if configured,
 * to an allow-list of domains (`ANSWER_LINK_DOMAINS`) stay links.
 */

export interface LinkPolicy {
  /** True when `url` may be shown as a clickable link. */
  allows(url: string): boolean;
}

/** `domains`: lower-case host names (as `loadConfig` gives ANSWER_LINK_DOMAINS); subdomains are allowed too. */
export function createLinkPolicy(input: { videoUrls: Iterable<string>; domains?: readonly string[] }): LinkPolicy {
  const videos = new Set<string>();
  for (const url of input.videoUrls) {
    const key = videoKey(url);
    if (key) videos.add(key);
  }
  const domains = (input.domains ?? []).map((d) => d.toLowerCase());
  return {
    allows(url: string): boolean {
      const parsed = httpUrl(url);
      if (!parsed) return false;
      const host = parsed.hostname.toLowerCase();
      if (domains.some((d) => host === d || host.endsWith(`.${d}`))) return true;
      const key = videoKey(url);
      return key !== null && videos.has(key);
    },
  };
}

function httpUrl(url: string): URL | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed : null;
  } catch {
    return null;
  }
}

const YOUTUBE_HOSTS = new Set(['youtube.com', 'music.youtube.com', 'youtube-nocookie.com']);

/**
 * What identifies a video behind its links: host (without `www.`/`m.`), path and query, without
 * the time (`t=`, `start=`, any `#…` fragment such as `#t=1m5s`); `youtu.be/ID` is
 * `youtube.com/watch?v=ID`. http and https are the same video.
 */
function videoKey(url: string): string | null {
  const parsed = httpUrl(url);
  if (!parsed) return null;
  let host = parsed.hostname.toLowerCase().replace(/^(www|m)\./, '');
  let path = parsed.pathname.replace(/\/+$/, '');
  const params = new URLSearchParams(parsed.search);
  params.delete('t');
  params.delete('start');
  if (host === 'youtu.be') {
    params.set('v', path.slice(1));
    host = 'youtube.com';
    path = '/watch';
  } else if (YOUTUBE_HOSTS.has(host)) {
    host = 'youtube.com';
  }
  params.sort();
  const query = params.toString();
  return `${host}${path}${query ? `?${query}` : ''}`;
}
