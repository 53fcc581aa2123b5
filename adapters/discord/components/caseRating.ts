/**
 * 👍/👎 on a TA's answer a student received (`caserate:up|down:<caseId>`): stored on the case
 * (one per student, the latest counts) and shown on the TAs' card; confirmed privately.
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { LOOP_MESSAGES } from '../../../src/bot/index.js';
import { renderNotice } from '../cards.js';
import { logUser, toOptions, type HandlerContext } from '../context.js';
import { parseCaseRatingId, type CaseRatingAction } from '../customIds.js';
import { describeError } from '../errors.js';

export function parse(customId: string): CaseRatingAction | null {
  return parseCaseRatingId(customId);
}

export async function run(interaction: ButtonInteraction, action: CaseRatingAction, ctx: HandlerContext): Promise<void> {
  const user = logUser(ctx, interaction.user.id);
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err) }, 'discord: rating defer failed');
    return;
  }
  const outcome = ctx.humanLoop
    ? await ctx.humanLoop.rateAnswer({ caseId: action.caseId, platform: 'discord', userId: interaction.user.id, value: action.value })
    : { ok: false, message: LOOP_MESSAGES.escalationOff };
  ctx.logger.info({ user, caseId: action.caseId, value: action.value, ok: outcome.ok }, 'discord: TA answer rated');
  await interaction
    .editReply(toOptions(outcome.ok ? { content: outcome.message, embeds: [], components: [] } : renderNotice(outcome.message)))
    .catch((err: unknown) => ctx.logger.error({ user, err: describeError(err) }, 'discord: could not confirm the rating'));
}
