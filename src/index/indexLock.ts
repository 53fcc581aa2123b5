/**
 * One ingest at a time per index folder. Two ingests writing one folder used to delete each
 * other's generations (leaving CURRENT naming a deleted one) and race on the pointer file.
 *
 * The lock is proper-lockfile's: an atomic `mkdir` of INDEX_DIR/.ingest.lock whose mtime the
 * holder refreshes. A second ingest waits for the first, up to a bound, then gives up changing
 * nothing. The holder also writes who it is (pid, host, a token) to INDEX_DIR/.ingest.owner.
 *
 * A killed holder's lock is taken over when the owner file names a process of this host that is
 * gone (once the lock is 10 s old); otherwise (another host, a reused pid) once it has not been
 * refreshed for LOCK_STALE_MS. That staleness is long because the refresh runs on the event loop, which the
 * synchronous HNSW and BM25 builds of a large course hold for minutes: a short one would let a
 * waiting ingest take the lock from a live one.
 *
 * Before switching CURRENT the holder checks the owner token is still its own: one stalled for
 * longer than the staleness (a suspended machine) may have lost its lock, and must then drop its
 * build rather than replace the other's.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from '../logger.js';
import { EXIT, UserError } from '../errors.js';

export const LOCK_NAME = '.ingest.lock';
export const OWNER_NAME = '.ingest.owner';
/** A lock not refreshed for this long belongs to a dead or stuck ingest and is taken over. */
export const LOCK_STALE_MS = 10 * 60_000;
/** How long a second ingest waits for the first before giving up. */
export const LOCK_WAIT_MS = 15 * 60_000;
/**
 * The owner file is written just after the lock is taken, so a younger lock may still show the
 * previous (finished) owner: the dead-owner shortcut only applies to locks older than this.
 */
const OWNER_WRITE_GRACE_MS = 10_000;

/** Another ingest kept the folder for longer than the wait. Nothing was changed. */
export class IndexBusyError extends UserError {
  override readonly name = 'IndexBusyError';
  /** Nothing was changed; run it again when the other ingest has finished (exit 2, like a refused folder). */
  readonly exitCode = EXIT.invalidInput;
}

/** This ingest's lock was taken over while it was stalled; its build was dropped. */
export class IndexLockLostError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(indexDir: string) {
    super(
      `another ingest took over ${indexDir} while this one was stalled for over ${minutes(LOCK_STALE_MS)}: ` +
        'this build was dropped and the index the other ingest writes is kept; run ingest again if its course differs',
    );
    this.name = 'IndexLockLostError';
  }
}

export interface IndexLock {
  /** Throws IndexLockLostError when the lock is no longer this process's. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export interface LockIndexOptions {
  logger: Logger;
  waitMs?: number;
  staleMs?: number;
  /** How often a waiting ingest tries again. */
  pollMs?: number;
}

interface Owner {
  token: string;
  pid: number;
  host: string;
  since: string;
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  return m >= 1 ? `${Number.isInteger(m) ? m : m.toFixed(1)} minute${m === 1 ? '' : 's'}` : `${Number((ms / 1000).toFixed(1))} s`;
}

async function readOwner(indexDir: string): Promise<Partial<Owner> | null> {
  try {
    return JSON.parse(await readFile(path.join(indexDir, OWNER_NAME), 'utf8')) as Partial<Owner>;
  } catch {
    return null;
  }
}

function describeOwner(owner: Partial<Owner> | null): string {
  if (!owner || typeof owner.pid !== 'number') return 'another ingest';
  return `another ingest (pid ${owner.pid}${owner.host && owner.host !== hostname() ? ` on ${owner.host}` : ''}, started ${owner.since ?? '?'})`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's holder was a process of this host that no longer runs (killed, crashed). */
async function holderIsGone(lockPath: string, owner: Partial<Owner> | null): Promise<boolean> {
  if (!owner || owner.host !== hostname() || typeof owner.pid !== 'number' || isRunning(owner.pid)) return false;
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs > OWNER_WRITE_GRACE_MS;
  } catch {
    return false;
  }
}

async function writeOwner(indexDir: string, owner: Owner): Promise<void> {
  const tmp = path.join(indexDir, `${OWNER_NAME}.${owner.token}.tmp`);
  await writeFile(tmp, `${JSON.stringify(owner)}\n`);
  await rename(tmp, path.join(indexDir, OWNER_NAME)).catch(async (err: unknown) => {
    await rm(tmp, { force: true });
    throw err;
  });
}

/**
 * Takes the index folder's ingest lock (the folder must exist), waiting for another ingest
 * that holds it for up to `waitMs` (logging once that it waits).
 * @throws IndexBusyError when the other ingest still holds it after the wait
 */
export async function lockIndexFolder(indexDir: string, options: LockIndexOptions): Promise<IndexLock> {
  const { logger, waitMs = LOCK_WAIT_MS, staleMs = LOCK_STALE_MS, pollMs = 1000 } = options;
  let compromised = false;
  const lockPath = path.join(indexDir, LOCK_NAME);
  const lockOptions = {
    lockfilePath: lockPath,
    realpath: false,
    stale: staleMs,
    // The default throws from a timer, which would end the process with a stack trace.
    onCompromised: (err: Error) => {
      compromised = true;
      logger.warn(`the ingest lock of ${indexDir} was lost (${err.message}); this build will not replace the index`);
    },
  };
  const deadline = Date.now() + waitMs;
  let release: () => Promise<void>;
  let waited = false;
  for (;;) {
    try {
      release = await lockfile.lock(indexDir, lockOptions);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = await readOwner(indexDir);
      if (await holderIsGone(lockPath, owner)) {
        logger.warn(`the ingest that was writing to ${indexDir} (pid ${String(owner?.pid)}) is no longer running: taking its lock over`);
        // As proper-lockfile removes a stale lock; then try again at once.
        await rmdir(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() >= deadline) {
        throw new IndexBusyError(
          `${describeOwner(owner)} is still writing to ${indexDir} after ${minutes(waitMs)}: nothing was changed; ` +
            `run this ingest again once it has finished (a killed ingest's lock is taken over within seconds from the same machine, ` +
            `${minutes(staleMs)} after its last refresh from another one)`,
        );
      }
      if (!waited) {
        waited = true;
        logger.warn(`${describeOwner(owner)} is writing to ${indexDir}: waiting for it to finish (up to ${minutes(waitMs)})`);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  }
  if (waited) logger.info(`the other ingest has finished: this one continues with ${indexDir}`);

  const owner: Owner = { token: randomBytes(8).toString('hex'), pid: process.pid, host: hostname(), since: new Date().toISOString() };
  try {
    await writeOwner(indexDir, owner);
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  return {
    assertHeld: async () => {
      if (compromised || (await readOwner(indexDir))?.token !== owner.token) throw new IndexLockLostError(indexDir);
    },
    release: async () => {
      // A compromised lock is no longer ours to remove.
      if (!compromised) await release().catch(() => undefined);
    },
  };
}
