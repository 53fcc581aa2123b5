/**
 * The command-line harness every entry point shares (src/cli/harness.ts), through real child
 * processes: exit codes 0/1/2 for each command's typical mistakes, user errors without a stack,
 * bugs with their stack (decided by class, never by name), quiet broken pipes, and the last log
 * line before an exit.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { startFakeDiscord, type FakeDiscord } from '../fakes/fakeDiscord.js';
import { cliEnv, collectOutput, runCli, runCliWithStdoutClosed, type CliResult } from '../helpers/cli.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { newAnswer } from '../helpers/records.js';
import { describeWith } from '../helpers/services.js';

const STACK_LINE = /\n\s+at /;
/** Several tsx children at once on a shared CPU. */
const SLOW = 180_000;

let work: string;
let indexDir: string;
let discord: FakeDiscord;

beforeAll(async () => {
  work = await tempDir('cli-harness-');
  indexDir = path.join(work, 'index');
  await runIngest(loadConfig({}, path.join(work, 'no.env')), silentLogger(), SAMPLE_COURSE, indexDir, null);
  discord = await startFakeDiscord({ token: 'harness-bot-token' });
});
afterAll(async () => {
  await discord?.close();
});

const CHILD_TIMEOUT = 150_000;
const run = (script: string, args: string[], vars: Record<string, string>) => runCli(script, args, vars, process.cwd(), CHILD_TIMEOUT);
const runClosed = (script: string, args: string[], vars: Record<string, string>) => runCliWithStdoutClosed(script, args, vars, process.cwd(), CHILD_TIMEOUT);

/** Settings every run gets: the prebuilt index, no model download, an empty store. */
function env(extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv({ INDEX_DIR: indexDir, MODEL_CACHE_DIR: path.join(work, 'models'), STORE_URL: 'memory://', ...extra });
}

/** A usage error: exit 2, a message, no stack, nothing on stdout. */
function expectUsageError(res: CliResult, message: RegExp | string): void {
  expect(res.code, res.stderr).toBe(2);
  expect(res.stdout).toBe('');
  if (typeof message === 'string') expect(res.stderr).toContain(message);
  else expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(STACK_LINE);
}

describe('exit codes: 2 for invalid input or settings', () => {
  it('ask: --k out of range, no question, an unknown option, a broken setting', { timeout: SLOW }, async () => {
    const [k0, none, unknown, setting] = await Promise.all([
      run('src/cli/ask.ts', ['--k', '0', 'x'], env()),
      run('src/cli/ask.ts', [], env()),
      run('src/cli/ask.ts', ['--kk', '3', 'x'], env()),
      run('src/cli/ask.ts', ['x'], env({ HNSW_EF: 'muito' })),
    ]);
    expectUsageError(k0, /--k.*expected a whole number from 1 to 50/);
    expectUsageError(none, /missing required argument 'question'/);
    expectUsageError(unknown, /unknown option '--kk'/);
    expectUsageError(setting, 'HNSW_EF');
  });

  it('ingest, export, evaluate, eval:retrieval and start refuse their typical mistakes with 2', { timeout: SLOW }, async () => {
    const [noSource, badFormat, noFormat, badStore, badLimit, evalUnknown, startUnknown, startSetting] = await Promise.all([
      run('src/cli/ingest.ts', [], env()),
      run('src/cli/export.ts', ['--format', 'xlsx'], env()),
      run('src/cli/export.ts', [], env()),
      run('src/cli/export.ts', ['--format', 'jsonl'], env({ STORE_URL: 'ftp://example/store' })),
      run('src/cli/evaluate.ts', ['--limit', '0'], env({ OPENAI_API_KEY: 'sk-harness-1234' })),
      run('src/cli/evalRetrieval.ts', ['--sources', 'x'], env()),
      run('adapters/main.ts', ['--verbose'], env()),
      run('adapters/main.ts', [], env({ PORT: 'oitenta' })),
    ]);
    expectUsageError(noSource, "required option '--source <dir>' not specified");
    expectUsageError(badFormat, /argument 'xlsx' is invalid.*jsonl, csv, md/);
    expectUsageError(noFormat, 'informe o formato com --format jsonl|csv|md');
    expectUsageError(badStore, 'unsupported STORE_URL scheme "ftp:"');
    expectUsageError(badLimit, 'use um número inteiro maior que zero');
    expectUsageError(evalUnknown, /unknown option '--sources'/);
    expectUsageError(startUnknown, /unknown option '--verbose'/);
    expectUsageError(startSetting, 'PORT');
  });

  it('discord:register: a missing token is a setting to fix (2); a token Discord refuses is a failure (1)', { timeout: SLOW }, async () => {
    const [missing, refused, ok] = await Promise.all([
      run('adapters/discord/register.ts', [], env({ DISCORD_API_URL: discord.apiUrl })),
      run('adapters/discord/register.ts', [], env({ DISCORD_TOKEN: 'wrong-token', DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl })),
      run('adapters/discord/register.ts', [], env({ DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl })),
    ]);
    expectUsageError(missing, 'DISCORD_TOKEN and DISCORD_APPLICATION_ID must be set');
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stderr).toContain('rejected DISCORD_TOKEN (401)');
    expect(refused.stderr).not.toMatch(STACK_LINE);
    expect(refused.stderr).not.toContain('wrong-token');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('registered /pergunta');
  });
});

