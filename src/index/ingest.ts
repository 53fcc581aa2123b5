/**
 * Course folder → index folder. Videos whose transcript, window settings and embedding model
 * (and its dtype) are unchanged since the previous build keep their windows, corpus ids and
 * vectors (no re-embedding);
 * only new or changed videos are windowed and embedded. A malformed transcript is reported and
 * skipped (or, if the previous build had that video, its previous version is kept).
 * The index folder is claimed (indexFolder.ts) and locked (indexLock.ts) for the whole build.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { splitPlainText } from '../bot/text.js';
import { readPolicyFile } from '../answer/policy.js';
import { loadCourseTranscripts, readCourse } from '../course/manifest.js';
import { HnswIndex, type HnswParams } from '../dense/hnswIndex.js';
import type { Embedder } from '../embeddings/embedder.js';
import { Bm25Index } from '../lexical/bm25Index.js';
import { readGlossary, type Glossary } from '../lexical/glossary.js';
import type { Logger } from '../logger.js';
import { createProgress } from '../progress.js';
import type { Cue, TranscriptWindow, Video } from '../types.js';
import { approximateTokenCount, buildWindows, type WindowDraft, type WindowSettings } from '../windowing.js';
import { loadCourseIndex, type CourseIndex, type StoredGlossary } from './courseIndex.js';
import { currentGeneration, writeGeneration, type IndexedVideo } from './indexFiles.js';
import { EXIT, UserError } from '../errors.js';
import { claimIndexFolder } from './indexFolder.js';
import { lockIndexFolder, type IndexLock, type LockIndexOptions } from './indexLock.js';

export interface IngestOptions {
  sourceDir: string;
  indexDir: string;
  /** Null when the embedding model cannot be loaded: the index is then lexical-only. */
  embedder: Embedder | null;
  /** The configured model id (recorded even when it could not be loaded, to detect mismatches). */
  embeddingModel: string;
  window: WindowSettings;
  hnsw: HnswParams;
  logger: Logger;
  /** How long to wait for another ingest of the same folder, and when its lock counts as stale (tests). */
  lock?: Pick<LockIndexOptions, 'waitMs' | 'staleMs' | 'pollMs'>;
}

export interface IngestReport {
  indexDir: string;
  videos: number;
  windows: number;
  embedded: number;
  reusedVideos: string[];
  changedVideos: string[];
  removedVideos: string[];
  failedVideos: { videoId: string; error: string }[];
  lexicalOnly: boolean;
  durationMs: number;
}

/** Exit 1: the course was read but nothing in it could be indexed (each transcript's problem is logged). */
export class IngestError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(message: string) {
    super(message);
    this.name = 'IngestError';
  }
}

export async function ingestCourse(options: IngestOptions): Promise<IngestReport> {
  const started = Date.now();
  // The course is checked before anything is written: a refused manifest or glossary leaves no trace.
  const { videos } = await readCourse(options.sourceDir);
  // A policy file that cannot be used stops the ingest too: answering without the guardrails the
  // course asked for would be worse than answering from yesterday's index.
  const policy = await readPolicyFile(options.sourceDir);
  const glossary = await readGlossary(options.sourceDir);
  await claimIndexFolder(options.indexDir);
  const lock = await lockIndexFolder(options.indexDir, { logger: options.logger, ...options.lock });
  try {
    return await ingestLocked(options, videos, glossary, lock, started, policy);
  } finally {
    await lock.release();
  }
}

