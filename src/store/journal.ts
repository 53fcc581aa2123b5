/**
 * A local append-only journal of feedback-store writes that could not be made (the store was
 * down), kept until they are replayed. One folder per store; in it each process appends to
 * files of its own, named `<host>-<pid>-<started>-<n>.jsonl`, one JSON entry per line.
 *
 * - Appends are batched and each batch is written with one write() and fdatasync'ed before the
 *   callers are answered, so a confirmed entry survives a crash; a crash loses at most the line
 *   being written, which is then a torn last line: skipped with a log line when read.
 * - `drain` hands every entry to the caller, oldest file first, sealing the file being appended
 *   to (new entries go to a new file), and deletes a file only once every one of its entries was
 *   handled. If handling fails, the file stays, and the next drain resumes where it stopped.
 * - Files of other processes are adopted (renamed into this process's name, so only one process
 *   takes each) when their owner is gone: a pid that no longer runs on this host, a pid that is
 *   this process's own (a container restarted as pid 1), or a file not touched for `staleAfterMs`
 *   (the owner touches its files every `heartbeatMs`). Replaying is idempotent, so even a wrong
 *   guess only writes the same entries twice.
 *
 * Entries are the caller's business (src/store/journaledStore.ts); they hold pseudonyms, never
 * raw platform ids.
 */
