/**
 * The composition root of the answer core: config → embedder (or lexical-only fallback),
 * index, retriever, LLM (or extractive fallback), answer service. Used by the CLI and by
 * `npm start`; adapters receive what it builds and never construct these pieces themselves.
 */
import path from 'node:path';
import { AnswerService } from './answer/answerService.js';
import { createLlm, type Llm } from './answer/llm.js';
import { effectivePolicy } from './answer/policy.js';
import type { Config } from './config.js';
import { EmbeddingModelUnavailableError, type Embedder } from './embeddings/embedder.js';
import { loadTransformersEmbedder, type TransformersEmbedderOptions } from './embeddings/transformersEmbedder.js';
import { loadCourseIndex, type CourseIndex } from './index/courseIndex.js';
import { IndexNotFoundError, currentGeneration } from './index/indexFiles.js';
import { ingestCourse, type IngestReport } from './index/ingest.js';
import type { Logger } from './logger.js';
import type { CoverageThresholds } from './retrieval/coverage.js';
import { HybridRetriever } from './retrieval/hybridRetriever.js';
import type { WindowSettings } from './windowing.js';

export interface Core {
  config: Config;
  index: CourseIndex;
  embedder: Embedder | null;
  retriever: HybridRetriever;
  llm: Llm | null;
  answers: AnswerService;
  /**
   * Releases what the core holds. Nothing needs releasing today; `npm start` calls it anyway on
   * shutdown, so that something the core starts later is stopped without changing the adapters.
   */
  close(): Promise<void>;
}

/** How the configured embedding model is loaded (model, cache, offline, dtype, batch, limits). */
export function embedderOptions(config: Config): TransformersEmbedderOptions {
  return {
    modelId: config.EMBEDDING_MODEL,
    cacheDir: path.resolve(config.MODEL_CACHE_DIR),
    allowRemote: !config.EMBEDDING_OFFLINE,
    dtype: config.EMBEDDING_DTYPE,
    batchSize: config.EMBEDDING_BATCH_SIZE,
    maxTokens: config.WINDOW_MAX_TOKENS,
    loadTimeoutMs: config.EMBEDDING_LOAD_TIMEOUT_MS,
  };
}

/** Loads the configured embedding model, or returns null (with one warning) when it cannot be loaded. */
export async function loadEmbedderOrNull(config: Config, logger: Logger): Promise<Embedder | null> {
  const started = Date.now();
  try {
    const embedder = await loadTransformersEmbedder(embedderOptions(config));
    logger.info({ model: embedder.modelId, dimensions: embedder.dimensions, ms: Date.now() - started }, 'embedding model loaded');
    return embedder;
  } catch (err) {
    if (!(err instanceof EmbeddingModelUnavailableError)) throw err;
    logger.warn(`embedding model unavailable, using lexical-only retrieval: ${err.reason}`);
    return null;
  }
}

export function windowSettings(config: Config): WindowSettings {
  return {
    windowSeconds: config.WINDOW_SECONDS,
    strideSeconds: config.WINDOW_STRIDE_SECONDS,
    maxTokens: config.WINDOW_MAX_TOKENS,
  };
}

/** When an answer is "not found" from the retrieval evidence (MIN_COVERAGE, MIN_DENSE_SIMILARITY). */
export function coverageThresholds(config: Config): CoverageThresholds {
  return { minCoverage: config.MIN_COVERAGE, minDenseSimilarity: config.MIN_DENSE_SIMILARITY ?? null };
}

export function hnswParams(config: Config) {
  return { m: config.HNSW_M, efConstruction: config.HNSW_EF_CONSTRUCTION, ef: config.HNSW_EF };
}

export async function runIngest(
  config: Config,
  logger: Logger,
  sourceDir: string,
  indexDir: string,
  embedder: Embedder | null,
): Promise<IngestReport> {
  return ingestCourse({
    sourceDir,
    indexDir,
    embedder,
    embeddingModel: config.EMBEDDING_MODEL,
    window: windowSettings(config),
    hnsw: hnswParams(config),
    logger,
  });
}

export interface CreateCoreOptions {
  indexDir?: string;
  /**
   * Build the index from COURSE_DIR when INDEX_DIR has none (fresh clone; see
   * usesSampleCourseDefaults). Without it, a missing index is an IndexNotFoundError, raised
   * before the embedding model is loaded.
   */
  buildIfMissing?: boolean;
  /** An embedder already loaded (tests); `null` forces lexical-only. */
  embedder?: Embedder | null;
}

export async function createCore(config: Config, logger: Logger, options: CreateCoreOptions = {}): Promise<Core> {
  const indexDir = options.indexDir ?? config.INDEX_DIR;
  if (!options.buildIfMissing && !(await currentGeneration(indexDir))) throw new IndexNotFoundError(indexDir);
  const embedder = options.embedder !== undefined ? options.embedder : await loadEmbedderOrNull(config, logger);

  if (options.buildIfMissing && !(await currentGeneration(indexDir))) {
    logger.info(`no index in ${indexDir} yet: building it from ${config.COURSE_DIR} first`);
    await runIngest(config, logger, config.COURSE_DIR, indexDir, embedder);
  }
  const index = await loadCourseIndex(indexDir, {
    embeddingModel: config.EMBEDDING_MODEL,
    // An embedder handed in (tests) may run at another dtype than the configured one.
    embeddingDtype: embedder?.dtype ?? config.EMBEDDING_DTYPE,
    ef: config.HNSW_EF,
  });
  const retriever = new HybridRetriever(index, embedder);
  const llm = config.OPENAI_API_KEY
    ? createLlm({
        apiKey: config.OPENAI_API_KEY,
        baseURL: config.OPENAI_BASE_URL,
        model: config.OPENAI_MODEL,
        timeoutMs: config.LLM_TIMEOUT_MS,
        maxRetries: config.LLM_MAX_RETRIES,
        maxConcurrency: config.LLM_CONCURRENCY,
        maxTokens: config.LLM_MAX_TOKENS,
        logger,
      })
    : null;
  const policy = effectivePolicy(config.ANSWER_POLICY, index.policy);
  logger.info(
    {
      index: indexDir,
      videos: index.videos.size,
      windows: index.windows.length,
      builtAt: index.manifest.builtAt,
      retriever: retriever.name,
      embeddingModel: retriever.denseAvailable() ? index.manifest.embeddingModel : null,
      llm: llm ? llm.model : 'none (extractive answers)',
      answerPolicy: policy ? `${policy.mode} (${policy.version}${index.policy ? ', politica.md' : ', ANSWER_POLICY'})` : 'none',
      glossary: index.glossary ? index.glossary.size : 0,
      minCoverage: config.MIN_COVERAGE,
      minDenseSimilarity: config.MIN_DENSE_SIMILARITY ?? null,
    },
    'answer core ready',
  );
  const answers = new AnswerService({
    retriever,
    videos: index.videos,
    llm,
    k: config.RETRIEVAL_K,
    coverage: coverageThresholds(config),
    policy,
    logger,
  });
  return { config, index, embedder, retriever, llm, answers, close: async () => undefined };
}
