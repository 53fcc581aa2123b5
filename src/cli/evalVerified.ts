/**
 * `npm run eval:verified -- [--pairs FILE] [--json]`
 *
 * Calibrates the thresholds at which a new question is answered with a TA's verified answer
 * (VERIFIED_MIN_LEXICAL_SIMILARITY, VERIFIED_MIN_SIMILARITY) on labelled question pairs
 * (default: the sample course's `verified-pairs.json`): precision and recall at each threshold,
 * for the lexical similarity and, when the embedding model loads, the dense one, and the
 * threshold with the best F0.5 (src/humanloop/calibration.ts). stdout carries only the report;
 * logs go to stderr. Exit codes: 0 report printed; 1 the pairs cannot be read; 2 invalid option.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadEmbedderOrNull } from '../core.js';
import { EXIT, UserError } from '../errors.js';
import { calibrateThresholds, parsePairs, type MethodCalibration } from '../humanloop/calibration.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

const program = createProgram('eval:verified', 'Calibrate the similarity thresholds of verified answers on labelled question pairs.')
  .option('--pairs <file>', 'JSON array of {verified, asked, same}', 'examples/curso-exemplo/verified-pairs.json')
  .option('--json', 'print one JSON object instead of tables');

/** The pairs file is missing or malformed (exit 1: the invocation is fine, the data is not). */
class PairsUnreadableError extends UserError {
  override readonly name = 'PairsUnreadableError';
  readonly exitCode = EXIT.failure;
}

const pct = (v: number | null) => (v === null ? '—' : v.toFixed(2));

function table(result: MethodCalibration, current: number): string {
  const lines = [
    `### ${result.method === 'lexical' ? 'Lexical (VERIFIED_MIN_LEXICAL_SIMILARITY)' : 'Dense (VERIFIED_MIN_SIMILARITY)'}`,
    '',
    '| threshold | precision | recall | F0.5 | TP | FP |',
    '|---|---|---|---|---|---|',
    ...result.rows
      .filter((r) => Math.round(r.threshold * 100) % 4 === 0 || r === result.best || Math.abs(r.threshold - current) < 1e-9)
      .map((r) => `| ${r.threshold.toFixed(2)}${r === result.best ? ' (best)' : ''}${Math.abs(r.threshold - current) < 1e-9 ? ' (setting)' : ''} | ${pct(r.precision)} | ${pct(r.recall)} | ${r.f05.toFixed(2)} | ${r.truePositives} | ${r.falsePositives} |`),
    '',
  ];
  return lines.join('\n');
}

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ pairs: string; json?: boolean }>();
  const file = path.resolve(opts.pairs);
  let pairs;
  try {
    pairs = parsePairs(JSON.parse(await readFile(file, 'utf8')));
  } catch (err) {
    throw new PairsUnreadableError(`cannot read the question pairs in ${file}: ${(err as Error).message}`);
  }
  const embedder = await loadEmbedderOrNull(config, logger);
  const results = await calibrateThresholds(pairs, embedder);
  if (opts.json) {
    await writeOutput(`${JSON.stringify({ pairs: file, embeddingModel: embedder?.modelId ?? null, results }, null, 2)}\n`);
    return 0;
  }
  const current = { lexical: config.VERIFIED_MIN_LEXICAL_SIMILARITY, dense: config.VERIFIED_MIN_SIMILARITY };
  const parts = [`Verified-answer thresholds on ${pairs.length} pairs (${pairs.filter((p) => p.same).length} that should match), ${file}`, ''];
  for (const result of results) parts.push(table(result, current[result.method]));
  if (!embedder) parts.push('Dense: skipped (the embedding model could not be loaded).', '');
  await writeOutput(`${parts.join('\n')}\n`);
  return 0;
});
