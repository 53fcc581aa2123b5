/**
 * The peer a user would otherwise pick: LangChain.js — `HNSWLib` (@langchain/community, over
 * the same hnswlib-node binding), `BM25Retriever` and `EnsembleRetriever` (@langchain/classic),
 * used the way their documentation shows, on the same vectors, texts and queries as ours.
 * Its packages are this folder's own (package.json here); the benchmark reaches this module through
 * `bench/lib/peerLoader.ts`, which installs them on first use.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Document as LcDocument } from '@langchain/core/documents';
import type { HNSWLib as LcHNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { meanRecall } from '../lib/exact.js';
import type { PeerRunOptions } from '../lib/peerLoader.js';
import { probeRss } from '../lib/rssProbe.js';
import { summarizeSamples, timeAsync, timed, type LatencyStats } from '../lib/stats.js';
import type { SyntheticCorpus, QuerySet } from '../lib/corpus.js';
import { vectorOf } from '../lib/corpus.js';
import type { Maybe, PeerResult } from '../lib/types.js';

type HnswModule = typeof import('@langchain/community/vectorstores/hnswlib');
type Bm25Module = typeof import('@langchain/community/retrievers/bm25');
type EnsembleModule = typeof import('@langchain/classic/retrievers/ensemble');
type DocumentsModule = typeof import('@langchain/core/documents');
type EmbeddingsModule = typeof import('@langchain/core/embeddings');

export interface PeerModules {
  HNSWLib: HnswModule['HNSWLib'];
  Document: DocumentsModule['Document'];
  Embeddings: EmbeddingsModule['Embeddings'];
  BM25Retriever: Bm25Module['BM25Retriever'] | null;
  EnsembleRetriever: EnsembleModule['EnsembleRetriever'] | null;
  notes: string[];
}

let cached: Promise<PeerModules | { unavailable: string }> | null = null;

/** Imports the LangChain packages, once. */
export function loadPeer(): Promise<PeerModules | { unavailable: string }> {
  cached ??= (async () => {
    const notes: string[] = [];
    let hnsw: HnswModule;
    let documents: DocumentsModule;
    let embeddings: EmbeddingsModule;
    try {
      hnsw = await import('@langchain/community/vectorstores/hnswlib');
      documents = await import('@langchain/core/documents');
      embeddings = await import('@langchain/core/embeddings');
    } catch (err) {
      return { unavailable: `LangChain.js is not installed (${(err as Error).message.split('\n')[0]})` };
    }
    let bm25: Bm25Module | null = null;
    let ensemble: EnsembleModule | null = null;
    try {
      bm25 = await import('@langchain/community/retrievers/bm25');
    } catch (err) {
      notes.push(`BM25Retriever not importable: ${(err as Error).message.split('\n')[0]}`);
    }
    try {
      ensemble = await import('@langchain/classic/retrievers/ensemble');
    } catch (err) {
      notes.push(`EnsembleRetriever not importable: ${(err as Error).message.split('\n')[0]}`);
    }
    return {
      HNSWLib: hnsw.HNSWLib,
      Document: documents.Document,
      Embeddings: embeddings.Embeddings,
      BM25Retriever: bm25?.BM25Retriever ?? null,
      EnsembleRetriever: ensemble?.EnsembleRetriever ?? null,
      notes,
    };
  })();
  return cached;
}

/** LangChain `Embeddings` answering from precomputed vectors (the query embedding is not measured). */
function lookupEmbeddings(mods: PeerModules, queries: QuerySet) {
  const byText = new Map(queries.texts.map((t, i) => [t, queries.arrays[i]!]));
  class LookupEmbeddings extends mods.Embeddings {
    async embedDocuments(texts: string[]): Promise<number[][]> {
      return texts.map((t) => this.lookup(t));
    }
    async embedQuery(text: string): Promise<number[]> {
      return this.lookup(text);
    }
    private lookup(text: string): number[] {
      const v = byText.get(text);
      if (!v) throw new Error(`no precomputed vector for ${text.slice(0, 40)}`);
      return v;
    }
  }
  return new LookupEmbeddings({});
}

