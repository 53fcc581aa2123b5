/**
 * The real embedder: a sentence-embedding model (default `Xenova/multilingual-e5-small`) run
 * locally through transformers.js (`@huggingface/transformers` v4) and ONNX Runtime.
 *
 * Loading: the model comes from `localModelPath/<modelId>/` if present, else from the file cache
 * in `cacheDir`, else (when `allowRemote`) it is downloaded from the Hugging Face hub and cached.
 * Any failure (offline with no cache, unknown model, corrupt files, stalled download) becomes an
 * `EmbeddingModelUnavailableError` with a short reason; loading never hangs: it fails once it
 * has made no progress for `loadTimeoutMs`.
 *
 * Nothing is written to stdout (it belongs to command output): transformers.js logs go to
 * stderr, and only errors are let through while loading.
 */
import path from 'node:path';
import { format } from 'node:util';
import type { FeatureExtractionPipeline, Tensor } from '@huggingface/transformers';
import { ConfigError } from '../config.js';
import { EmbeddingModelUnavailableError, type Embedder } from './embedder.js';

type Transformers = typeof import('@huggingface/transformers');
type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface TransformersEmbedderOptions {
  /** Hub id (`Xenova/multilingual-e5-small`) or a name under `localModelPath`. */
  modelId: string;
  /** Where downloaded files are cached (`<cacheDir>/<modelId>/...`). Default: the library's own. */
  cacheDir?: string;
  /** A directory holding `<modelId>/config.json`, `tokenizer.json`, `onnx/...`; checked before the hub. */
  localModelPath?: string;
  /** Whether files may be downloaded from the hub. Default true. */
  allowRemote?: boolean;
  /** `q8` loads `onnx/model_quantized.onnx`, `fp32` loads `onnx/model.onnx`. Default `q8`. */
  dtype?: 'fp32' | 'q8';
  /** Texts per forward pass in `embedPassages`. Default 16. */
  batchSize?: number;
  /**
   * Longer inputs are truncated to this many tokens (special tokens included); the windows are
   * built to fit it. Above what the model reads, loading fails with a `ConfigError` naming
   * WINDOW_MAX_TOKENS (windows built to it would be cut silently when embedded). Default: 512,
   * or the model's limit if lower.
   */
  maxTokens?: number;
  /** Loading fails after this long without progress (a download receiving data counts as progress). Default 120 000. */
  loadTimeoutMs?: number;
  /** Fetch used for hub requests (tests, proxies). Default: the library's (global `fetch`). */
  fetch?: FetchLike;
}

/** An `Embedder` that also holds ONNX Runtime sessions, released by `dispose()`. */
export interface TransformersEmbedder extends Embedder {
  dispose(): Promise<void>;
}

const DEFAULT_BATCH_SIZE = 16;
const DEFAULT_MAX_TOKENS = 512;
const DEFAULT_LOAD_TIMEOUT_MS = 120_000;
const PASSAGE_PREFIX = 'passage: ';
const QUERY_PREFIX = 'query: ';

