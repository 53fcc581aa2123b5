/**
 * Benchmark corpora.
 *
 * Synthetic: `size` transcript windows grouped in videos of 15 windows (150 s windows every 110 s,
 * the default window settings), each with a 384-dimensional unit vector drawn from one of 200
 * Gaussian clusters (fixed seed), the way real sentence embeddings clump by topic. Each window's
 * text is drawn from the sample course's own vocabulary and word frequencies: function words and
 * fillers at the rate the lectures use them, content words partly from its cluster's "topic"
 * (40 content words) and partly from the whole course, so that lexical and dense retrieval see
 * the same topics and BM25 meets realistic document frequencies.
 *
 * Queries are fresh draws from the same clusters: a vector near the cluster centre and a short
 * question ("como funciona ...") made of the cluster's topic words.
 */
import type { TranscriptWindow, Video } from '../../src/types.js';
import { loadCourseTranscripts, readCourse } from '../../src/course/manifest.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';
import { WeightedSampler, gaussian, hashString, mulberry32 } from './prng.js';

const WORD = /[\p{L}\p{N}]+/gu;

export interface Vocabulary {
  /** Stop words and fillers (dropped by the analyzer), weighted by their frequency in the course. */
  background: WeightedSampler<string>;
  /** Content words, weighted by frequency. */
  content: WeightedSampler<string>;
  contentWords: string[];
  /** Share of the course's words that are background words. */
  backgroundShare: number;
  /** Average words per window of the course (its real windows). */
  wordsPerWindow: number;
  distinctWords: number;
}

/** Word statistics of a course folder's transcripts (the sample course by default). */
export async function courseVocabulary(courseDir: string, windowWords?: number): Promise<Vocabulary> {
  const { videos } = await readCourse(courseDir);
  const parsed = await loadCourseTranscripts(courseDir, videos, () => undefined);
  const counts = new Map<string, number>();
  let seconds = 0;
  let words = 0;
  for (const { cues } of parsed) {
    for (const cue of cues) {
      for (const m of cue.text.toLowerCase().matchAll(WORD)) {
        counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
        words++;
      }
    }
    const last = cues[cues.length - 1];
    if (last) seconds += last.end - (cues[0]?.start ?? 0);
  }
  if (counts.size === 0) throw new Error(`no words in the transcripts of ${courseDir}`);
  const background: [string, number][] = [];
  const content: [string, number][] = [];
  for (const [word, n] of counts) (analyze(word).length === 0 ? background : content).push([word, n]);
  const total = words;
  const bgTotal = background.reduce((a, [, n]) => a + n, 0);
  // Speech rate of the course × 150 s windows (the default), unless given.
  const perWindow = windowWords ?? Math.round((words / Math.max(1, seconds)) * 150);
  content.sort((a, b) => b[1] - a[1]);
  return {
    background: new WeightedSampler(
      background.map(([w]) => w),
      background.map(([, n]) => n),
    ),
    content: new WeightedSampler(
      content.map(([w]) => w),
      content.map(([, n]) => n),
    ),
    contentWords: content.map(([w]) => w),
    backgroundShare: bgTotal / total,
    wordsPerWindow: perWindow,
    distinctWords: counts.size,
  };
}

export interface SyntheticOptions {
  size: number;
  dimensions?: number;
  clusters?: number;
  seed?: number;
  windowsPerVideo?: number;
  windowSeconds?: number;
  strideSeconds?: number;
  /** Noise added to the cluster centre, relative to the centre's length (1 → cos ≈ 0.71 to the centre). */
  spread?: number;
  /** Content words per cluster topic. */
  topicWords?: number;
  /** Share of content words drawn from the window's topic (the rest from the whole course). */
  topicShare?: number;
  /** Skip the texts (dense-only uses). */
  withText?: boolean;
  /**
   * Where each cluster's topic words come from. 'course' (default): the sample course's own
   * content words, so every topic word is also a common word everywhere (~1,300 stems in all:
   * long postings, a stress case for BM25). 'specific': words of the cluster's own (pseudo-word)
   * terminology, as distinct lectures have, while the other content words still come from the
   * course; the vocabulary then grows with the number of topics as real corpora's do.
   */
  topicVocabulary?: 'course' | 'specific';
}

