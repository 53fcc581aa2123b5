/**
 * What in an index folder belongs to pergunta. `--index` may be pointed at any folder by mistake,
 * so ingest only deletes what carries pergunta's own mark, and refuses to write into a folder
 * that holds anything else:
 *
 *   INDEX_DIR/.pergunta-index              the folder's marker (written on its first ingest)
 *   INDEX_DIR/gen-…/.pergunta-generation   a generation's marker (written before any data, so
 *   INDEX_DIR/.tmp-gen-…/.pergunta-generation  a build killed midway is recognisable too)
 *   INDEX_DIR/.CURRENT.<random>.tmp        the pointer being switched (a generation name)
 *
 * Indexes built before the markers existed (a CURRENT pointer and `gen-<time>-<hex>` folders
 * holding manifest.json) are recognised by that exact shape, and marked on their next ingest.
 */
import { lstat, readdir, readFile, rm, rmdir, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, UserError } from '../errors.js';

export const INDEX_MARKER = '.pergunta-index';
export const GENERATION_MARKER = '.pergunta-generation';
export const CURRENT = 'CURRENT';
/** What CURRENT may name. */
export const GENERATION_NAME = /^gen-[\w.-]+$/;
/** The names writeGeneration has always given its folders: `gen-2026-11-27T050112345Z-a1b2c3`. */
const GENERATION_FOLDER = /^(?:\.tmp-)?gen-\d{4}-\d{2}-\d{2}T\d{9}Z-[0-9a-f]{6}$/;
/** Pointer files being switched: `.CURRENT.<hex>.tmp` (and `.CURRENT.tmp` of older versions). */
const POINTER_TEMP = /^\.CURRENT(?:\.[0-9a-f]+)?\.tmp$/;
/** Entries a folder may hold and still count as empty (the root of a freshly formatted volume). */
const IGNORED_WHEN_EMPTY = new Set(['lost+found']);

const INDEX_MARKER_TEXT =
  'This folder is a pergunta search index, written by `npm run ingest`.\n' +
  'Ingest replaces the gen-* folders it marked; do not keep other files here.\n';
const GENERATION_MARKER_TEXT = 'A generation of a pergunta search index (see ../CURRENT).\n';

/** `--index` names something ingest must not write into. Nothing was changed. */
export class IndexFolderError extends UserError {
  override readonly name = 'IndexFolderError';
  /** Refused without changing anything: fix the `--index` argument (exit 2, as for bad settings). */
  readonly exitCode = EXIT.invalidInput;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/** The generation name CURRENT holds, or null when there is none (or it is not a generation name). */
export async function currentName(indexDir: string): Promise<string | null> {
  try {
    const name = (await readFile(path.join(indexDir, CURRENT), 'utf8')).trim();
    return GENERATION_NAME.test(name) ? name : null;
  } catch {
    return null;
  }
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await lstat(file)).isFile();
  } catch {
    return false;
  }
}

/** A real folder (not a symlink: its target is none of ingest's business). */
async function isFolder(dir: string): Promise<boolean> {
  try {
    return (await lstat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** A generation folder ingest wrote: marked, or named and shaped as the unmarked ones of older versions. */
async function isOwnGeneration(indexDir: string, entry: string): Promise<boolean> {
  const dir = path.join(indexDir, entry);
  if (!(await isFolder(dir))) return false;
  if (await isFile(path.join(dir, GENERATION_MARKER))) return true;
  if (!GENERATION_FOLDER.test(entry)) return false;
  // A finished generation always has its manifest; a temporary one may have been killed before it.
  return entry.startsWith('.tmp-') || (await isFile(path.join(dir, 'manifest.json')));
}

/** An index built before markers existed: CURRENT names a generation, or an unmarked generation folder is there. */
async function isUnmarkedIndex(indexDir: string, entries: readonly string[]): Promise<boolean> {
  if (entries.includes(CURRENT) && (await isFile(path.join(indexDir, CURRENT))) && (await currentName(indexDir)) !== null) return true;
  for (const entry of entries) {
    if (entry.startsWith('gen-') && (await isOwnGeneration(indexDir, entry))) return true;
  }
  return false;
}

/**
 * Makes sure `indexDir` is a pergunta index folder before ingest writes into it: creates it when
 * missing, marks it when it is empty or an index of an older version, and refuses (changing
 * nothing) a file, or a folder holding anything else.
 * @throws IndexFolderError
 */
export async function claimIndexFolder(indexDir: string): Promise<void> {
  let entries: string[];
  try {
    const s = await stat(indexDir);
    if (!s.isDirectory()) throw new IndexFolderError(`the index folder ${indexDir} is not a folder: give --index (or INDEX_DIR) a folder; nothing was changed`);
    entries = await readdir(indexDir);
  } catch (err) {
    if (err instanceof IndexFolderError) throw err;
    if (errorCode(err) !== 'ENOENT') throw new IndexFolderError(`the index folder ${indexDir} cannot be opened (${errorCode(err) ?? String(err)}); nothing was changed`);
    await mkdir(indexDir, { recursive: true });
    entries = [];
  }
  if (entries.includes(INDEX_MARKER)) return;
  const empty = entries.every((e) => IGNORED_WHEN_EMPTY.has(e));
  if (!empty && !(await isUnmarkedIndex(indexDir, entries))) {
    const shown = entries.slice(0, 3).map((e) => JSON.stringify(e)).join(', ');
    throw new IndexFolderError(
      `the index folder ${indexDir} is not empty and is not a pergunta index (it holds ${shown}${entries.length > 3 ? ', …' : ''}): ` +
        'nothing was changed. Give --index (or INDEX_DIR) a new or empty folder, or the folder of an existing index',
    );
  }
  await writeFile(path.join(indexDir, INDEX_MARKER), INDEX_MARKER_TEXT);
}

/** Marks a generation folder that is being written (before anything else goes into it). */
export async function markGeneration(dir: string): Promise<void> {
  await writeFile(path.join(dir, GENERATION_MARKER), GENERATION_MARKER_TEXT);
}

async function isPointerTemp(indexDir: string, entry: string): Promise<boolean> {
  if (!POINTER_TEMP.test(entry)) return false;
  const file = path.join(indexDir, entry);
  try {
    const s = await lstat(file);
    if (!s.isFile() || s.size > 256) return false;
    return GENERATION_NAME.test((await readFile(file, 'utf8')).trim());
  } catch {
    return false;
  }
}

/**
 * Removes the generations, temporary build folders and pointer files ingest left behind, except
 * `keep` and whatever CURRENT names at the moment of each removal. Anything not marked as
 * ingest's own is left alone. Best effort: what cannot be removed now is tried again next time.
 */
export async function removeUnusedGenerations(indexDir: string, keep: string): Promise<void> {
  for (const entry of await readdir(indexDir)) {
    if (entry === keep) continue;
    const full = path.join(indexDir, entry);
    try {
      if (entry.startsWith('gen-') || entry.startsWith('.tmp-gen-')) {
        if (await isOwnGeneration(indexDir, entry)) {
          if ((await currentName(indexDir)) === entry) continue;
          await rm(full, { recursive: true, force: true });
        } else if (entry.startsWith('.tmp-gen-') && (await isFolder(full))) {
          // A build killed between creating its folder and marking it left it empty; rmdir
          // removes nothing else (it fails on a folder that holds anything).
          await rmdir(full);
        }
      } else if (await isPointerTemp(indexDir, entry)) {
        await rm(full, { force: true });
      }
    } catch {
      // Left for the next build.
    }
  }
}
