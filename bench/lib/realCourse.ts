/**
 * The real lexical corpus: the sample course ingested by the real ingest path (lexical-only, as
 * on this machine without the model), queried with its labelled questions. Also the real E5
 * query-embedding latency, when the model is available locally.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { normalizeQuestion } from '../../src/answer/answerService.js';
import { loadConfig, type Config } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { EmbeddingModelUnavailableError } from '../../src/embeddings/embedder.js';
import { loadTransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { aggregate, countRelevant, questionKind, readQuestions, scoreQuestion } from '../../src/evaluation/retrievalEval.js';
import { loadCourseIndex } from '../../src/index/courseIndex.js';
import { createLogger } from '../../src/logger.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import { peerBm25Rank } from './peerLoader.js';
import { summarizeSamples, timeAsync, timeSync, timed, type LatencyStats } from './stats.js';
import type { Maybe, RealCourseResult } from './types.js';

export async function benchRealCourse(courseDir: string, workDir: string, config: Config, budgetMs: number): Promise<RealCourseResult> {
  const indexDir = path.join(workDir, 'real-course', 'index');
  await mkdir(path.dirname(indexDir), { recursive: true });
  const logger = createLogger({ level: 'silent' });
  const ingest = await timed(() => runIngest(config, logger, courseDir, indexDir, null));
  const index = await loadCourseIndex(indexDir, { ef: config.HNSW_EF });
  // Quality is compared on the questions the lectures answer (the not-covered ones have no hit to find).
  const questions = (await readQuestions(path.join(courseDir, 'questions.json'))).filter((q) => questionKind(q) === 'answerable');
  const texts = questions.map((q) => normalizeQuestion(q.q));
  const k = 10;
  const limits = { count: Math.max(2000, texts.length * 20), budgetMs };
  const lexical = summarizeSamples(timeSync((i) => index.lexical.search(texts[i % texts.length]!, k), limits));
  const retriever = new HybridRetriever(index, null);
  const hybridLexicalOnly = summarizeSamples(timeSync((i) => retriever.searchVector(texts[i % texts.length]!, null, k), limits));

  const totals = questions.map((q) => countRelevant(index.windows, q));
  const ours = aggregate(questions.map((q, i) => scoreQuestion(q, i, index.lexical.search(texts[i]!, k).map((h) => index.windows[h.doc]!), totals[i]!)));
  const peerRun = await peerBm25Rank(
    index.windows.map((w) => w.text),
    texts,
    k,
    budgetMs,
  );
  let peerQuality: RealCourseResult['quality']['peer'];
  let peerBm25: Maybe<LatencyStats>;
  if ('skipped' in peerRun) {
    peerQuality = peerRun;
    peerBm25 = peerRun;
  } else {
    const m = aggregate(questions.map((q, i) => scoreQuestion(q, i, peerRun.ranked[i]!.map((d) => index.windows[d]!), totals[i]!)));
    peerQuality = { hit5: m.hit5, mrr10: m.mrr10 };
    peerBm25 = peerRun.stats;
  }
  return {
    source: courseDir,
    windows: index.windows.length,
    videos: index.videos.size,
    ingest: { ms: ingest.ms, windowsPerSec: index.windows.length / (ingest.ms / 1000) },
    lexical,
    hybridLexicalOnly,
    questions: questions.length,
    quality: { ours: { hit5: ours.hit5, mrr10: ours.mrr10 }, peer: peerQuality },
    peerBm25,
  };
}

/** Query-embedding latency of the configured model, only from local files (never downloads). */
export async function benchE5(courseDir: string, budgetMs: number): Promise<Maybe<{ model: string; loadMs: number; query: LatencyStats }>> {
  const config = loadConfig();
  try {
    const loaded = await timed(() =>
      loadTransformersEmbedder({
        modelId: config.EMBEDDING_MODEL,
        cacheDir: path.resolve(config.MODEL_CACHE_DIR),
        allowRemote: false,
        dtype: config.EMBEDDING_DTYPE,
        loadTimeoutMs: config.EMBEDDING_LOAD_TIMEOUT_MS,
      }),
    );
    const embedder = loaded.value;
    try {
      const questions = (await readQuestions(path.join(courseDir, 'questions.json'))).map((q) => normalizeQuestion(q.q));
      const query = summarizeSamples(await timeAsync((i) => embedder.embedQuery(questions[i % questions.length]!), { count: 200, budgetMs, warmup: 5 }));
      return { model: config.EMBEDDING_MODEL, loadMs: loaded.ms, query };
    } finally {
      await embedder.dispose();
    }
  } catch (err) {
    if (err instanceof EmbeddingModelUnavailableError) {
      return { skipped: `${config.EMBEDDING_MODEL} is not available locally (${err.reason}); the benchmark never downloads it` };
    }
    throw err;
  }
}
