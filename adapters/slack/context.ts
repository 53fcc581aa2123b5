/** What every Slack listener receives, and the helpers they share. */
import type { RespondArguments, RespondFn } from '@slack/bolt';
import type { BotService, Config, HumanLoop, Logger } from '../../src/bot/index.js';
import { errorText } from './errors.js';

export interface ListenerContext {
  bot: BotService;
  config: Pick<Config, 'SLACK_RESPONSE_TYPE' | 'SLACK_ANNOTATOR_IDS' | 'SLACK_ESCALATION_CHANNEL'>;
  logger: Logger;
  /** The human loop, when it is on (cases in SLACK_ESCALATION_CHANNEL, /pergunta-faq). */
  humanLoop?: HumanLoop;
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

/** Who acts, as the human loop takes it: the display name goes on the TAs' cards only. */
export function staffOf(user: { id: string; name?: string; username?: string }, annotatorIds: readonly string[]) {
  return {
    platform: 'slack' as const,
    userId: user.id,
    name: user.name ?? user.username ?? 'monitor',
    allowed: annotatorIds.length === 0 || annotatorIds.includes(user.id),
  };
}

/** A private reply that leaves the original message alone. */
export function ephemeral(text: string): RespondArguments {
  return { response_type: 'ephemeral', replace_original: false, text };
}