export interface SyntheticCorpus {
  size: number;
  dimensions: number;
  clusters: number;
  /** size × dimensions, row i is window i's unit vector. */
  vectors: Float32Array;
  /** Window i has corpusId i. */
  windows: TranscriptWindow[];
  videos: Video[];
  windowsPerVideo: number;
  space: VectorSpace;
  topics: WeightedSampler<string>[];
  vocabulary: Vocabulary;
  seed: number;
}

/** Cluster centres and the rule that turns a seed into a vector near one of them. */
export class VectorSpace {
  readonly centers: Float32Array;

  constructor(
    readonly dimensions: number,
    readonly clusters: number,
    readonly spread: number,
    seed: number,
  ) {
    const g = gaussian(mulberry32(seed));
    this.centers = new Float32Array(clusters * dimensions);
    for (let c = 0; c < clusters; c++) {
      const row = this.centers.subarray(c * dimensions, (c + 1) * dimensions);
      for (let j = 0; j < dimensions; j++) row[j] = g();
      normalize(row);
    }
  }

  /** Writes a unit vector near centre `cluster` into `out`. */
  sample(cluster: number, normal: () => number, out: Float32Array): Float32Array {
    const d = this.dimensions;
    const scale = this.spread / Math.sqrt(d);
    const base = cluster * d;
    for (let j = 0; j < d; j++) out[j] = this.centers[base + j]! + scale * normal();
    return normalize(out);
  }

  /** A deterministic vector for a text (the fake embedder of the ingest benchmark). */
  vectorFor(text: string): Float32Array {
    const seed = hashString(text);
    return this.sample(seed % this.clusters, gaussian(mulberry32(seed)), new Float32Array(this.dimensions));
  }
}

export function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (let j = 0; j < v.length; j++) norm += v[j]! * v[j]!;
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < v.length; j++) v[j] = v[j]! / norm;
  return v;
}

export function videoIdOf(n: number): string {
  return `v${String(n).padStart(7, '0')}`;
}

/** One synthetic video entry (its transcript is only written by the ingest benchmark). */
export function syntheticVideo(n: number): Video {
  const id = videoIdOf(n);
  return { id, title: `Vídeo sintético ${n}`, url: `https://www.youtube.com/watch?v=${id.padEnd(11, 'x')}`, transcript: `transcripts/${id}.srt` };
}

export class TextGenerator {
  constructor(
    private readonly vocabulary: Vocabulary,
    private readonly topics: readonly WeightedSampler<string>[],
    private readonly topicShare: number,
  ) {}

  /** About `words` words of lecture-like text on topic `cluster`. */
  text(cluster: number, words: number, random: () => number): string {
    const parts = new Array<string>(words);
    const topic = this.topics[cluster]!;
    const bg = this.vocabulary.backgroundShare;
    for (let i = 0; i < words; i++) {
      const r = random();
      if (r < bg) parts[i] = this.vocabulary.background.draw(random);
      else if (random() < this.topicShare) parts[i] = topic.draw(random);
      else parts[i] = this.vocabulary.content.draw(random);
    }
    return parts.join(' ');
  }
}

export function makeTopics(vocabulary: Vocabulary, clusters: number, topicWords: number, random: () => number): WeightedSampler<string>[] {
  const pool = vocabulary.contentWords;
  const topics: WeightedSampler<string>[] = [];
  for (let c = 0; c < clusters; c++) {
    const chosen = new Set<string>();
    while (chosen.size < Math.min(topicWords, pool.length)) chosen.add(pool[Math.floor(random() * pool.length)]!);
    const words = [...chosen];
    topics.push(new WeightedSampler(words, words.map((_, r) => 1 / (r + 1))));
  }
  return topics;
}

const SYLLABLES = ['ba', 'ce', 'di', 'fo', 'gu', 'la', 'me', 'ni', 'po', 'ru', 'sa', 'te', 'vi', 'xo', 'ze', 'jo'];

/** A pronounceable pseudo-word for number n, distinct for distinct n (and kept apart by the stemmer: it ends in "t"). */
export function pseudoWord(n: number): string {
  let word = '';
  let rest = n;
  for (let i = 0; i < 4; i++) {
    word += SYLLABLES[rest % SYLLABLES.length];
    rest = Math.floor(rest / SYLLABLES.length);
  }
  return `${word}${rest > 0 ? SYLLABLES[rest % SYLLABLES.length] : ''}t`;
}