export async function loadTransformersEmbedder(opts: TransformersEmbedderOptions): Promise<TransformersEmbedder> {
  const { modelId } = opts;
  const unavailable = (reason: string): EmbeddingModelUnavailableError =>
    new EmbeddingModelUnavailableError(modelId, reason);

  let transformers: Transformers;
  try {
    transformers = await import('@huggingface/transformers');
  } catch (err) {
    throw unavailable(`the transformers.js runtime could not be loaded (${shortMessage(err)})`);
  }

  const loaded = await withEnvLock(() => loadPipeline(transformers, opts));
  const extractor = loaded.extractor;
  const tokenizer = extractor.tokenizer;

  const limit = modelTokenLimit(tokenizer.model_max_length, extractor.model.config);
  if (opts.maxTokens !== undefined && limit && opts.maxTokens > limit.tokens) {
    await extractor.dispose().catch(() => undefined);
    throw new ConfigError([
      `WINDOW_MAX_TOKENS is ${opts.maxTokens}, but the embedding model ${modelId} reads at most ${limit.tokens} tokens ` +
        `(${limit.source}): set WINDOW_MAX_TOKENS=${limit.tokens} or less, otherwise every window longer than that would be cut silently when embedded`,
    ]);
  }
  const maxTokens = Math.max(4, Math.min(Math.floor(opts.maxTokens ?? DEFAULT_MAX_TOKENS), limit?.tokens ?? Infinity));
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? DEFAULT_BATCH_SIZE));

  /** One forward pass: tokenize (padded, truncated), run the model, mean-pool, L2-normalise. */
  const embedBatch = async (texts: string[]): Promise<Float32Array[]> => {
    const inputs = tokenizer(texts, { padding: true, truncation: true, max_length: maxTokens });
    // The model's call is typed `Promise<any>` by the library; its outputs are named tensors.
    const outputs = (await extractor.model(inputs)) as Record<string, Tensor | undefined>;
    const hidden = outputs.last_hidden_state ?? outputs.logits ?? outputs.token_embeddings;
    if (!hidden) throw new Error(`model ${modelId} returned no hidden states`);
    const pooled = transformers.mean_pooling(hidden, inputs.attention_mask).normalize(2, -1);
    return splitRows(pooled, texts.length);
  };

  // Embed a probe so that a model that loads but cannot run fails here, and read the width.
  let dimensions: number;
  try {
    const [probe] = await embedBatch([PASSAGE_PREFIX + 'dimensões do modelo']);
    dimensions = probe?.length || loaded.hiddenSize || 0;
    if (!dimensions) throw new Error('the model produced an empty vector');
  } catch (err) {
    await extractor.dispose().catch(() => undefined);
    throw unavailable(`the model files load but the model does not run (${shortMessage(err)})`);
  }

  return {
    modelId,
    dtype: opts.dtype ?? 'q8',
    dimensions,
    maxTokens,
    async embedPassages(texts, onProgress) {
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        const batch = texts.slice(start, start + batchSize).map((t) => PASSAGE_PREFIX + t);
        vectors.push(...(await embedBatch(batch)));
        onProgress?.(vectors.length, texts.length);
      }
      return vectors;
    },
    async embedQuery(text) {
      const [vector] = await embedBatch([QUERY_PREFIX + text]);
      if (!vector) throw new Error(`model ${modelId} returned no vector`);
      return vector;
    },
    countTokens(text) {
      // Not truncated: callers use this to keep windows under `maxTokens`.
      return tokenizer.encode(PASSAGE_PREFIX + text, { add_special_tokens: true }).length;
    },
    async dispose() {
      await extractor.dispose();
    },
  };
}

/**
 * How many tokens the model reads: the tokenizer's `model_max_length` and the model config's
 * `max_position_embeddings`, whichever is lower. RoBERTa-family models (XLM-R, as in E5 base and
 * large) number positions from padding_idx + 1, so two of their positions are never usable.
 * Undefined when neither says (tokenizers without a limit report a huge number).
 */
export function modelTokenLimit(modelMaxLength: unknown, config: unknown): { tokens: number; source: string } | undefined {
  const limits: { tokens: number; source: string }[] = [];
  if (typeof modelMaxLength === 'number' && Number.isInteger(modelMaxLength) && modelMaxLength > 0 && modelMaxLength < 1e7) {
    limits.push({ tokens: modelMaxLength, source: `its tokenizer's model_max_length` });
  }
  const { max_position_embeddings: positions, model_type: type } = (config ?? {}) as { max_position_embeddings?: unknown; model_type?: unknown };
  if (typeof positions === 'number' && Number.isInteger(positions) && positions > 0) {
    const offset = typeof type === 'string' && /roberta|camembert/i.test(type) ? 2 : 0;
    limits.push({ tokens: positions - offset, source: `its config's max_position_embeddings${offset ? ` minus ${offset}` : ''}` });
  }
  return limits.sort((a, b) => a.tokens - b.tokens)[0];
}

function splitRows(pooled: Tensor, rows: number): Float32Array[] {
  const [n, width] = pooled.dims;
  if (n !== rows || !width) throw new Error(`unexpected embedding shape [${pooled.dims.join(', ')}]`);
  const data = pooled.data;
  const flat = data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  const vectors: Float32Array[] = [];
  for (let i = 0; i < rows; i++) vectors.push(flat.slice(i * width, (i + 1) * width));
  return vectors;
}

