/** Small course folders written at test time, and a silent logger. */
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Embedder } from '../../src/embeddings/embedder.js';
import type { HnswParams } from '../../src/dense/hnswIndex.js';
import { ingestCourse, type IngestReport } from '../../src/index/ingest.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../src/windowing.js';

export const SAMPLE_COURSE = path.resolve('examples/curso-exemplo');

export function silentLogger(): Logger {
  return createLogger({ level: 'silent' });
}

/** A hybrid index of `sourceDir` built with `embedder` (default windows, quiet). */
export function ingestWithModel(
  sourceDir: string,
  indexDir: string,
  embedder: Embedder,
  hnsw: HnswParams = { m: 16, efConstruction: 200, ef: 100 },
): Promise<IngestReport> {
  return ingestCourse({ sourceDir, indexDir, embedder, embeddingModel: embedder.modelId, window: DEFAULT_WINDOW_SETTINGS, hnsw, logger: silentLogger() });
}

/** A logger whose lines (JSON) are collected in `lines`. */
export function recordingLogger(secrets: string[] = []): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger({ level: 'debug', secrets, format: 'json', write: (l) => lines.push(l) }), lines };
}

export async function tempDir(prefix = 'pergunta-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

/** Copies the sample course into a temp folder (so a test may change it). */
export async function copySampleCourse(): Promise<string> {
  const dir = await tempDir('course-');
  await cp(SAMPLE_COURSE, dir, { recursive: true });
  return dir;
}

/**
 * A folder laid out as a fresh clone is for `npm run ask` on the default settings: the sample
 * course at `examples/curso-exemplo/` and the committed `index/` (README and marker, no index).
 * Run a CLI with it as the working directory and without INDEX_DIR / COURSE_DIR.
 */
export async function freshCloneDir(): Promise<string> {
  const dir = await tempDir('clone-');
  await cp(SAMPLE_COURSE, path.join(dir, 'examples', 'curso-exemplo'), { recursive: true });
  await mkdir(path.join(dir, 'index'));
  for (const file of ['README.md', '.pergunta-index']) await cp(path.resolve('index', file), path.join(dir, 'index', file));
  return dir;
}

/** Writes a tiny SRT transcript of `minutes` of speech about `topic`, one cue per 5 s. */
export function srtLecture(topic: string, minutes: number): string {
  const blocks: string[] = [];
  const cues = (minutes * 60) / 5;
  const clock = (s: number) =>
    `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')},000`;
  for (let i = 0; i < cues; i++) {
    blocks.push(`${i + 1}\n${clock(i * 5)} --> ${clock(i * 5 + 5)}\nentão galera hoje o assunto é ${topic} parte ${i} né\n`);
  }
  return blocks.join('\n');
}

/** A course folder with the given lectures: id → [title, topic, minutes]. */
export async function writeCourse(lectures: Record<string, [string, string, number]>, dir?: string): Promise<string> {
  const root = dir ?? (await tempDir('course-'));
  await mkdir(path.join(root, 'transcripts'), { recursive: true });
  const videos = [];
  for (const [id, [title, topic, minutes]] of Object.entries(lectures)) {
    await writeFile(path.join(root, 'transcripts', `${id}.srt`), srtLecture(topic, minutes));
    videos.push({ id, title, url: `https://youtu.be/${id.padEnd(11, 'x').slice(0, 11)}`, transcript: `transcripts/${id}.srt` });
  }
  await writeFile(path.join(root, 'videos.json'), JSON.stringify(videos, null, 2));
  return root;
}
