/**
 * `/pergunta [aula N: | <título da aula>:] <texto>`: acknowledged at once (Slack's 3-second
 * deadline) with an ephemeral "Procurando nas aulas…". Empty text gets the usage hint, and a user
 * over a limit (per minute, or today's quota, which annotators do not have) the core's message,
 * in the acknowledgement itself. The optional lecture prefix is read by the core.
 *
 * The answer is public by default (SLACK_RESPONSE_TYPE=in_channel) and then posted as a real
 * message with `chat.postMessage` in the command's channel: it has a `ts`, so it has a thread, and
 * replying in that thread with a mention of the bot continues the conversation
 * (listeners/events/appMention.ts). Where the bot cannot post (a channel it may not write to, a DM
 * between two people), or with SLACK_RESPONSE_TYPE=ephemeral, the answer goes through `respond()`
 * as before: visible, but not threadable.
 */
import type { SlackCommandMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { renderAnswer, renderPlainAnswer } from '../../cards.js';
import { slackTextToPlain } from '../../markdown.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';
import { errorText, refusedStatus } from '../../errors.js';
import { BotMessage, threadKey } from '../../threads.js';
import { mayAnnotate } from '../actions/annotate.js';

export const COMMAND = '/pergunta';

export function perguntaCommand(ctx: ListenerContext) {
  return async ({ command, ack, respond, client }: SlackCommandMiddlewareArgs & Pick<AllMiddlewareArgs, 'client'>): Promise<void> => {
    const question = slackTextToPlain(command.text ?? '').trim();
    if (question === '') {
      await ack({ response_type: 'ephemeral', text: MESSAGES.usage });
      return;
    }
    const staff = mayAnnotate(ctx.config.SLACK_ANNOTATOR_IDS, command.user_id);
    // An over-limit user hears it at once, privately (ask() still enforces the limits).
    const limited = ctx.bot.checkRateLimit({ platform: 'slack', userId: command.user_id, staff });
    if (limited) {
      await ack({ response_type: 'ephemeral', text: limited.message });
      return;
    }
    await ack({ response_type: 'ephemeral', text: MESSAGES.searching });

    const outcome = await ctx.bot.ask({
      platform: 'slack',
      userId: command.user_id,
      channel: command.channel_id || null,
      question,
      lecturePrefix: true,
      staff,
    });
    if (outcome.status !== 'answered') {
      await tryRespond(respond, ephemeral(outcome.message), ctx.logger, `answer (${outcome.status})`);
      return;
    }

    const { result, recorded } = outcome;
    const message = renderAnswer(result, { feedback: recorded, askedBy: command.user_id, forward: ctx.humanLoop !== undefined });
    const logged = { answerId: result.id, kind: result.kind, blocks: message.blocks.length, recorded };
    const plain = () => renderPlainAnswer(result, { askedBy: command.user_id });
    if (ctx.config.SLACK_RESPONSE_TYPE === 'in_channel' && command.channel_id) {
      try {
        const { ts, plainText } = await new BotMessage(client, command.channel_id).showAnswer(message, plain, (error) =>
          ctx.logger.warn({ answerId: result.id, error, blocks: message.blocks.length }, 'slack refused the rendered answer; sending it as plain text'),
        );
        if (result.conversationId) await ctx.bot.linkThread('slack', threadKey(command.channel_id, ts), result.conversationId);
        ctx.logger.info({ ...logged, threadable: true, ...(plainText ? { plainText } : {}) }, 'slack answer sent');
        return;
      } catch (err) {
        // e.g. not_in_channel, channel_not_found (a DM between two people), missing_scope.
        ctx.logger.warn(
          { answerId: result.id, err: errorText(err) },
          'slack: could not post the answer as a message; sent through the command response instead (replies in its thread will not continue the conversation)',
        );
      }
    }
    try {
      await respond({ response_type: ctx.config.SLACK_RESPONSE_TYPE, ...message });
      ctx.logger.info({ ...logged, threadable: false }, 'slack answer sent');
      return;
    } catch (err) {
      const status = refusedStatus(err);
      if (status !== null) {
        // Slack refused the blocks: the same answer and links, as plain text, beat an error.
        ctx.logger.warn({ answerId: result.id, status, blocks: message.blocks.length, err: errorText(err) }, 'slack refused the rendered answer; sending it as plain text');
        if (await tryRespond(respond, { response_type: ctx.config.SLACK_RESPONSE_TYPE, ...plain() }, ctx.logger, 'plain-text answer')) {
          ctx.logger.info({ ...logged, threadable: false, plainText: true }, 'slack answer sent');
          return;
        }
      }
      // The response_url expired, or even the plain text was refused: say so, privately.
      ctx.logger.error({ answerId: result.id, err: errorText(err) }, 'slack answer could not be sent');
      await tryRespond(respond, ephemeral(MESSAGES.failed), ctx.logger, 'answer failure notice');
    }
  };
}
