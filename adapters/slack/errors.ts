/** Loggable descriptions of errors from Bolt, the Web API client and `respond()`. */
import { ErrorCode } from '@slack/bolt';

/** `Name: message`, without a stack or the request (a `response_url` lets its holder post). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * The HTTP status of a `respond()` that Slack answered with a refusal of the message itself
 * (400 `invalid_blocks`, `msg_too_long`…, any 4xx but the expired or used URL's 404/410), or
 * null for anything else (network, 5xx, an expired `response_url`).
 */
export function refusedStatus(err: unknown): number | null {
  const { code, statusCode } = (err ?? {}) as { code?: unknown; statusCode?: unknown };
  if (code !== ErrorCode.RespondError || typeof statusCode !== 'number') return null;
  return statusCode >= 400 && statusCode < 500 && statusCode !== 404 && statusCode !== 410 ? statusCode : null;
}
