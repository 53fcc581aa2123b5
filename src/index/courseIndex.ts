/**
 * A loaded index: windows, videos, the lexical index and (when built with an embedding model)
 * the dense index. Loading checks the files against the manifest, and refuses an index built
 * with a different embedding model, or the same model at another dtype, than the configured one
 * instead of returning garbage or quietly worse results.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parsePolicy, type AnswerPolicy } from '../answer/policy.js';
import { cleanTitle, cleanUrl } from '../course/cleanText.js';
import { HnswIndex } from '../dense/hnswIndex.js';
import { Bm25Index } from '../lexical/bm25Index.js';
import { CompiledGlossary, type GlossaryConcept } from '../lexical/glossary.js';
import type { TranscriptWindow, Video } from '../types.js';
import {
  FILES,
  IndexCorruptError,
  IndexNotFoundError,
  currentGeneration,
  readManifest,
  readWindows,
  verifyFiles,
  type IndexManifest,
} from './indexFiles.js';
import { EXIT, UserError } from '../errors.js';

export interface CourseIndex {
  dir: string;
  generationDir: string;
  manifest: IndexManifest;
  /** Lexical document i is windows[i]. */
  windows: TranscriptWindow[];
  /** corpusId → position in `windows`. */
  positions: Map<number, number>;
  videos: Map<string, Video>;
  lexical: Bm25Index;
  /** The course glossary questions are expanded with; null when the course had none. */
  glossary: CompiledGlossary | null;
  /** Null when the index was built without an embedding model. */
  dense: HnswIndex | null;
  /** The course's answer policy (politica.md at ingest), or null. */
  policy: AnswerPolicy | null;
}

/** `glossary.json` in a generation folder. */
export interface StoredGlossary {
  format: 'glossary-v1';
  source: string;
  concepts: GlossaryConcept[];
}

/**
 * Exit 1, not 2: EMBEDDING_MODEL is a valid setting on its own; the index on disk was built with
 * another model, and rebuilding it is as likely the fix as changing the setting.
 */
export class IndexModelMismatchError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly indexModel: string,
    readonly configuredModel: string,
    dir: string,
  ) {
    super(
      `the index in ${dir} was built with the embedding model ${indexModel}, but EMBEDDING_MODEL is ${configuredModel}: ` +
        `set EMBEDDING_MODEL=${indexModel} or rebuild the index with \`npm run ingest\``,
    );
    this.name = 'IndexModelMismatchError';
  }
}

/**
 * The index's vectors come from the configured model at another weight precision: queries would
 * be embedded by one and the windows by the other, close but not the same model. Exit 1, as for
 * the model mismatch: the setting is valid on its own.
 */
export class IndexDtypeMismatchError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly indexDtype: string,
    readonly configuredDtype: string,
    model: string,
    dir: string,
  ) {
    super(
      `the index in ${dir} was built with ${model} at dtype ${indexDtype}, but EMBEDDING_DTYPE is ${configuredDtype}: ` +
        `set EMBEDDING_DTYPE=${indexDtype} or rebuild the index with \`npm run ingest\``,
    );
    this.name = 'IndexDtypeMismatchError';
  }
}

export interface LoadIndexOptions {
  /** The configured embedding model: when given, an index built with another one is refused. */
  embeddingModel?: string;
  /**
   * The configured dtype of that model: when given, an index that recorded another one is refused.
   * Indexes built before the dtype was recorded load whatever it is.
   */
  embeddingDtype?: string;
  ef: number;
}

export async function loadCourseIndex(dir: string, options: LoadIndexOptions): Promise<CourseIndex> {
  const generationDir = await currentGeneration(dir);
  if (!generationDir) throw new IndexNotFoundError(dir);
  const manifest = await readManifest(generationDir);
  if (options.embeddingModel && manifest.embeddingModel && manifest.embeddingModel !== options.embeddingModel) {
    throw new IndexModelMismatchError(manifest.embeddingModel, options.embeddingModel, dir);
  }
  if (options.embeddingDtype && manifest.embeddingModel && manifest.embeddingDtype && manifest.embeddingDtype !== options.embeddingDtype) {
    throw new IndexDtypeMismatchError(manifest.embeddingDtype, options.embeddingDtype, manifest.embeddingModel, dir);
  }
  await verifyFiles(generationDir, manifest);

  const windows = await readWindows(generationDir);
  if (windows.length !== manifest.counts.windows) {
    throw new IndexCorruptError(path.join(generationDir, FILES.windows), `it has ${windows.length} windows, the manifest says ${manifest.counts.windows}`);
  }
  const positions = new Map(windows.map((w, i) => [w.corpusId, i]));

  const lexicalHeader = path.join(generationDir, FILES.lexicalHeader);
  let lexical: Bm25Index;
  try {
    lexical = Bm25Index.deserialize(
      await readFile(lexicalHeader, 'utf8'),
      await readFile(path.join(generationDir, FILES.lexicalBody)),
    );
  } catch (err) {
    throw new IndexCorruptError(lexicalHeader, (err as Error).message);
  }
  if (lexical.size !== windows.length) {
    throw new IndexCorruptError(lexicalHeader, `it indexes ${lexical.size} windows, the manifest says ${windows.length}`);
  }

  let glossary: CompiledGlossary | null = null;
  if (manifest.files[FILES.glossary]) {
    const file = path.join(generationDir, FILES.glossary);
    try {
      const stored = JSON.parse(await readFile(file, 'utf8')) as StoredGlossary;
      if (stored.format !== 'glossary-v1' || !Array.isArray(stored.concepts)) throw new Error('not a glossary-v1 file');
      if (!stored.concepts.every((c) => Array.isArray(c) && c.every((e) => typeof e === 'string'))) throw new Error('concepts must be lists of expressions');
      glossary = new CompiledGlossary(stored);
    } catch (err) {
      throw new IndexCorruptError(file, (err as Error).message);
    }
  }

  let dense: HnswIndex | null = null;
  if (manifest.embeddingModel && manifest.dimensions && manifest.hnsw) {
    const file = path.join(generationDir, FILES.dense);
    try {
      dense = await HnswIndex.load(file, manifest.dimensions, { ...manifest.hnsw, ef: options.ef }, windows.length);
    } catch (err) {
      throw new IndexCorruptError(file, (err as Error).message);
    }
  }

  // Cleaned again: an index built before titles were cleaned at ingest may hold escape sequences.
  const videos = new Map<string, Video>(
    manifest.videos.map((v) => [v.id, { id: v.id, title: cleanTitle(v.title), url: cleanUrl(v.url), transcript: v.transcript }]),
  );
  let policy: AnswerPolicy | null = null;
  if (manifest.files[FILES.policy]) {
    const file = path.join(generationDir, FILES.policy);
    try {
      policy = parsePolicy(await readFile(file, 'utf8'), file);
    } catch (err) {
      throw new IndexCorruptError(file, (err as Error).message);
    }
  }
  return { dir, generationDir, manifest, windows, positions, videos, lexical, glossary, dense, policy };
}
