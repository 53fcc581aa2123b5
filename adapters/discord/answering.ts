/**
 * One question answered into one Discord message, wherever that message lives: the deferred
 * reply of `/pergunta`, of "Buscar em todas as aulas" or of the follow-up modal, or a message the
 * bot posted in a thread. The answer streams into it with throttled edits and ends as the final
 * embed with links, 👍/👎 and "Perguntar mais" (or as a pt-BR notice; as plain text when Discord
 * refuses the embed); the message is never left "thinking".
 */
import { type AnswerResult, type AskInput, type AskOutcome, MESSAGES, normalizeQuestion } from '../../src/bot/index.js';
import { asPlainMessages, renderAnswer, renderNotice, renderPlainAnswer, renderProgress, type DiscordMessage } from './cards.js';
import type { HandlerContext } from './context.js';
import { describeError, isRefusedMessage } from './errors.js';
import { ThrottledEditor } from './streaming.js';

export interface AnswerTarget {
  /** Replaces the message's content (previews, the final answer, a notice). */
  edit(message: DiscordMessage): Promise<unknown>;
  /** Sends one more message after it (the rest of a long answer). */
  more(message: DiscordMessage): Promise<unknown>;
  /**
   * Shows a refusal privately when the message is public (a limit reached after the public reply
   * was opened); absent: the refusal replaces the message.
   */
  refusePrivately?(message: DiscordMessage): Promise<void>;
}

export interface DeliverOptions {
  /** Pseudonymous user id, for logs. */
  user: string;
  /** Shown above the answer ("Pergunta de @…"): messages the bot posts in a thread. */
  askedBy?: string;
  /** When the interaction or message arrived (logs). */
  started: number;
  /** For logs: `/pergunta`, `follow-up`, `mention`… */
  via: string;
}

/**
 * The answer is a later turn of a conversation: a follow-up ("Perguntar mais", whose answer
 * continues the one it was pressed on, even one from before conversations), or a question in a
 * thread that holds a conversation (a mention, `/pergunta`). A `/pergunta` in some other thread
 * starts a conversation of its own (turn 1) and is not one.
 */
export function continuesConversation(input: Pick<AskInput, 'conversation'>, result: Pick<AnswerResult, 'turn'>): boolean {
  if (!input.conversation) return false;
  return 'answerId' in input.conversation || (result.turn ?? 0) > 1;
}

/** Asks the core and delivers the outcome into `target`; returns the outcome. */
export async function deliverAnswer(ctx: HandlerContext, target: AnswerTarget, input: Omit<AskInput, 'onDelta'>, opts: DeliverOptions): Promise<AskOutcome> {
  const preview = normalizeQuestion(input.question);
  const editor = new ThrottledEditor<DiscordMessage>((message) => target.edit(message), ctx.editIntervalMs, ctx.logger);
  let outcome: AskOutcome;
  let text = '';
  try {
    outcome = await ctx.bot.ask({
      ...input,
      onDelta: (delta) => {
        text += delta;
        editor.update(() => renderProgress(preview, ctx.bot.displayText(text), opts.askedBy));
      },
    });
  } catch (err) {
    // BotService.ask does not throw; this is a last line of defence.
    ctx.logger.error({ user: opts.user, err: describeError(err) }, 'discord: ask threw');
    outcome = { status: 'failed', message: MESSAGES.failed };
  }

  try {
    switch (outcome.status) {
      case 'answered': {
        const { result, recorded } = outcome;
        // With the human loop on, a "not found" answer, and every follow-up, offers "Chamar um monitor" (cards.ts).
        const renderOptions = {
          votes: recorded,
          escalate: ctx.humanLoop !== undefined,
          conversationTurn: continuesConversation(input, result),
          ...(opts.askedBy ? { askedBy: opts.askedBy } : {}),
        };
        const rendered = renderAnswer(result, renderOptions);
        let continuations = rendered.continuations;
        let plainText = false;
        try {
          await editor.finish(rendered.message);
        } catch (err) {
          if (!isRefusedMessage(err)) throw err;
          // Discord refused the embed: the same answer and links as plain text beat an error.
          ctx.logger.warn({ user: opts.user, answerId: result.id, err: describeError(err) }, 'discord: the rendered answer was refused; sending it as plain text');
          const [first, ...rest] = renderPlainAnswer(result, renderOptions);
          await target.edit(first!);
          continuations = rest;
          plainText = true;
        }
        let sentParts = 1;
        for (const part of continuations) {
          try {
            try {
              await target.more(part);
            } catch (err) {
              if (plainText || !isRefusedMessage(err)) throw err;
              ctx.logger.warn({ user: opts.user, answerId: result.id, err: describeError(err) }, 'discord: a continuation was refused; sending it as plain text');
              for (const plain of asPlainMessages(part)) await target.more(plain);
            }
            sentParts++;
          } catch (err) {
            // The answer itself is already shown: keep it, only the rest of a long text is missing.
            ctx.logger.error({ user: opts.user, answerId: result.id, err: describeError(err) }, 'discord: could not send the rest of a long answer');
            break;
          }
        }
        ctx.logger.info(
          {
            user: opts.user,
            via: opts.via,
            answerId: result.id,
            conversationId: result.conversationId,
            turn: result.turn,
            kind: result.kind,
            lectureFilter: result.lectureFilter?.length ?? 0,
            references: result.references.length,
            answerChars: result.answer.length,
            edits: editor.edits,
            parts: sentParts,
            plainText,
            recorded,
            ms: Date.now() - opts.started,
          },
          'discord: question answered',
        );
        return outcome;
      }
      case 'rate-limited':
        // Lost a race with another question of the same user after the adapter's check.
        await editor.close();
        if (target.refusePrivately) await target.refusePrivately(renderNotice(outcome.message, '⏳'));
        else await target.edit(renderNotice(outcome.message, '⏳'));
        return outcome;
      case 'invalid':
      case 'unknown-lecture':
      case 'conversation-closed':
        await editor.finish(renderNotice(outcome.message, 'ℹ️'));
        return outcome;
      case 'failed':
        await editor.finish(renderNotice(outcome.message));
        ctx.logger.info({ user: opts.user, via: opts.via, ms: Date.now() - opts.started }, 'discord: question failed, error shown');
        return outcome;
    }
  } catch (err) {
    // The final edit was refused (or the network failed): never leave the message "thinking".
    ctx.logger.error({ user: opts.user, err: describeError(err) }, 'discord: could not send the answer');
    await target
      .edit(renderNotice(MESSAGES.failed))
      .catch((again: unknown) => ctx.logger.error({ user: opts.user, err: describeError(again) }, 'discord: could not send the error message either'));
  }
  return outcome;
}
