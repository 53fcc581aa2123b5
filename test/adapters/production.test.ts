/**
 * Production runs compiled JavaScript: `npm run build` → dist/, `node dist/adapters/main.js`, and
 * the `pergunta` bin.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { cliEnv, collectOutput } from '../helpers/cli.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';

const ROOT = process.cwd();
const SLOW = 240_000;

let work: string;
let indexDir: string;

beforeAll(async () => {
  // Build (or check) dist/ the way `npm start` does before starting.
  const built = await collectOutput(spawn(process.execPath, ['scripts/build.mjs', '--if-stale'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 'build', SLOW);
  if (built.code !== 0) throw new Error(`build failed:\n${built.stderr}`);
  work = await tempDir('production-');
  indexDir = path.join(work, 'index');
  await runIngest(loadConfig({}, path.join(work, 'no.env')), silentLogger(), SAMPLE_COURSE, indexDir, null);
}, SLOW);

describe('compiled production build', () => {
  it('npm run build emits src/ and adapters/ into dist/ with the same layout', () => {
    for (const file of ['dist/adapters/main.js', 'dist/adapters/discord/index.js', 'dist/adapters/slack/index.js', 'dist/src/cli/ask.js', 'dist/src/core.js']) {
      expect(existsSync(path.join(ROOT, file)), file).toBe(true);
    }
  });

  it('node dist/adapters/main.js with no adapter configured exits 1 with its message', { timeout: SLOW }, async () => {
    const res = await collectOutput(spawn(process.execPath, ['dist/adapters/main.js'], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] }), 'main.js', SLOW);
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
      ...['ingest', 'export', 'evaluate', 'eval:retrieval', 'start'].map((c) => run([c, '--help'])),
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
