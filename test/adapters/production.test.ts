/**
 * Production runs compiled JavaScript: `npm run build` → dist/, the command from docs/deploy.md
 * (`node dist/adapters/main.js`), `npm start`, and the `pergunta` bin. Killing the process a
 * supervisor started (SIGKILL, no chance to clean up) must leave no bot running: for the deploy
 * command the supervisor's pid is the bot; under `npm start` the bot notices that npm is gone.
 * The bot runs the Slack adapter in HTTP mode against the fake Slack, so that it holds a port
 * whose release shows that it is gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { startFakeSlack, type FakeSlack } from '../fakes/fakeSlack.js';
import { cliEnv, collectOutput } from '../helpers/cli.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { freePort } from '../helpers/redisServer.js';

const ROOT = process.cwd();
const SLOW = 240_000;

/** The ExecStart line of the systemd unit in docs/deploy.md, as [program, ...args]. */
function deployCommand(): string[] {
  const doc = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
  const line = /^ExecStart=(.+)$/m.exec(doc)?.[1];
  if (!line) throw new Error('docs/deploy.md has no ExecStart= line');
  return line.trim().split(/\s+/);
}

let slack: FakeSlack;
let work: string;
let indexDir: string;

beforeAll(async () => {
  // Build (or check) dist/ the way `npm start` does before starting.
  const built = await collectOutput(spawn(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 'build', SLOW);
  if (built.code !== 0) throw new Error(`build failed:\n${built.stderr}`);
  work = await tempDir('production-');
  indexDir = path.join(work, 'index');
  await runIngest(loadConfig({}, path.join(work, 'no.env')), silentLogger(), SAMPLE_COURSE, indexDir, null);
  slack = await startFakeSlack();
}, SLOW);
afterAll(async () => {
  await slack?.close();
});

function slackHttpEnv(port: number): Record<string, string> {
  return cliEnv({
    INDEX_DIR: indexDir,
    MODEL_CACHE_DIR: path.join(work, 'models'),
    STORE_URL: `sqlite://${path.join(work, `store-${port}.sqlite`)}`,
    USER_ID_SALT: 'production-test-salt',
    SLACK_BOT_TOKEN: 'xoxb-production-test',
    SLACK_SIGNING_SECRET: 'production-signing-secret',
    SLACK_API_URL: slack.apiUrl,
    PORT: String(port),
  });
}

/** Whether something accepts connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(200);
  }
}

/** Running (a zombie waiting to be reaped counts as gone). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of every process below `pid` (Linux /proc), so that a test can clean up what it started. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** A long-running child whose stdout+stderr are collected. */
function start(command: string, args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

describe('compiled production build', () => {
  it('npm run build emits src/ and adapters/ into dist/ with the same layout', () => {
    for (const file of ['dist/adapters/main.js', 'dist/adapters/discord/index.js', 'dist/adapters/slack/index.js', 'dist/src/cli/ask.js', 'dist/src/core.js']) {
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
  });

  it('node dist/adapters/main.js with no adapter configured exits 1 with its message', { timeout: SLOW }, async () => {
    const [node, ...args] = deployCommand();
    expect(path.basename(node!)).toBe('node');
    const res = await collectOutput(spawn(process.execPath, args, { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] }), 'main.js', SLOW);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('No chat adapter is configured');
    expect(res.stderr).toContain('.env.example');
  });

  it('the pergunta bin runs the compiled commands: clean JSON on stdout, --help for each', { timeout: SLOW }, async () => {
    const env = cliEnv({ INDEX_DIR: indexDir, MODEL_CACHE_DIR: path.join(work, 'models') });
    const bin = path.join(ROOT, 'bin/pergunta.js');
    const run = (args: string[]) => collectOutput(spawn(process.execPath, [bin, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }), 'pergunta', SLOW);
    const [ask, ...helps] = await Promise.all([
      run(['ask', '--json', 'O que é dropout?']),
      ...['ingest', 'export', 'evaluate', 'eval:retrieval', 'eval:answers', 'start'].map((c) => run([c, '--help'])),
    ]);
    expect(ask.code, ask.stderr).toBe(0);
    const answer = JSON.parse(ask.stdout) as { kind: string; references: unknown[] };
    expect(answer.kind).toBe('extractive');
    expect(answer.references.length).toBeGreaterThan(0);
    for (const help of helps) {
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^Usage: \S+ \[options\]/);
    }
    const unknown = await run(['serve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'serve'");
  });
});

describe('killing what the supervisor started stops the bot', () => {
  it('the deploy command (node dist/adapters/main.js): kill -9 of its pid frees the port', { timeout: SLOW }, async () => {
    const port = await freePort();
    const [, ...args] = deployCommand();
    const bot = start(process.execPath, args, slackHttpEnv(port));
    try {
      expect(await waitUntil(() => /pergunta is running/.test(bot.output()) || bot.child.exitCode !== null, 120_000), bot.output()).toBe(true);
      expect(await listening(port), bot.output()).toBe(true);
      bot.child.kill('SIGKILL');
      expect(await waitUntil(async () => !(await listening(port)), 5_000)).toBe(true);
      expect(await waitUntil(() => exited(bot.child), 5_000)).toBe(true); // reaped
      expect(pidAlive(bot.child.pid!)).toBe(false);
    } finally {
      bot.child.kill('SIGKILL');
    }
  });

  it('npm start: kill -9 of npm’s pid stops the bot cleanly within seconds', { timeout: SLOW }, async () => {
    const port = await freePort();
    const npm = start('npm', ['start'], slackHttpEnv(port));
    let below: number[] = [];
    try {
      expect(await waitUntil(() => /pergunta is running/.test(npm.output()) || npm.child.exitCode !== null, 120_000), npm.output()).toBe(true);
      expect(await listening(port), npm.output()).toBe(true);
      below = descendants(npm.child.pid!); // sh and the bot
      expect(below.length).toBeGreaterThan(0);
      npm.child.kill('SIGKILL');
      // The bot checks once a second; give it a few seconds on a busy machine.
      expect(await waitUntil(async () => !(await listening(port)), 10_000), npm.output()).toBe(true);
      // It stopped through its own shutdown path (store closed), not by a signal.
      expect(await waitUntil(() => /"msg":"stopped"/.test(npm.output()), 10_000), npm.output()).toBe(true);
      expect(npm.output()).toMatch(/npm \(pid \d+\), which started the bot, is gone: stopping|the process that started the bot \(pid \d+\) is gone: stopping/);
      expect(await waitUntil(() => below.every((pid) => !pidAlive(pid)), 10_000)).toBe(true);
    } finally {
      npm.child.kill('SIGKILL');
      // Whatever this test started and is still there (only if the assertions above failed).
      for (const pid of below) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
