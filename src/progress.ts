/**
 * Progress for long work (ingest, export, evaluate), always on stderr. On a terminal it is a
 * live bar; elsewhere (CI, logs piped to a file) it is a log line at every quarter.
 */
import cliProgress from 'cli-progress';
import type { Logger } from './logger.js';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

export function createProgress(label: string, total: number, logger: Logger, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (total <= 0) return { update: () => undefined, stop: () => undefined };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }
  let nextQuarter = 1;
  logger.info({ total }, `${label}: started`);
  return {
    update(done) {
      while (nextQuarter <= 4 && done >= (total * nextQuarter) / 4) {
        logger.info({ done, total }, `${label}: ${nextQuarter * 25}%`);
        nextQuarter++;
      }
    },
    stop: () => undefined,
  };
}
