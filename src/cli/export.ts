/**
 * `npm run export -- --format jsonl|csv|md [--out FILE] [--since DATE] [--hide-urls]`
 *
 * Exports every recorded answer (oldest first) with its votes, TA annotation and judge verdict.
 * The export goes to stdout, alone, unless `--out` is given (then the file is written
 * atomically); logs and progress go to stderr. `--since` takes `YYYY-MM-DD` (local midnight)
 * or an ISO 8601 date-time; anything else exits with code 2, like any usage error.
 * `--format` may be left out when `--out` ends in `.jsonl`, `.csv` or `.md`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { UsageError } from '../errors.js';
import { csvHeader, csvRow, jsonlLine, markdownEntries, markdownEntry, parseSince, SINCE_HELP, toMarkdown } from '../evaluation/exportRecords.js';
import type { Logger } from '../logger.js';
import { createProgress } from '../progress.js';
import { createFeedbackStore, sqlitePathOf } from '../store/createStore.js';
import type { FullRecord } from '../store/types.js';
import { writeFileAtomic } from './common.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

export type ExportFormat = 'jsonl' | 'csv' | 'md';

/** Exports with at least this many records show progress on stderr. */
const PROGRESS_FROM = 200;

function formatFromPath(file: string | undefined): ExportFormat | undefined {
  const ext = file ? path.extname(file).toLowerCase() : '';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.md' || ext === '.markdown') return 'md';
  return undefined;
}

const program = createProgram('export', 'Export the evaluation records: answers with their segments, votes, TA annotation and judge verdict.')
  .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv', 'md']))
  .option('--out <file>', 'write to this file instead of stdout')
  .option('--since <date>', 'only answers created from this date on (YYYY-MM-DD or ISO 8601)')
  .option('--hide-urls', 'replace every URL with "oculto" (reports shared outside the course)');

interface ExportOptions {
  format?: ExportFormat;
  out?: string;
  since?: string;
  hideUrls?: boolean;
}

function render(records: readonly FullRecord[], format: ExportFormat, hideUrls: boolean, logger: Logger): string {
  const exportOptions = { hideUrls };
  if (format === 'md' && records.length === 0) return toMarkdown(records, exportOptions);
  const progress = records.length >= PROGRESS_FROM ? createProgress('export', records.length, logger) : undefined;
  const parts: string[] = format === 'csv' ? [csvHeader()] : [];
  if (format === 'md') {
    // A conversation's turns are shown together (in turn order), so the report has its own order.
    markdownEntries(records).forEach((entry, i) => {
      parts.push(markdownEntry(entry, i, exportOptions));
      progress?.update(i + 1);
    });
  }
  if (format !== 'md') {
    records.forEach((record, i) => {
      parts.push(format === 'jsonl' ? jsonlLine(record, i + 1, exportOptions) : csvRow(record, i + 1, exportOptions));
      progress?.update(i + 1);
    });
  }
  progress?.stop();
  return parts.join('');
}

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<ExportOptions>();
  const format = opts.format ?? formatFromPath(opts.out);
  if (!format) throw new UsageError('informe o formato com --format jsonl|csv|md');
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  if (opts.since !== undefined && !since) throw new UsageError(`--since: data inválida "${opts.since}" (${SINCE_HELP})`);

  let records: FullRecord[] = [];
  const url = config.STORE_URL;
  if (/^sqlite:/i.test(url) && !existsSync(sqlitePathOf(url))) {
    // Exporting must not create an empty store (nor its salt).
    logger.warn({ file: sqlitePathOf(url) }, 'the feedback store file does not exist yet: nothing has been recorded');
  } else {
    const store = await createFeedbackStore({ url, salt: config.USER_ID_SALT, logger, journalDir: config.STORE_JOURNAL_DIR ?? null });
    try {
      records = await store.listRecords(since ? { since } : {});
    } finally {
      await store.close();
    }
  }
  const content = render(records, format, opts.hideUrls === true, logger);
  if (opts.out) await writeFileAtomic(opts.out, content);
  else await writeOutput(content);
  logger.info({ records: records.length, format, out: opts.out ?? 'stdout', since: since?.toISOString() }, 'export finished');
});
