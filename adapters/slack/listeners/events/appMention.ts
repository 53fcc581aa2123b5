/**
 * `app_mention`: a message that mentions the bot. In the thread of one of its answers it
 * continues that conversation; anywhere else it starts one, answered in a thread under the
 * message (so the next mention there continues it). Slack needs the `app_mentions:read` scope and
 * the `app_mention` event subscription (manifest.yml).
 *
 * Bolt acknowledges the event before this runs (Slack's 3 seconds); the visible acknowledgement
 * is the bot's reply appearing in the thread at once ("Procurando nas aulas…"), updated with the
 * answer when it is ready. Refusals (a limit, no question) are shown only to the person who wrote
 * (`chat.postEphemeral` in the thread).
 */
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { renderAnswer, renderPlainAnswer } from '../../cards.js';
import type { ListenerContext } from '../../context.js';
import { errorText } from '../../errors.js';
import { escapeMrkdwn, slackTextToPlain } from '../../markdown.js';
import { BotMessage, threadKey, withoutMention } from '../../threads.js';
import { mayAnnotate } from '../actions/annotate.js';

/** A plain one-section message (progress, refusals). */
export function plainMessage(text: string): { text: string; blocks: [{ type: 'section'; text: { type: 'mrkdwn'; text: string } }] } {
  return { text: escapeMrkdwn(text), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(text) } }] };
}

export function appMention(ctx: ListenerContext) {
  return async ({ event, client, context }: SlackEventMiddlewareArgs<'app_mention'> & AllMiddlewareArgs): Promise<void> => {
    if (event.bot_id || event.subtype || !event.user) return;
    const user = event.user;
    const channel = event.channel;
    const threadTs = event.thread_ts ?? event.ts;
    const question = slackTextToPlain(withoutMention(event.text ?? '', context.botUserId));
    const privately = async (text: string) => {
      try {
        await client.chat.postEphemeral({ channel, user, thread_ts: threadTs, text });
      } catch (err) {
        ctx.logger.warn({ err: errorText(err) }, 'slack: could not reply privately to a mention');
      }
    };
    if (question === '') return privately(MESSAGES.usage);
    const staff = mayAnnotate(ctx.config.SLACK_ANNOTATOR_IDS, user);
    const limited = ctx.bot.checkRateLimit({ platform: 'slack', userId: user, staff });
    if (limited) return privately(limited.message);

    const reply = new BotMessage(client, channel, threadTs);
    try {
      await reply.show(plainMessage(MESSAGES.searching));
    } catch (err) {
      ctx.logger.warn({ err: errorText(err) }, 'slack: could not reply in the thread of a mention');
      return;
    }
    const outcome = await ctx.bot.ask({
      platform: 'slack',
      userId: user,
      channel,
      question,
      lecturePrefix: true,
      staff,
      conversation: { thread: threadKey(channel, threadTs), linkIfNew: true },
    });
    try {
      if (outcome.status === 'answered') {
        const { result } = outcome;
        const { plainText } = await reply.showAnswer(
          renderAnswer(result, { feedback: outcome.recorded, askedBy: user, forward: ctx.humanLoop !== undefined }),
          () => renderPlainAnswer(result, { askedBy: user }),
          (error) => ctx.logger.warn({ answerId: result.id, error }, 'slack refused the rendered answer; sending it as plain text'),
        );
        ctx.logger.info(
          { answerId: result.id, conversationId: result.conversationId, turn: result.turn, kind: result.kind, ...(plainText ? { plainText } : {}) },
          'slack: mention answered in its thread',
        );
      } else {
        await reply.show(plainMessage(outcome.message));
      }
    } catch (err) {
      ctx.logger.error({ err: errorText(err) }, 'slack: could not update the answer to a mention');
    }
  };
}
