/**
 * The weekly digest inside `npm start`: when DIGEST_CRON is set, posted on that schedule (croner,
 * in COURSE_TIMEZONE) to SLACK_DIGEST_CHANNEL. A run that fails is logged and the next one
 * happens as planned; runs never overlap. `stop()` cancels the schedule and waits for a run in
 * progress.
 */
import { Cron } from 'croner';
import type { Config, Digest, Logger } from '../../../src/bot/index.js';
import { postDigest } from './post.js';

export interface DigestSchedule {
  /** The next planned run, or null. */
  nextRun(): Date | null;
  /** Runs now, as the schedule would (for tests and admins). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface ScheduleOptions {
  config: Config;
  logger: Logger;
  /** Builds the digest of the week ending now (the composition root gives its store and index). */
  build: (now: Date) => Promise<Digest>;
}

export function scheduleDigest({ config, logger, build }: ScheduleOptions): DigestSchedule | null {
  const pattern = config.DIGEST_CRON;
  if (!pattern) return null;
  const log = logger.child({ job: 'weekly digest' });
  let running: Promise<void> | null = null;
  const run = (): Promise<void> => {
    running ??= (async () => {
      try {
        await postDigest(await build(new Date()), config, log);
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'weekly digest not posted; the next one runs as scheduled');
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const job = new Cron(pattern, { timezone: config.COURSE_TIMEZONE, protect: true }, () => run());
  log.info({ cron: pattern, timezone: config.COURSE_TIMEZONE, channel: config.SLACK_DIGEST_CHANNEL ?? config.SLACK_ESCALATION_CHANNEL, next: job.nextRun()?.toISOString() }, 'weekly digest scheduled');
  return {
    nextRun: () => job.nextRun(),
    runNow: run,
    async stop() {
      job.stop();
      await running;
    },
  };
}
