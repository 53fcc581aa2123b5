/**
 * The course's lectures as the insights show them: title, link and length, in the course's
 * order. Read from the index (the manifest and the windows' end times) when there is one;
 * otherwise the lectures the records cite stand in (their length is then the last second cited).
 */
import { cleanTitle, cleanUrl } from '../course/cleanText.js';
import type { CourseIndex } from '../index/courseIndex.js';
import { currentGeneration, readManifest, readWindows } from '../index/indexFiles.js';
import type { TranscriptWindow, Video } from '../types.js';

export interface LectureInfo {
  id: string;
  title: string;
  /** Link to the video (`videoLinkAt` opens it at any second). */
  url: string;
  /** Seconds, from the transcript; null when only the records know the lecture. */
  durationSec: number | null;
  /** Position in the course (the manifest's order). */
  order: number;
}

export type LectureCatalog = Map<string, LectureInfo>;

function catalogOf(videos: Iterable<Pick<Video, 'id' | 'title' | 'url'>>, windows: readonly Pick<TranscriptWindow, 'videoId' | 'end'>[]): LectureCatalog {
  const ends = new Map<string, number>();
  for (const w of windows) ends.set(w.videoId, Math.max(ends.get(w.videoId) ?? 0, w.end));
  const catalog: LectureCatalog = new Map();
  let order = 0;
  for (const v of videos) {
    catalog.set(v.id, { id: v.id, title: cleanTitle(v.title), url: cleanUrl(v.url), durationSec: ends.get(v.id) ?? null, order: order++ });
  }
  return catalog;
}

/** The lectures of an index already loaded (`npm start`). */
export function catalogFromIndex(index: Pick<CourseIndex, 'videos' | 'windows'>): LectureCatalog {
  return catalogOf(index.videos.values(), index.windows);
}

/** The lectures of the index in `indexDir`, or null when it has none. */
export async function loadLectureCatalog(indexDir: string): Promise<LectureCatalog | null> {
  const generation = await currentGeneration(indexDir);
  if (!generation) return null;
  const manifest = await readManifest(generation);
  return catalogOf(manifest.videos, await readWindows(generation));
}
