/**
 * Child processes for the fault tests, run at low CPU priority (nice 15). The machine is small
 * and shared: the CLI processes these tests spawn (ingests killed midway, `ask`, `npm start`)
 * must not starve the load tests that run at the same time, whose protocol deadlines (3 s) are
 * real.
 *
 * Runs `node --import tsx <script>` directly (not the `tsx` binary, which is a wrapper around a
 * second process: a signal sent to it would not reach the script, and its priority would not be
 * the script's).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { setPriority } from 'node:os';
import path from 'node:path';
import { collectOutput, type CliResult } from './cli.js';

export const LOW_PRIORITY = 15;

/** Spawns a TypeScript entry point at low priority; stdio as given (default: ignore, pipe, pipe). */
export function spawnTsLowPriority(script: string, args: string[], env: Record<string, string>, options: SpawnOptions = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options, env });
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, LOW_PRIORITY);
    } catch {
      // Not permitted here: it still runs, at normal priority.
    }
  }
  return child;
}

/** Like test/helpers/cli.ts `runCli`, at low priority. */
export function runCliLowPriority(script: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return collectOutput(spawnTsLowPriority(script, args, env), script, timeoutMs);
}
