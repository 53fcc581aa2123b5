/**
 * TA annotation ("Avaliar: Correta / Parcial / Incorreta" → C/P/I). Shown to everyone; only
 * users in SLACK_ANNOTATOR_IDS (or anyone, when it is empty) may annotate. The core records
 * it (the latest counts) or refuses it; the reply goes to the clicking user only.
 */
import type { BlockAction, SlackActionMiddlewareArgs, StaticSelectAction } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { parseAnnotationValue } from '../../cards.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';
import { MAX_ANSWER_ID_LENGTH } from './vote.js';

/** Whether `userId` may annotate: listed in SLACK_ANNOTATOR_IDS, or the list is empty. */
export function mayAnnotate(annotatorIds: readonly string[], userId: string): boolean {
  return annotatorIds.length === 0 || annotatorIds.includes(userId);
}

export function annotateAction(ctx: ListenerContext) {
  return async ({ ack, action, body, respond }: SlackActionMiddlewareArgs<BlockAction<StaticSelectAction>>): Promise<void> => {
    await ack();
    const parsed = parseAnnotationValue(action.selected_option?.value);
    const outcome =
      parsed === null || parsed.answerId.length > MAX_ANSWER_ID_LENGTH
        ? { message: MESSAGES.answerNotFound }
        : await ctx.bot.annotate({
            platform: 'slack',
            userId: body.user.id,
            answerId: parsed.answerId,
            label: parsed.label,
            allowed: mayAnnotate(ctx.config.SLACK_ANNOTATOR_IDS, body.user.id),
          });
    await tryRespond(respond, ephemeral(outcome.message), ctx.logger, 'annotation reply');
  };
}
