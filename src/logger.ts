/**
 * Logging: pino, always to stderr (stdout belongs to command output such as `ask --json`).
 * Secrets are removed twice: known key names are redacted by pino, and every configured secret
 * value is scrubbed from each finished line, wherever it appears (messages, errors, URLs).
 */
import { pino, type Logger, type DestinationStream } from 'pino';

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

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

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

function prettyLine(json: string): string {
  try {
    const { level, time, msg, pid: _pid, hostname: _host, err, ...rest } = JSON.parse(json) as Record<string, unknown>;
    const lvl = LEVELS[Number(level)] ?? String(level);
    const clock = new Date(Number(time)).toISOString().slice(11, 19);
    const extras = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const errText =
      err && typeof err === 'object' && 'message' in err ? ` (${String((err as { message: unknown }).message)})` : '';
    return `${clock} ${lvl.padEnd(5)} ${String(msg ?? '')}${errText}${extras ? `  ${extras}` : ''}\n`;
  } catch {
    return json;
  }
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])].sort((a, b) => b.length - a.length);
  const format = options.format ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const destination: DestinationStream = {
    write(line: string) {
      const clean = scrubSecrets(line, secrets);
      write(format === 'pretty' ? prettyLine(clean) : clean);
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
