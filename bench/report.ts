/**
 * `npm run bench:report -- [--records 100000] [--segment-chars 1500] [--work-dir DIR] [--keep]`
 *
 * The staff report over a large store: generates records (test/helpers/insightsData.ts: five
 * retrieved segments of `--segment-chars` characters each, votes, TA labels, judge verdicts,
 * conversations) into a SQLite store, then runs `npm run report` on it as a child process, the
 * way an admin does, and reads the time and peak memory it logs ("report written": ms and
 * maxRssMiB, from the process's own resource usage). Goal: 100,000 records in ≤ 15 s and
 * ≤ 1 GB RSS. Prints a Markdown table on stdout; progress on stderr.
 *
 * The records are written in transactions straight through keyv (the format the store reads),
 * because writing 100,000 answers one by one with a sync per write would take longer than the
 * report being measured.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import { createProgram, runProgram, writeOutput } from '../src/cli/harness.js';
import { EXIT } from '../src/errors.js';
import { STORE_NAMESPACE, storeKeys } from '../src/store/keyvStore.js';
import { generateActivity } from '../test/helpers/insightsData.js';

const GOAL_MS = 15_000;
const GOAL_RSS_MIB = 1024;

const program = createProgram('bench:report', 'Time and memory of npm run report over a large generated store.')
  .option('--records <n>', 'answers in the store', (v) => Number(v), 100_000)
  .option('--segment-chars <n>', 'transcript characters per retrieved segment (5 per answer)', (v) => Number(v), 1500)
  .option('--work-dir <dir>', 'where the store and the report are written (default: a temporary folder)')
  .option('--keep', 'keep the store and the report');

interface Options {
  records: number;
  segmentChars: number;
  workDir?: string;
  keep?: boolean;
}

async function fillStore(file: string, options: Options, log: (m: string) => void): Promise<void> {
  const adapter = new KeyvSqlite({ uri: `sqlite://${file}` });
  const keyv = new Keyv({ store: adapter, namespace: STORE_NAMESPACE, throwOnErrors: true });
  await adapter.query('PRAGMA journal_mode=WAL');
  await adapter.query('PRAGMA synchronous=OFF');
  await keyv.set(storeKeys.salt, 'sal-do-benchmark-de-relatorio');
  const end = new Date();
  let n = 0;
  await adapter.query('BEGIN');
  for (const item of generateActivity({ count: options.records, end, days: 120, segmentChars: options.segmentChars })) {
    await keyv.set(storeKeys.answer(item.answer.id), item.answer);
    for (const vote of item.votes) await keyv.set(storeKeys.vote(vote.answerId, vote.user), vote);
    if (item.annotation) {
      await keyv.set(storeKeys.annotation(item.annotation.answerId), item.annotation);
      await keyv.set(storeKeys.annotationHistory(item.annotation.answerId, item.annotation.at, item.annotation.annotator), item.annotation);
    }
    if (item.judge) await keyv.set(storeKeys.judge(item.judge.answerId), item.judge);
    if (++n % 10_000 === 0) {
      await adapter.query('COMMIT');
      log(`generated ${n} records`);
      await adapter.query('BEGIN');
    }
  }
  await adapter.query('COMMIT');
  await keyv.disconnect();
}

function runReport(env: Record<string, string>, out: string): Promise<{ code: number | null; stderr: string; wallMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(path.resolve('node_modules/.bin/tsx'), [path.resolve('src/cli/report.ts'), '--out', out, '--lexical'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, wallMs: Date.now() - started }));
  });
}

await runProgram(program, async () => {
  const opts = program.opts<Options>();
  const started = Date.now();
  const log = (m: string) => process.stderr.write(`+${Math.round((Date.now() - started) / 1000)}s ${m}\n`);
  const work = opts.workDir ? path.resolve(opts.workDir) : await mkdtemp(path.join(tmpdir(), 'pergunta-bench-report-'));
  await mkdir(work, { recursive: true });
  try {
    const file = path.join(work, 'store.sqlite');
    await rm(file, { force: true });
    log(`writing ${opts.records} records (${opts.segmentChars} characters per segment) to ${file}`);
    await fillStore(file, opts, log);
    const bytes = (await stat(file)).size;
    log(`store: ${(bytes / 2 ** 20).toFixed(0)} MiB; running npm run report`);
    const out = path.join(work, 'relatorio.html');
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      STORE_URL: `sqlite://${file}`,
      USER_ID_SALT: 'sal-do-benchmark-de-relatorio',
      INDEX_DIR: path.join(work, 'no-index'),
      LOG_FORMAT: 'json',
      EMBEDDING_OFFLINE: 'true',
    };
    const run = await runReport(env, out);
    if (run.code !== 0) throw new Error(`npm run report failed (exit ${run.code}):\n${run.stderr}`);
    const done = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.msg === 'report written');
    if (!done) throw new Error(`npm run report did not log "report written":\n${run.stderr}`);
    const ms = Number(done.ms);
    const rss = Number(done.maxRssMiB);
    const html = (await stat(out)).size;
    const rows = [
      ['records in the store', String(done.records)],
      ['store file', `${(bytes / 2 ** 20).toFixed(0)} MiB`],
      ['report time (read, aggregate, group gaps, render, write)', `${(ms / 1000).toFixed(1)} s (process wall time incl. start-up ${(run.wallMs / 1000).toFixed(1)} s)`],
      ['peak RSS of the report process', `${rss} MiB`],
      ['report file', `${(html / 2 ** 20).toFixed(1)} MiB, ${done.gapGroups} gap groups (${done.gapMethod})`],
      ['goal', `≤ ${GOAL_MS / 1000} s and ≤ ${GOAL_RSS_MIB} MiB: ${ms <= GOAL_MS && rss <= GOAL_RSS_MIB ? 'met' : 'NOT met'}`],
    ];
    await writeOutput(`| what | value |\n|---|---|\n${rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n')}\n`);
    return EXIT.ok;
  } finally {
    if (!opts.keep && !opts.workDir) await rm(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
});
