/**
 * Before/after fingerprints for "the store and the index are left intact" checks.
 *
 *   const before = await storeSnapshot(store);   // every record, vote, annotation and verdict
 *   …hostile input…
 *   expect(await storeSnapshot(store)).toEqual(before);
 *
 *   const index = await indexFingerprint(indexDir); // CURRENT + manifest.json/windows.jsonl digests
 *   …
 *   expect(await indexFingerprint(indexDir)).toEqual(index);
 *
 * `indexContent` ignores the generation name and build time: two builds of the same windows
 * and videos have equal content (what "the previous version was kept" means after an ingest
 * that had to skip a transcript).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FeedbackStore, FullRecord } from '../../src/store/types.js';

export interface StoreSnapshot {
  answers: number;
  votes: number;
  annotations: number;
  /** Every record, with its votes, annotation and judge verdict, as JSON (oldest first). */
  records: FullRecord[];
}

export async function storeSnapshot(store: FeedbackStore): Promise<StoreSnapshot> {
  const records = await store.listRecords();
  return {
    answers: records.length,
    votes: records.reduce((n, r) => n + r.votes.items.length, 0),
    annotations: records.filter((r) => r.annotation !== null).length,
    records,
  };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface IndexFingerprint {
  /** Content of INDEX_DIR/CURRENT (the generation in use). */
  current: string;
  /** sha256 of the generation's manifest.json (includes the build time: any rebuild changes it). */
  manifest: string;
  /** sha256 of the generation's windows.jsonl. */
  windows: string;
}

/** Exactly which build is in use: changes whenever anything is written to the index folder. */
export async function indexFingerprint(indexDir: string): Promise<IndexFingerprint> {
  const current = (await readFile(path.join(indexDir, 'CURRENT'), 'utf8')).trim();
  const gen = path.join(indexDir, current);
  return {
    current,
    manifest: sha256(await readFile(path.join(gen, 'manifest.json'))),
    windows: sha256(await readFile(path.join(gen, 'windows.jsonl'))),
  };
}

export interface IndexContent {
  /** sha256 of windows.jsonl: every window's corpus id, video, times and text. */
  windows: string;
  /** The indexed videos (id, title, url, transcript, content hash, window count). */
  videos: unknown;
  counts: unknown;
}

/** What the index holds, regardless of which generation folder or when it was built. */
export async function indexContent(indexDir: string): Promise<IndexContent> {
  const current = (await readFile(path.join(indexDir, 'CURRENT'), 'utf8')).trim();
  const gen = path.join(indexDir, current);
  const manifest = JSON.parse(await readFile(path.join(gen, 'manifest.json'), 'utf8')) as { videos: unknown; counts: unknown };
  return { windows: sha256(await readFile(path.join(gen, 'windows.jsonl'))), videos: manifest.videos, counts: manifest.counts };
}
