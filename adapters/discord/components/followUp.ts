/**
 * "Perguntar mais" (`followup:<answerId>`) on every recorded answer: the button opens a modal for
 * the follow-up question; the submitted modal answers it in the answer's thread.
 *
 * - Public answers: the modal is acknowledged at once with a private reply pointing to the
 *   answer's thread; the bot starts that thread on the answer message (or reuses its thread, or
 *   the thread the answer is in), posts the follow-up there as its own message ("Pergunta de
 *   @…", the question as the title) and streams the answer into it. The thread is linked to the
 *   conversation, so mentioning the bot or `/pergunta` in it continues it.
 * - `DISCORD_EPHEMERAL=true`: a private message cannot have a thread. The follow-up is answered
 *   privately, in the modal's own reply, with the conversation's context; that answer has its
 *   own "Perguntar mais", so the conversation goes on privately.
 * - When the bot may not start threads in that channel (a server that did not grant the
 *   permissions), the follow-up is answered privately the same way, and the log says which
 *   permission to grant.
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
import { MAX_QUESTION_CHARS, normalizeQuestion, truncate } from '../../../src/bot/index.js';
import { deliverAnswer, type AnswerTarget } from '../answering.js';
import { DISCORD_LIMITS, LABELS, renderNotice } from '../cards.js';
import { logUser, modalText, toOptions, type HandlerContext } from '../context.js';
import { customIds, FOLLOW_UP_FIELD_ID, parseFollowUpId, type AnswerAction } from '../customIds.js';
import { describeError } from '../errors.js';
import { startOrReuseThread, ThreadMessage } from '../threads.js';

export function followUpModal(answerId: string): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(customIds.followUp(answerId))
    .setTitle(truncate(LABELS.followUpModalTitle, DISCORD_LIMITS.modalTitle))
    .addLabelComponents(
      new LabelBuilder()
        .setLabel(truncate(LABELS.followUpPrompt, DISCORD_LIMITS.modalLabel))
        .setTextInputComponent(
          new TextInputBuilder()
            .setCustomId(FOLLOW_UP_FIELD_ID)
            .setStyle(TextInputStyle.Paragraph)
            .setRequired(true)
            .setMinLength(1)
            .setMaxLength(MAX_QUESTION_CHARS)
            .setPlaceholder(LABELS.followUpPlaceholder),
        ),
    );
}

export function parse(customId: string): AnswerAction | null {
  return parseFollowUpId(customId);
}

export async function run(interaction: ButtonInteraction | ModalSubmitInteraction, action: AnswerAction, ctx: HandlerContext): Promise<void> {
  if (interaction.isModalSubmit()) return submitFollowUp(interaction, action.answerId, ctx);
  // A modal must be the first response: shown at once, nothing slow before it.
  await interaction
    .showModal(followUpModal(action.answerId))
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not open the follow-up modal'));
}

async function submitFollowUp(interaction: ModalSubmitInteraction, answerId: string, ctx: HandlerContext): Promise<void> {
  const started = Date.now();
  const userId = interaction.user.id;
  const user = logUser(ctx, userId);
  const limited = ctx.bot.checkRateLimit({ platform: 'discord', userId });
  if (limited) {
    ctx.logger.info({ user, limit: limited.limit }, 'discord: follow-up refused by a limit');
    await interaction
      .reply({ ...toOptions(renderNotice(limited.message, '⏳')), flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the rate-limit message'));
    return;
  }
  // A modal without the field gets the empty question's answer ("Escreva uma pergunta…").
  const question = modalText(interaction, FOLLOW_UP_FIELD_ID);
  const input = { platform: 'discord' as const, userId, channel: interaction.channelId, question, conversation: { answerId } };
  const privately: AnswerTarget = {
    edit: (message) => interaction.editReply(toOptions(message)),
    more: (message) => interaction.followUp({ ...toOptions(message), flags: MessageFlags.Ephemeral }),
  };

  const message = interaction.message;
  if (ctx.config.DISCORD_EPHEMERAL || !message || !interaction.channelId) {
    if (!(await acknowledge(() => interaction.deferReply({ flags: MessageFlags.Ephemeral }), ctx, user, started))) return;
    await deliverAnswer(ctx, privately, input, { user, started, via: 'follow-up (private)' });
    return;
  }
  // An answer inside a thread stays in it; an answer in a channel gets a thread of its own, whose
  // id is the answer message's. So the private acknowledgement can point to the thread at once:
  // one interaction response (not counted in the bot's global REST budget, which a class pressing
  // "Perguntar mais" together would otherwise spend before the threads are started).
  const inThread = interaction.channel?.isThread() ?? false;
  const threadId = inThread ? interaction.channelId : message.id;
  const pointer = toOptions({ content: LABELS.answeredInThread(threadId), embeds: [], components: [] });
  if (!(await acknowledge(() => interaction.reply({ ...pointer, flags: MessageFlags.Ephemeral }), ctx, user, started))) return;
  const thread = inThread
    ? ({ ok: true, threadId, created: false } as const)
    : await startOrReuseThread(interaction.client, interaction.channelId, message.id, normalizeQuestion(question) || LABELS.followUp);
  if (!thread.ok) {
    ctx.logger.warn(
      { user, reason: thread.reason, err: describeError(thread.error) },
      thread.reason === 'permissions'
        ? 'discord: cannot start a thread here (grant the bot Create Public Threads and Send Messages in Threads); answering the follow-up privately'
        : 'discord: could not start a thread; answering the follow-up privately',
    );
    await deliverAnswer(ctx, privately, input, { user, started, via: 'follow-up (private, no thread)' });
    return;
  }

  const posted = new ThreadMessage(interaction.client, thread.threadId);
  const inThreadTarget: AnswerTarget = {
    edit: (m) => posted.show(m),
    more: (m) => posted.more(m),
    // A limit reached meanwhile: said in the private reply, nothing posted in the thread.
    refusePrivately: async (m) => {
      await interaction.editReply(toOptions(m));
    },
  };
  const outcome = await deliverAnswer(ctx, inThreadTarget, input, { user, started, via: 'follow-up (thread)', askedBy: userId });
  if (outcome.status === 'answered' && outcome.result.conversationId && !inThread) {
    await ctx.bot.linkThread('discord', thread.threadId, outcome.result.conversationId);
  }
}

/** The modal's first response (within Discord's 3 seconds); false when it could not be sent. */
async function acknowledge(respond: () => Promise<unknown>, ctx: HandlerContext, user: string, started: number): Promise<boolean> {
  try {
    await respond();
    return true;
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err), ms: Date.now() - started }, 'discord: follow-up acknowledgement failed');
    return false;
  }
}
