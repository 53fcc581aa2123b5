/**
 * 👍/👎 buttons (`vote:up:<id>` / `vote:down:<id>`): the vote is stored at once (one per user
 * per answer, the latest counts) and confirmed privately. After 👎 the confirmation carries a
 * "Deixar comentário" button that opens the comment modal (and, when the human loop is on, a
 * "Chamar um monitor" button that carries the answer message's id, so the TA's answer can reply
 * to it); the vote stands whether or not the user comments.
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { commentRow, renderNotice } from '../cards.js';
import { logUser, toOptions, type HandlerContext } from '../context.js';
import { parseVoteId, type VoteAction } from '../customIds.js';
import { describeError } from '../errors.js';

export function parse(customId: string): VoteAction | null {
  return parseVoteId(customId);
}

export async function run(interaction: ButtonInteraction, action: VoteAction, ctx: HandlerContext): Promise<void> {
  const user = logUser(ctx, interaction.user.id);
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err) }, 'discord: vote defer failed');
    return;
  }
  const outcome = await ctx.bot.vote({ platform: 'discord', userId: interaction.user.id, answerId: action.answerId, value: action.value });
  ctx.logger.info({ user, answerId: action.answerId, value: action.value, ok: outcome.ok, ...(outcome.ok ? {} : { reason: outcome.reason }) }, 'discord: vote');
  const message = outcome.ok ? { content: outcome.message, embeds: [], components: [] } : renderNotice(outcome.message);
  if (outcome.ok && action.value === 'down') {
    // The vote buttons sit on the answer itself: a public answer's id lets the TA's answer reply to it.
    const answerMessage = interaction.message.flags.has(MessageFlags.Ephemeral) ? null : interaction.message.id;
    message.components = [commentRow(action.answerId, ctx.humanLoop ? { messageId: answerMessage } : undefined)];
  }
  await interaction
    .editReply(toOptions(message))
    .catch((err: unknown) => ctx.logger.error({ user, err: describeError(err) }, 'discord: could not confirm the vote'));
}
