/**
 * Bolt's logger interface on top of the project's pino logger, so Bolt, the Web API client and
 * the Socket Mode client log through the same (secret-scrubbing) stream.
 *
 * Bolt's `debug` output is very chatty (every WebSocket frame, every request), so it goes to
 * pino's `trace`. Every line is also scrubbed here of Slack credentials that the configured
 * secrets would not cover: any `xox…-`/`xapp-` token, the `token` field of payloads, Socket
 * Mode connection tickets and `response_url`s (each one lets its holder post to a channel).
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { type Logger, scrubSecrets } from '../../src/bot/index.js';

const SLACK_CREDENTIALS: Array<[RegExp, string]> = [
  [/\bxox[a-z]-[A-Za-z0-9-]+/g, 'xox?-[redacted]'],
  [/\bxapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]'],
  [/("token"\s*:\s*")[^"]*"/g, '$1[redacted]"'],
  [/\b(token|ticket)=[^&\s"']+/g, '$1=[redacted]'],
  [/(https:\/\/hooks\.slack\.com\/)[^\s"'<>]+/g, '$1[redacted]'],
];

/** Removes Slack credentials and the given secret values from `text`. */
export function scrubSlack(text: string, secrets: readonly string[] = []): string {
  let out = scrubSecrets(text, secrets);
  for (const [pattern, replacement] of SLACK_CREDENTIALS) out = out.replace(pattern, replacement);
  return out;
}

function describe(arg: unknown): string {
  if (arg instanceof Error) return `${arg.name}: ${arg.message}`;
  if (typeof arg === 'string') return arg;
  try {
    return JSON.stringify(arg) ?? String(arg);
  } catch {
    return String(arg);
  }
}

/** Bolt's level, derived from pino's (Bolt's `setLevel` is ignored: LOG_LEVEL decides). */
function boltLevel(pinoLevel: string): LogLevel {
  switch (pinoLevel) {
    case 'trace':
      return LogLevel.DEBUG;
    case 'debug':
    case 'info':
      return LogLevel.INFO;
    case 'warn':
      return LogLevel.WARN;
    default:
      return LogLevel.ERROR;
  }
}

export function createBoltLogger(logger: Logger, secrets: readonly string[]): BoltLogger {
  let name = 'bolt';
  // Bolt passes anything (strings, errors, objects): `unknown[]` is what its interface means.
  const line = (msg: unknown[]) => ({ lib: name, text: scrubSlack(msg.map(describe).join(' '), secrets) });
  return {
    debug: (...msg: unknown[]) => {
      if (logger.isLevelEnabled('trace')) {
        const { lib, text } = line(msg);
        logger.trace({ lib }, text);
      }
    },
    info: (...msg: unknown[]) => {
      const { lib, text } = line(msg);
      logger.debug({ lib }, text);
    },
    warn: (...msg: unknown[]) => {
      const { lib, text } = line(msg);
      logger.warn({ lib }, text);
    },
    error: (...msg: unknown[]) => {
      const { lib, text } = line(msg);
      logger.error({ lib }, text);
    },
    setLevel: () => {},
    getLevel: () => boltLevel(logger.level),
    setName: (newName: string) => {
      name = newName;
    },
  };
}
