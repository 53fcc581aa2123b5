/**
 * The one harness every command-line entry point runs through (`npm run ask|ingest|export|…`,
 * `npx pergunta …`, `npm start`): commander set-up and `--help`, settings, a stderr logger, exit
 * codes, and quiet broken pipes.
 *
 *   const program = createProgram('ask', 'Answer a question…').argument(…).option(…);
 *   runProgram(program, async ({ config, logger }) => { …; return EXIT.ok; });
 *
 * Exit codes (src/errors.ts): 0 ok; 1 failure; 2 invalid input or settings — commander's own usage
 * errors included. A `UserError` prints its message without a stack (exit-2 errors as one plain
 * line, like commander's; exit-1 errors as an error log line, in the run's log format). Anything
 * else is a bug: it keeps its stack and exits 1.
 */
import { Command, CommanderError } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { EXIT, isBrokenPipe, UserError, type ExitCode } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
}

export interface RunOptions {
  /** Arguments as in `process.argv` (default). */
  argv?: readonly string[];
  /**
   * Exit as soon as the command is done instead of waiting for the event loop to drain
   * (e.g. keep-alive sockets of a client library that cannot be closed).
   */
  exitWhenDone?: boolean;
}

/** A commander program whose errors reach `runProgram` instead of exiting on their own. */
export function createProgram(name: string, description: string): Command {
  return new Command(name).description(description).showHelpAfterError().exitOverride();
}

/**
 * Parses the command line, loads the settings and runs `main`; sets the exit code from what it
 * returns (default 0) or throws. Never rejects.
 */
export async function runProgram(
  program: Command,
  main: (context: CommandContext) => Promise<ExitCode | number | void>,
  options: RunOptions = {},
): Promise<void> {
  muteOnBrokenPipe(process.stdout);
  muteOnBrokenPipe(process.stderr);
  let logger: Logger | undefined;
  let code: number;
  try {
    program.parse(options.argv ? [...options.argv] : process.argv);
    const config = loadConfig();
    logger = createLogger({ level: config.LOG_LEVEL, secrets: config.secrets, format: config.LOG_FORMAT });
    code = (await main({ config, logger })) ?? EXIT.ok;
  } catch (err) {
    code = report(err, logger);
  }
  process.exitCode = code;
  if (options.exitWhenDone) process.exit(code);
}

/** Prints `err` the way its kind deserves and returns the exit code. */
function report(err: unknown, logger: Logger | undefined): ExitCode {
  if (err instanceof CommanderError) {
    // Commander has printed the help or the usage error already.
    return err.exitCode === 0 ? EXIT.ok : EXIT.invalidInput;
  }
  if (isBrokenPipe(err)) return EXIT.ok; // the reader of stdout left (`… | head`): nothing more to say
  if (err instanceof UserError) {
    if (err.exitCode === EXIT.invalidInput || !logger) process.stderr.write(`${err.message}\n`);
    else logger.error(err.message);
    return err.exitCode;
  }
  console.error(err);
  return EXIT.failure;
}

/**
 * When the reader of `stream` goes away (EPIPE), later writes are dropped instead of crashing the
 * process with an unhandled 'error' event; the command finishes what it was doing (files it
 * writes, records it stores) and exits with its own code.
 */
const muted = new WeakSet<NodeJS.WriteStream>();

function muteOnBrokenPipe(stream: NodeJS.WriteStream): void {
  if (muted.has(stream)) return;
  muted.add(stream);
  stream.on('error', (err: Error) => {
    if (!isBrokenPipe(err)) throw err;
    stream.write = ((_chunk: unknown, encodingOrDone?: unknown, done?: unknown) => {
      const callback = typeof encodingOrDone === 'function' ? encodingOrDone : done;
      if (typeof callback === 'function') process.nextTick(callback as () => void);
      return true;
    }) as typeof stream.write;
  });
}

/**
 * Writes command output to stdout and waits until it is handed to the OS. Resolves when the reader
 * has gone (`… | head`): not reading the rest is the reader's choice, not a failure.
 */
export function writeOutput(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => {
      if (err && !isBrokenPipe(err)) reject(err);
      else resolve();
    });
  });
}
