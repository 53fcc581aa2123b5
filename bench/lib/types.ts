/** The benchmark's result document (printed as tables and written to bench/results/latest.json). */
import type { LatencyStats } from './stats.js';
import type { ProbeResult } from './rssProbe.js';
import type { UserFacingResult } from './userFacing.js';

export interface BuildTiming {
  ms: number;
  windowsPerSec: number;
}

export interface Skipped {
  skipped: string;
}

export type Maybe<T> = T | Skipped;

export function isSkipped<T>(value: Maybe<T> | undefined): value is Skipped {
  return typeof value === 'object' && value !== null && 'skipped' in value;
}

export interface RecallResult {
  k: number;
  queries: number;
  configuredEf: number;
  atConfiguredEf: number;
  byEf: { ef: number; recall: number }[];
  /** Smallest ef of the sweep reaching recall@k ≥ 0.99, or null when none did. */
  efFor099: number | null;
}

export interface IncrementalResult {
  windowsAdded: number;
  /** First video added to an index loaded from disk: includes hnswlib's capacity resize. */
  hnswFirstAddMs: number;
  /** A second video right after (no resize). */
  hnswNextAddMs: number;
  /** The lexical index has no incremental add: a new video rebuilds it (= the lexical build time). */
  lexicalRebuildMs: number;
  /** `ingestCourse` on the index folder, with one new video (load, add, rebuild BM25, write). */
  ingest: Maybe<{ ms: number; reusedVideos: number; changedVideos: number; windowsEmbedded: number; windowsAfter: number }>;
}

export interface PeerResult {
  library: string;
  build: BuildTiming;
  save: Maybe<{ ms: number; bytes: number; files: Record<string, number> }>;
  rss: Maybe<ProbeResult>;
  /** Its default: `ef` never set, so hnswlib's 10. */
  denseDefault: LatencyStats;
  recallDefault: number;
  /** With `ef` set by hand to our configured value (what it takes to match our recall). */
  denseAtOurEf: LatencyStats;
  recallAtOurEf: number;
  bm25: Maybe<LatencyStats & { cappedAt: number }>;
  ensemble: Maybe<LatencyStats & { cappedAt: number }>;
}

export interface SizeResult {
  size: number;
  videos: number;
  build: {
    dense: BuildTiming;
    lexical: BuildTiming;
    /** dense + lexical. */
    total: BuildTiming;
    raw: Maybe<BuildTiming>;
    /** writeGeneration: windows, lexical and dense files, checksums, fsync, atomic switch. */
    saveMs: number;
    /** loadCourseIndex: checks, windows, lexical, dense (ef re-applied). */
    loadMs: number;
  };
  disk: { total: number; files: Record<string, number> };
  rss: Maybe<Partial<Record<'oursIndex' | 'oursDense' | 'oursLexical' | 'raw', ProbeResult>>>;
  latency: {
    k: number;
    candidates: number;
    dense: LatencyStats;
    raw: LatencyStats;
    lexical: LatencyStats;
    /** Dense + BM25 + fusion on the calling thread, as the bot and the CLI search. */
    hybrid: LatencyStats;
    /** Every round of the hybrid loop; `hybrid` is the median round's. */
    hybridRounds?: HybridRound[];
    answerInProcess: LatencyStats;
    answerHttp: Maybe<LatencyStats>;
  };
  recall: RecallResult;
  incremental: IncrementalResult;
  peer: Maybe<PeerResult>;
  /** The same windows and vectors with topic-specific words (corpus.ts, topicVocabulary). */
  topicVocabulary?: {
    /** Distinct stems in the lexical index. */
    vocabulary: number;
    buildMs: number;
    lexical: LatencyStats;
    hybrid: LatencyStats;
    hybridRounds: HybridRound[];
  };
  ratios: Record<string, number | null>;
  notes: string[];
}

/**
 * One round of the hybrid loop. The loop runs several rounds and reports the one with the median
 * p95, as the anchors in ../shared/notes/retrieval-facts.md are medians of 3 runs: on a shared VM
 * one slow spell otherwise decides the number.
 */
export interface HybridRound {
  hybridP95: number;
  /** CPU steal during the round, % of all CPU time (Linux; null elsewhere). */
  stealPercent: number | null;
}

export interface RealCourseResult {
  source: string;
  windows: number;
  videos: number;
  ingest: BuildTiming;
  lexical: LatencyStats;
  hybridLexicalOnly: LatencyStats;
  questions: number;
  quality: { ours: { hit5: number; mrr10: number }; peer: Maybe<{ hit5: number; mrr10: number }> };
  peerBm25: Maybe<LatencyStats>;
}

export interface MillionResult {
  size: number;
  buildDenseMs: number;
  buildLexicalMs: number;
  saveMs: number;
  disk: { total: number; files: Record<string, number> };
  load: Maybe<ProbeResult & { check?: string }>;
  loadRaisedHeap?: Maybe<ProbeResult & { check?: string }>;
  notes: string[];
}

export interface BenchResult {
  date: string;
  machine: {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    node: string;
    platform: string;
    hnswlibNode: string;
    langchainCommunity: string | null;
    /** 1-minute load average when the run started and ended (the machine is shared). */
    loadAverage: { start: number; end: number };
  };
  settings: {
    dimensions: number;
    clusters: number;
    seed: number;
    wordsPerWindow: number;
    windowsPerVideo: number;
    hnsw: { m: number; efConstruction: number; ef: number };
    k: number;
    candidates: number;
    quick: boolean;
  };
  command: string;
  durationMs: number;
  e5: Maybe<{ model: string; loadMs: number; query: LatencyStats }>;
  /** The whole bot through npm start (bench/lib/userFacing.ts); absent with --no-user-facing. */
  userFacing?: Maybe<UserFacingResult>;
  realCourse: Maybe<RealCourseResult>;
  sizes: SizeResult[];
  million?: Maybe<MillionResult>;
  targets: { name: string; target: string; measured: string; met: boolean | null }[];
  notes: string[];
}