export async function benchPeer(corpus: SyntheticCorpus, opts: PeerRunOptions): Promise<Maybe<PeerResult>> {
  const mods = await loadPeer();
  if ('unavailable' in mods) return { skipped: mods.unavailable };
  const { queries, truths, k } = opts;
  const embeddings = lookupEmbeddings(mods, queries);

  opts.log('peer: HNSWLib build');
  const docs: LcDocument[] = corpus.windows.map(
    (w) => new mods.Document({ pageContent: w.text, metadata: { corpusId: w.corpusId, videoId: w.videoId, start: w.start, end: w.end } }),
  );
  const store: LcHNSWLib = new mods.HNSWLib(embeddings, { space: 'cosine', numDimensions: corpus.dimensions });
  const build = await timed(async () => {
    // What `fromDocuments`/`addDocuments` do after embedding: one addVectors call with plain arrays.
    const vectors: number[][] = [];
    for (let i = 0; i < corpus.size; i++) vectors.push(Array.from(vectorOf(corpus, i)));
    await store.addVectors(vectors, docs);
  });

  const ids = (hits: [LcDocument, number][]) => hits.map(([d]) => (d.metadata as { corpusId: number }).corpusId);
  const nq = queries.texts.length;
  const limits = { count: opts.latencyQueries, budgetMs: opts.latencyBudgetMs };
  const denseDefault = summarizeSamples(await timeAsync((i) => store.similaritySearchVectorWithScore(queries.arrays[i % nq]!, k), limits));
  const found: number[][] = [];
  for (let i = 0; i < truths.length; i++) found.push(ids(await store.similaritySearchVectorWithScore(queries.arrays[i]!, k)));
  const recallDefault = meanRecall(found, truths);
  store.index.setEf(opts.ourEf);
  const denseAtOurEf = summarizeSamples(await timeAsync((i) => store.similaritySearchVectorWithScore(queries.arrays[i % nq]!, k), limits));
  const foundAtEf: number[][] = [];
  for (let i = 0; i < truths.length; i++) foundAtEf.push(ids(await store.similaritySearchVectorWithScore(queries.arrays[i]!, k)));
  const recallAtOurEf = meanRecall(foundAtEf, truths);
  store.index.setEf(10); // back to what the peer runs with

  let save: PeerResult['save'];
  let rss: PeerResult['rss'] = { skipped: 'RSS probes disabled' };
  const saveDir = path.join(opts.dir, 'langchain-hnswlib');
  try {
    const saved = await timed(() => store.save(saveDir));
    const files: Record<string, number> = {};
    let bytes = 0;
    for (const f of await readdir(saveDir)) {
      const size = (await stat(path.join(saveDir, f))).size;
      files[f] = size;
      bytes += size;
    }
    save = { ms: saved.ms, bytes, files };
    if (opts.rss) {
      rss = await probeRss({ kind: 'langchain-hnswlib', path: saveDir, dimensions: corpus.dimensions, ef: 10, liveCount: corpus.size, m: 16, efConstruction: 200 }).catch(
        (err: unknown) => ({ skipped: `load failed: ${(err as Error).message}` }),
      );
    }
  } catch (err) {
    save = { skipped: `save() failed: ${(err as Error).message}` };
    rss = { skipped: 'nothing saved' };
  }

  const lexLimits = { count: opts.lexicalQueries, budgetMs: opts.lexicalBudgetMs, warmup: 1 };
  let bm25: PeerResult['bm25'] = { skipped: 'BM25Retriever not importable' };
  let ensemble: PeerResult['ensemble'] = { skipped: 'EnsembleRetriever or BM25Retriever not importable' };
  if (mods.BM25Retriever) {
    opts.log(`peer: BM25Retriever (at most ${opts.lexicalQueries} queries, ${Math.round(opts.lexicalBudgetMs / 1000)} s)`);
    const retriever = mods.BM25Retriever.fromDocuments(docs, { k });
    const stats = summarizeSamples(await timeAsync((i) => retriever.invoke(queries.texts[i % nq]!), lexLimits));
    bm25 = { ...stats, cappedAt: opts.lexicalQueries };
    if (mods.EnsembleRetriever) {
      opts.log('peer: EnsembleRetriever (BM25Retriever + HNSWLib)');
      const ens = new mods.EnsembleRetriever({
        retrievers: [mods.BM25Retriever.fromDocuments(docs, { k: opts.candidates }), store.asRetriever({ k: opts.candidates })],
        weights: [0.5, 0.5],
      });
      const stats2 = summarizeSamples(await timeAsync((i) => ens.invoke(queries.texts[i % nq]!), lexLimits));
      ensemble = { ...stats2, cappedAt: opts.lexicalQueries };
    }
  }
  return {
    library: '@langchain/community HNSWLib + BM25Retriever, @langchain/classic EnsembleRetriever',
    build: { ms: build.ms, windowsPerSec: corpus.size / (build.ms / 1000) },
    save,
    rss,
    denseDefault,
    recallDefault,
    denseAtOurEf,
    recallAtOurEf,
    bm25,
    ensemble,
  };
}

/** BM25Retriever on a small real corpus: latency and which windows it returns (for quality). */
export async function peerBm25Rank(
  texts: readonly string[],
  questions: readonly string[],
  k: number,
  budgetMs: number,
): Promise<Maybe<{ stats: LatencyStats; ranked: number[][] }>> {
  const mods = await loadPeer();
  if ('unavailable' in mods) return { skipped: mods.unavailable };
  if (!mods.BM25Retriever) return { skipped: 'BM25Retriever not importable' };
  const docs = texts.map((t, i) => new mods.Document({ pageContent: t, metadata: { i } }));
  const retriever = mods.BM25Retriever.fromDocuments(docs, { k });
  const ranked: number[][] = [];
  for (const q of questions) ranked.push((await retriever.invoke(q)).map((d) => (d.metadata as { i: number }).i));
  const stats = summarizeSamples(await timeAsync((i) => retriever.invoke(questions[i % questions.length]!), { count: questions.length * 20, budgetMs }));
  return { stats, ranked };
}