// -------------------------------------------------------------------------------------------------
// Loading

interface LoadedPipeline {
  extractor: FeatureExtractionPipeline;
  hiddenSize: number | undefined;
}

/**
 * `env` is process-wide and read throughout an (async) load, so loads are serialised and every
 * load sets the values it needs, then puts the previous ones back.
 */
let envQueue: Promise<unknown> = Promise.resolve();
function withEnvLock<T>(task: () => Promise<T>): Promise<T> {
  const run = envQueue.then(task, task);
  envQueue = run.catch(() => undefined);
  return run;
}

async function loadPipeline(transformers: Transformers, opts: TransformersEmbedderOptions): Promise<LoadedPipeline> {
  const { env, LogLevel, pipeline } = transformers;
  const { modelId } = opts;
  const allowRemote = opts.allowRemote ?? true;
  const loadTimeoutMs = opts.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS;
  const cacheDir = opts.cacheDir !== undefined ? path.resolve(opts.cacheDir) : (env.cacheDir ?? undefined);
  const localModelPath = opts.localModelPath !== undefined ? path.resolve(opts.localModelPath) : undefined;

  const saved = {
    allowRemoteModels: env.allowRemoteModels,
    allowLocalModels: env.allowLocalModels,
    localModelPath: env.localModelPath,
    cacheDir: env.cacheDir,
    fetch: env.fetch,
    logLevel: env.logLevel,
  };
  const watchdog = new Watchdog(loadTimeoutMs);
  const network: NetworkRecord = { failures: [] };
  const baseFetch: FetchLike = opts.fetch ?? (saved.fetch as FetchLike);
  const restoreConsole = redirectConsoleToStderr();

  try {
    env.allowRemoteModels = allowRemote;
    env.allowLocalModels = true;
    if (localModelPath !== undefined) env.localModelPath = localModelPath;
    if (cacheDir !== undefined) env.cacheDir = cacheDir;
    env.fetch = watchedFetch(baseFetch, watchdog, network);
    env.logLevel = Math.max(saved.logLevel, LogLevel.ERROR);

    const loading = pipeline('feature-extraction', modelId, {
      dtype: opts.dtype ?? 'q8',
      cache_dir: cacheDir,
      local_files_only: !allowRemote,
    });
    // If the watchdog wins, the load goes on in the background: release what it may still build.
    loading.then(
      (late) => {
        if (watchdog.fired) void late.dispose().catch(() => undefined);
      },
      () => undefined,
    );
    const extractor = await Promise.race([loading, watchdog.expired]);
    // Without tokenizer_config.json transformers.js silently builds a pipeline with no tokenizer.
    // (Typed as always present by the library; it is null in that case.)
    if (!(extractor.tokenizer as FeatureExtractionPipeline['tokenizer'] | null)) {
      await extractor.dispose().catch(() => undefined);
      throw new IncompleteModelError('the model has no tokenizer (tokenizer_config.json or tokenizer.json is missing)');
    }
    const config = extractor.model.config as { hidden_size?: unknown } | undefined;
    return { extractor, hiddenSize: typeof config?.hidden_size === 'number' ? config.hidden_size : undefined };
  } catch (err) {
    throw new EmbeddingModelUnavailableError(
      modelId,
      explainLoadFailure(err, { modelId, allowRemote, cacheDir, localModelPath, loadTimeoutMs, watchdog, network }),
    );
  } finally {
    watchdog.stop();
    restoreConsole();
    env.allowRemoteModels = saved.allowRemoteModels;
    env.allowLocalModels = saved.allowLocalModels;
    env.localModelPath = saved.localModelPath;
    env.cacheDir = saved.cacheDir;
    env.fetch = saved.fetch;
    env.logLevel = saved.logLevel;
  }
}

/** A load that "succeeded" with a part missing; its message is the reason shown. */
class IncompleteModelError extends Error {}

