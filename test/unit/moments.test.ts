/**
 * Links to the moment, not the window: the best span of cues inside a retrieved window, its
 * link a few seconds before, references opening there, and indexes without cue boundaries.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildReferences } from '../../src/answer/references.js';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { loadCourseIndex } from '../../src/index/courseIndex.js';
import { FILES } from '../../src/index/indexFiles.js';
import { withCueBoundaries } from '../../src/index/ingest.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { analyseQuestion } from '../../src/lexical/questionTerms.js';
import { resolveQuery } from '../../src/lexical/resolvedQuery.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import { MOMENT_LEAD_SECONDS, cueSpans, denseMoment, lexicalMoment, spanTexts } from '../../src/retrieval/moments.js';
import type { Cue, RetrievedSegment, TranscriptWindow } from '../../src/types.js';
import { DEFAULT_WINDOW_SETTINGS, approximateTokenCount, buildWindows } from '../../src/windowing.js';
import { loadTransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { SAMPLE_COURSE, copySampleCourse, ingestWithModel, silentLogger, tempDir } from '../helpers/course.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

/** A 150 s window of 5 s cues: filler, a passing mention at 20 s, the explanation at 100 s. */
function lecture(): TranscriptWindow {
  const cues: Cue[] = [];
  for (let t = 0; t < 150; t += 5) {
    let text = 'então galera vamos continuar com a aula de hoje';
    if (t === 20) text = 'mais tarde a gente fala de dropout';
    if (t === 100) text = 'o dropout desliga neurônios aleatoriamente';
    if (t === 105) text = 'com o dropout a rede não depende de um neurônio só';
    cues.push({ start: t, end: t + 5, text });
  }
  const [draft] = buildWindows(cues, DEFAULT_WINDOW_SETTINGS, approximateTokenCount);
  return { corpusId: 7, videoId: 'aula03', ...draft! };
}

describe('the moment inside a window', () => {
  const window = lecture();
  const index = Bm25Index.build([window.text, 'outra janela sobre regressão linear']);
  const query = (q: string) => resolveQuery(index, analyseQuestion(q));

  it('opens at the explanation, not at a passing mention or the window start', () => {
    const moment = lexicalMoment(window, query('Como funciona o dropout nos neurônios?'), index)!;
    expect(moment.at).toBe(100 - MOMENT_LEAD_SECONDS);
    expect(moment.excerpt.startsWith('o dropout desliga neurônios aleatoriamente')).toBe(true);
    expect(moment.excerpt.length).toBeLessThan(window.text.length);
  });

  it('never links before the window, and has no moment when no cue says any content word', () => {
    const early = lexicalMoment(window, query('o que é aula de hoje'), index)!;
    expect(early.at).toBe(window.start);
    expect(lexicalMoment(window, query('regressão linear'), index)).toBeUndefined();
  });

  it('has no moment for a window without cue boundaries (an older index): links stay at its start', () => {
    const { cues: _cues, ...old } = window;
    expect(cueSpans(old)).toEqual([]);
    expect(lexicalMoment(old, query('dropout'), index)).toBeUndefined();
    // Cue boundaries that do not fit the text are ignored, not trusted.
    expect(cueSpans({ ...window, cues: { offsets: [0, 99_999], starts: [0, 5] } })).toEqual([]);
  });

  it('by meaning: the span whose embedding is closest to the question', () => {
    const spans = spanTexts(window);
    const target = spans.findIndex((s) => s.text.includes('desliga'));
    const vectors = spans.map((_, i) => (i === target ? [1, 0] : [0, 1]));
    const moment = denseMoment(window, [1, 0], vectors)!;
    expect(moment.excerpt).toContain('desliga');
    expect(moment.at).toBeLessThanOrEqual(100);
    expect(denseMoment(window, [1, 0], vectors.slice(1))).toBeUndefined();
  });

  it('a reference opens at its best segment\'s moment and still shows the window range', () => {
    const seg = (start: number, end: number, at?: number): RetrievedSegment => ({
      corpusId: start,
      videoId: 'aula03',
      start,
      end,
      text: 'x',
      score: 1,
      foundBy: {},
      title: 'Aula 3',
      url: '',
      ...(at !== undefined ? { moment: { at, excerpt: 'x' } } : {}),
    });
    const videos = new Map([['aula03', { title: 'Aula 3', url: 'https://youtu.be/abcdefghijk' }]]);
    const [merged] = buildReferences([seg(110, 260, 197), seg(0, 150, 40)], videos);
    expect(merged).toMatchObject({ start: 0, end: 260, at: 197, url: 'https://youtu.be/abcdefghijk?t=197' });
    const [plain] = buildReferences([seg(0, 150)], videos);
    expect(plain).not.toHaveProperty('at');
    expect(plain!.url).toBe('https://youtu.be/abcdefghijk?t=0');
  });
});

