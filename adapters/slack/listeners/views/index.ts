/**
 * Modals submitted by TAs (the human loop): the answer to a case, the reason for closing one, an
 * edited verified answer. Validation errors are shown inside the modal (Slack's
 * `response_action: 'errors'`); otherwise the modal closes at once (the 3-second deadline) and
 * the work goes on: the card is updated by the outbox worker, and a failure is told to the TA
 * privately in the channel they acted from.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { type Label, LOOP_MESSAGES } from '../../../../src/bot/index.js';
import { CASE_VIEW_IDS, INPUTS, parseModalMetadata } from '../../caseCard.js';
import { staffOf, type ListenerContext } from '../../context.js';
import { errorText } from '../../errors.js';

type ViewArgs = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;
type Values = ViewSubmitAction['view']['state']['values'];

const textOf = (values: Values, input: { block: string; action: string }): string => values[input.block]?.[input.action]?.value ?? '';

export function registerViews(app: App, ctx: ListenerContext): void {
  app.view<ViewSubmitAction>(CASE_VIEW_IDS.answer, ctx.track('view case answer', caseAnswer(ctx)));
  app.view<ViewSubmitAction>(CASE_VIEW_IDS.close, ctx.track('view case close', caseClose(ctx)));
  app.view<ViewSubmitAction>(CASE_VIEW_IDS.faqEdit, ctx.track('view verified edit', faqEdit(ctx)));
}

/** Tells the TA privately, in the channel they acted from, why nothing changed. */
async function tellPrivately(args: ViewArgs, channel: string | null, text: string, ctx: ListenerContext): Promise<void> {
  if (!channel) return;
  try {
    await args.client.chat.postEphemeral({ channel, user: args.body.user.id, text });
  } catch (err) {
    ctx.logger.warn({ err: errorText(err) }, 'slack: could not tell the TA privately');
  }
}

function caseAnswer(ctx: ListenerContext) {
  return async (args: ViewArgs): Promise<void> => {
    const { ack, view, body } = args;
    const meta = parseModalMetadata(view.private_metadata);
    const text = textOf(view.state.values, INPUTS.answer);
    if (text.trim() === '') {
      await ack({ response_action: 'errors', errors: { [INPUTS.answer.block]: LOOP_MESSAGES.emptyAnswer } });
      return;
    }
    await ack();
    if (!meta || !ctx.humanLoop) return;
    const label = view.state.values[INPUTS.label.block]?.[INPUTS.label.action]?.selected_option?.value;
    const pin = (view.state.values[INPUTS.pin.block]?.[INPUTS.pin.action]?.selected_options ?? []).some((o) => o.value === 'pin');
    const outcome = await ctx.humanLoop.answer(meta.id, staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS), {
      text,
      botLabel: label === 'C' || label === 'P' || label === 'I' ? (label as Label) : null,
      pinNote: pin,
    });
    ctx.logger.info({ caseId: meta.id, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) }, 'slack: TA answered a case');
    if (!outcome.ok) await tellPrivately(args, meta.channel, outcome.message, ctx);
  };
}

function caseClose(ctx: ListenerContext) {
  return async (args: ViewArgs): Promise<void> => {
    const { ack, view, body } = args;
    const meta = parseModalMetadata(view.private_metadata);
    const reason = textOf(view.state.values, INPUTS.reason);
    if (reason.trim() === '') {
      await ack({ response_action: 'errors', errors: { [INPUTS.reason.block]: LOOP_MESSAGES.emptyReason } });
      return;
    }
    await ack();
    if (!meta || !ctx.humanLoop) return;
    const outcome = await ctx.humanLoop.close(meta.id, staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS), reason);
    ctx.logger.info({ caseId: meta.id, ok: outcome.ok }, 'slack: TA closed a case');
    if (!outcome.ok) await tellPrivately(args, meta.channel, outcome.message, ctx);
  };
}

function faqEdit(ctx: ListenerContext) {
  return async (args: ViewArgs): Promise<void> => {
    const { ack, view, body } = args;
    const meta = parseModalMetadata(view.private_metadata);
    const question = textOf(view.state.values, INPUTS.question);
    const answer = textOf(view.state.values, INPUTS.answer);
    if (question.trim() === '' || answer.trim() === '') {
      const errors: Record<string, string> = {};
      if (question.trim() === '') errors[INPUTS.question.block] = 'Escreva a pergunta.';
      if (answer.trim() === '') errors[INPUTS.answer.block] = LOOP_MESSAGES.emptyAnswer;
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    if (!meta || !ctx.humanLoop) return;
    const outcome = await ctx.humanLoop.editVerified(meta.id, staffOf(body.user, ctx.config.SLACK_ANNOTATOR_IDS), { question, answer });
    await tellPrivately(args, meta.channel, outcome.message, ctx);
  };
}
