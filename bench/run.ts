/**
 * `npm run bench -- [--sizes 1000,10000,100000] [--quick] [--million] [--no-peer] [--no-rss]
 *                   [--no-ingest] [--no-raw-build] [--no-user-facing] [--out FILE] [--keep]`
 *
 * What users feel of the whole bot (first streamed words, memory of npm start, re-ingest), then
 * speed, memory and recall of the retrieval core on synthetic corpora (and the sample course),
 * side by side with raw hnswlib-node and LangChain.js measured in the same run. Prints Markdown
 * tables on stdout (progress on stderr) and writes the full result to bench/results/latest.json.
 * LangChain.js lives in bench/peer/ and is installed there on first use (`--no-peer` skips it).
 * Timings belong here, never in unit tests. See bench/README.md.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { createProgram, runProgram, writeOutput } from '../src/cli/harness.js';
import { EXIT } from '../src/errors.js';
import { runBench } from './lib/bench.js';
import { ensurePeerInstalled } from './lib/peerLoader.js';
import { renderReport } from './lib/report.js';

function parseSizes(value: string): number[] {
  const sizes = value.split(',').map((s) => Number(s.trim().replace(/_/g, '').replace(/k$/i, '000')));
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 100 || s > 5_000_000)) {
    throw new InvalidArgumentError('expected comma-separated window counts between 100 and 5000000, e.g. 1000,10000,100000');
  }
  return sizes;
}

const program = createProgram('bench', 'Benchmark build time, latency, recall, memory and disk of the retrieval core.')
  .option('--sizes <list>', 'synthetic corpus sizes (windows)', parseSizes)
  .option('--quick', 'fewer queries and shorter time budgets; default sizes 1000,10000')
  .option('--million', 'only the 1M-window save/load check (slow: ~20 min); combine with --sizes to run both')
  .option('--million-size <n>', 'windows for --million', (v) => parseSizes(v)[0]!, 1_000_000)
  .option('--no-peer', 'skip LangChain.js')
  .option('--no-rss', 'skip the RSS child processes')
  .option('--no-ingest', 'skip the incremental add through ingestCourse')
  .option('--no-raw-build', 'never build raw hnswlib-node (its query latency is still measured, on our graph)')
  .option('--raw-build-max <n>', 'build raw hnswlib-node only up to this many windows', (v) => parseSizes(v)[0]!, 10_000)
  .option('--no-real-course', 'skip the sample-course lexical benchmark')
  .option('--no-user-facing', 'skip "What users feel" (npm start with the fake Discord, its memory, a re-ingest)')
  .option('--course <dir>', 'course whose vocabulary and questions are used', 'examples/curso-exemplo')
  .option('--out <file>', 'JSON result file', 'bench/results/latest.json')
  .option('--work-dir <dir>', 'where indexes are written (default: a temporary folder, removed afterwards)')
  .option('--keep', 'keep the temporary folder');

interface BenchCliOptions {
  sizes?: number[];
  quick?: boolean;
  million?: boolean;
  millionSize: number;
  peer: boolean;
  rss: boolean;
  ingest: boolean;
  rawBuild: boolean;
  rawBuildMax: number;
  realCourse: boolean;
  userFacing: boolean;
  course: string;
  out: string;
  workDir?: string;
  keep?: boolean;
}

await runProgram(program, async () => {
  const opts = program.opts<BenchCliOptions>();
  const quick = Boolean(opts.quick);
  const millionOnly = Boolean(opts.million) && !opts.sizes;
  const sizes = millionOnly ? [] : (opts.sizes ?? (quick ? [1000, 10_000] : [1000, 10_000, 100_000]));
  const started = Date.now();
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} +${Math.round((Date.now() - started) / 1000)}s ${msg}\n`);
  const peerMissing = opts.peer ? ensurePeerInstalled(log) : null;
  if (peerMissing) log(peerMissing);

  const result = await runBench({
    sizes,
    quick,
    million: Boolean(opts.million),
    millionSize: opts.millionSize,
    peer: opts.peer,
    rss: opts.rss,
    ingest: opts.ingest,
    rawBuild: opts.rawBuild,
    rawBuildMax: opts.rawBuildMax,
    realCourse: opts.realCourse && !millionOnly,
    e5: !millionOnly,
    userFacing: opts.userFacing && !millionOnly,
    courseDir: opts.course,
    ...(opts.workDir ? { workDir: opts.workDir } : {}),
    keep: Boolean(opts.keep),
    log,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
  });
  await writeOutput(renderReport(result));
  const out = path.resolve(opts.out);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${path.relative(process.cwd(), out)}`);
  return EXIT.ok;
});
