/**
 * `npm run ingest -- --source DIR [--index DIR]`
 * Exit codes: 0 every video ingested; 1 some video (or the whole course) could not be; 2 invalid
 * option or setting.
 */
import { loadEmbedderOrNull, runIngest } from '../core.js';
import { EXIT } from '../errors.js';
import { createProgram, runProgram } from './harness.js';

const program = createProgram('ingest', 'Build or update the search index from a course folder (videos.json or videos.csv + transcripts).')
  .requiredOption('--source <dir>', 'course folder')
  .option('--index <dir>', 'index folder (default: INDEX_DIR)');

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ source: string; index?: string }>();
  const embedder = await loadEmbedderOrNull(config, logger);
  const report = await runIngest(config, logger, opts.source, opts.index ?? config.INDEX_DIR, embedder);
  for (const failed of report.failedVideos) logger.error(`not ingested: ${failed.videoId}: ${failed.error}`);
  return report.failedVideos.length > 0 ? EXIT.failure : EXIT.ok;
});
