/**
 * Starts a throwaway `redis-server` on 127.0.0.1 and a free port, without persistence, for
 * tests of the Redis backend. The binary comes from Debian (`apt-get install -y redis-server`,
 * which `.ci/setup-services.sh` does); when it is missing the start fails with a message
 * saying so, so the Redis tests fail instead of being silently skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export const REDIS_MISSING_MESSAGE =
  'redis-server is not installed: the Redis store tests need it. Install it with `apt-get install -y redis-server` ' +
  '(or run `bash .ci/setup-services.sh`).';

/** A TCP port on 127.0.0.1 that was free a moment ago (for a server started next). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Spawns redis-server with `args` and resolves once it logs "Ready to accept connections";
 * rejects (killing it) when it exits first, is missing, or is not ready within `timeoutMs`.
 */
export async function spawnRedisReady(binary: string, args: string[], timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server did not become ready within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (/Ready to accept connections/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new Error(REDIS_MISSING_MESSAGE) : err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited before it was ready (code ${String(code)}, signal ${String(signal)}):\n${output}`));
    });
  });
  return child;
}

async function startOnce(binary: string, port: number, dir: string, timeoutMs: number): Promise<RedisServer> {
  const child = await spawnRedisReady(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'], timeoutMs);
  const pid = child.pid ?? -1;
  // If the test process dies without calling stop(), do not leave the server behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 2_000);
      }
    },
  };
}

/** Starts redis-server; retries on another port if the chosen one was taken meanwhile. */
export async function startRedisServer(opts: { binary?: string; timeoutMs?: number } = {}): Promise<RedisServer> {
  const binary = opts.binary ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const dir = await mkdtemp(path.join(tmpdir(), 'pergunta-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const server = await startOnce(binary, await freePort(), dir, opts.timeoutMs ?? 10_000);
      return {
        ...server,
        async stop() {
          await server.stop();
          await rm(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      if (err instanceof Error && err.message === REDIS_MISSING_MESSAGE) break;
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
