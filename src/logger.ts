/**
 * Logging: pino, always to stderr (stdout belongs to command output such as `ask --json`).
 * Secrets are removed twice: known key names are redacted by pino, and every configured secret
 * value is scrubbed from each finished line, wherever it appears (messages, errors, URLs), before
 * the line is formatted.
 *
 * Lines are JSON for machines (stderr not a terminal, or LOG_FORMAT=json) and pino-pretty's
 * readable lines for people (stderr is a terminal, or LOG_FORMAT=pretty). pino-pretty runs here,
 * synchronously, in the logging call (`prettyFactory`), not as a pino transport: a transport runs
 * in a worker thread, and the last lines before `process.exit` could be lost on the way.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import { prettyFactory } from 'pino-pretty';

export type { Logger };

const REDACT_PATHS = [
  '*.apiKey',
  '*.token',
  '*.password',
  '*.secret',
  '*.signingSecret',
  '*.authorization',
  '*.headers.authorization',
  '*.headers["x-slack-signature"]',
  'apiKey',
  'token',
  'password',
  'authorization',
];

export interface LoggerOptions {
  level?: string;
  /** Values to scrub from every log line. */
  secrets?: string[];
  /** `pretty` (one readable line) or `json`; default pretty on a terminal, json otherwise. */
  format?: 'pretty' | 'json';
  /** Where lines go; default stderr. */
  write?: (line: string) => void;
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.split(secret).join('[redacted]');
    const encoded = JSON.stringify(secret).slice(1, -1);
    if (encoded !== secret) out = out.split(encoded).join('[redacted]');
  }
  return out;
}

/** One readable line per entry: `[HH:MM:SS] LEVEL: message {fields}`. */
function prettyFormatter(colorize: boolean): (line: string) => string {
  return prettyFactory({ colorize, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])].sort((a, b) => b.length - a.length);
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  // Colours only on a terminal that shows them; never in lines captured through `write`.
  const pretty = format === 'pretty' ? prettyFormatter(!options.write && Boolean(process.stderr.isTTY) && isColorWanted()) : null;
  const destination: DestinationStream = {
    write(line: string) {
      const clean = scrubSecrets(line, secrets);
      write(pretty ? pretty(clean) : clean);
    },
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** The NO_COLOR environment convention, and TERM=dumb. */
function isColorWanted(): boolean {
  return !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}
