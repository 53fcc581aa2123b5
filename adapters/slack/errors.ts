/** Loggable descriptions of errors from Bolt, the Web API client and `respond()`. */
import { ErrorCode, webApi } from '@slack/bolt';

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

/** Slack's Web API errors for a message it refuses as written (its blocks, or its length). */
const REFUSED_MESSAGE = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'msg_blocks_too_long', 'no_text']);

/**
 * The error of a `chat.postMessage` / `chat.update` that Slack refused because of the message
 * itself (sending it as plain text may work), or null for anything else (`not_in_channel`,
 * `missing_scope`, network…).
 */
export function refusedMessageError(err: unknown): string | null {
  if (err instanceof Error && (err as { code?: unknown }).code === webApi.ErrorCode.PlatformError) {
    const error = (err as webApi.WebAPIPlatformError).data?.error;
    if (typeof error === 'string' && REFUSED_MESSAGE.has(error)) return error;
  }
  return null;
}

/** Slack's answers to a token it does not take (auth.test, apps.connections.open). */
const REFUSED_TOKEN = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'not_allowed_token_type']);

/**
 * Slack's reason when it refused a token: the platform error (`invalid_auth`, …) or HTTP 401;
 * undefined when the failure was something else (network, timeout).
 */
export function refusedTokenReason(err: unknown): string | undefined {
  if (err instanceof Error && (err as { code?: unknown }).code === webApi.ErrorCode.PlatformError) {
    const error = (err as webApi.WebAPIPlatformError).data?.error;
    if (typeof error === 'string' && REFUSED_TOKEN.has(error)) return error;
  }
  if (err instanceof Error && (err as { code?: unknown }).code === webApi.ErrorCode.HTTPError && (err as webApi.WebAPIHTTPError).statusCode === 401) {
    return 'HTTP 401';
  }
  return undefined;
}

/** What an admin reads when the HTTP receiver cannot listen on PORT; undefined for other errors. */
export function listenProblem(err: unknown, port: number): string | undefined {
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  if (code === 'EADDRINUSE') {
    return `PORT ${port} is already in use (Slack HTTP mode listens there): stop what uses it, or set PORT to a free port`;
  }
  if (code === 'EACCES') return `PORT ${port} cannot be opened (permission denied; ports below 1024 need privileges): set PORT to a port above 1023`;
  return undefined;
}
