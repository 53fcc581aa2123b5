/**
 * Stop when the npm process that launched us dies.
 *
 * `npm start` runs the bot as npm → sh → node. A supervisor that kills npm's pid with SIGKILL
 * (or an OOM kill of npm) leaves sh and the bot running, still connected to Discord and Slack, and
 * the supervisor then starts a second bot beside it. SIGTERM is forwarded by npm; SIGKILL cannot
 * be. So, when launched by npm (`npm_lifecycle_event` is set), the bot checks every second that
 * npm is still there: its parent changed (npm itself was the parent), or its parent's parent
 * changed (the parent is the shell npm ran the script with). Either means npm is gone.
 *
 * Not used when the bot is started directly (`node dist/adapters/main.js`, the production command
 * in docs/deploy.md): then the supervisor's pid is the bot, and `nohup node …` must keep running
 * after its shell exits.
 */
import { readFileSync } from 'node:fs';

export interface LauncherWatchOptions {
  env?: NodeJS.ProcessEnv;
  intervalMs?: number;
  /** The current parent pid (tests). */
  ppid?: () => number;
  /** The parent pid of `pid`, or null when unknown (no /proc, process gone). */
  parentOf?: (pid: number) => number | null;
  /** The executable name of `pid` (e.g. `sh`), or null when unknown. */
  commandOf?: (pid: number) => string | null;
}

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'ksh', 'busybox']);

/**
 * Calls `onGone` once when the npm process that launched this one is gone; returns a function that
 * stops watching. Does nothing (and returns a no-op) when not launched by npm.
 */
export function watchLauncher(onGone: (reason: string) => void, options: LauncherWatchOptions = {}): () => void {
  const env = options.env ?? process.env;
  if (!env.npm_lifecycle_event) return () => undefined;
  const ppid = options.ppid ?? (() => process.ppid);
  const parentOf = options.parentOf ?? procParentOf;
  const commandOf = options.commandOf ?? procCommandOf;

  const parent = ppid();
  if (parent <= 1) return () => undefined; // already orphaned: nothing to watch
  const parentCommand = commandOf(parent);
  // npm → sh → node: npm is the grandparent. (A shell that execs its last command leaves npm → node.)
  const npm = parentCommand !== null && SHELLS.has(parentCommand) ? parentOf(parent) : parent;

  const timer = setInterval(() => {
    let reason: string | null = null;
    if (ppid() !== parent) reason = `the process that started the bot (pid ${parent}) is gone`;
    else if (npm !== null && npm !== parent && parentOf(parent) !== npm) reason = `npm (pid ${npm}), which started the bot, is gone`;
    if (reason) {
      clearInterval(timer);
      onGone(reason);
    }
  }, options.intervalMs ?? 1_000);
  timer.unref();
  return () => clearInterval(timer);
}

/** Linux: field 4 of /proc/<pid>/stat. */
function procParentOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    return Number.isInteger(ppid) ? ppid : null;
  } catch {
    return null;
  }
}

function procCommandOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}
