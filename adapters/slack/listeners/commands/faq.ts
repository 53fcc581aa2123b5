/**
 * `/pergunta-faq [termo]`: the verified answers the bot reuses (newest first, or those containing
 * the term) and the notes pinned to lecture moments, each with Editar / Retirar. Private to who
 * asked. Without the human loop, a hint that it is off.
 */
import type { SlackCommandMiddlewareArgs } from '@slack/bolt';
import { LOOP_MESSAGES } from '../../../../src/bot/index.js';
import { renderFaq } from '../../caseCard.js';
import { slackTextToPlain } from '../../markdown.js';
import { tryRespond, type ListenerContext } from '../../context.js';

export const FAQ_COMMAND = '/pergunta-faq';

export function faqCommand(ctx: ListenerContext) {
  return async ({ command, ack, respond }: SlackCommandMiddlewareArgs): Promise<void> => {
    if (!ctx.humanLoop) {
      await ack({ response_type: 'ephemeral', text: LOOP_MESSAGES.escalationOff });
      return;
    }
    await ack();
    const query = slackTextToPlain(command.text ?? '').trim().slice(0, 200);
    await ctx.humanLoop.knowledge.refresh();
    const message = renderFaq(ctx.humanLoop.listVerified(query), query ? [] : ctx.humanLoop.listNotes(), query);
    await tryRespond(respond, { response_type: 'ephemeral', ...message }, ctx.logger, 'faq list');
  };
}