describe('exit codes: 0 for help, 1 for failures the user can act on', () => {
  it('--help prints the usage on stdout and exits 0, for every command', { timeout: SLOW }, async () => {
    const scripts = ['src/cli/ask.ts', 'src/cli/ingest.ts', 'src/cli/export.ts', 'src/cli/evaluate.ts', 'src/cli/evalRetrieval.ts', 'adapters/main.ts', 'adapters/discord/register.ts'];
    // Even with a broken setting: reading the help must not need valid settings.
    const runs = await Promise.all(scripts.map((s) => run(s, ['--help'], env({ PORT: 'oitenta' }))));
    runs.forEach((res, i) => {
      expect(res.code, `${scripts[i]}: ${res.stderr}`).toBe(0);
      expect(res.stdout).toMatch(/^Usage: \S+ /);
      expect(res.stderr).toBe('');
    });
  });

  it('a missing index, an unreachable store and a missing course exit 1 with a message, not a stack', { timeout: SLOW }, async () => {
    const [noIndex, noStore, noCourse] = await Promise.all([
      run('src/cli/evalRetrieval.ts', ['--index', path.join(work, 'no-index')], env()),
      run('src/cli/export.ts', ['--format', 'jsonl'], env({ STORE_URL: 'redis://127.0.0.1:1' })),
      run('src/cli/ingest.ts', ['--source', path.join(work, 'no-course')], env({ INDEX_DIR: path.join(work, 'other-index') })),
    ]);
    for (const res of [noIndex, noStore, noCourse]) {
      expect(res.code, res.stderr).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).not.toMatch(STACK_LINE);
    }
    expect(noIndex.stderr).toContain('npm run ingest');
    expect(noStore.stderr).toContain('feedback store unavailable');
    expect(noCourse.stderr).toContain('does not exist');
  });
});

describe('user errors are decided by class, never by name', () => {
  let script: string;
  beforeAll(async () => {
    const dir = path.join(work, 'planted');
    await mkdir(dir, { recursive: true });
    script = path.join(dir, 'planted.ts');
    const harness = pathToFileURL(path.resolve('src/cli/harness.ts')).href;
    const errors = pathToFileURL(path.resolve('src/errors.ts')).href;
    await writeFile(
      script,
      `import { createProgram, runProgram } from '${harness}';
import { EXIT, UserError } from '${errors}';
class CourseFolderGone extends UserError { readonly exitCode = EXIT.failure; }
class LooksLikeAUserError extends Error { override name = 'ManifestError'; }
const program = createProgram('planted', 'throws what it is told').argument('<kind>');
void runProgram(program, async () => {
  const kind = program.args[0];
  if (kind === 'user') throw new CourseFolderGone('the course folder is gone: check --source');
  if (kind === 'named') throw new LooksLikeAUserError('named like a user error, but a bug');
  if (kind === 'type') return (globalThis as unknown as { notDefined: { x: number } }).notDefined.x;
  // A bug: a name that does not exist (a ReferenceError: its name ends in "Error" too).
  return notDefinedAnywhere.x;
});
`,
    );
  });

  it('a UserError prints its message only; a ReferenceError, a TypeError and an Error named like a user error keep their stack', { timeout: SLOW }, async () => {
    const [user, bug, typeBug, named] = await Promise.all([
      run(script, ['user'], env()),
      run(script, ['reference'], env()),
      run(script, ['type'], env()),
      run(script, ['named'], env()),
    ]);
    expect(user.code).toBe(1);
    expect(user.stderr).toContain('the course folder is gone: check --source');
    expect(user.stderr).not.toMatch(STACK_LINE);

    expect(bug.code).toBe(1);
    expect(bug.stderr).toContain('ReferenceError: notDefinedAnywhere is not defined');
    expect(bug.stderr).toMatch(STACK_LINE);

    expect(typeBug.code).toBe(1);
    expect(typeBug.stderr).toMatch(/TypeError: Cannot read properties of undefined/);
    expect(typeBug.stderr).toMatch(STACK_LINE);

    expect(named.code).toBe(1);
    expect(named.stderr).toContain('named like a user error, but a bug');
    expect(named.stderr).toMatch(STACK_LINE);
  });
});

