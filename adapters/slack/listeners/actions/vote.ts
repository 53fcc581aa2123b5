/**
 * 👍/👎 on an answer: one vote per user per answer, changeable (the core's store keeps the
 * latest). The confirmation goes to the voter only.
 */
import type { BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { MESSAGES, type VoteValue } from '../../../../src/bot/index.js';
import { ACTION_IDS } from '../../cards.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';

/** Answer ids are UUIDs; anything much longer is not one of ours. */
export const MAX_ANSWER_ID_LENGTH = 200;

export function voteAction(ctx: ListenerContext) {
  return async ({ ack, action, body, respond }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>>): Promise<void> => {
    await ack();
    const value: VoteValue = action.action_id === ACTION_IDS.voteUp ? 'up' : 'down';
    const answerId = action.value ?? '';
    const outcome =
      answerId === '' || answerId.length > MAX_ANSWER_ID_LENGTH
        ? { message: MESSAGES.answerNotFound }
        : await ctx.bot.vote({ platform: 'slack', userId: body.user.id, answerId, value });
    await tryRespond(respond, ephemeral(outcome.message), ctx.logger, 'vote confirmation');
  };
}