/** Rejects once the load has made no progress for `ms`, and aborts its requests. */
class Watchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private rejectExpired: (err: Error) => void = () => undefined;
  fired = false;
  readonly expired: Promise<never>;

  constructor(private readonly ms: number) {
    this.expired = new Promise<never>((_, reject) => {
      this.rejectExpired = reject;
    });
    this.expired.catch(() => undefined); // only meaningful inside the race
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    if (this.fired) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.fired = true;
      const err = new Error('load timed out');
      this.controller.abort(err);
      this.rejectExpired(err);
    }, this.ms);
    this.timer.unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

interface NetworkRecord {
  failures: { url: string; cause: unknown }[];
}

/**
 * Wraps the hub fetch: requests abort with the watchdog, every response and body chunk counts
 * as progress, and transport failures are recorded so the error can say "no network".
 */
function watchedFetch(base: FetchLike, watchdog: Watchdog, network: NetworkRecord): FetchLike {
  return async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, watchdog.signal]) : watchdog.signal;
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (cause) {
      if (!watchdog.fired) network.failures.push({ url: String(input), cause });
      throw cause;
    }
    watchdog.touch();
    if (!response.body) return response;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          watchdog.touch();
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/* eslint-disable no-console -- this swaps console methods (to keep stdout clean), it does not log */
/** transformers.js logs info/debug with `console.log`: keep stdout clean while loading. */
function redirectConsoleToStderr(): () => void {
  const original = { log: console.log, info: console.info, debug: console.debug };
  const toStderr = (...args: unknown[]): void => {
    process.stderr.write(`${format(...args)}\n`);
  };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
  return () => {
    console.log = original.log;
    console.info = original.info;
    console.debug = original.debug;
  };
}
/* eslint-enable no-console */

interface FailureContext {
  modelId: string;
  allowRemote: boolean;
  cacheDir: string | undefined;
  localModelPath: string | undefined;
  loadTimeoutMs: number;
  watchdog: Watchdog;
  network: NetworkRecord;
}

function explainLoadFailure(err: unknown, ctx: FailureContext): string {
  const where = [
    ctx.localModelPath !== undefined ? path.join(ctx.localModelPath, ctx.modelId) : undefined,
    ctx.cacheDir !== undefined ? `the cache ${ctx.cacheDir}` : undefined,
  ]
    .filter(Boolean)
    .join(' or ');
  const cached = ctx.cacheDir !== undefined ? ` in ${ctx.cacheDir}` : '';

  if (err instanceof IncompleteModelError) return err.message;
  if (ctx.watchdog.fired) {
    return `loading made no progress for ${Math.round(ctx.loadTimeoutMs / 1000)} s (is the connection to the Hugging Face hub blocked or very slow?)`;
  }
  const netFailure = ctx.network.failures[0];
  if (netFailure) {
    return `no network access to the Hugging Face hub (${networkCause(netFailure.cause)}) and no cached copy${cached}`;
  }
  const message = err instanceof Error ? err.message : String(err);
  const name = err instanceof Error ? err.name : '';
  const status = (err as { status?: unknown } | null)?.status;
  if (name === 'ModelFileNotFoundError' || /not found locally|could not locate file/i.test(message)) {
    if (!ctx.allowRemote) {
      return `not found locally${where ? ` (looked in ${where})` : ''} and downloads from the Hugging Face hub are disabled`;
    }
    if (/invalid model id/i.test(message)) return `"${ctx.modelId}" is not a valid Hugging Face model id and no local copy exists`;
    if (status === 401 || status === 404) {
      return `the Hugging Face hub has no such model or file (or it is private/gated): ${shortMessage(err)}`;
    }
    return shortMessage(err);
  }
  if (/^(Bad request|Unauthorized|Forbidden|Request timeout|Internal server|Bad gateway|Service unavailable|Gateway timeout|Error \(\d+\))/i.test(message)) {
    return `the Hugging Face hub answered with an error: ${shortMessage(err)}`;
  }
  return `model files are unreadable or corrupt (${shortMessage(err)})`;
}

function networkCause(cause: unknown): string {
  const inner = (cause as { cause?: { code?: unknown } } | null)?.cause;
  if (inner && typeof inner.code === 'string') return inner.code;
  const code = (cause as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return shortMessage(cause);
}

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split('\n').find((l) => l.trim() !== '') ?? text;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line.trim();
}
