/** `npm run ingest -- --source DIR [--index DIR]` */
import { Command } from 'commander';
import { loadEmbedderOrNull, runIngest } from '../core.js';
import { IndexFolderError } from '../index/indexFolder.js';
import { IndexBusyError } from '../index/indexLock.js';
import { runMain, setup } from './common.js';

const { config, logger } = setup();
const program = new Command('ingest')
  .description('Build or update the search index from a course folder (videos.json or videos.csv + transcripts).')
  .requiredOption('--source <dir>', 'course folder')
  .option('--index <dir>', 'index folder (default: INDEX_DIR)', config.INDEX_DIR)
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ source: string; index: string }>();

runMain(async () => {
  const embedder = await loadEmbedderOrNull(config, logger);
  let report;
  try {
    report = await runIngest(config, logger, opts.source, opts.index, embedder);
  } catch (err) {
    // Refused without changing anything: exit 2, as for bad settings.
    if (!(err instanceof IndexFolderError || err instanceof IndexBusyError)) throw err;
    logger.error(err.message);
    return 2;
  }
  for (const failed of report.failedVideos) logger.error(`not ingested: ${failed.videoId}: ${failed.error}`);
  return report.failedVideos.length > 0 ? 1 : 0;
}, logger);
