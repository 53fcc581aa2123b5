/**
 * What every command-line entry point shares: settings, a stderr logger, and one place that turns
 * known errors into a short message and an exit code (no stack traces for user mistakes).
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../logger.js';

export function setup(): { config: Config; logger: Logger } {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, secrets: config.secrets, format: config.LOG_FORMAT });
  return { config, logger };
}

/** Runs a command's main function; known errors print their message, others their stack. */
export function runMain(main: () => Promise<number | void>, logger?: Logger): void {
  main()
    .then((code) => {
      process.exitCode = code ?? 0;
    })
    .catch((err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      const known = /Error$/.test(error.name) && error.name !== 'Error' && error.name !== 'TypeError';
      if (logger && known) logger.error(error.message);
      else if (known) console.error(error.message);
      else console.error(error);
      process.exitCode = 1;
    });
}

/** Writes `content` to `file` through a temporary file and a rename (never a half-written file). */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, content, 'utf8');
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
