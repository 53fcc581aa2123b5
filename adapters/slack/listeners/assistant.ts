/**
 * Slack's own convention for assistants: Bolt's `Assistant` (the app's side panel / AI app
 * threads; a paid-plan feature). Each assistant thread is one conversation:
 *
 * - `assistant_thread_started`: a greeting and suggested prompts built from the course's first
 *   lectures ("aula 3: …", the lecture filter's prefix);
 * - a message in the thread: the "thinking" status (`assistant.threads.setStatus`) at once, the
 *   thread titled after its first question, then the answer posted in the thread (links,
 *   👍/👎, Avaliar) as the next turn of the conversation;
 * - `assistant_thread_context_changed`: ignored (answers do not depend on the channel the user is
 *   looking at), so nothing is written to Slack.
 *
 * Needs the `assistant:write` and `im:history` scopes and the `assistant_thread_started`,
 * `assistant_thread_context_changed` and `message.im` events (manifest.yml).
 */
import { Assistant, type AssistantUserMessageMiddleware } from '@slack/bolt';
import { MESSAGES, truncate } from '../../../src/bot/index.js';
import { renderAnswer, renderPlainAnswer } from '../cards.js';
import type { ListenerContext } from '../context.js';
import { errorText } from '../errors.js';
import { slackTextToPlain } from '../markdown.js';
import { BotMessage, threadKey } from '../threads.js';
import { mayAnnotate } from './actions/annotate.js';
import { plainMessage } from './events/appMention.js';

export const ASSISTANT_TEXT = {
  greeting: 'Olá! Pergunte sobre o conteúdo das aulas: eu respondo com os trechos exatos dos vídeos. Para procurar só numa aula, comece com “aula 3: …”.',
  promptsTitle: 'Sugestões',
  /** A suggested prompt for one lecture: its filter prefix and a question about it. */
  lecturePrompt: (prefix: string) => `${prefix}: quais são os pontos principais desta aula?`,
} as const;

/** Up to 3 suggested prompts from the course's lectures (Slack shows at most 4). */
export function suggestedPrompts(ctx: ListenerContext): { title: string; message: string }[] {
  return ctx.bot
    .lectureChoices('')
    .slice(0, 3)
    .map((choice, i) => {
      const prefix = /^aula\s*\d+/i.exec(choice.name)?.[0]?.toLowerCase() ?? `aula ${i + 1}`;
      return { title: truncate(choice.name, 75), message: ASSISTANT_TEXT.lecturePrompt(prefix) };
    });
}

export function assistant(ctx: ListenerContext): Assistant {
  const userMessage: AssistantUserMessageMiddleware = async ({ message, client, setStatus, setTitle }) => {
    // Only people's messages (not the bot's own, edits or joins), in an assistant thread.
    if (message.subtype !== undefined || !('user' in message) || typeof message.user !== 'string') return;
    const threadTs = 'thread_ts' in message && typeof message.thread_ts === 'string' ? message.thread_ts : undefined;
    if (!threadTs) return;
    const user = message.user;
    const channel = message.channel;
    const question = slackTextToPlain(message.text ?? '').trim();
    const reply = new BotMessage(client, channel, threadTs);
    const show = async (m: Parameters<BotMessage['show']>[0]) => {
      try {
        await reply.show(m);
      } catch (err) {
        ctx.logger.error({ err: errorText(err) }, 'slack: could not answer in the assistant thread');
      }
    };
    if (question === '') return show(plainMessage(MESSAGES.usage));
    const staff = mayAnnotate(ctx.config.SLACK_ANNOTATOR_IDS, user);
    const limited = ctx.bot.checkRateLimit({ platform: 'slack', userId: user, staff });
    if (limited) return show(plainMessage(limited.message));
    // The "thinking" status shows at once and clears when the answer is posted.
    await setStatus(MESSAGES.searching).catch((err: unknown) => ctx.logger.warn({ err: errorText(err) }, 'slack: could not set the assistant status'));
    const outcome = await ctx.bot.ask({
      platform: 'slack',
      userId: user,
      channel,
      question,
      lecturePrefix: true,
      staff,
      conversation: { thread: threadKey(channel, threadTs), linkIfNew: true },
    });
    if (outcome.status !== 'answered') return show(plainMessage(outcome.message));
    if (outcome.result.turn === 1) {
      await setTitle(truncate(outcome.result.question, 80)).catch((err: unknown) => ctx.logger.warn({ err: errorText(err) }, 'slack: could not title the assistant thread'));
    }
    const { result } = outcome;
    try {
      const { plainText } = await reply.showAnswer(
        renderAnswer(result, { feedback: outcome.recorded, forward: ctx.humanLoop !== undefined }),
        () => renderPlainAnswer(result, {}),
        (error) => ctx.logger.warn({ answerId: result.id, error }, 'slack refused the rendered answer; sending it as plain text'),
      );
      ctx.logger.info({ answerId: result.id, turn: result.turn, kind: result.kind, ...(plainText ? { plainText } : {}) }, 'slack: assistant thread answered');
    } catch (err) {
      ctx.logger.error({ answerId: result.id, err: errorText(err) }, 'slack: could not answer in the assistant thread');
    }
  };

  return new Assistant({
    threadStarted: async ({ event, client, setSuggestedPrompts }) => {
      const { channel_id: channel, thread_ts: threadTs } = event.assistant_thread;
      try {
        await client.chat.postMessage({ channel, thread_ts: threadTs, text: ASSISTANT_TEXT.greeting });
        const prompts = suggestedPrompts(ctx);
        if (prompts.length > 0) await setSuggestedPrompts({ prompts, title: ASSISTANT_TEXT.promptsTitle });
      } catch (err) {
        ctx.logger.warn({ err: errorText(err) }, 'slack: could not greet in the assistant thread');
      }
    },
    threadContextChanged: async () => {
      // Answers do not depend on the channel the user has open: nothing to keep.
    },
    userMessage: ctx.track('assistant message', userMessage as (args: Parameters<AssistantUserMessageMiddleware>[0]) => Promise<void>),
  });
}
