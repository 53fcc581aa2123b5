/**
 * Ingest → index folder → load, with the real embedding path (tiny generated ONNX model through
 * transformers.js), the real hnswlib index and the BM25 index.
 */
import { appendFile, readdir, readFile, rm, truncate, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/embeddings/embedder.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { IndexDtypeMismatchError, IndexModelMismatchError, loadCourseIndex } from '../../src/index/courseIndex.js';
import { currentGeneration, IndexCorruptError, IndexNotFoundError, writeGeneration } from '../../src/index/indexFiles.js';
import { ingestCourse, type IngestOptions } from '../../src/index/ingest.js';
import { HybridRetriever, NOTICE_NO_DENSE_INDEX, NOTICE_NO_MODEL } from '../../src/retrieval/hybridRetriever.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../src/windowing.js';
import { copySampleCourse, silentLogger, srtLecture, tempDir, writeCourse } from '../helpers/course.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

let tiny: TransformersEmbedder;
/** The same tiny model loaded at the other dtype (its model.onnx instead of model_quantized.onnx). */
let tinyFp32: TransformersEmbedder;
let modelDir: string;

/** Wraps an embedder to count the passages it embeds. */
function counting(inner: Embedder): Embedder & { passages: string[] } {
  const passages: string[] = [];
  return {
    modelId: inner.modelId,
    ...(inner.dtype !== undefined ? { dtype: inner.dtype } : {}),
    dimensions: inner.dimensions,
    maxTokens: inner.maxTokens,
    countTokens: (t) => inner.countTokens(t),
    embedQuery: (t) => inner.embedQuery(t),
    embedPassages: async (texts, onProgress) => {
      passages.push(...texts);
      return inner.embedPassages(texts, onProgress);
    },
    passages,
  };
}

function options(sourceDir: string, indexDir: string, embedder: Embedder | null): IngestOptions {
  return {
    sourceDir,
    indexDir,
    embedder,
    embeddingModel: embedder?.modelId ?? 'tiny-e5',
    window: { ...DEFAULT_WINDOW_SETTINGS, maxTokens: 512 },
    hnsw: { m: 16, efConstruction: 100, ef: 50 },
    logger: silentLogger(),
  };
}

beforeAll(async () => {
  modelDir = await tempDir('tiny-model-');
  const model = await writeTinyModel(modelDir);
  tiny = await loadTransformersEmbedder({ modelId: model.modelId, localModelPath: model.modelPath, allowRemote: false });
  tinyFp32 = await loadTransformersEmbedder({ modelId: model.modelId, localModelPath: model.modelPath, allowRemote: false, dtype: 'fp32' });
});

afterAll(async () => {
  await tiny.dispose();
  await tinyFp32.dispose();
});

describe('ingest and load', () => {
  it('indexes the sample course: windows with stable ids, manifest, dense and lexical parts', async () => {
    const indexDir = await tempDir('index-');
    const embedder = counting(tiny);
    const report = await ingestCourse(options('examples/curso-exemplo', indexDir, embedder));
    expect(report).toMatchObject({ videos: 7, lexicalOnly: false, failedVideos: [] });
    expect(report.embedded).toBe(report.windows);
    expect(embedder.passages).toHaveLength(report.windows);

    const index = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, ef: 50 });
    const m = index.manifest;
    expect(m).toMatchObject({ formatVersion: 1, embeddingModel: tiny.modelId, dimensions: 32, window: { windowSeconds: 150, strideSeconds: 110 } });
    expect(m.counts.windows).toBe(index.windows.length);
    expect(new Date(m.builtAt).getTime()).toBeGreaterThan(0);
    expect(index.windows.map((w) => w.corpusId)).toEqual(index.windows.map((_, i) => i));
    // Each video of 11 minutes makes several windows, each under the token limit.
    for (const video of m.videos) expect(video.windows).toBeGreaterThanOrEqual(5);
    for (const w of index.windows) expect(tiny.countTokens(w.text)).toBeLessThanOrEqual(512);
    expect(index.dense?.size).toBe(index.windows.length);

    const retriever = new HybridRetriever(index, tiny);
    const result = await retriever.search('Qual a diferença entre transfer learning e fine tuning?', 5);
    expect(result.retriever).toBe('e5+bm25'); // any E5-family model id shortens to e5
    expect(result.notices).toEqual([]);
    expect(result.segments).toHaveLength(5);
    expect(result.segments.some((s) => s.foundBy.dense)).toBe(true);
    expect(result.segments.some((s) => s.foundBy.lexical)).toBe(true);
    expect(result.segments[0]!.videoId).toBe('aula06');
    const top = result.segments[0]!;
    expect(top.url).toContain(`t=${Math.floor(top.start)}`);
  });

  it('runs lexical-only with a one-line notice when the model is missing or the index has no vectors', async () => {
    const indexDir = await tempDir('index-');
    await ingestCourse(options('examples/curso-exemplo', indexDir, tiny));
    const index = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, ef: 50 });
    const noModel = await new HybridRetriever(index, null).search('o que é dropout', 3);
    expect(noModel).toMatchObject({ retriever: 'bm25', embeddingModel: null, notices: [NOTICE_NO_MODEL] });
    expect(noModel.segments.every((s) => s.foundBy.lexical && !s.foundBy.dense)).toBe(true);

    const lexicalDir = await tempDir('index-');
    const report = await ingestCourse(options('examples/curso-exemplo', lexicalDir, null));
    expect(report.lexicalOnly).toBe(true);
    const lexicalIndex = await loadCourseIndex(lexicalDir, { embeddingModel: 'anything', ef: 50 });
    const lexical = await new HybridRetriever(lexicalIndex, tiny).search('o que é dropout', 3);
    expect(lexical.notices).toEqual([NOTICE_NO_DENSE_INDEX]);
    expect(lexical.segments[0]!.text).toContain('dropout');
  });

  it('refuses an index built with another embedding model, with a message saying what to do', async () => {
    const indexDir = await tempDir('index-');
    await ingestCourse(options('examples/curso-exemplo', indexDir, tiny));
    const err = await loadCourseIndex(indexDir, { embeddingModel: 'Xenova/multilingual-e5-small', ef: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexModelMismatchError);
    expect((err as Error).message).toContain('built with the embedding model tiny-e5');
    expect((err as Error).message).toContain('EMBEDDING_MODEL=tiny-e5');
  });

  it('records the dtype; re-ingesting at another dtype re-embeds every video instead of mixing vectors', async () => {
    expect(tiny.dtype).toBe('q8');
    expect(tinyFp32.dtype).toBe('fp32');
    const course = await writeCourse({ a1: ['Aula 1', 'regressão linear', 6], a2: ['Aula 2', 'redes neurais', 6] });
    const indexDir = await tempDir('index-');
    const q8 = counting(tiny);
    const r1 = await ingestCourse(options(course, indexDir, q8));
    expect((await loadCourseIndex(indexDir, { ef: 50 })).manifest.embeddingDtype).toBe('q8');

    const fp32 = counting(tinyFp32);
    const r2 = await ingestCourse(options(course, indexDir, fp32));
    expect(r2.reusedVideos).toEqual([]);
    expect(r2.changedVideos.sort()).toEqual(['a1', 'a2']);
    expect(r2.embedded).toBe(r2.windows);
    expect(fp32.passages).toHaveLength(r1.windows);
    const index = await loadCourseIndex(indexDir, { ef: 50 });
    expect(index.manifest.embeddingDtype).toBe('fp32');
    // Rebuilt, not added to the old graph: exactly one vector per window.
    expect(index.dense!.size).toBe(index.windows.length);

    // The same dtype again reuses everything: the dtype alone caused the re-embedding.
    const again = counting(tinyFp32);
    const r3 = await ingestCourse(options(course, indexDir, again));
    expect(r3.reusedVideos.sort()).toEqual(['a1', 'a2']);
    expect(again.passages).toHaveLength(0);
  });

  it('refuses an index built at another dtype than the configured one, saying what to do', async () => {
    const indexDir = await tempDir('index-');
    await ingestCourse(options('examples/curso-exemplo', indexDir, tiny));
    const err = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, embeddingDtype: 'fp32', ef: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexDtypeMismatchError);
    expect((err as Error).message).toContain('built with tiny-e5 at dtype q8, but EMBEDDING_DTYPE is fp32');
    expect((err as Error).message).toContain('EMBEDDING_DTYPE=q8');
    expect((err as Error).message).toContain('npm run ingest');
    expect((await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, embeddingDtype: 'q8', ef: 50 })).dense).not.toBeNull();

    // The start-up path (npm start, npm run ask) checks the configured dtype.
    const config = loadConfig({ EMBEDDING_MODEL: tiny.modelId, EMBEDDING_DTYPE: 'fp32', STORE_URL: 'memory://' }, path.join(indexDir, 'no.env'));
    await expect(createCore(config, silentLogger(), { indexDir, embedder: null })).rejects.toBeInstanceOf(IndexDtypeMismatchError);
    await expect(createCore(config, silentLogger(), { indexDir, embedder: tiny })).resolves.toMatchObject({ embedder: tiny });
  });

  it('loads an index from before the dtype was recorded, and re-embeds it once on the next ingest', async () => {
    const course = await writeCourse({ a1: ['Aula 1', 'regressão linear', 4] });
    const indexDir = await tempDir('index-');
    await ingestCourse(options(course, indexDir, tiny));
    // Such an index: no embeddingDtype in its manifest, hashes without a dtype.
    const generation = (await currentGeneration(indexDir))!;
    const manifestFile = path.join(generation, 'manifest.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Record<string, unknown>;
    delete manifest.embeddingDtype;
    await writeFile(manifestFile, JSON.stringify(manifest));

    const old = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, embeddingDtype: 'fp32', ef: 50 });
    expect(old.manifest.embeddingDtype).toBeUndefined();
    expect(old.dense!.size).toBe(old.windows.length);

    // Its dtype is unknown: rebuilt rather than risk mixing.
    const next = counting(tiny);
    const report = await ingestCourse(options(course, indexDir, next));
    expect(report.reusedVideos).toEqual([]);
    expect(next.passages).toHaveLength(report.windows);
    expect((await loadCourseIndex(indexDir, { ef: 50 })).manifest.embeddingDtype).toBe('q8');
  });

  it('re-ingesting after changing one video and adding another embeds only those', async () => {
    const course = await writeCourse({
      a1: ['Aula 1', 'regressão linear', 6],
      a2: ['Aula 2', 'redes neurais', 6],
      a3: ['Aula 3', 'árvores de decisão', 6],
    });
    const indexDir = await tempDir('index-');
    const first = counting(tiny);
    const r1 = await ingestCourse(options(course, indexDir, first));
    const before = await loadCourseIndex(indexDir, { ef: 50 });
    const idsOf = (ix: typeof before, video: string) => ix.windows.filter((w) => w.videoId === video).map((w) => w.corpusId);

    await writeFile(path.join(course, 'transcripts', 'a2.srt'), srtLecture('redes convolucionais', 6));
    await writeFile(path.join(course, 'transcripts', 'a4.srt'), srtLecture('clusterização', 3));
    const videos = JSON.parse(await readFile(path.join(course, 'videos.json'), 'utf8')) as object[];
    videos.push({ id: 'a4', title: 'Aula 4', url: 'https://vimeo.com/123', transcript: 'transcripts/a4.srt' });
    await writeFile(path.join(course, 'videos.json'), JSON.stringify(videos));

    const second = counting(tiny);
    const r2 = await ingestCourse(options(course, indexDir, second));
    const after = await loadCourseIndex(indexDir, { ef: 50 });
    expect(r2.reusedVideos.sort()).toEqual(['a1', 'a3']);
    expect(r2.changedVideos.sort()).toEqual(['a2', 'a4']);
    expect(second.passages.every((p) => /convolucionais|clusterização/.test(p))).toBe(true);
    expect(second.passages.length).toBe(after.windows.filter((w) => w.videoId === 'a2' || w.videoId === 'a4').length);
    expect(first.passages.length).toBe(r1.windows);
    // Unchanged videos keep their corpus ids; new windows get fresh ids, never reused ones.
    expect(idsOf(after, 'a1')).toEqual(idsOf(before, 'a1'));
    expect(idsOf(after, 'a3')).toEqual(idsOf(before, 'a3'));
    const oldMax = Math.max(...before.windows.map((w) => w.corpusId));
    expect(idsOf(after, 'a2').every((id) => id > oldMax)).toBe(true);
    // The dense index no longer returns the old a2 windows and finds the new ones.
    expect(after.dense!.size).toBe(after.windows.length);
    const hits = new HybridRetriever(after, tiny).searchVector('redes convolucionais', await tiny.embedQuery('redes convolucionais'), 50);
    const live = new Set(after.windows.map((w) => w.corpusId));
    expect(hits.every((h) => live.has(h.corpusId))).toBe(true);
    expect(hits[0]!.videoId).toBe('a2');

    // A third run with nothing changed embeds nothing.
    const third = counting(tiny);
    const r3 = await ingestCourse(options(course, indexDir, third));
    expect(third.passages).toHaveLength(0);
    expect(r3.embedded).toBe(0);
  });

  it('skips a malformed transcript (naming file and line), keeps its previous version, ingests the rest', async () => {
    const course = await writeCourse({ a1: ['Aula 1', 'regressão', 3], a2: ['Aula 2', 'redes', 3] });
    const indexDir = await tempDir('index-');
    await ingestCourse(options(course, indexDir, tiny));
    const before = await loadCourseIndex(indexDir, { ef: 50 });
    await writeFile(path.join(course, 'transcripts', 'a2.srt'), '1\n00:00:01,000 --> 00:00:0x,000\nquebrado\n');
    await writeCourse({ a3: ['Aula 3', 'clusterização', 3] }, course).then(async () => {
      // writeCourse replaced videos.json with only a3: restore the full list.
      await writeFile(
        path.join(course, 'videos.json'),
        JSON.stringify(['a1', 'a2', 'a3'].map((id) => ({ id, title: id, url: `https://youtu.be/${id}xxxxxxxx`, transcript: `transcripts/${id}.srt` }))),
      );
    });
    const report = await ingestCourse(options(course, indexDir, tiny));
    expect(report.failedVideos).toHaveLength(1);
    expect(report.failedVideos[0]!.videoId).toBe('a2');
    expect(report.failedVideos[0]!.error).toMatch(/a2\.srt:2/);
    const after = await loadCourseIndex(indexDir, { ef: 50 });
    expect(after.windows.filter((w) => w.videoId === 'a2')).toEqual(before.windows.filter((w) => w.videoId === 'a2'));
    expect(after.windows.some((w) => w.videoId === 'a3')).toBe(true);
  });
});

