import { EXIT, UserError } from '../errors.js';

/**
 * The embedding model seen by the rest of the core. The real implementation runs a
 * sentence-embedding model through transformers.js; tests may use other implementations.
 */
export interface Embedder {
  /** Model id, e.g. `Xenova/multilingual-e5-small`. Stored in the index manifest. */
  readonly modelId: string;
  /**
   * Weight precision the model runs at (`fp32`, `q8`), for models that come in several: the
   * precisions give slightly different vectors, so the index records it. Absent otherwise.
   */
  readonly dtype?: string;
  /** Vector length. */
  readonly dimensions: number;
  /** Maximum number of tokens the model reads (E5: 512), special tokens included. */
  readonly maxTokens: number;
  /** Embeds passages (prefixed `passage: `), mean-pooled and L2-normalised, one vector per text. */
  embedPassages(texts: string[], onProgress?: (done: number, total: number) => void): Promise<Float32Array[]>;
  /** Embeds a question (prefixed `query: `), mean-pooled and L2-normalised. */
  embedQuery(text: string): Promise<Float32Array>;
  /** Number of tokens the model sees for `passage: ` + text, special tokens included. */
  countTokens(text: string): number;
}

/** Thrown when the embedding model cannot be loaded (offline with no cache, corrupt files...). Exit 1. */
export class EmbeddingModelUnavailableError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly modelId: string,
    readonly reason: string,
  ) {
    super(`embedding model ${modelId} could not be loaded: ${reason}`);
    this.name = 'EmbeddingModelUnavailableError';
  }
}
