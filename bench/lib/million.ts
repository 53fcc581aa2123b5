/**
 * `--million`: does the index folder save and load at 1M windows? Builds the dense and lexical
 * indexes of a 1M-window synthetic corpus (texts are regenerated from per-window seeds instead of
 * held in memory), writes the index folder with the real writer, then loads it with
 * `loadCourseIndex` in a fresh child process with Node's default heap limit, runs one lexical and
 * one dense search there, and reports RSS. Slow: the HNSW build alone is ~10+ minutes here.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { HnswIndex, type HnswParams } from '../../src/dense/hnswIndex.js';
import { writeGeneration, type IndexedVideo } from '../../src/index/indexFiles.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import type { TranscriptWindow } from '../../src/types.js';
import type { WindowSettings } from '../../src/windowing.js';
import { TextGenerator, VectorSpace, makeTopics, syntheticVideo, videoIdOf, type Vocabulary } from './corpus.js';
import { FAKE_MODEL, stubHash } from './ingestBench.js';
import { gaussian, mulberry32 } from './prng.js';
import { probeRss } from './rssProbe.js';
import { timed } from './stats.js';
import type { MillionResult } from './types.js';

export interface MillionOptions {
  size: number;
  vocabulary: Vocabulary;
  workDir: string;
  hnsw: HnswParams;
  window: WindowSettings;
  dimensions: number;
  clusters: number;
  seed: number;
  wordsPerWindow: number;
  log: (msg: string) => void;
}

export async function benchMillion(opts: MillionOptions): Promise<MillionResult> {
  const { size, log } = opts;
  const notes: string[] = [];
  const dir = path.join(opts.workDir, `million-${size}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const indexDir = path.join(dir, 'index');
  const space = new VectorSpace(opts.dimensions, opts.clusters, 1, opts.seed + 1);
  const topics = makeTopics(opts.vocabulary, opts.clusters, 40, mulberry32(opts.seed + 2));
  const generator = new TextGenerator(opts.vocabulary, topics, 0.5);
  const clusters = new Uint16Array(size);
  const pick = mulberry32(opts.seed);
  for (let i = 0; i < size; i++) clusters[i] = Math.floor(pick() * opts.clusters);
  const textOf = (i: number): string => {
    const random = mulberry32(opts.seed * 7919 + i);
    const words = Math.max(20, Math.round(opts.wordsPerWindow * (0.75 + 0.5 * random())));
    return generator.text(clusters[i]!, words, random);
  };

  log(`[1M] building the dense index of ${size} windows (long)`);
  const normal = gaussian(mulberry32(opts.seed ^ 0x9e3779b9));
  const vector = new Float32Array(opts.dimensions);
  const dense = await timed(() => {
    const index = HnswIndex.create(opts.dimensions, size, opts.hnsw);
    const started = Date.now();
    for (let i = 0; i < size; i++) {
      index.add(i, space.sample(clusters[i]!, normal, vector));
      if ((i + 1) % 100_000 === 0) log(`[1M]   ${i + 1} vectors added (${Math.round((Date.now() - started) / 1000)} s)`);
    }
    return index;
  });
  log(`[1M] dense build ${(dense.ms / 1000).toFixed(0)} s; building the lexical index`);
  const lexical = await timed(() =>
    Bm25Index.build(
      (function* texts() {
        for (let i = 0; i < size; i++) yield textOf(i);
      })(),
    ),
  );
  log(`[1M] lexical build ${(lexical.ms / 1000).toFixed(0)} s; writing the index folder`);

  const perVideo = 15;
  const videoCount = Math.ceil(size / perVideo);
  const videos: IndexedVideo[] = [];
  for (let v = 0; v < videoCount; v++) {
    const video = syntheticVideo(v);
    videos.push({ ...video, hash: stubHash(video, opts.window), windows: Math.min(perVideo, size - v * perVideo) });
  }
  // Window objects whose text is generated when the writer reads it.
  const windows: TranscriptWindow[] = [];
  for (let i = 0; i < size; i++) {
    const j = i % perVideo;
    const start = j * opts.window.strideSeconds;
    windows.push(
      Object.defineProperty({ corpusId: i, videoId: videoIdOf(Math.floor(i / perVideo)), start, end: start + opts.window.windowSeconds }, 'text', {
        get: () => textOf(i),
        enumerable: true,
      }) as TranscriptWindow,
    );
  }
  const built = dense.value;
  const save = await timed(() =>
    writeGeneration(indexDir, {
      manifest: {
        builtAt: new Date().toISOString(),
        source: dir,
        embeddingModel: FAKE_MODEL,
        dimensions: opts.dimensions,
        window: opts.window,
        hnsw: { m: opts.hnsw.m, efConstruction: opts.hnsw.efConstruction },
        counts: { videos: videos.length, windows: size, vocabulary: lexical.value.vocabularySize },
        nextCorpusId: size,
        videos,
      },
      windows,
      lexical: lexical.value.serialize(),
      writeDense: (file) => built.save(file),
    }),
  );
  const files: Record<string, number> = {};
  let total = 0;
  for (const f of await readdir(save.value)) {
    files[f] = (await stat(path.join(save.value, f))).size;
    total += files[f];
  }
  log(`[1M] saved in ${(save.ms / 1000).toFixed(0)} s (${(total / 2 ** 30).toFixed(2)} GiB); loading it in a child process`);

  const req = { kind: 'ours-index' as const, path: indexDir, dimensions: opts.dimensions, ef: opts.hnsw.ef, liveCount: size, m: opts.hnsw.m, efConstruction: opts.hnsw.efConstruction };
  let load: MillionResult['load'];
  let loadRaisedHeap: MillionResult['loadRaisedHeap'];
  try {
    load = await probeRss(req, 30 * 60_000);
  } catch (err) {
    load = { skipped: `load with Node's default heap failed: ${(err as Error).message.slice(0, 300)}` };
    notes.push('retrying the load with --max-old-space-size=16384');
    loadRaisedHeap = await probeRss(req, 30 * 60_000, 16_384).catch((e: unknown) => ({ skipped: `load failed: ${(e as Error).message.slice(0, 300)}` }));
  }
  return {
    size,
    buildDenseMs: dense.ms,
    buildLexicalMs: lexical.ms,
    saveMs: save.ms,
    disk: { total, files },
    load,
    ...(loadRaisedHeap ? { loadRaisedHeap } : {}),
    notes,
  };
}