describe('index folder integrity', () => {
  it('says how to build an index when there is none', async () => {
    const err = await loadCourseIndex(await tempDir('empty-'), { ef: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexNotFoundError);
    expect((err as Error).message).toContain('npm run ingest');
  });

  it('a build that fails midway leaves the previous index in use and no debris after the next build', async () => {
    const indexDir = await tempDir('index-');
    await ingestCourse(options('examples/curso-exemplo', indexDir, null));
    const previous = await currentGeneration(indexDir);
    const failing = writeGeneration(indexDir, {
      manifest: (await loadCourseIndex(indexDir, { ef: 50 })).manifest,
      windows: [],
      lexical: { header: '{}', body: Buffer.alloc(0) },
      writeDense: async (file) => {
        await writeFile(file, 'partial');
        throw new Error('disk full');
      },
    });
    await expect(failing).rejects.toThrow('disk full');
    expect(await currentGeneration(indexDir)).toBe(previous);
    const index = await loadCourseIndex(indexDir, { ef: 50 });
    expect(index.windows.length).toBeGreaterThan(10);
    // A temporary folder left by a killed process does not disturb loading and is cleaned later.
    await mkdir(path.join(indexDir, '.tmp-gen-killed'), { recursive: true });
    await loadCourseIndex(indexDir, { ef: 50 });
    await ingestCourse(options('examples/curso-exemplo', indexDir, null));
    const entries = await readdir(indexDir);
    expect(entries.filter((e) => e.startsWith('gen-'))).toHaveLength(1);
    expect(entries.filter((e) => e.startsWith('.tmp'))).toEqual([]);
  });

  it.each([
    ['windows.jsonl', 'truncated', async (f: string) => truncate(f, 100)],
    ['lexical.bin', 'corrupted', async (f: string) => {
      const b = await readFile(f);
      b.writeUInt8(b.readUInt8(b.length - 1) ^ 0xff, b.length - 1);
      await writeFile(f, b);
    }],
    ['dense.hnsw', 'grown', async (f: string) => appendFile(f, 'xx')],
    ['dense.hnsw', 'deleted', async (f: string) => rm(f)],
  ])('a %s that was %s is a clear error naming the file', async (file, _how, damage) => {
    const indexDir = await tempDir('index-');
    await ingestCourse(options('examples/curso-exemplo', indexDir, tiny));
    const generation = (await currentGeneration(indexDir))!;
    await damage(path.join(generation, file));
    const err = await loadCourseIndex(indexDir, { ef: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IndexCorruptError);
    expect((err as Error).message).toContain(path.join(generation, file));
    expect((err as Error).message).toContain('npm run ingest');
  });

  it('a CURRENT pointer with garbage is a clear error', async () => {
    const indexDir = await tempDir('index-');
    await writeFile(path.join(indexDir, 'CURRENT'), '../../etc');
    await expect(loadCourseIndex(indexDir, { ef: 50 })).rejects.toThrow(/CURRENT is unusable/);
  });
});

it('copies of the sample course ingest the same windows (corpus ids are deterministic)', async () => {
  const a = await tempDir('index-');
  const b = await tempDir('index-');
  await ingestCourse(options(await copySampleCourse(), a, null));
  await ingestCourse(options('examples/curso-exemplo', b, null));
  const wa = (await loadCourseIndex(a, { ef: 50 })).windows;
  const wb = (await loadCourseIndex(b, { ef: 50 })).windows;
  expect(wa).toEqual(wb);
});
