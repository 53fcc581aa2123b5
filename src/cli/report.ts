/**
 * `npm run report -- [--out relatorio.html] [--since DATE] [--hide-urls] [--index DIR] [--lexical]`
 *
 * The staff report (docs/insights.md): one self-contained HTML file, pt-BR, with charts drawn at
 * build time — questions over time, quality, judge scores and agreement, the confusion heatmap
 * on each lecture's timeline, coverage gaps, per-lecture figures, open escalations. The store is
 * read streaming (a report over 100,000 records holds none of them whole). Lectures (titles,
 * lengths, links) come from the index when there is one. Coverage gaps are grouped with the
 * embedding model when it loads (`--lexical`: by their words, without loading it).
 * The file is written whole or not at all; logs go to stderr.
 */
import path from 'node:path';
import { loadEmbedderOrNull } from '../core.js';
import { UsageError } from '../errors.js';
import { parseSince, SINCE_HELP } from '../evaluation/exportRecords.js';
import { collectInsights } from '../insights/collect.js';
import { renderReportHtml } from '../insights/html.js';
import { loadLectureCatalog } from '../insights/lectures.js';
import { openStoreForInsights } from '../insights/openStore.js';
import { writeFileAtomic } from './common.js';
import { createProgram, runProgram } from './harness.js';

const program = createProgram('report', 'Write the staff report: one self-contained HTML file with charts, the confusion heatmap and coverage gaps.')
  .option('--out <file>', 'where to write the report', 'relatorio.html')
  .option('--since <date>', 'only questions from this date on (YYYY-MM-DD or ISO 8601)')
  .option('--hide-urls', 'no links and no URLs in the report (for sharing outside the course)')
  .option('--index <dir>', 'index folder the lectures are read from (default: INDEX_DIR)')
  .option('--lexical', 'group coverage gaps by their words, without loading the embedding model');

interface ReportOptions {
  out: string;
  since?: string;
  hideUrls?: boolean;
  index?: string;
  lexical?: boolean;
}

void runProgram(program, async ({ config, logger }) => {
  const started = Date.now();
  const opts = program.opts<ReportOptions>();
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  if (opts.since !== undefined && !since) throw new UsageError(`--since: data inválida "${opts.since}" (${SINCE_HELP})`);
  if (path.extname(opts.out).toLowerCase() !== '.html' && path.extname(opts.out).toLowerCase() !== '.htm') {
    logger.warn({ out: opts.out }, 'the report is HTML: a name ending in .html opens in a browser with a double click');
  }

  const indexDir = opts.index ?? config.INDEX_DIR;
  const lectures = await loadLectureCatalog(indexDir);
  if (!lectures) logger.warn({ index: indexDir }, 'no index here: lectures are shown as the records cite them (titles, and lengths up to the last second cited)');

  const store = await openStoreForInsights(config, logger);
  let records = 0;
  try {
    const report = await collectInsights(store.source, {
      now: new Date(),
      ...(since ? { since } : {}),
      timeZone: config.COURSE_TIMEZONE,
      lectures,
      hideUrls: opts.hideUrls === true,
      embedder: opts.lexical ? null : () => loadEmbedderOrNull(config, logger),
      logger,
      onProgress: (n) => logger.info({ records: n }, 'report: reading the store'),
    });
    records = report.totals.questions;
    await writeFileAtomic(opts.out, await renderReportHtml(report));
    logger.info(
      {
        out: opts.out,
        records,
        since: since?.toISOString(),
        hideUrls: opts.hideUrls === true,
        gapGroups: report.gaps.groups.length,
        gapMethod: report.gaps.method,
        ms: Date.now() - started,
        cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
        maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      },
      'report written',
    );
  } finally {
    await store.close();
  }
});
