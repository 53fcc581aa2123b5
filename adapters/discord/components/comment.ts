/**
 * The optional comment after 👎: the "Deixar comentário" button (`comment:<id>`) opens a modal
 * with one optional short text; submitting it stores the comment with the user's vote.
 */
import {
  LabelBuilder,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { MESSAGES, truncate } from '../../../src/bot/index.js';
import { DISCORD_LIMITS, LABELS, renderNotice } from '../cards.js';
import { deferPrivately, logUser, modalText, toOptions, type HandlerContext } from '../context.js';
import { COMMENT_FIELD_ID, customIds, parseCommentId, type CommentAction } from '../customIds.js';
import { describeError } from '../errors.js';

/** Longest comment the modal accepts. */
export const COMMENT_MAX_CHARS = 500;

export function commentModal(answerId: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customIds.comment(answerId))
    .setTitle(truncate(LABELS.commentModalTitle, DISCORD_LIMITS.modalTitle))
    .addLabelComponents(
      new LabelBuilder()
        .setLabel(truncate(MESSAGES.commentPrompt, DISCORD_LIMITS.modalLabel))
        .setTextInputComponent(
          new TextInputBuilder().setCustomId(COMMENT_FIELD_ID).setStyle(TextInputStyle.Paragraph).setRequired(false).setMaxLength(COMMENT_MAX_CHARS),
        ),
    );
}

export function parse(customId: string): CommentAction | null {
  return parseCommentId(customId);
}

/** The button opens the modal; the submitted modal stores the comment. */
export async function run(interaction: ButtonInteraction | ModalSubmitInteraction, action: CommentAction, ctx: HandlerContext): Promise<void> {
  if (interaction.isModalSubmit()) return submitComment(interaction, action.answerId, ctx);
  return openModal(interaction, action.answerId, ctx);
}

/** "Deixar comentário": a modal must be the first response, so it is shown at once. */
async function openModal(interaction: ButtonInteraction, answerId: string, ctx: HandlerContext): Promise<void> {
  await interaction
    .showModal(commentModal(answerId))
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not open the comment modal'));
}

async function submitComment(interaction: ModalSubmitInteraction, answerId: string, ctx: HandlerContext): Promise<void> {
  const user = logUser(ctx, interaction.user.id);
  if (!(await deferPrivately(interaction, ctx, user, 'comment'))) return;
  const comment = modalText(interaction, COMMENT_FIELD_ID);
  const outcome = await ctx.bot.comment({ platform: 'discord', userId: interaction.user.id, answerId, comment });
  ctx.logger.info({ user, answerId, chars: comment.length, ok: outcome.ok }, 'discord: comment');
  await interaction
    .editReply(toOptions(outcome.ok ? { content: outcome.message, embeds: [], components: [] } : renderNotice(outcome.message)))
    .catch((err: unknown) => ctx.logger.error({ user, err: describeError(err) }, 'discord: could not confirm the comment'));
}
