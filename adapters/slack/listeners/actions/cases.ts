/**
 * The buttons of a case card in the TAs' channel (the human loop, docs/human-loop.md): Assumir,
 * Responder (opens the answer modal), A resposta do bot está certa (confirmed in a dialog first),
 * Encerrar (opens the reason modal); and "Encaminhar aos monitores" on a Slack answer. Only users
 * in SLACK_ANNOTATOR_IDS (or anyone, when it is empty) may act on cases. Replies are private; the
 * card itself is updated by the outbox worker once the case changed.
 */
import type { BlockAction, ButtonAction, SlackActionMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import { LOOP_MESSAGES, MESSAGES } from '../../../../src/bot/index.js';
import { answerModal, closeModal } from '../../caseCard.js';
import { ephemeral, staffOf, tryRespond, type ListenerContext } from '../../context.js';
import { errorText } from '../../errors.js';
import { MAX_ANSWER_ID_LENGTH } from './vote.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

const caseIdOf = (action: ButtonAction): string | null => {
  const id = action.value ?? '';
  return id !== '' && id.length <= MAX_ANSWER_ID_LENGTH ? id : null;
};

export function claimAction(ctx: ListenerContext) {
  return async ({ ack, action, body, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const caseId = caseIdOf(action);
    const outcome = ctx.humanLoop && caseId ? await ctx.humanLoop.claim(caseId, staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS)) : { ok: false, message: LOOP_MESSAGES.caseNotFound };
    await tryRespond(respond, ephemeral(outcome.message), ctx.logger, 'case claim reply');
  };
}

export function endorseAction(ctx: ListenerContext) {
  return async ({ ack, action, body, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const caseId = caseIdOf(action);
    const outcome = ctx.humanLoop && caseId ? await ctx.humanLoop.endorse(caseId, staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS)) : { ok: false, message: LOOP_MESSAGES.caseNotFound };
    await tryRespond(respond, ephemeral(outcome.message), ctx.logger, 'case endorse reply');
  };
}

/** Responder / Encerrar: a modal must open within the trigger's 3 seconds, so it is opened first. */
export function modalAction(ctx: ListenerContext, which: 'answer' | 'close') {
  return async ({ ack, action, body, client, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const caseId = caseIdOf(action);
    const staff = staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS);
    if (!staff.allowed) {
      await tryRespond(respond, ephemeral(LOOP_MESSAGES.notAllowed), ctx.logger, 'case refusal');
      return;
    }
    const view = ctx.humanLoop && caseId ? await ctx.humanLoop.caseView(caseId) : undefined;
    if (!view) {
      await tryRespond(respond, ephemeral(LOOP_MESSAGES.caseNotFound), ctx.logger, 'case not found');
      return;
    }
    if (view.case.resolution) {
      await tryRespond(respond, ephemeral(LOOP_MESSAGES.alreadyResolved(view.case.status)), ctx.logger, 'case already resolved');
      return;
    }
    const channel = body.channel?.id ?? null;
    try {
      await client.views.open({ trigger_id: body.trigger_id, view: which === 'answer' ? answerModal(view, channel) : closeModal(view.case.id, channel) });
    } catch (err) {
      ctx.logger.error({ caseId, err: errorText(err) }, 'slack: could not open the case modal');
      await tryRespond(respond, ephemeral(MESSAGES.failed), ctx.logger, 'case modal failure');
    }
  };
}

/** "Encaminhar aos monitores" on a Slack answer: the answer's case, delivered back by DM. */
export function forwardAction(ctx: ListenerContext) {
  return async ({ ack, action, body, respond }: ButtonArgs): Promise<void> => {
    await ack();
    const answerId = caseIdOf(action);
    if (!ctx.humanLoop || !answerId) {
      await tryRespond(respond, ephemeral(ctx.humanLoop ? MESSAGES.answerNotFound : LOOP_MESSAGES.escalationOff), ctx.logger, 'forward refusal');
      return;
    }
    const outcome = await ctx.humanLoop.escalate({
      platform: 'slack',
      userId: body.user.id,
      answerId,
      address: { platform: 'slack', userId: body.user.id, channelId: null, messageId: null, guildId: null, ephemeral: true },
      displayName: body.user.name ?? body.user.username ?? null,
    });
    const message = outcome.status === 'created' || outcome.status === 'joined' ? LOOP_MESSAGES.forwarded : outcome.status === 'resolved' ? `${outcome.message} ${outcome.delivery.text}` : outcome.message;
    await tryRespond(respond, ephemeral(message), ctx.logger, 'forward reply');
  };
}
