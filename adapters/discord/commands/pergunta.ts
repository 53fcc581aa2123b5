/**
 * `/pergunta texto:<pergunta>`: the command as registered with Discord (`data`, pt-BR name and
 * descriptions) and its handler (`execute`).
 *
 * Over-limit users get a private message at once; otherwise the reply is deferred before
 * anything slow, the answer streams into it with throttled edits, and it ends as the final
 * embed with links and vote buttons, or as a pt-BR error message. The reply is never left
 * "thinking".
 */
import {
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { type AskOutcome, LOOP_MESSAGES, MAX_QUESTION_CHARS, MESSAGES, normalizeQuestion } from '../../../src/bot/index.js';
import { asPlainMessages, renderAnswer, renderDelivery, renderNotice, renderPlainAnswer, renderProgress, type DiscordMessage } from '../cards.js';
import { logUser, NO_MENTIONS, toOptions, type HandlerContext } from '../context.js';
import { describeError, isRefusedMessage, isUnknownInteraction } from '../errors.js';
import { ThrottledEditor } from '../streaming.js';

export const QUESTION_OPTION = 'texto';

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
  );

export async function execute(interaction: ChatInputCommandInteraction, ctx: HandlerContext): Promise<void> {
  const started = Date.now();
  const userId = interaction.user.id;
  const user = logUser(ctx, userId);

  // Checked before deferring, so the refusal can be private even when answers are public.
  const limited = ctx.bot.checkRateLimit({ platform: 'discord', userId });
  if (limited) {
    ctx.logger.info({ user, retryAfter: limited.retryAfterSeconds }, 'discord: question rate-limited');
    await interaction
      .reply({ ...toOptions(renderNotice(limited.message, '⏳')), flags: MessageFlags.Ephemeral })
      .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the rate-limit message'));
    return;
  }

  // Read before deferring: reading it cannot fail afterwards and leave the reply "thinking".
  const question = questionOf(interaction);
  const ephemeral = ctx.config.DISCORD_EPHEMERAL;
  try {
    await interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
  } catch (err) {
    const why = isUnknownInteraction(err) ? 'the interaction expired before the defer' : 'defer failed';
    ctx.logger.warn({ user, err: describeError(err), ms: Date.now() - started }, `discord: ${why}`);
    return;
  }

  const preview = normalizeQuestion(question);
  const editor = new ThrottledEditor<DiscordMessage>(
    (message) => interaction.editReply(toOptions(message)),
    ctx.editIntervalMs,
    ctx.logger,
  );

  let outcome: AskOutcome;
  let text = '';
  try {
    outcome = await ctx.bot.ask({
      platform: 'discord',
      userId,
      channel: interaction.channelId,
      question,
      onDelta: (delta) => {
        text += delta;
        editor.update(() => renderProgress(preview, ctx.bot.displayText(text)));
      },
    });
  } catch (err) {
    // BotService.ask does not throw; this is a last line of defence.
    ctx.logger.error({ user, err: describeError(err) }, 'discord: ask threw');
    outcome = { status: 'failed', message: MESSAGES.failed };
  }

  try {
    switch (outcome.status) {
      case 'answered': {
        const { result, recorded } = outcome;
        const followUp = (message: DiscordMessage) =>
          interaction.followUp({ ...toOptions(message), ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) });
        // With the human loop on, a "not found" answer offers "Chamar um monitor" (cards.ts).
        const escalate = ctx.humanLoop !== undefined;
        const rendered = renderAnswer(result, { votes: recorded, escalate });
        let continuations = rendered.continuations;
        let plainText = false;
        try {
          await editor.finish(rendered.message);
        } catch (err) {
          if (!isRefusedMessage(err)) throw err;
          // Discord refused the embed: the same answer and links as plain text beat an error.
          ctx.logger.warn({ user, answerId: result.id, err: describeError(err) }, 'discord: the rendered answer was refused; sending it as plain text');
          const [first, ...rest] = renderPlainAnswer(result, { votes: recorded, escalate });
          await interaction.editReply(toOptions(first!));
          continuations = rest;
          plainText = true;
        }
        let sentParts = 1;
        for (const part of continuations) {
          try {
            try {
              await followUp(part);
            } catch (err) {
              if (plainText || !isRefusedMessage(err)) throw err;
              ctx.logger.warn({ user, answerId: result.id, err: describeError(err) }, 'discord: a continuation was refused; sending it as plain text');
              for (const plain of asPlainMessages(part)) await followUp(plain);
            }
            sentParts++;
          } catch (err) {
            // The answer itself is already shown: keep it, only the rest of a long text is missing.
            ctx.logger.error({ user, answerId: result.id, err: describeError(err) }, 'discord: could not send the rest of a long answer');
            break;
          }
        }
        ctx.logger.info(
          {
            user,
            answerId: result.id,
            kind: result.kind,
            references: result.references.length,
            answerChars: result.answer.length,
            edits: editor.edits,
            parts: sentParts,
            plainText,
            recorded,
            ms: Date.now() - started,
          },
          'discord: question answered',
        );
        await showPendingAnswers(interaction, ctx);
        return;
      }
      case 'rate-limited':
        // Lost a race with another question of the same user after the check above.
        await editor.close();
        await replacePrivately(interaction, renderNotice(outcome.message, '⏳'), ctx);
        return;
      case 'invalid':
        await editor.finish(renderNotice(outcome.message, 'ℹ️'));
        return;
      case 'failed':
        await editor.finish(renderNotice(outcome.message));
        ctx.logger.info({ user, ms: Date.now() - started }, 'discord: question failed, error shown');
        return;
    }
  } catch (err) {
    // The final edit was refused (or the network failed): never leave the reply "thinking".
    ctx.logger.error({ user, err: describeError(err) }, 'discord: could not send the answer');
    await interaction
      .editReply(toOptions(renderNotice(MESSAGES.failed)))
      .catch((again: unknown) => ctx.logger.error({ user, err: describeError(again) }, 'discord: could not send the error message either'));
  }
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
 * The question as sent; '' (answered with "Escreva uma pergunta…") when the option is missing
 * or is not a string, which Discord never sends for the registered command but a stale
 * registration or a malformed payload could: discord.js would throw, after the defer.
 */
function questionOf(interaction: ChatInputCommandInteraction): string {
  try {
    return interaction.options.getString(QUESTION_OPTION) ?? '';
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