import { closeSync, existsSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.js';

export interface JournalOptions {
  /** The folder of this store's journal (created at the first append). */
  dir: string;
  logger: Logger;
  /** How often this process touches its files, ms (default 5 s). */
  heartbeatMs?: number;
  /** A file untouched for this long has no living owner, ms (default 60 s). */
  staleAfterMs?: number;
}

/** A journal line as read back: its file and line number (for logs) and the parsed entry. */
export interface ReadEntry {
  file: string;
  line: number;
  entry: unknown;
}

const FILE_PATTERN = /^([A-Za-z0-9.-]+)-(\d+)-(\d+)-(\d+)\.jsonl$/;

/** Files owned by live Journal objects of this process (several stores may share a folder in tests). */
const liveFiles = new Set<string>();

function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.-]/g, '') || 'host';
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Journal {
  readonly dir: string;
  private readonly logger: Logger;
  private readonly heartbeatMs: number;
  private readonly staleAfterMs: number;
  private readonly host = safeHost();
  private readonly started = Date.now();
  private sequence = 0;
  /** Files this process owns (created or adopted), by absolute path. Sealed files are replayable. */
  private readonly owned = new Set<string>();
  /** Entries already handled, per sealed file (a drain that stopped halfway resumes there). */
  private readonly progress = new Map<string, number>();
  private active: { file: string; handle: FileHandle } | undefined;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(opts: JournalOptions) {
    this.dir = path.resolve(opts.dir);
    this.logger = opts.logger;
    this.heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.staleAfterMs = opts.staleAfterMs ?? 60_000;
  }

  /** Whether this process holds journal files (entries not yet replayed). */
  get hasFiles(): boolean {
    return this.owned.size > 0;
  }

  /**
   * Appends one entry; resolves once it is on disk (fdatasync). Rejects when the folder or file
   * cannot be written (disk full, read-only): the caller must then treat the write as lost.
   */
  append(entry: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the journal is closed'));
    const line = `${JSON.stringify(entry)}\n`;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
    });
  }

  /**
   * Adopts the files of processes that are gone; returns the adopted files (now this
   * process's). Called at start-up and before each drain.
   */
  async adoptOrphans(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return []; // no journal folder: nothing was ever journaled here
    }
    const adopted: string[] = [];
    for (const name of names) {
      const match = FILE_PATTERN.exec(name);
      const file = path.join(this.dir, name);
      if (!match || this.owned.has(file) || liveFiles.has(file)) continue;
      const [, host, pidText] = match;
      const pid = Number(pidText);
      let orphan = host === this.host && (pid === process.pid || !pidAlive(pid));
      if (!orphan) {
        const mtime = await stat(file).then((s) => s.mtimeMs, () => undefined);
        orphan = mtime !== undefined && Date.now() - mtime > this.staleAfterMs;
      }
      if (!orphan) continue;
      const mine = this.nextFileName();
      try {
        await rename(file, mine); // only one process wins each file
      } catch {
        continue;
      }
      this.own(mine);
      adopted.push(mine);
      this.logger.warn({ journal: this.dir, file: name }, 'journal: adopted the unreplayed writes of a process that is gone');
    }
    return adopted;
  }

  /**
   * Hands every entry of this process's files to `handle`, oldest file first: the sealed ones,
   * then (if they all went through) the one being appended to, sealed first. A file is deleted
   * once all its entries were handled; when `handle` throws, that file and the later ones are
   * kept, the error is rethrown, and the next drain resumes after the last entry handled.
   */
  async drain(handle: (entry: ReadEntry) => Promise<void>): Promise<number> {
    // Files sealed earlier first; the one being appended to is sealed only once they are all
    // replayed (while the store stays down, no new file is started at every try).
    let handled = await this.drainSealed(handle);
    if (this.active) {
      await this.seal();
      handled += await this.drainSealed(handle);
    }
    if (this.owned.size === 0) await rmdir(this.dir).catch(() => undefined); // only when empty
    return handled;
  }

  private async drainSealed(handle: (entry: ReadEntry) => Promise<void>): Promise<number> {
    let handled = 0;
    for (const file of this.replayable()) {
      // Entries handled by an earlier drain that stopped halfway are not handed out again.
      const done = this.progress.get(file) ?? 0;
      const entries = await this.read(file, done === 0);
      for (let i = done; i < entries.length; i++) {
        await handle(entries[i]!);
        this.progress.set(file, i + 1);
        handled++;
      }
      await unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.disown(file);
    }
    return handled;
  }

  /** Every entry of the given files, without changing anything (bookkeeping of adopted files). */
  async entriesOf(files: string[]): Promise<ReadEntry[]> {
    const out: ReadEntry[] = [];
    for (const file of files) out.push(...(await this.read(file, false)));
    return out;
  }

  /** Finishes the appends in flight and stops; the files stay for the next process. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writing;
    await this.seal();
    clearInterval(this.heartbeat);
    for (const file of this.owned) liveFiles.delete(file);
  }

  // ---------------------------------------------------------------------------------------------

  private nextFileName(): string {
    return path.join(this.dir, `${this.host}-${process.pid}-${this.started}-${this.sequence++}.jsonl`);
  }

  private own(file: string): void {
    this.owned.add(file);
    liveFiles.add(file);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => void this.touch(), this.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  private disown(file: string): void {
    this.owned.delete(file);
    this.progress.delete(file);
    liveFiles.delete(file);
    if (this.owned.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private async touch(): Promise<void> {
    const now = new Date();
    for (const file of this.owned) {
      await utimes(file, now, now).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') {
          // Taken by another process that thought this one gone (its loop was blocked for long):
          // it replays those entries; new ones go to a new file.
          this.logger.warn({ journal: this.dir, file: path.basename(file) }, 'journal: a file of this process was adopted by another process');
          if (this.active?.file === file) this.active = undefined;
          this.disown(file);
        }
      });
    }
  }

  private ownedInOrder(): string[] {
    const key = (file: string) => {
      const m = FILE_PATTERN.exec(path.basename(file));
      return m ? [Number(m[3]), Number(m[4])] : [0, 0];
    };
    return [...this.owned].sort((a, b) => {
      const [sa, na] = key(a);
      const [sb, nb] = key(b);
      return sa! - sb! || na! - nb!;
    });
  }

  private replayable(): string[] {
    return this.ownedInOrder().filter((file) => file !== this.active?.file);
  }

  /** New appends go to a new file from now on; the current one can be replayed and deleted. */
  private async seal(): Promise<void> {
    const current = this.active;
    if (!current) return;
    this.active = undefined;
    await this.writing;
    // The writer may have opened a new active file meanwhile; `current` is done either way.
    await current.handle.close().catch(() => undefined);
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let target: { file: string; handle: FileHandle } | undefined;
      try {
        target = await this.activeFile();
        await target.handle.write(batch.map((p) => p.line).join(''));
        await target.handle.datasync();
        for (const p of batch) p.resolve();
      } catch (err) {
        this.logger.error({ journal: this.dir, reason: (err as Error).message }, 'journal: could not write');
        // Whatever part of the batch reached the file is replayed anyway (idempotent); a new file next time.
        if (target && this.active === target) this.active = undefined;
        await target?.handle.close().catch(() => undefined);
        for (const p of batch) p.reject(err);
      }
    }
  }

  private async activeFile(): Promise<{ file: string; handle: FileHandle }> {
    const current = this.active;
    if (current) {
      // Still ours at that path? (see touch)
      const [onDisk, open_] = await Promise.all([stat(current.file).catch(() => undefined), current.handle.stat()]);
      // Sealed meanwhile: the sealer closes it once this write is done, so it still takes this batch.
      if ((onDisk && onDisk.ino === open_.ino) || this.active !== current) return current;
      await current.handle.close().catch(() => undefined);
      this.active = undefined;
    }
    const file = this.nextFileName();
    let handle: FileHandle;
    try {
      await mkdir(this.dir, { recursive: true });
      handle = await open(file, 'a', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // A drain removed the folder, empty, between the two calls.
      await mkdir(this.dir, { recursive: true });
      handle = await open(file, 'a', 0o600);
    }
    syncDirectory(this.dir);
    this.active = { file, handle };
    this.own(file);
    return this.active;
  }

  /** `report`: log the lines skipped (once, when the file is replayed, not when it is only looked at). */
  private async read(file: string, report = true): Promise<ReadEntry[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const lines = text.split('\n');
    const last = lines.pop() ?? '';
    const name = path.basename(file);
    if (last !== '' && report) {
      this.logger.warn({ journal: this.dir, file: name, line: lines.length + 1, bytes: Buffer.byteLength(last) }, 'journal: skipped a torn last line (the process stopped while writing it)');
    }
    const out: ReadEntry[] = [];
    lines.forEach((text_, i) => {
      if (text_.trim() === '') return;
      try {
        out.push({ file: name, line: i + 1, entry: JSON.parse(text_) as unknown });
      } catch {
        if (report) this.logger.error({ journal: this.dir, file: name, line: i + 1 }, 'journal: skipped a line that is not valid JSON');
      }
    });
    return out;
  }
}

/** fsync of the folder, so a new file's name survives a crash too (best effort: not on every OS). */
function syncDirectory(dir: string): void {
  if (!existsSync(dir)) return;
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
