/**
 * Long-running child processes for tests: a project entry point (`adapters/main.ts`, i.e.
 * `npm start`) run with tsx, and a password-protected `redis-server`. Both listen on
 * 127.0.0.1 only, and are stopped by their own pid (never by name).
 *
 *   const bot = startScript('adapters/main.ts', env);
 *   const killable = startScript('adapters/main.ts', env, { direct: true });  // one process: SIGKILL reaches the bot
 *   await bot.waitForOutput(/pergunta is running/);
 *   …
 *   const { code } = await bot.stop();        // SIGTERM, then SIGKILL after the timeout
 *   bot.output();                              // everything it wrote to stdout and stderr
 *
 *   const redis = await startRedisWithPassword('s3nh@');  // redis.url has no password in it
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, spawnRedisReady } from './redisServer.js';

const TSX = path.resolve('node_modules/.bin/tsx');

export interface RunningScript {
  readonly pid: number;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves when the output matches `pattern`; rejects if the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (default SIGTERM), waits for the exit (SIGKILL after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Runs `script` with tsx. By default through the `tsx` command, which runs the script in a child
 * node process and forwards signals to it, so SIGKILL (which cannot be forwarded) would leave that
 * child running: `direct: true` runs `node --import tsx script` instead, a single process, for
 * tests that kill the bot.
 */
export function startScript(script: string, env: Record<string, string>, cwdOrOptions: string | { cwd?: string; direct?: boolean } = process.cwd()): RunningScript {
  const options = typeof cwdOrOptions === 'string' ? { cwd: cwdOrOptions } : cwdOrOptions;
  const cwd = options.cwd ?? process.cwd();
  const child = options.direct
    ? spawn(process.execPath, ['--import', 'tsx', path.resolve(script)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(TSX, [path.resolve(script)], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const l of [...listeners]) l();
      resolve({ code, signal });
    });
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exit.then(() => process.removeListener('exit', killOnExit));

  return {
    pid: child.pid ?? -1,
    output: () => out,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(out)) {
            done();
            resolve();
          } else if (exited(child)) {
            done();
            reject(new Error(`${script} exited (code ${String(child.exitCode)}) before printing ${pattern}:\n${out.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${script} did not print ${pattern} within ${timeoutMs} ms:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (!exited(child)) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface PasswordRedis {
  /** `redis://127.0.0.1:<port>` (no credentials). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A throwaway redis-server (no persistence) that requires `password` (`--requirepass`). */
export async function startRedisWithPassword(password: string, timeoutMs = 10_000): Promise<PasswordRedis> {
  const dir = await mkdtemp(path.join(tmpdir(), 'pergunta-redis-auth-'));
  const port = await freePort();
  const child = await spawnRedisReady(
    process.env.REDIS_SERVER_BIN ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--requirepass', password],
    timeoutMs,
  );
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (!exited(child)) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (!exited(child)) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
