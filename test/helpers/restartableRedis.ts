/**
 * A `redis-server` on 127.0.0.1 that a test can stop and start again ON THE SAME PORT with its
 * data kept (append-only file, fsync on every write), to play "the store went down mid-run and
 * came back". test/helpers/redisServer.ts is the throwaway, persistence-less variant.
 *
 *   const redis = await startRestartableRedis();   // redis.url = redis://127.0.0.1:<port>
 *   await redis.stop();                            // SIGTERM (or redis.kill(): SIGKILL, a crash)
 *   await redis.start();                           // same port, same data directory
 *   await redis.destroy();                         // stops it and removes the data directory
 *
 * Fails with test/helpers/redisServer.ts's message when redis-server is not installed.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REDIS_MISSING_MESSAGE, freePort, spawnRedisReady } from './redisServer.js';

export interface RestartableRedis {
  readonly url: string;
  readonly port: number;
  /** Whether a server process is running now. */
  readonly running: boolean;
  /** Starts the server again on the same port and data directory (no-op when running; concurrent calls share one start). */
  start(): Promise<void>;
  /** SIGTERM: a clean shutdown (the append-only file is already on disk). */
  stop(): Promise<void>;
  /** SIGKILL: the server dies at once, like a crash. */
  kill(): Promise<void>;
  /** Stops the server and removes its data directory. */
  destroy(): Promise<void>;
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

export async function startRestartableRedis(opts: { binary?: string; timeoutMs?: number } = {}): Promise<RestartableRedis> {
  const binary = opts.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const dir = await mkdtemp(path.join(tmpdir(), 'pergunta-redis-restart-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function startOnce(): Promise<void> {
    const proc = await spawnRedisReady(binary, ['--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir,
        '--save', '',
        '--appendonly', 'yes',
        '--appendfsync', 'always',
        '--daemonize', 'no',
        '--protected-mode', 'yes',], timeoutMs);
    child = proc;
  }

  async function halt(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc || exited(proc)) return;
    proc.kill(signal);
    if (!(await waitForExit(proc, 5_000))) {
      proc.kill('SIGKILL');
      await waitForExit(proc, 2_000);
    }
  }

  let starting: Promise<void> | undefined;
  function start(): Promise<void> {
    if (child && !exited(child)) return Promise.resolve();
    // Concurrent calls share one start.
    starting ??= startWithRetries().finally(() => (starting = undefined));
    return starting;
  }

  async function startWithRetries(): Promise<void> {
    // The port was just released by the previous process: retry briefly if it is not free yet.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await startOnce();
        return;
      } catch (err) {
        lastError = err;
        if (err instanceof Error && err.message === REDIS_MISSING_MESSAGE) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    throw lastError;
  }

  await start().catch(async (err: unknown) => {
    process.removeListener('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  });

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined && !exited(child);
    },
    start,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async destroy() {
      await halt('SIGTERM');
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