async function ingestLocked(
  options: IngestOptions,
  videos: Video[],
  glossary: Glossary | null,
  lock: IndexLock,
  started: number,
  policy: Awaited<ReturnType<typeof readPolicyFile>>,
): Promise<IngestReport> {
  const { logger, embedder } = options;
  logger.info({ source: options.sourceDir, videos: videos.length }, 'reading transcripts');

  const failedVideos: IngestReport['failedVideos'] = [];
  const parsed = await loadCourseTranscripts(options.sourceDir, videos, (videoId, err) => {
    failedVideos.push({ videoId, error: err.message });
    logger.error({ videoId }, `transcript skipped: ${err.message}`);
  });

  const previous = await loadPrevious(options);
  const modelId = embedder ? embedder.modelId : null;
  const dtype = embedder?.dtype ?? null;
  const countTokens = embedder ? (t: string) => embedder.countTokens(t) : approximateTokenCount;
  const reusable = previous && sameBuildSettings(previous, modelId, dtype, options) ? previous : null;

  let nextCorpusId = previous?.manifest.nextCorpusId ?? 0;
  const windows: TranscriptWindow[] = [];
  const indexedVideos: IndexedVideo[] = [];
  const toEmbed: TranscriptWindow[] = [];
  const reusedVideos: string[] = [];
  const changedVideos: string[] = [];
  const keptWindows = new Set<number>();

  // Grouped once: scanning every previous window for each video was quadratic in course size.
  const previousByVideo = new Map<string, TranscriptWindow[]>();
  for (const w of reusable?.windows ?? []) {
    const list = previousByVideo.get(w.videoId);
    if (list) list.push(w);
    else previousByVideo.set(w.videoId, [w]);
  }
  const previousWindowsOf = (videoId: string) => previousByVideo.get(videoId) ?? [];
  const parsedById = new Map(parsed.map((p) => [p.video.id, p.cues]));

  for (const video of videos) {
    const cues = parsedById.get(video.id);
    const previousVideo = reusable?.manifest.videos.find((v) => v.id === video.id);
    if (!cues) {
      // Malformed transcript: keep the previous version of this video if there is one.
      if (previousVideo) {
        const kept = previousWindowsOf(video.id);
        kept.forEach((w) => keptWindows.add(w.corpusId));
        windows.push(...kept);
        indexedVideos.push({ ...previousVideo, title: video.title, url: video.url });
        logger.warn({ videoId: video.id }, 'kept the previously indexed version of this video');
      }
      continue;
    }
    const windowCues = splitLongCues(cues, options.window.maxTokens, countTokens);
    const hash = contentHash(windowCues, options.window, modelId, dtype);
    if (previousVideo && previousVideo.hash === hash) {
      let kept = previousWindowsOf(video.id);
      // Indexes built before windows kept their cue boundaries: derive them again (same cues and
      // settings give the same windows), so links can open at the moment without re-embedding.
      if (kept.some((w) => !w.cues)) kept = withCueBoundaries(kept, buildWindows(windowCues, options.window, countTokens));
      kept.forEach((w) => keptWindows.add(w.corpusId));
      windows.push(...kept);
      indexedVideos.push({ ...video, hash, windows: kept.length });
      reusedVideos.push(video.id);
      continue;
    }
    const drafts = buildWindows(windowCues, options.window, countTokens);
    const fresh = drafts.map((d) => ({ corpusId: nextCorpusId++, videoId: video.id, ...d }));
    windows.push(...fresh);
    toEmbed.push(...fresh);
    indexedVideos.push({ ...video, hash, windows: fresh.length });
    changedVideos.push(video.id);
  }
  if (indexedVideos.length === 0) {
    throw new IngestError(`no video of ${options.sourceDir} could be ingested (every transcript failed); the previous index, if any, is unchanged`);
  }
  const currentIds = new Set(videos.map((v) => v.id));
  const removedVideos = (previous?.manifest.videos ?? []).map((v) => v.id).filter((id) => !currentIds.has(id));

  const vectors = embedder ? await embedWindows(embedder, toEmbed, logger) : new Map<number, Float32Array>();
  const dense = embedder ? buildDense(embedder, reusable, windows, keptWindows, vectors, options.hnsw) : null;

  logger.info({ windows: windows.length }, 'building the lexical index');
  const lexical = Bm25Index.build(windows.map((w) => w.text));
  const serialized = lexical.serialize();

  const content = {
    manifest: {
      builtAt: new Date().toISOString(),
      source: path.resolve(options.sourceDir),
      embeddingModel: dense ? modelId : null,
      embeddingDtype: dense ? dtype : null,
      dimensions: dense ? dense.dimensions : null,
      window: options.window,
      hnsw: dense ? { m: options.hnsw.m, efConstruction: options.hnsw.efConstruction } : null,
      counts: { videos: indexedVideos.length, windows: windows.length, vocabulary: lexical.vocabularySize },
      nextCorpusId,
      videos: indexedVideos,
      policy: policy ? { mode: policy.policy.mode, version: policy.policy.version, assignments: policy.policy.assignments.length } : null,
      glossary: glossary ? { source: glossary.source, concepts: glossary.concepts.length } : null,
    },
    windows,
    lexical: serialized,
    ...(glossary ? { glossary: `${JSON.stringify({ format: 'glossary-v1', source: glossary.source, concepts: glossary.concepts } satisfies StoredGlossary)}\n` } : {}),
    writeDense: dense ? (file: string) => dense.save(file) : undefined,
    ...(policy ? { policy: policy.raw } : {}),
  };
  if (policy) {
    logger.info({ mode: policy.policy.mode, version: policy.policy.version, assignments: policy.policy.assignments.length }, 'answer policy read from politica.md');
  }
  try {
    await writeGeneration(options.indexDir, content, { assertOwner: () => lock.assertHeld() });
  } catch (err) {
    // Whatever went wrong, a lost lock is the cause to report (another ingest took over).
    await lock.assertHeld();
    throw err;
  }

  const report: IngestReport = {
    indexDir: options.indexDir,
    videos: indexedVideos.length,
    windows: windows.length,
    embedded: toEmbed.length && embedder ? toEmbed.length : 0,
    reusedVideos,
    changedVideos,
    removedVideos,
    failedVideos,
    lexicalOnly: dense === null,
    durationMs: Date.now() - started,
  };
  logger.info(
    {
      videos: report.videos,
      windows: report.windows,
      embedded: report.embedded,
      reused: reusedVideos.length,
      removed: removedVideos.length,
      failed: failedVideos.length,
      glossary: glossary ? glossary.concepts.length : 0,
      retrieval: dense ? 'hybrid' : 'lexical-only',
    },
    `index written to ${options.indexDir}`,
  );
  return report;
}

