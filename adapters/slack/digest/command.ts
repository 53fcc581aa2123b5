/**
 * `npm run digest -- [--channel ID] [--dry-run] [--lexical]`: posts the weekly digest (the last
 * 7 days, same data as the report) to the TAs' Slack channel, SLACK_DIGEST_CHANNEL. `--dry-run`
 * prints the Block Kit message on stdout instead of posting it. `npm start` posts it on its own
 * when DIGEST_CRON is set (./schedule.ts).
 * Exit codes: 0 posted; 1 Slack refused or could not be reached (the message says why); 2 a
 * setting is missing.
 */
import { createProgram, EXIT, loadDigest, runProgram } from '../../../src/bot/index.js';
import { renderDigest } from './blocks.js';
import { digestTarget, postDigest } from './post.js';

const program = createProgram('digest', "Post the weekly digest (questions, confusing lecture moments, coverage gaps, open escalations) to the TAs' Slack channel.")
  .option('--channel <id>', 'post to this channel instead of SLACK_DIGEST_CHANNEL')
  .option('--dry-run', 'print the message (Block Kit JSON) on stdout instead of posting it')
  .option('--lexical', 'group coverage gaps by their words, without loading the embedding model');

await runProgram(
  program,
  async ({ config, logger }) => {
    const opts = program.opts<{ channel?: string; dryRun?: boolean; lexical?: boolean }>();
    // Settings first: nothing is read (or loaded) for a digest that cannot be posted.
    if (!opts.dryRun) digestTarget(config, opts.channel);
    const digest = await loadDigest(config, logger, { lexical: opts.lexical === true });
    if (opts.dryRun) {
      // Waited for: the process exits right after, and a pipe takes a large write in several steps.
      await new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify(renderDigest(digest), null, 2)}\n`, () => resolve()));
      return EXIT.ok;
    }
    await postDigest(digest, config, logger, opts.channel ? { channel: opts.channel } : {});
    return EXIT.ok;
  },
  // Slack's HTTP client and the embedding runtime would otherwise hold the process open a while.
  { exitWhenDone: true },
);
