import type { App, BlockAction, ButtonAction, StaticSelectAction } from '@slack/bolt';
import { ACTION_IDS } from '../../cards.js';
import type { ListenerContext } from '../../context.js';
import { annotateAction } from './annotate.js';
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
  app.action<BlockAction>({ type: 'block_actions', action_id: UNKNOWN_ACTION_ID }, ctx.track('action (unknown)', unknownAction(ctx)));
}
