/**
 * A loaded index: windows, videos, the lexical index and (when built with an embedding model)
 * the dense index. Loading checks the files against the manifest, and refuses an index built
 * with a different embedding model than the configured one instead of returning garbage.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { HnswIndex } from '../dense/hnswIndex.js';
import { Bm25Index } from '../lexical/bm25Index.js';
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
  /** Null when the index was built without an embedding model. */
  dense: HnswIndex | null;
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

export interface LoadIndexOptions {
  /** The configured embedding model: when given, an index built with another one is refused. */
  embeddingModel?: string;
  ef: number;
}

export async function loadCourseIndex(dir: string, options: LoadIndexOptions): Promise<CourseIndex> {
  const generationDir = await currentGeneration(dir);
  if (!generationDir) throw new IndexNotFoundError(dir);
  const manifest = await readManifest(generationDir);
  if (options.embeddingModel && manifest.embeddingModel && manifest.embeddingModel !== options.embeddingModel) {
    throw new IndexModelMismatchError(manifest.embeddingModel, options.embeddingModel, dir);
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

  let dense: HnswIndex | null = null;
  if (manifest.embeddingModel && manifest.dimensions && manifest.hnsw) {
    const file = path.join(generationDir, FILES.dense);
    try {
      dense = await HnswIndex.load(file, manifest.dimensions, { ...manifest.hnsw, ef: options.ef }, windows.length);
    } catch (err) {
      throw new IndexCorruptError(file, (err as Error).message);
    }
  }

  const videos = new Map<string, Video>(
    manifest.videos.map((v) => [v.id, { id: v.id, title: v.title, url: v.url, transcript: v.transcript }]),
  );
  return { dir, generationDir, manifest, windows, positions, videos, lexical, dense };
}
