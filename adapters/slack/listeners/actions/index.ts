import type { App, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import { ACTION_IDS } from '../../cards.js';
import { CASE_ACTION_IDS } from '../../caseCard.js';
import type { ListenerContext } from '../../context.js';
import { annotateAction } from './annotate.js';
import { claimAction, endorseAction, forwardAction, modalAction } from './cases.js';
import { faqEditAction, retireAction } from './faq.js';
import { UNKNOWN_ACTION_ID, unknownAction } from './unknown.js';
import { voteAction } from './vote.js';

export function registerActions(app: App, ctx: ListenerContext): void {
  for (const actionId of [ACTION_IDS.voteUp, ACTION_IDS.voteDown]) {
    app.action<BlockAction<ButtonAction>>(
      { type: 'block_actions', action_id: actionId },
      ctx.track(`action ${actionId}`, voteAction(ctx)),
    );
  }
  app.action<BlockAction<StaticSelectAction>>(
    { type: 'block_actions', action_id: ACTION_IDS.annotate },
    ctx.track(`action ${ACTION_IDS.annotate}`, annotateAction(ctx)),
  );
  // The human loop: a case card's buttons, forwarding a Slack answer, /pergunta-faq's buttons.
  const button = (actionId: string, listener: Parameters<typeof app.action<BlockAction<ButtonAction>>>[1]) =>
    app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: actionId }, ctx.track(`action ${actionId}`, listener));
  button(CASE_ACTION_IDS.claim, claimAction(ctx));
  button(CASE_ACTION_IDS.answer, modalAction(ctx, 'answer'));
  button(CASE_ACTION_IDS.endorse, endorseAction(ctx));
  button(CASE_ACTION_IDS.close, modalAction(ctx, 'close'));
  button(CASE_ACTION_IDS.forward, forwardAction(ctx));
  button(CASE_ACTION_IDS.faqEdit, faqEditAction(ctx));
  button(CASE_ACTION_IDS.faqRetire, retireAction(ctx, 'verified'));
  button(CASE_ACTION_IDS.noteRetire, retireAction(ctx, 'note'));
  app.action<BlockAction>({ type: 'block_actions', action_id: UNKNOWN_ACTION_ID }, ctx.track('action (unknown)', unknownAction(ctx)));
}
