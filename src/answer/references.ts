/**
 * Turns retrieved transcript windows into the links sent with an answer: one link per
 * merged time range of a video, most relevant first.
 */
import type { Reference, RetrievedSegment } from '../types.js';
import { videoLinkAt } from '../course/links.js';

/** What references need to know about a video. `Video` from ../types.js fits. */
export interface VideoInfo {
  title: string;
  url: string;
}

/** Tolerance (seconds) under which two windows count as touching (float noise in caption times). */
const TOUCH_EPSILON = 1e-3;

interface Range {
  videoId: string;
  start: number;
  end: number;
  /** 0-based position of the best (lowest-index) segment merged into this range. */
  bestRank: number;
  /** Excerpt numbers ([n] in the answer) merged into this range. */
  excerpts: number[];
  /** The best-ranked segment's moment, where the link opens; undefined: the range's start. */
  at: number | undefined;
  title: string;
  baseUrl: string;
}

/**
 * Builds the references for `segments` (which must be best first, as the retriever returns
 * them). Windows of the same video that overlap or touch are merged into one time range;
 * merging is done on the windows sorted by start, so chains (A overlaps B, B touches C)
 * collapse into a single range. References are ordered by the best rank of any segment
 * inside them. The title and URL come from `videos` (falling back to the segment's own
 * `title`/`url` when the video is not in the map); `url` opens the video at the best-ranked
 * segment's moment (`at`) when it has one, else at `start`.
 */
export function buildReferences(
  segments: readonly RetrievedSegment[],
  videos: ReadonlyMap<string, VideoInfo>,
  /** The excerpt number ([n] in the prompt) of each segment; default its position + 1. */
  numbers: readonly number[] = segments.map((_, i) => i + 1),
): Reference[] {
  const byVideo = new Map<string, Array<{ seg: RetrievedSegment; rank: number; number: number }>>();
  segments.forEach((seg, rank) => {
    const entry = { seg, rank, number: numbers[rank] ?? rank + 1 };
    const list = byVideo.get(seg.videoId);
    if (list) list.push(entry);
    else byVideo.set(seg.videoId, [entry]);
  });

  const ranges: Range[] = [];
  for (const [videoId, list] of byVideo) {
    const video = videos.get(videoId);
    list.sort((a, b) => a.seg.start - b.seg.start || a.seg.end - b.seg.end);
    let current: Range | undefined;
    for (const { seg, rank, number } of list) {
      const start = Math.min(seg.start, seg.end);
      const end = Math.max(seg.start, seg.end);
      if (current && start <= current.end + TOUCH_EPSILON) {
        current.end = Math.max(current.end, end);
        if (rank < current.bestRank) current.at = seg.moment?.at;
        current.bestRank = Math.min(current.bestRank, rank);
        current.excerpts.push(number);
        continue;
      }
      current = {
        videoId,
        start,
        end,
        bestRank: rank,
        excerpts: [number],
        at: seg.moment?.at,
        title: video?.title ?? seg.title,
        baseUrl: video?.url ?? seg.url,
      };
      ranges.push(current);
    }
  }

  ranges.sort((a, b) => a.bestRank - b.bestRank);
  return ranges.map((r) => {
    // The link opens at the best segment's moment, when it has one inside the range.
    const at = r.at !== undefined && r.at > r.start && r.at < r.end ? r.at : undefined;
    return {
      videoId: r.videoId,
      title: r.title,
      start: r.start,
      end: r.end,
      url: videoLinkAt(r.baseUrl, at ?? r.start),
      excerpts: [...r.excerpts].sort((a, b) => a - b),
      ...(at !== undefined ? { at } : {}),
    };
  });
}

/**
 * The excerpt numbers (1-based) cited in `answer` as `[n]`, `[n, m]`, `[n; m]` or `[n-m]`
 * (`–` too), restricted to 1..`count`, in order of first appearance, without duplicates.
 */
export function citedNumbers(answer: string, count: number): number[] {
  const seen = new Set<number>();
  const groups = answer.matchAll(/\[(\s*\d+\s*(?:[,;\-–]\s*\d+\s*)*)\]/g);
  for (const g of groups) {
    const body = g[1] ?? '';
    for (const part of body.split(/[,;]/)) {
      const range = part.split(/[-–]/).map((x) => Number.parseInt(x.trim(), 10));
      const from = range[0];
      const to = range.length > 1 ? range[range.length - 1] : from;
      if (from === undefined || to === undefined || Number.isNaN(from) || Number.isNaN(to)) continue;
      // Bound the expansion so "[1-999999]" cannot blow up.
      const lo = Math.max(1, Math.min(from, to));
      const hi = Math.min(count, Math.max(from, to));
      for (let n = lo; n <= hi; n++) seen.add(n);
    }
  }
  return [...seen];
}

/**
 * References for an answer that cites excerpts as `[n]` (n = 1-based position in `segments`).
 * When the answer cites at least one valid excerpt, only the cited segments become
 * references (merged and ordered as in `buildReferences`); when it cites none, every
 * segment does (`fallback: 'all'`, the default) or none does (`fallback: 'none'`, used for
 * abstentions where unrelated links would only be noise).
 */
export function citedReferences(
  answer: string,
  segments: readonly RetrievedSegment[],
  videos: ReadonlyMap<string, VideoInfo>,
  opts: { fallback?: 'all' | 'none' } = {},
): Reference[] {
  const cited = new Set(citedNumbers(answer, segments.length));
  if (cited.size === 0) return opts.fallback === 'none' ? [] : buildReferences(segments, videos);
  const kept = segments.map((seg, i) => ({ seg, number: i + 1 })).filter(({ number }) => cited.has(number));
  return buildReferences(
    kept.map((k) => k.seg),
    videos,
    kept.map((k) => k.number),
  );
}

/** `[1, 3] ` — the excerpt numbers a reference holds, so readers can match the answer's [n]. */
export function excerptTag(ref: Reference): string {
  return ref.excerpts && ref.excerpts.length > 0 ? `[${ref.excerpts.join(', ')}] ` : '';
}