describe('cue boundaries in the index', () => {
  it('ingest keeps them; an index without them still answers (links at window start) and a re-ingest adds them without re-windowing', async () => {
    const course = await copySampleCourse();
    const work = await tempDir('moments-');
    try {
      const indexDir = path.join(work, 'index');
      const config = loadConfig({}, '/nonexistent/.env');
      await runIngest(config, silentLogger(), course, indexDir, null);
      const index = await loadCourseIndex(indexDir, { ef: 100 });
      expect(index.windows.every((w) => w.cues && w.cues.offsets.length > 0)).toBe(true);
      const retriever = new HybridRetriever(index, null);
      const [first] = retriever.searchVector('O que é overfitting?', null, 1);
      expect(first!.moment!.at).toBeGreaterThan(first!.start);

      // The same index as an older version wrote it: windows.jsonl without cues (checksums redone).
      const file = path.join(index.generationDir, FILES.windows);
      const lines = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as TranscriptWindow);
      const text = `${lines.map(({ cues: _cues, ...w }) => JSON.stringify(w)).join('\n')}\n`;
      await writeFile(file, text);
      const manifestFile = path.join(index.generationDir, FILES.manifest);
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { files: Record<string, { bytes: number; crc32: number | null }> };
      manifest.files[FILES.windows] = { bytes: Buffer.byteLength(text), crc32: null };
      await writeFile(manifestFile, JSON.stringify(manifest));
      const old = await loadCourseIndex(indexDir, { ef: 100 });
      expect(old.windows.some((w) => w.cues)).toBe(false);
      const [plain] = new HybridRetriever(old, null).searchVector('O que é overfitting?', null, 1);
      expect(plain!.moment).toBeUndefined();
      expect(plain!.corpusId).toBe(first!.corpusId);

      // Re-ingest: every video reused (same windows and ids), now with cue boundaries.
      const report = await runIngest(config, silentLogger(), course, indexDir, null);
      expect(report.changedVideos).toEqual([]);
      const again = await loadCourseIndex(indexDir, { ef: 100 });
      expect(again.windows.map((w) => w.corpusId)).toEqual(index.windows.map((w) => w.corpusId));
      expect(again.windows.every((w) => w.cues)).toBe(true);
    } finally {
      await rm(course, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });

  it('withCueBoundaries matches windows by start and text, and leaves unmatched ones alone', () => {
    const window = lecture();
    const { cues, ...old } = window;
    expect(withCueBoundaries([old], [{ start: window.start, end: window.end, text: window.text, cues: cues! }])).toEqual([window]);
    expect(withCueBoundaries([old], [{ start: 1, end: 2, text: 'x', cues: cues! }])).toEqual([old]);
  });
});

describe('moments by meaning (tiny embedding model)', () => {
  it('windows found by the dense retriever alone get the moment whose span embeds closest; similarity is kept as evidence', async () => {
    const work = await tempDir('moments-dense-');
    const tiny = await writeTinyModel(path.join(work, 'models'));
    const embedder = await loadTransformersEmbedder({ modelId: tiny.modelId, localModelPath: tiny.modelPath, cacheDir: path.join(work, 'cache'), allowRemote: false });
    try {
      const indexDir = path.join(work, 'index');
      await ingestWithModel(SAMPLE_COURSE, indexDir, embedder);
      const index = await loadCourseIndex(indexDir, { embeddingModel: tiny.modelId, ef: 100 });
      const retriever = new HybridRetriever(index, embedder);
      // No word of this question is in the course: every window comes from the dense index.
      const result = await retriever.search('xyzzy plugh frobnicate', 3);
      expect(result.segments.length).toBe(3);
      expect(result.coverage?.lexical).toBe(0);
      expect(result.coverage?.dense).toEqual(expect.any(Number));
      for (const seg of result.segments) {
        expect(seg.foundBy.dense).toBeDefined();
        expect(seg.evidence?.similarity).toBeCloseTo(seg.foundBy.dense!.score, 6);
        expect(seg.moment).toBeDefined();
        expect(seg.moment!.at).toBeGreaterThanOrEqual(seg.start);
        expect(seg.moment!.at).toBeLessThan(seg.end);
        expect(seg.text).toContain(seg.moment!.excerpt);
      }
      // A lexical match keeps its lexical moment, and windows found lexically get their similarity too.
      const lexical = await retriever.search('O que é dropout?', 5);
      expect(lexical.segments.every((s) => typeof s.evidence?.similarity === 'number')).toBe(true);
      const matched = lexical.segments.filter((s) => (s.evidence?.matched.length ?? 0) > 0);
      expect(matched.length).toBeGreaterThan(0);
      for (const s of matched) expect(s.moment!.excerpt).toContain('dropout');
    } finally {
      await embedder.dispose();
      await rm(work, { recursive: true, force: true });
    }
  });
});