/** `kept` with the cue boundaries of the draft that has its start and text (unchanged when none has). */
export function withCueBoundaries(kept: readonly TranscriptWindow[], drafts: readonly WindowDraft[]): TranscriptWindow[] {
  const byStart = new Map(drafts.map((d) => [`${d.start}\t${d.text}`, d]));
  return kept.map((w) => {
    if (w.cues) return w;
    const draft = byStart.get(`${w.start}\t${w.text}`);
    return draft ? { ...w, cues: draft.cues } : w;
  });
}

async function loadPrevious(options: IngestOptions): Promise<CourseIndex | null> {
  try {
    if (!(await currentGeneration(options.indexDir))) return null;
    // Read whatever its model: whether anything is reused is decided by sameBuildSettings.
    return await loadCourseIndex(options.indexDir, { ef: options.hnsw.ef });
  } catch (err) {
    options.logger.warn(`previous index in ${options.indexDir} cannot be reused (${(err as Error).message}); building from scratch`);
    return null;
  }
}

function sameBuildSettings(previous: CourseIndex, modelId: string | null, dtype: string | null, options: IngestOptions): boolean {
  const m = previous.manifest;
  const sameWindow = JSON.stringify(m.window) === JSON.stringify(options.window);
  // Vectors of two dtypes in one graph would mix two models' outputs: a new dtype rebuilds it.
  // An index from before the dtype was recorded counts as another dtype (it is unknown).
  if (!sameWindow || m.embeddingModel !== modelId || (m.embeddingDtype ?? null) !== dtype) return false;
  if (modelId === null) return true;
  return m.hnsw?.m === options.hnsw.m && m.hnsw.efConstruction === options.hnsw.efConstruction && previous.dense !== null;
}

/**
 * Cues too long for one window (a Whisper segment holding a whole lecture, captions without
 * line breaks) are cut at word boundaries into pieces of about a quarter of the token limit,
 * their times spread by character position. Without this, such a cue became one window far
 * over the embedding model's limit (silently truncated when embedded, megabytes in every
 * prompt that retrieved it) and every link into it pointed at its first second.
 * Cues that fit are returned as they are (so existing content hashes do not change).
 */
