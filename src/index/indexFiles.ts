/**
 * The index folder on disk.
 *
 *   INDEX_DIR/CURRENT            name of the generation in use (replaced atomically by rename)
 *   INDEX_DIR/.pergunta-index    the folder's marker; .ingest.lock and .ingest.owner: the ingest lock
 *   INDEX_DIR/gen-<time>-<rand>/ one complete, immutable build:
 *       .pergunta-generation     its marker (only marked generations are ever deleted)
 *       manifest.json            format version, model and its dtype, dimensions, window settings,
 *                                counts, build time, videos with content hashes, file sizes + CRC32
 *       windows.jsonl            one window per line, in lexical-document order (with its cues'
 *                                offsets and start times; windows of older indexes have none)
 *       lexical.json/.bin        BM25 vocabulary and postings
 *       glossary.json            the course glossary (absent when the course has none)
 *       dense.hnsw               hnswlib index (absent when built without an embedding model)
 *       politica.md              the course's answer policy (absent when its folder has none)
 *
 * A build is written to a hidden temporary folder, flushed, renamed into place, and only then is
 * CURRENT switched. A crash at any point leaves CURRENT naming the previous complete build.
 * Only one ingest writes a folder at a time (indexLock.ts); even so, the generation CURRENT names
 * is never removed, and only what carries pergunta's marks is (indexFolder.ts).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { crc32 } from 'node:zlib';
import type { TranscriptWindow, Video } from '../types.js';
import type { WindowSettings } from '../windowing.js';
import { EXIT, UserError } from '../errors.js';
import { CURRENT, GENERATION_MARKER, GENERATION_NAME, currentName, markGeneration, removeUnusedGenerations } from './indexFolder.js';

export const INDEX_FORMAT_VERSION = 1;
export const FILES = {
  manifest: 'manifest.json',
  windows: 'windows.jsonl',
  lexicalHeader: 'lexical.json',
  lexicalBody: 'lexical.bin',
  glossary: 'glossary.json',
  dense: 'dense.hnsw',
  /** The course's answer policy (src/answer/policy.ts), copied from its folder when it has one. */
  policy: 'politica.md',
} as const;
/** Files larger than this are checked by size only (a CRC of gigabytes would slow every start). */
const CHECKSUM_LIMIT_BYTES = 512 * 1024 * 1024;

export interface IndexedVideo extends Video {
  /** Hash of the parsed cues, the window settings and the embedding model (and its dtype). */
  hash: string;
  windows: number;
}

export interface IndexManifest {
  formatVersion: number;
  builtAt: string;
  source: string;
  embeddingModel: string | null;
  /** Weight precision of the embedding model (`fp32`, `q8`); absent in indexes built before it was recorded. */
  embeddingDtype?: string | null;
  dimensions: number | null;
  window: WindowSettings;
  hnsw: { m: number; efConstruction: number } | null;
  counts: { videos: number; windows: number; vocabulary: number };
  nextCorpusId: number;
  videos: IndexedVideo[];
  /** The course's answer policy when its folder had one (absent in indexes built before policies). */
  policy?: { mode: string; version: string; assignments: number } | null;
  /** The course glossary stored with the index; absent when the course has none (and in older indexes). */
  glossary?: { source: string; concepts: number } | null;
  files: Record<string, { bytes: number; crc32: number | null }>;
}

/** Exit 1: the folder is valid input, it just has no index yet (`npm run ingest` builds one). */
export class IndexNotFoundError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(readonly dir: string) {
    super(`no index in ${dir}: run \`npm run ingest -- --source <course folder> --index ${dir}\``);
    this.name = 'IndexNotFoundError';
  }
}

/** Exit 1: a file on disk is damaged; rebuilding the index fixes it, not another invocation. */
export class IndexCorruptError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`index file ${file} is unusable: ${reason}. Rebuild it with \`npm run ingest\``);
    this.name = 'IndexCorruptError';
  }
}