/** Topics whose words belong to the topic alone (see SyntheticOptions.topicVocabulary). */
export function makeSpecificTopics(clusters: number, topicWords: number): WeightedSampler<string>[] {
  return Array.from({ length: clusters }, (_, c) => {
    const words = Array.from({ length: topicWords }, (_, w) => pseudoWord(c * topicWords + w));
    return new WeightedSampler(words, words.map((_, r) => 1 / (r + 1)));
  });
}

export function makeSyntheticCorpus(vocabulary: Vocabulary, options: SyntheticOptions): SyntheticCorpus {
  const {
    size,
    dimensions = 384,
    clusters = 200,
    seed = 42,
    windowsPerVideo = 15,
    windowSeconds = 150,
    strideSeconds = 110,
    spread = 1,
    topicWords = 40,
    topicShare = 0.5,
    withText = true,
    topicVocabulary = 'course',
  } = options;
  const random = mulberry32(seed);
  const normal = gaussian(mulberry32(seed ^ 0x9e3779b9));
  const space = new VectorSpace(dimensions, clusters, spread, seed + 1);
  const topics =
    topicVocabulary === 'specific' ? makeSpecificTopics(clusters, topicWords) : makeTopics(vocabulary, clusters, topicWords, mulberry32(seed + 2));
  const texts = new TextGenerator(vocabulary, topics, topicShare);
  const vectors = new Float32Array(size * dimensions);
  const windows: TranscriptWindow[] = [];
  const videos: Video[] = [];
  for (let i = 0; i < size; i++) {
    const cluster = Math.floor(random() * clusters);
    space.sample(cluster, normal, vectors.subarray(i * dimensions, (i + 1) * dimensions));
    const videoNo = Math.floor(i / windowsPerVideo);
    if (i % windowsPerVideo === 0) videos.push(syntheticVideo(videoNo));
    const j = i % windowsPerVideo;
    const words = Math.max(20, Math.round(vocabulary.wordsPerWindow * (0.75 + 0.5 * random())));
    windows.push({
      corpusId: i,
      videoId: videoIdOf(videoNo),
      start: j * strideSeconds,
      end: j * strideSeconds + windowSeconds,
      text: withText ? texts.text(cluster, words, random) : '',
    });
  }
  return { size, dimensions, clusters, vectors, windows, videos, windowsPerVideo, space, topics, vocabulary, seed };
}

export function vectorOf(corpus: SyntheticCorpus, i: number): Float32Array {
  return corpus.vectors.subarray(i * corpus.dimensions, (i + 1) * corpus.dimensions);
}

export interface QuerySet {
  texts: string[];
  /** What the embedder would return. */
  vectors: Float32Array[];
  /** The same vectors as plain arrays (what hnswlib-node and LangChain take). */
  arrays: number[][];
}

const QUESTION_OPENINGS = ['o que é', 'como funciona', 'qual a diferença entre', 'por que usar', 'como calcular', 'para que serve', 'quando usar'];

/** `count` distinct questions, each a fresh vector and text from a random cluster. */
export function makeQueries(corpus: SyntheticCorpus, count: number, seed = 7): QuerySet {
  const random = mulberry32(seed);
  const normal = gaussian(mulberry32(seed ^ 0x5bd1e995));
  const seen = new Set<string>();
  const set: QuerySet = { texts: [], vectors: [], arrays: [] };
  for (let attempt = 0; set.texts.length < count && attempt < count * 20; attempt++) {
    const cluster = Math.floor(random() * corpus.clusters);
    const topic = corpus.topics[cluster]!;
    const words = [QUESTION_OPENINGS[Math.floor(random() * QUESTION_OPENINGS.length)]!];
    const n = 2 + Math.floor(random() * 2);
    for (let i = 0; i < n; i++) words.push(topic.draw(random));
    if (random() < 0.5) words.push(corpus.vocabulary.content.draw(random));
    const text = `${words.join(' ')}?`;
    if (seen.has(text)) continue;
    seen.add(text);
    const vector = corpus.space.sample(cluster, normal, new Float32Array(corpus.dimensions));
    set.texts.push(text);
    set.vectors.push(vector);
    set.arrays.push(Array.from(vector));
  }
  return set;
}