export function splitLongCues(cues: readonly Cue[], maxTokens: number, countTokens: (text: string) => number): Cue[] {
  const base = countTokens('');
  const budget = Math.max(1, maxTokens - base);
  // No tokenizer produces more than 4 tokens per UTF-16 unit: shorter cues fit without counting.
  const fitsCheaply = (text: string) => text.length * 4 <= budget;
  const fits = (text: string) => fitsCheaply(text) || countTokens(text) <= maxTokens;
  const out: Cue[] = [];
  for (const cue of cues) {
    if (fits(cue.text)) {
      out.push(cue);
      continue;
    }
    const tokens = Math.max(1, countTokens(cue.text) - base);
    const charsPerToken = cue.text.length / tokens;
    const pieces: string[] = [];
    // At least 2 characters per piece: splitPlainText never cuts a surrogate pair, so a limit of 1
    // could not make progress on an emoji.
    const cut = (text: string, chars: number): void => {
      for (const piece of splitPlainText(text, Math.max(2, chars))) {
        if (piece.length <= 2 || fits(piece)) pieces.push(piece);
        else cut(piece, Math.floor(piece.length / 2));
      }
    };
    cut(cue.text, Math.floor((budget / 4) * charsPerToken));
    const duration = cue.end - cue.start;
    const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;
    let from = 0;
    const starts = pieces.map((piece) => {
      const at = cue.text.indexOf(piece, from);
      from = at >= 0 ? at + piece.length : from;
      return ms(cue.start + (duration * Math.max(0, at)) / cue.text.length);
    });
    pieces.forEach((text, i) => out.push({ start: starts[i]!, end: i + 1 < pieces.length ? starts[i + 1]! : cue.end, text }));
  }
  return out;
}

/**
 * What decides whether a video's windows and vectors can be reused: its cues, the window
 * settings, the model and its dtype. Embedders without a dtype hash as before it was recorded.
 */
export function contentHash(cues: readonly Cue[], window: WindowSettings, modelId: string | null, dtype: string | null = null): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ window, modelId, ...(dtype !== null ? { dtype } : {}) }));
  for (const cue of cues) hash.update(`${cue.start}\t${cue.end}\t${cue.text}\n`);
  return hash.digest('hex').slice(0, 32);
}

async function embedWindows(embedder: Embedder, windows: TranscriptWindow[], logger: Logger): Promise<Map<number, Float32Array>> {
  const vectors = new Map<number, Float32Array>();
  if (windows.length === 0) return vectors;
  const progress = createProgress('embedding windows', windows.length, logger);
  const batch = 64;
  try {
    for (let i = 0; i < windows.length; i += batch) {
      const slice = windows.slice(i, i + batch);
      const embedded = await embedder.embedPassages(slice.map((w) => w.text));
      slice.forEach((w, j) => vectors.set(w.corpusId, embedded[j]!));
      progress.update(Math.min(i + batch, windows.length));
    }
  } finally {
    progress.stop();
  }
  return vectors;
}

function buildDense(
  embedder: Embedder,
  reusable: CourseIndex | null,
  windows: readonly TranscriptWindow[],
  kept: ReadonlySet<number>,
  vectors: ReadonlyMap<number, Float32Array>,
  params: HnswParams,
): HnswIndex {
  if (reusable?.dense) {
    // Incremental: drop the windows that are gone, add the new ones; the graph is not rebuilt.
    const dense = reusable.dense;
    for (const w of reusable.windows) if (!kept.has(w.corpusId)) dense.remove(w.corpusId);
    for (const [id, vector] of vectors) dense.add(id, vector);
    return dense;
  }
  const dense = HnswIndex.create(embedder.dimensions, windows.length, params);
  for (const w of windows) {
    const vector = vectors.get(w.corpusId);
    if (!vector) throw new Error(`window ${w.corpusId} has no vector`);
    dense.add(w.corpusId, vector);
  }
  return dense;
}

