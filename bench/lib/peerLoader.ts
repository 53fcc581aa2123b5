/**
 * The LangChain.js peer, seen from the rest of the benchmark. Its code and packages live in
 * `bench/peer/` (own package.json and lock): the bot's install does not carry LangChain and its
 * dozens of optional peer integrations. `npm run bench` installs it on first use
 * (`ensurePeerInstalled`); without it, the peer columns say why they are empty.
 *
 * bench/peer/*.ts is imported by computed path, so that type-checking the project does not need
 * the LangChain packages; `npm run typecheck:peer` checks it once installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { QuerySet, SyntheticCorpus } from './corpus.js';
import type { LatencyStats } from './stats.js';
import type { Maybe, PeerResult } from './types.js';

export const PEER_DIR = fileURLToPath(new URL('../peer/', import.meta.url));
export const PEER_INSTALL_COMMAND = 'npm ci --prefix bench/peer';

export interface PeerRunOptions {
  dir: string;
  queries: QuerySet;
  /** Exact top-10 of the first `truths.length` queries. */
  truths: number[][];
  ourEf: number;
  k: number;
  candidates: number;
  latencyQueries: number;
  latencyBudgetMs: number;
  /** BM25Retriever rescans every document per query: cap the calls. */
  lexicalQueries: number;
  lexicalBudgetMs: number;
  rss: boolean;
  log: (msg: string) => void;
}

/** What bench/peer/peer.ts exports. */
export interface PeerModule {
  benchPeer(corpus: SyntheticCorpus, opts: PeerRunOptions): Promise<Maybe<PeerResult>>;
  peerBm25Rank(
    texts: readonly string[],
    questions: readonly string[],
    k: number,
    budgetMs: number,
  ): Promise<Maybe<{ stats: LatencyStats; ranked: number[][] }>>;
}

const PACKAGES = ['@langchain/community', '@langchain/core', '@langchain/classic'];

/** Whether bench/peer's packages are installed. */
export function peerInstalled(): boolean {
  return PACKAGES.every((name) => existsSync(path.join(PEER_DIR, 'node_modules', name, 'package.json')));
}

/** Version of an installed peer package, or null. */
export function peerPackageVersion(name: string): string | null {
  try {
    return (JSON.parse(readFileSync(path.join(PEER_DIR, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Installs bench/peer from its lock file when it is missing (once; npm's output goes to stderr).
 * Returns null when installed, or why it is not (then the benchmark runs without the peer).
 */
export function ensurePeerInstalled(log: (msg: string) => void): string | null {
  if (peerInstalled()) return null;
  log(`LangChain.js peer not installed: installing it into bench/peer (${PEER_INSTALL_COMMAND}), once; --no-peer skips the peer`);
  const run = spawnSync('npm', ['ci', '--prefix', PEER_DIR, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
  if (run.error || run.status !== 0 || !peerInstalled()) {
    const why = run.error ? run.error.message : `npm exited with ${run.status ?? run.signal}`;
    return `LangChain.js peer could not be installed (${why}); run ${PEER_INSTALL_COMMAND} by hand`;
  }
  return null;
}

let loaded: Promise<PeerModule | { unavailable: string }> | null = null;

/** Imports bench/peer/peer.ts, once. */
export function loadPeerModule(): Promise<PeerModule | { unavailable: string }> {
  loaded ??= (async () => {
    if (!peerInstalled()) return { unavailable: `LangChain.js peer not installed (npm run bench installs it; or ${PEER_INSTALL_COMMAND})` };
    try {
      return (await import(pathToFileURL(path.join(PEER_DIR, 'peer.ts')).href)) as PeerModule;
    } catch (err) {
      return { unavailable: `LangChain.js peer not importable (${(err as Error).message.split('\n')[0]})` };
    }
  })();
  return loaded;
}

export async function benchPeer(corpus: SyntheticCorpus, opts: PeerRunOptions): Promise<Maybe<PeerResult>> {
  const peer = await loadPeerModule();
  return 'unavailable' in peer ? { skipped: peer.unavailable } : peer.benchPeer(corpus, opts);
}

export async function peerBm25Rank(
  texts: readonly string[],
  questions: readonly string[],
  k: number,
  budgetMs: number,
): Promise<Maybe<{ stats: LatencyStats; ranked: number[][] }>> {
  const peer = await loadPeerModule();
  return 'unavailable' in peer ? { skipped: peer.unavailable } : peer.peerBm25Rank(texts, questions, k, budgetMs);
}
