/** What every Slack listener receives, and the helpers they share. */
import type { RespondArguments, RespondFn } from '@slack/bolt';
import type { BotService, Config, Logger } from '../../src/bot/index.js';
import { errorText } from './errors.js';

export interface ListenerContext {
  bot: BotService;
  config: Pick<Config, 'SLACK_RESPONSE_TYPE' | 'SLACK_ANNOTATOR_IDS'>;
  logger: Logger;
  /**
   * Wraps a listener so that it counts as in flight until it settles (stop() waits for it)
   * and so that whatever it throws is logged instead of reaching Bolt.
   */
  track<A>(name: string, listener: (args: A) => Promise<void>): (args: A) => Promise<void>;
}

/**
 * `respond()` that never throws: a failure (expired `response_url`, Slack rejecting the
 * blocks, network) is logged, without the URL, and reported as false.
 */
export async function tryRespond(
  respond: RespondFn,
  message: RespondArguments,
  logger: Logger,
  what: string,
): Promise<boolean> {
  try {
    await respond(message);
    return true;
  } catch (err) {
    logger.error({ what, err: errorText(err) }, 'slack respond() failed');
    return false;
  }
}

/** A private reply that leaves the original message alone. */
export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', replace_original: false, text };
}
