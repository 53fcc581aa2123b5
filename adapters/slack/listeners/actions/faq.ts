/** The buttons of `/pergunta-faq`: Editar (a modal), Retirar, Retirar nota. TAs only (SLACK_ANNOTATOR_IDS). */
import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { LOOP_MESSAGES, MESSAGES } from '../../../../src/bot/index.js';
import { faqEditModal } from '../../caseCard.js';
import { ephemeral, staffOf, tryRespond, type ListenerContext } from '../../context.js';
import { errorText } from '../../errors.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function faqEditAction(ctx: ListenerContext) {
  return async ({ ack, action, body, client, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const staff = staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS);
    if (!staff.allowed) {
      await tryRespond(respond, ephemeral(LOOP_MESSAGES.notAllowed), ctx.logger, 'faq refusal');
      return;
    }
    const answer = ctx.humanLoop && action.value ? await ctx.humanLoop.getVerified(action.value.slice(0, 100)) : undefined;
    if (!answer || answer.retired) {
      await tryRespond(respond, ephemeral(LOOP_MESSAGES.verifiedNotFound), ctx.logger, 'faq not found');
      return;
    }
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: faqEditModal(answer, body.channel?.id ?? null) });
    } catch (err) {
      ctx.logger.error({ err: errorText(err) }, 'slack: could not open the verified-answer modal');
      await tryRespond(respond, ephemeral(MESSAGES.failed), ctx.logger, 'faq modal failure');
    }
  };
}

export function retireAction(ctx: ListenerContext, what: 'verified' | 'note') {
  return async ({ ack, action, body, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const id = (action.value ?? '').slice(0, 100);
    const staff = staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS);
    const outcome = !ctx.humanLoop
      ? { ok: false, message: LOOP_MESSAGES.escalationOff }
      : what === 'verified'
        ? await ctx.humanLoop.retireVerified(id, staff)
        : await ctx.humanLoop.retireNote(id, staff);
    await tryRespond(respond, ephemeral(outcome.message), ctx.logger, 'faq retire reply');
  };
}
