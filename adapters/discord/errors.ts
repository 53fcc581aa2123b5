/** Loggable descriptions of discord.js errors, without the request URL (it holds interaction tokens). */
import { DiscordAPIError, DiscordjsError, DiscordjsErrorCodes, GatewayCloseCodes, HTTPError, RateLimitError } from 'discord.js';

export interface ErrorDescription {
  message: string;
  code?: number | string;
  status?: number;
  method?: string;
}

export function describeError(err: unknown): ErrorDescription {
  if (err instanceof DiscordAPIError) return { message: err.message, code: err.code, status: err.status, method: err.method };
  if (err instanceof HTTPError) return { message: err.message, status: err.status, method: err.method };
  if (err instanceof RateLimitError) return { message: `rate limited for ${err.timeToReset} ms`, method: err.method };
  if (err instanceof Error) return { message: err.message };
  return { message: String(err) };
}

/** Discord's "Unknown interaction": the 3-second (or 15-minute) window was missed. */
export function isUnknownInteraction(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.code === 10062;
}

/**
 * Discord refused the message itself (400, e.g. 50035 Invalid Form Body: a limit or a URL it
 * does not accept). Sending the same text plainly may still work; other errors (network,
 * 5xx, an expired interaction) would fail the same way.
 */
export function isRefusedMessage(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.status === 400;
}

/**
 * Whether a failed login means Discord refused the bot token: 401 on `/gateway/bot` (discord.js
 * reports it as TokenInvalid) or the gateway closing with 4004 after IDENTIFY.
 */
export function isTokenRefused(err: unknown, lastCloseCode: number | undefined): boolean {
  return (
    (err instanceof DiscordjsError && err.code === DiscordjsErrorCodes.TokenInvalid) ||
    (err instanceof DiscordAPIError && err.status === 401) ||
    lastCloseCode === GatewayCloseCodes.AuthenticationFailed
  );
}
