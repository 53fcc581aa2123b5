/**
 * `/pergunta texto:<pergunta> [aula:<aula>]`: the command as registered with Discord (`data`,
 * pt-BR name and descriptions), its handler (`execute`) and the autocomplete of `aula`.
 *
 * Over-limit users get a private message at once; otherwise the reply is deferred before
 * anything slow and the answer streams into it (answering.ts). `aula` restricts the search to one
 * lecture: Discord autocompletes it with the course's lecture titles (the value is the video id;
 * text typed without choosing is resolved by the core, "aula 6" or part of a title). Inside a
 * thread the bot started on an answer, the question continues that conversation.
 */
import {
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { LOOP_MESSAGES, MAX_LECTURE_CHOICES, MAX_QUESTION_CHARS } from '../../../src/bot/index.js';
import { deliverAnswer } from '../answering.js';
import { renderDelivery, renderNotice, type DiscordMessage } from '../cards.js';
import { logUser, NO_MENTIONS, toOptions, type HandlerContext } from '../context.js';
import { describeError, isUnknownInteraction } from '../errors.js';

export const QUESTION_OPTION = 'texto';
export const LECTURE_OPTION = 'aula';

export const data = new SlashCommandBuilder()
  .setName('pergunta')
  .setDescription('Pergunte sobre o conteúdo das aulas: a resposta traz links para o trecho exato dos vídeos.')
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
  .addStringOption((option) =>
    option
      .setName(QUESTION_OPTION)
      .setDescription('Sua pergunta, por exemplo: O que é overfitting?')
      .setRequired(true)
      .setMinLength(1)
      // Discord enforces this in the client, before the question reaches the bot.
      .setMaxLength(MAX_QUESTION_CHARS),
  )
  .addStringOption((option) =>
    option
      .setName(LECTURE_OPTION)
      .setDescription('Opcional: procurar só nesta aula (comece a digitar o nome ou o número)')
      .setRequired(false)
      .setMaxLength(100)
      .setAutocomplete(true),
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: HandlerContext): Promise<void> {
  const started = Date.now();
  const userId = interaction.user.id;
  const user = logUser(ctx, userId);

  // Checked before deferring, so the refusal can be private even when answers are public.
  const limited = ctx.bot.checkRateLimit({ platform: 'discord', userId });
  if (limited) {
    ctx.logger.info({ user, limit: limited.limit, retryAfter: limited.retryAfterSeconds }, 'discord: question refused by a limit');
    await interaction
      .reply({ ...toOptions(renderNotice(limited.message, '⏳')), flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the rate-limit message'));
    return;
  }

  // Read before deferring: reading them cannot fail afterwards and leave the reply "thinking".
  const question = optionOf(interaction, QUESTION_OPTION);
  const lecture = optionOf(interaction, LECTURE_OPTION);
  const inThread = interaction.channel?.isThread() ?? false;
  const ephemeral = ctx.config.DISCORD_EPHEMERAL;
  try {
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  } catch (err) {
    const why = isUnknownInteraction(err) ? 'the interaction expired before the defer' : 'defer failed';
    ctx.logger.warn({ user, err: describeError(err), ms: Date.now() - started }, `discord: ${why}`);
    return;
  }

  const outcome = await deliverAnswer(
    ctx,
    {
      edit: (message) => interaction.editReply(toOptions(message)),
      more: (message) => interaction.followUp({ ...toOptions(message), ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) }),
      refusePrivately: (message) => replacePrivately(interaction, message, ctx),
    },
    {
      platform: 'discord',
      userId,
      channel: interaction.channelId,
      question,
      ...(lecture ? { lecture } : {}),
      // In a thread the bot started on an answer, the question continues that conversation.
      ...(inThread && interaction.channelId ? { conversation: { thread: interaction.channelId } } : {}),
    },
    { user, started, via: '/pergunta' },
  );
  if (outcome.status === 'answered') await showPendingAnswers(interaction, ctx);
}

/** Autocomplete of `aula`: the lectures matching what was typed, at most 25, answered at once. */
export async function autocomplete(interaction: AutocompleteInteraction, ctx: HandlerContext): Promise<void> {
  let typed = '';
  try {
    const focused = interaction.options.getFocused(true);
    if (focused.name !== LECTURE_OPTION) {
      await interaction.respond([]);
      return;
    }
    typed = String(focused.value ?? '');
  } catch {
    // A malformed payload: no choices rather than no answer.
  }
  const choices = ctx.bot.lectureChoices(typed.slice(0, 100)).slice(0, MAX_LECTURE_CHOICES);
  await interaction
    .respond(choices)
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not answer the lecture autocomplete'));
}

/**
 * TAs' answers that could not reach this student (DMs closed) are shown now, privately, after
 * their answer (the human loop). A failure leaves them for the next question.
 */
async function showPendingAnswers(interaction: ChatInputCommandInteraction, ctx: HandlerContext): Promise<void> {
  if (!ctx.humanLoop) return;
  await ctx.humanLoop.deliverNotices('discord', interaction.user.id, async (view) => {
    await interaction.followUp({ ...toOptions(renderDelivery(view, { intro: LOOP_MESSAGES.deliveredNoticeIntro })), flags: MessageFlags.Ephemeral });
  });
}

/**
 * An option's text as sent; '' when missing or not a string (the question is then answered with
 * "Escreva uma pergunta…"), which Discord never sends for the registered command but a stale
 * registration or a malformed payload could: discord.js would throw, after the defer.
 */
function optionOf(interaction: ChatInputCommandInteraction, name: string): string {
  try {
    return interaction.options.getString(name) ?? '';
  } catch {
    return '';
  }
}

/** Turns a public deferred reply into a private message (delete + ephemeral follow-up). */
async function replacePrivately(interaction: ChatInputCommandInteraction, message: DiscordMessage, ctx: HandlerContext): Promise<void> {
  if (interaction.ephemeral) {
    await interaction.editReply(toOptions(message));
    return;
  }
  try {
    await interaction.deleteReply();
    await interaction.followUp({ ...toOptions(message), flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
  } catch (err) {
    ctx.logger.warn({ err: describeError(err) }, 'discord: could not make the message private; editing the reply instead');
    await interaction.editReply(toOptions(message));
  }
}
