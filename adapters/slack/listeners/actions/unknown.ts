/**
 * A click on an element whose action id this bot does not handle (a message posted by an older
 * version with other action ids, a forged payload): acknowledged at once and answered privately
 * with "answer not found". Without it Bolt leaves the request unacknowledged, answers 404 after
 * 3 seconds, and Slack shows the user a bare error.
 */
import type { BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { ACTION_IDS } from '../../cards.js';
import { CASE_ACTION_IDS } from '../../caseCard.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';

/** Matches every action id except the ones registered in ./index.ts (answers' and the human loop's). */
export const UNKNOWN_ACTION_ID = new RegExp(
  `^(?!(?:${[...Object.values(ACTION_IDS), ...Object.values(CASE_ACTION_IDS)]
    .map((id) => id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|')})$)`,
);

export function unknownAction(ctx: ListenerContext) {
  return async ({ ack, action, respond }: SlackActionMiddlewareArgs<BlockAction>): Promise<void> => {
    await ack();
    ctx.logger.info({ actionId: String(action.action_id).slice(0, 100) }, 'slack: unknown action');
    await tryRespond(respond, ephemeral(MESSAGES.answerNotFound), ctx.logger, 'unknown action reply');
  };
}
