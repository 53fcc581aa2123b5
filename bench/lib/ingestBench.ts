/**
 * The real incremental path: `ingestCourse` on an index folder holding the synthetic corpus,
 * with a course folder listing every indexed video plus one new ~15-window video.
 *
 * The indexed videos' transcripts are one-cue stubs: ingest only hashes unchanged transcripts
 * and reuses the windows and vectors already in the index, so what is measured is exactly what
 * an admin pays to add one lecture to a large course: load the index, window and embed the new
 * video, add its vectors to the HNSW graph, rebuild BM25, write and switch a new generation.
 * The stubs' hashes are computed with ingest's own `contentHash`; the benchmark checks that
 * ingest really reused every video (otherwise it reports the mismatch).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Embedder } from '../../src/embeddings/embedder.js';
import { contentHash } from '../../src/index/ingest.js';
import { parseTranscriptText } from '../../src/transcripts/parseTranscript.js';
import type { Video } from '../../src/types.js';
import type { WindowSettings } from '../../src/windowing.js';
import type { VectorSpace, Vocabulary } from './corpus.js';
import { mulberry32 } from './prng.js';

export const FAKE_MODEL = 'bench/synthetic-e5-384';

/** Vectors from the synthetic space (deterministic per text); queries may be precomputed. */
export class SpaceEmbedder implements Embedder {
  readonly modelId = FAKE_MODEL;
  readonly maxTokens = 512;
  readonly dimensions: number;

  constructor(
    private readonly space: VectorSpace,
    private readonly queries: ReadonlyMap<string, Float32Array> = new Map(),
  ) {
    this.dimensions = space.dimensions;
  }

  async embedPassages(texts: string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.space.vectorFor(t));
  }

  async embedQuery(text: string): Promise<Float32Array> {
    return this.queries.get(text) ?? this.space.vectorFor(text);
  }

  /** About 1.3 tokens per Portuguese word, plus `passage: ` and the special tokens (E5-like). */
  countTokens(text: string): number {
    let words = 0;
    for (const _ of text.matchAll(/\S+/g)) words++;
    return 5 + Math.ceil(words * 1.3);
  }
}

function srtClock(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)},${pad(ms % 1000, 3)}`;
}

/** The one-cue transcript standing in for an already indexed video. */
export function stubTranscript(video: Video): string {
  return `1\n00:00:00,000 --> 00:00:02,000\n${video.title}\n`;
}

export function stubHash(video: Video, window: WindowSettings): string {
  return contentHash(parseTranscriptText(stubTranscript(video), `${video.id}.srt`), window, FAKE_MODEL);
}

/** A lecture of `seconds` of speech, one 5 s cue of ~9 words at a time, as SRT. */
export function lectureSrt(vocabulary: Vocabulary, seconds: number, seed: number): string {
  const random = mulberry32(seed);
  const blocks: string[] = [];
  for (let i = 0, t = 0; t < seconds; i++, t += 5) {
    const words: string[] = [];
    for (let w = 0; w < 9; w++) words.push(random() < vocabulary.backgroundShare ? vocabulary.background.draw(random) : vocabulary.content.draw(random));
    blocks.push(`${i + 1}\n${srtClock(t)} --> ${srtClock(t + 5)}\n${words.join(' ')}\n`);
  }
  return blocks.join('\n');
}

/** Writes the course folder: stubs for `videos`, a full transcript for `added`. */
export async function writeIncrementalCourse(dir: string, videos: readonly Video[], added: Video, addedSrt: string): Promise<void> {
  await mkdir(path.join(dir, 'transcripts'), { recursive: true });
  const all = [...videos, added];
  await writeFile(path.join(dir, 'videos.json'), JSON.stringify(all));
  for (let i = 0; i < videos.length; i += 256) {
    await Promise.all(videos.slice(i, i + 256).map((v) => writeFile(path.join(dir, v.transcript), stubTranscript(v))));
  }
  await writeFile(path.join(dir, added.transcript), addedSrt);
}
