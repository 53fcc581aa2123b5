/** Runs a CLI entry point as a child process, the way `npm run <script>` does. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const TSX = path.resolve('node_modules/.bin/tsx');

/**
 * Environment for a CLI child: no inherited project settings (a developer's .env or shell must
 * not leak in), never any network, quiet JSON logs.
 */
export function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    EMBEDDING_OFFLINE: 'true',
    LOG_FORMAT: 'json',
    ...extra,
  };
}

export function runCli(script: string, args: string[], env: Record<string, string>, cwd = process.cwd(), timeoutMs = 60_000): Promise<CliResult> {
  return collectOutput(spawn(TSX, [path.resolve(script), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }), script, timeoutMs);
}

/**
 * Like `runCli`, with stdout read by a reader that leaves before the command writes (`… | head`):
 * the pipe's read end is closed at once, so every write the command makes to stdout meets EPIPE.
 * `stdout` of the result is therefore always empty.
 */
export function runCliWithStdoutClosed(script: string, args: string[], env: Record<string, string>, cwd = process.cwd(), timeoutMs = 60_000): Promise<CliResult> {
  const child = spawn(TSX, [path.resolve(script), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  return collectOutput(child, script, timeoutMs);
}

/** The child's exit code and whole output; killed (and rejected) after `timeoutMs`. */
export function collectOutput(child: ChildProcess, script: string, timeoutMs: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not finish in ${timeoutMs} ms\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
