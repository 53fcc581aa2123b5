/**
 * "Buscar em todas as aulas" (`everywhere:<answerId>`), offered when a question restricted to a
 * lecture found nothing there: asks the same question again in every lecture, as the next turn
 * of its conversation, in a new reply (public unless DISCORD_EPHEMERAL).
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { deliverAnswer } from '../answering.js';
import { renderNotice } from '../cards.js';
import { logUser, toOptions, type HandlerContext } from '../context.js';
import { parseEverywhereId, type AnswerAction } from '../customIds.js';
import { describeError } from '../errors.js';

export function parse(customId: string): AnswerAction | null {
  return parseEverywhereId(customId);
}

export async function run(interaction: ButtonInteraction, action: AnswerAction, ctx: HandlerContext): Promise<void> {
  const started = Date.now();
  const userId = interaction.user.id;
  const user = logUser(ctx, userId);
  const limited = ctx.bot.checkRateLimit({ platform: 'discord', userId });
  if (limited) {
    await interaction
      .reply({ ...toOptions(renderNotice(limited.message, '⏳')), flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the rate-limit message'));
    return;
  }
  const ephemeral = ctx.config.DISCORD_EPHEMERAL;
  try {
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err) }, 'discord: search-everywhere defer failed');
    return;
  }
  await deliverAnswer(
    ctx,
    {
      edit: (message) => interaction.editReply(toOptions(message)),
      more: (message) => interaction.followUp({ ...toOptions(message), ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) }),
    },
    { platform: 'discord', userId, channel: interaction.channelId, question: '', everywhereOf: action.answerId },
    { user, started, via: 'search everywhere' },
  );
}
