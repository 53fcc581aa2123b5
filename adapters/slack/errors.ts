/** Loggable descriptions of errors from Bolt, the Web API client and `respond()`. */

/** `Name: message`, without a stack or the request (a `response_url` lets its holder post). */
export function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
