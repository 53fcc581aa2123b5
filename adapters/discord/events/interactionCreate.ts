/**
 * Routes every interaction to its handler: `/pergunta`, the vote and comment buttons, the
 * comment modal. Anything else (an unknown command, a stale or foreign button) gets a private
 * pt-BR explanation rather than Discord's "interaction failed".
 */
import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import { MESSAGES } from '../../../src/bot/index.js';
import { PERGUNTA_COMMAND } from '../commands/pergunta.js';
import { toOptions, type HandlerContext } from '../context.js';
import { parseCustomId } from '../customIds.js';
import { describeError } from '../errors.js';
import { handleCommentButton, handleCommentSubmit } from '../interactions/comment.js';
import { handlePergunta } from '../interactions/pergunta.js';
import { handleVote } from '../interactions/vote.js';
import { renderNotice } from '../render.js';

export async function onInteraction(interaction: Interaction, ctx: HandlerContext): Promise<void> {
  if (interaction.isChatInputCommand()) {
    if (interaction.commandName === PERGUNTA_COMMAND) return handlePergunta(interaction, ctx);
    ctx.logger.info({ command: interaction.commandName }, 'discord: unknown command');
    return explain(interaction, MESSAGES.unknownCommand, ctx);
  }
  if (interaction.isButton()) {
    const action = parseCustomId(interaction.customId);
    if (action?.kind === 'vote') return handleVote(interaction, action, ctx);
    if (action?.kind === 'comment') return handleCommentButton(interaction, action.answerId, ctx);
    ctx.logger.info({ customId: interaction.customId.slice(0, 100) }, 'discord: unknown button');
    return explain(interaction, MESSAGES.answerNotFound, ctx);
  }
  if (interaction.isModalSubmit()) {
    const action = parseCustomId(interaction.customId);
    if (action?.kind === 'comment') return handleCommentSubmit(interaction, action.answerId, ctx);
    ctx.logger.info({ customId: interaction.customId.slice(0, 100) }, 'discord: unknown modal');
    return explain(interaction, MESSAGES.answerNotFound, ctx);
  }
  if (interaction.isAutocomplete()) {
    await interaction.respond([]).catch(() => undefined);
    return;
  }
  if (interaction.isRepliable()) return explain(interaction, MESSAGES.unknownCommand, ctx);
}

async function explain(interaction: RepliableInteraction, message: string, ctx: HandlerContext): Promise<void> {
  await interaction
    .reply({ ...toOptions(renderNotice(message, 'ℹ️')), flags: MessageFlags.Ephemeral })
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the explanation'));
}