/** The folder of the generation CURRENT names, or null when there is no index yet. */
export async function currentGeneration(indexDir: string): Promise<string | null> {
  let name: string;
  try {
    name = (await readFile(path.join(indexDir, CURRENT), 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (!GENERATION_NAME.test(name)) throw new IndexCorruptError(path.join(indexDir, CURRENT), `unexpected content "${name.slice(0, 80)}"`);
  return path.join(indexDir, name);
}

export async function readManifest(genDir: string): Promise<IndexManifest> {
  const file = path.join(genDir, FILES.manifest);
  let manifest: IndexManifest;
  try {
    manifest = JSON.parse(await readFile(file, 'utf8')) as IndexManifest;
  } catch (err) {
    throw new IndexCorruptError(file, (err as Error).message);
  }
  if (manifest.formatVersion !== INDEX_FORMAT_VERSION) {
    throw new IndexCorruptError(file, `format version ${String(manifest.formatVersion)} is not supported (expected ${INDEX_FORMAT_VERSION})`);
  }
  return manifest;
}

/** Checks every file the manifest lists against its recorded size and checksum. */
export async function verifyFiles(genDir: string, manifest: IndexManifest): Promise<void> {
  for (const [name, expected] of Object.entries(manifest.files)) {
    const file = path.join(genDir, name);
    let bytes: number;
    try {
      bytes = (await stat(file)).size;
    } catch {
      throw new IndexCorruptError(file, 'the file is missing');
    }
    if (bytes !== expected.bytes) throw new IndexCorruptError(file, `it has ${bytes} bytes, expected ${expected.bytes} (truncated or modified)`);
    if (expected.crc32 !== null && (await fileCrc32(file)) !== expected.crc32) {
      throw new IndexCorruptError(file, 'its checksum does not match (corrupted)');
    }
  }
}

export async function readWindows(genDir: string): Promise<TranscriptWindow[]> {
  const file = path.join(genDir, FILES.windows);
  const windows: TranscriptWindow[] = [];
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line === '') continue;
    try {
      windows.push(JSON.parse(line) as TranscriptWindow);
    } catch {
      throw new IndexCorruptError(`${file}:${lineNo}`, 'invalid JSON line');
    }
  }
  return windows;
}

export interface GenerationContent {
  manifest: Omit<IndexManifest, 'files' | 'formatVersion'>;
  windows: readonly TranscriptWindow[];
  lexical: { header: string; body: Buffer };
  /** `glossary.json`, when the course has a glossary. */
  glossary?: string;
  /** Writes the dense index to the given path, when there is one. */
  writeDense?: (file: string) => Promise<void>;
  /** The course's policy file as read, when it has one. */
  policy?: string;
}

export interface WriteGenerationOptions {
  /**
   * Throws when this process may no longer write the folder (its lock was lost). Checked before
   * CURRENT is switched (throwing drops the new generation) and before old generations are removed.
   */
  assertOwner?: () => Promise<void>;
}

/** Writes a complete generation and switches CURRENT to it. Returns the generation folder. */
export async function writeGeneration(indexDir: string, content: GenerationContent, options: WriteGenerationOptions = {}): Promise<string> {
  await mkdir(indexDir, { recursive: true });
  const name = `gen-${new Date().toISOString().replace(/[:.]/g, '')}-${randomBytes(3).toString('hex')}`;
  const tmp = path.join(indexDir, `.tmp-${name}`);
  const final = path.join(indexDir, name);
  await mkdir(tmp);
  try {
    // Marked first: whatever a killed build leaves is recognisable as ingest's own debris.
    await markGeneration(tmp);
    await writeLines(path.join(tmp, FILES.windows), content.windows);
    await writeFile(path.join(tmp, FILES.lexicalHeader), content.lexical.header);
    await writeFile(path.join(tmp, FILES.lexicalBody), content.lexical.body);
    if (content.glossary !== undefined) await writeFile(path.join(tmp, FILES.glossary), content.glossary);
    if (content.writeDense) await content.writeDense(path.join(tmp, FILES.dense));
    if (content.policy !== undefined) await writeFile(path.join(tmp, FILES.policy), content.policy);
    const files: IndexManifest['files'] = {};
    for (const entry of await readdir(tmp)) {
      if (entry === GENERATION_MARKER) continue;
      const file = path.join(tmp, entry);
      const bytes = (await stat(file)).size;
      files[entry] = { bytes, crc32: bytes <= CHECKSUM_LIMIT_BYTES ? await fileCrc32(file) : null };
      await fsyncFile(file);
    }
    const manifest: IndexManifest = { formatVersion: INDEX_FORMAT_VERSION, ...content.manifest, files };
    await writeFile(path.join(tmp, FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    await fsyncFile(path.join(tmp, FILES.manifest));
    await rename(tmp, final);
    await options.assertOwner?.();
    await switchCurrent(indexDir, name);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if ((await currentName(indexDir)) !== name) await rm(final, { recursive: true, force: true });
    throw err;
  }
  await fsyncDir(indexDir);
  // A process that lost its lock leaves the clean-up to the one that took it over.
  const stillOwner = await (options.assertOwner?.() ?? Promise.resolve()).then(
    () => true,
    () => false,
  );
  if (stillOwner) await removeUnusedGenerations(indexDir, name);
  return final;
}

/** Points CURRENT at `name` through a pointer file of its own (a rename replaces CURRENT atomically). */
async function switchCurrent(indexDir: string, name: string): Promise<void> {
  const pointerTmp = path.join(indexDir, `.${CURRENT}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(pointerTmp, `${name}\n`);
    await fsyncFile(pointerTmp);
    await rename(pointerTmp, path.join(indexDir, CURRENT));
  } catch (err) {
    await rm(pointerTmp, { force: true });
    throw err;
  }
}

async function writeLines(file: string, windows: readonly TranscriptWindow[]): Promise<void> {
  const out = createWriteStream(file, 'utf8');
  const done = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  for (const w of windows) {
    const fields = { corpusId: w.corpusId, videoId: w.videoId, start: w.start, end: w.end, text: w.text, ...(w.cues ? { cues: w.cues } : {}) };
    const line = `${JSON.stringify(fields)}\n`;
    if (!out.write(line)) await new Promise<void>((resolve) => out.once('drain', resolve));
  }
  out.end();
  await done;
}

async function fileCrc32(file: string): Promise<number> {
  let crc = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) crc = crc32(chunk as Buffer, crc);
  return crc;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncFile(dir);
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}
