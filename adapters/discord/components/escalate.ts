/**
 * "Chamar um monitor" (the human loop, docs/human-loop.md): the button (`escalate:<answerId>[:<messageId>]`,
 * offered after 👎, on "not-found" answers and on every follow-up answer of a conversation) opens a modal where the student may add details;
 * submitting it opens the answer's case for the TAs in Slack, or adds the student to it. The
 * confirmation is private. If the TAs already answered, the student sees that answer at once.
 *
 * The delivery address (the student's id, the channel, the answer message to reply to) is handed
 * to the core, which seals it before it stores anything (src/humanloop/address.ts).
 */
import {
  LabelBuilder,
  MessageFlags,
  ModalBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { LOOP_MESSAGES, MAX_DETAILS_CHARS, truncate } from '../../../src/bot/index.js';
import { DISCORD_LIMITS, LABELS, renderDelivery, renderNotice } from '../cards.js';
import { deferPrivately, logUser, modalText, toOptions, type HandlerContext } from '../context.js';
import { customIds, ESCALATION_FIELD_ID, parseEscalateId, type EscalateAction } from '../customIds.js';
import { describeError } from '../errors.js';

export function escalationModal(answerId: string, messageId: string | null): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customIds.escalate(answerId, messageId))
    .setTitle(truncate(LABELS.escalateModalTitle, DISCORD_LIMITS.modalTitle))
    .addLabelComponents(
      new LabelBuilder()
        .setLabel(truncate(LOOP_MESSAGES.escalationDetailsPrompt, DISCORD_LIMITS.modalLabel))
        .setTextInputComponent(
          new TextInputBuilder()
            .setCustomId(ESCALATION_FIELD_ID)
            .setStyle(TextInputStyle.Paragraph)
            .setRequired(false)
            .setMaxLength(MAX_DETAILS_CHARS)
            .setPlaceholder(truncate(LOOP_MESSAGES.escalationDetailsPlaceholder, 100)),
        ),
    );
}

export function parse(customId: string): EscalateAction | null {
  return parseEscalateId(customId);
}

export async function run(interaction: ButtonInteraction | ModalSubmitInteraction, action: EscalateAction, ctx: HandlerContext): Promise<void> {
  if (!ctx.humanLoop) {
    await interaction
      .reply({ ...toOptions(renderNotice(LOOP_MESSAGES.escalationOff, 'ℹ️')), flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not say the human loop is off'));
    return;
  }
  if (interaction.isModalSubmit()) return submit(interaction, action, ctx);
  // A button on the answer itself (not-found answers): that public message is the one to reply to.
  const messageId = action.messageId ?? (interaction.message.flags.has(MessageFlags.Ephemeral) ? null : interaction.message.id);
  await interaction
    .showModal(escalationModal(action.answerId, messageId))
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not open the escalation modal'));
}

async function submit(interaction: ModalSubmitInteraction, action: EscalateAction, ctx: HandlerContext): Promise<void> {
  const loop = ctx.humanLoop!;
  const user = logUser(ctx, interaction.user.id);
  if (!(await deferPrivately(interaction, ctx, user, 'escalation'))) return;
  const details = modalText(interaction, ESCALATION_FIELD_ID);
  const outcome = await loop.escalate({
    platform: 'discord',
    userId: interaction.user.id,
    answerId: action.answerId,
    details,
    displayName: interaction.user.globalName ?? interaction.user.username,
    address: {
      platform: 'discord',
      userId: interaction.user.id,
      channelId: interaction.channelId,
      messageId: action.messageId,
      guildId: interaction.guildId,
      // No public answer to reply to (a private answer: DISCORD_EPHEMERAL, a DM, or a follow-up
      // answered privately where the bot may not start threads): what the student asked privately
      // is answered privately, by DM, not in the channel.
      ephemeral: ctx.config.DISCORD_EPHEMERAL || interaction.guildId === null || action.messageId === null,
    },
  });
  ctx.logger.info({ user, answerId: action.answerId, status: outcome.status, ...('caseId' in outcome ? { caseId: outcome.caseId } : {}) }, 'discord: escalation');
  const message =
    outcome.status === 'resolved'
      ? renderDelivery(outcome.delivery, { intro: outcome.message })
      : outcome.status === 'failed' || outcome.status === 'not-found'
        ? renderNotice(outcome.message)
        : { content: outcome.message, embeds: [], components: [] };
  await interaction
    .editReply(toOptions(message))
    .catch((err: unknown) => ctx.logger.error({ user, err: describeError(err) }, 'discord: could not confirm the escalation'));
}
