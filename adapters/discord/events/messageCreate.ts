/**
 * Messages that mention the bot inside a thread that holds one of its conversations (a thread it
 * started on an answer): the message continues that conversation. Reading them needs only the
 * non-privileged GuildMessages intent: Discord delivers the content of messages that mention the
 * bot even without the Message Content intent, which stays off (any other message arrives
 * without content and is ignored here).
 *
 * The bot acknowledges at once with its reply in the thread ("Procurando nas aulas…", replying to
 * the student's message), streams the answer into it and ends with the usual embed, links,
 * 👍/👎 and "Perguntar mais". A student over a limit, or a conversation that is closed, gets a
 * short reply saying so (a message cannot be private).
 */
import type { Message } from 'discord.js';
import { MESSAGES } from '../../../src/bot/index.js';
import { deliverAnswer } from '../answering.js';
import { renderNotice, renderProgress } from '../cards.js';
import { logUser, type HandlerContext } from '../context.js';
import { describeError } from '../errors.js';
import { ThreadMessage } from '../threads.js';

/** The question in a message that mentions the bot: the text without the bot's mentions. */
export function questionIn(content: string, botId: string): string {
  return content.replace(new RegExp(`<@!?${botId}>`, 'g'), ' ').replace(/\s+/g, ' ').trim();
}

export async function onMessage(message: Message, ctx: HandlerContext): Promise<void> {
  const client = message.client;
  if (message.author.bot || message.webhookId) return;
  if (!client.user || !message.mentions.users.has(client.user.id)) return;
  if (!message.channel.isThread()) return;
  const conversationId = await ctx.bot.threadConversation('discord', message.channelId);
  if (!conversationId) return; // not one of the bot's threads: a mention elsewhere is left alone

  const started = Date.now();
  const userId = message.author.id;
  const user = logUser(ctx, userId);
  const reply = new ThreadMessage(client, message.channelId, message.id);
  const question = questionIn(message.content, client.user.id);
  try {
    if (question === '') {
      await reply.show(renderNotice(MESSAGES.usage, 'ℹ️'));
      return;
    }
    const limited = ctx.bot.checkRateLimit({ platform: 'discord', userId });
    if (limited) {
      ctx.logger.info({ user, limit: limited.limit }, 'discord: mention refused by a limit');
      await reply.show(renderNotice(limited.message, '⏳'));
      return;
    }
    // The acknowledgement: the reply appears at once, before anything slow.
    await reply.show(renderProgress(question, ''));
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err) }, 'discord: could not reply to a mention');
    return;
  }
  await deliverAnswer(
    ctx,
    { edit: (m) => reply.show(m), more: (m) => reply.more(m) },
    { platform: 'discord', userId, channel: message.channelId, question, conversation: { thread: message.channelId } },
    { user, started, via: 'mention' },
  );
}
