/**
 * HTTP mode: a guard in front of Bolt's request listener for bodies Bolt 5.1 cannot survive.
 *
 * A correctly signed request whose body parses to JSON that is not an object (`payload=null`,
 * `payload=42`, a JSON `[]`…) makes Bolt's HTTPReceiver throw outside its own error handling:
 * the promise rejection is unhandled (which ends a Node process) and the request is never
 * answered; other non-objects wait 3 seconds for a 404. The guard reads the body first and
 * answers such a request itself — 400 when it is correctly signed, 401 when it is not, exactly
 * what Bolt answers to any unsigned request — and logs it. Everything else goes to Bolt with the
 * body already read (Bolt reuses it), so signature checks, parsing and routing stay Bolt's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTPModuleFunctions, isValidSlackRequest, type HTTPReceiver } from '@slack/bolt';
import type { Logger } from '../../src/bot/index.js';

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return typeof value === 'string' ? value : '';
}

/** True when the body parses (as Bolt parses it) to something other than a plain object. */
function parsesToNonObject(req: Parameters<typeof HTTPModuleFunctions.parseHTTPRequestBody>[0]): boolean {
  let body: unknown;
  try {
    body = HTTPModuleFunctions.parseHTTPRequestBody(req);
  } catch {
    return false; // not JSON at all: Bolt answers 400 itself
  }
  return typeof body !== 'object' || body === null || Array.isArray(body);
}

export function guardRequestBodies(receiver: HTTPReceiver, signingSecret: string, logger: Logger): void {
  const bolt = receiver.requestListener;
  receiver.requestListener = (req: IncomingMessage, res: ServerResponse): void => {
    HTTPModuleFunctions.bufferIncomingMessage(req, HTTPModuleFunctions.defaultBodyLimit)
      .then(
        (buffered) => {
          if (!parsesToNonObject(buffered)) {
            bolt(buffered, res);
            return;
          }
          const signed = isValidSlackRequest({
            signingSecret,
            body: buffered.rawBody.toString(),
            headers: {
              'x-slack-signature': header(req, 'x-slack-signature'),
              'x-slack-request-timestamp': Number(header(req, 'x-slack-request-timestamp')),
            },
          });
          logger.warn({ status: signed ? 400 : 401, path: (req.url ?? '').split('?')[0] }, 'slack: request body is not a JSON object; refused');
          HTTPModuleFunctions.buildNoBodyResponse(res, signed ? 400 : 401);
        },
        (err: unknown) => {
          const status = HTTPModuleFunctions.isRawBodyError(err) ? err.statusCode : 400;
          logger.warn({ status, err: err instanceof Error ? err.message : String(err) }, 'slack: request body could not be read');
          if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, status);
        },
      )
      .catch((err: unknown) => {
        logger.error({ err: err instanceof Error ? err.message : String(err) }, 'slack: request failed');
        if (!res.headersSent) HTTPModuleFunctions.buildNoBodyResponse(res, 500);
      });
  };
}