describe('broken pipes end quietly', () => {
  it('ask --json, export and --help whose stdout reader has left exit 0 with no EPIPE stack', { timeout: SLOW }, async () => {
    const runs = await Promise.all([
      runClosed('src/cli/ask.ts', ['--json', 'O que é dropout?'], env()),
      runClosed('src/cli/ask.ts', ['O que é dropout?'], env()),
      runClosed('src/cli/export.ts', ['--format', 'md'], env()),
      runClosed('src/cli/export.ts', ['--help'], env()),
    ]);
    for (const res of runs) {
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).not.toContain('EPIPE');
      expect(res.stderr).not.toMatch(STACK_LINE);
    }
    // The export still ran to its end.
    expect(runs[2]!.stderr).toContain('export finished');
  });

  it('export | head -n 1: the reader leaves after the first line of a long export; exit 0, no EPIPE, no stack', { timeout: SLOW }, async () => {
    // Far more than a pipe buffer, so the export is still writing when the reader leaves.
    const storeUrl = `sqlite://${path.join(work, 'head', 'store.sqlite')}`;
    const store = await createFeedbackStore({ url: storeUrl, salt: 'sal', logger: silentLogger() });
    for (let i = 0; i < 300; i++) await store.recordAnswer(newAnswer({ answer: `resposta ${i} `.repeat(200) }), { platform: 'cli', channel: null, rawUserId: 'u' });
    await store.close();
    for (const format of ['jsonl', 'csv', 'md']) {
      const child = spawn(path.resolve('node_modules/.bin/tsx'), [path.resolve('src/cli/export.ts'), '--format', format], {
        env: env({ STORE_URL: storeUrl, LOG_LEVEL: 'info' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let firstLine = '';
      child.stdout.on('data', (chunk: Buffer) => {
        if (firstLine !== '') return;
        firstLine = chunk.toString().split('\n')[0] ?? '';
        child.stdout.destroy(); // `head -n 1` has what it wanted and exits
      });
      const res = await collectOutput(child, `export --format ${format}`, CHILD_TIMEOUT);
      expect(firstLine.length, format).toBeGreaterThan(0);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).not.toContain('EPIPE');
      expect(res.stderr).not.toMatch(STACK_LINE);
      expect(res.stderr).toContain('export finished');
    }
  });
});

describe('logs', () => {
  it('the last pretty line before process.exit reaches stderr (no worker thread to lose it)', { timeout: SLOW }, async () => {
    const script = path.join(work, 'last-words.ts');
    const logger = pathToFileURL(path.resolve('src/logger.ts')).href;
    await writeFile(
      script,
      `import { createLogger } from '${logger}';
const log = createLogger({ format: 'pretty' });
for (let i = 0; i < 200; i++) log.info({ i }, 'filler line');
log.warn('last words before exit');
process.exit(3);
`,
    );
    const res = await run(script, [], env());
    expect(res.code).toBe(3);
    const lines = res.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(201);
    expect(lines.at(-1)).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: last words before exit$/);
  });
});

describeWith('pty')('logs on a terminal', () => {
  it('npm run ask on a terminal prints readable log lines, not JSON', { timeout: SLOW }, async () => {
    // `script` gives the command a pseudo-terminal, as a person's terminal does, through npm and tsx.
    const vars = env({ LOG_FORMAT: '', TERM: 'xterm-256color' });
    const child = spawn('script', ['-qec', 'npm run -s ask -- "O que é dropout?"', '/dev/null'], { cwd: process.cwd(), env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
    const res = await collectOutput(child, 'script', CHILD_TIMEOUT);
    // eslint-disable-next-line no-control-regex
    const text = res.stdout.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    expect(res.code, text).toBe(0);
    expect(text).toMatch(/\[\d\d:\d\d:\d\d\] INFO: answer core ready/);
    expect(text).not.toContain('"level":');
    expect(text).toContain('Trechos das aulas:');
  });
});
