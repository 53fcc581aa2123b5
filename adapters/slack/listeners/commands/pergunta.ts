/**
 * `/pergunta <texto>`: acknowledged at once (Slack's 3-second deadline) with an ephemeral
 * "Procurando nas aulas…", then answered through `respond()`. Empty text gets the usage hint,
 * and a user over the rate limit the core's message, in the acknowledgement itself.
 */
import type { SlackCommandMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { renderAnswer } from '../../cards.js';
import { slackTextToPlain } from '../../markdown.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';
import { errorText } from '../../errors.js';

export const COMMAND = '/pergunta';

export function perguntaCommand(ctx: ListenerContext) {
  return async ({ command, ack, respond }: SlackCommandMiddlewareArgs): Promise<void> => {
    const question = slackTextToPlain(command.text ?? '').trim();
    if (question === '') {
      await ack({ response_type: 'ephemeral', text: MESSAGES.usage });
      return;
    }
    // An over-limit user hears it at once, privately (ask() still enforces the limit).
    const limited = ctx.bot.checkRateLimit({ platform: 'slack', userId: command.user_id });
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
    });
    if (outcome.status !== 'answered') {
      await tryRespond(respond, ephemeral(outcome.message), ctx.logger, `answer (${outcome.status})`);
      return;
    }

    const message = renderAnswer(outcome.result, { feedback: outcome.recorded, askedBy: command.user_id, forward: ctx.humanLoop !== undefined });
    try {
      await respond({ response_type: ctx.config.SLACK_RESPONSE_TYPE, ...message });
      ctx.logger.info(
        { answerId: outcome.result.id, kind: outcome.result.kind, blocks: message.blocks.length, recorded: outcome.recorded },
        'slack answer sent',
      );
    } catch (err) {
      // Slack refused the message (or the response_url expired): say so, in plain text.
      ctx.logger.error({ answerId: outcome.result.id, err: errorText(err) }, 'slack answer could not be sent');
      await tryRespond(respond, ephemeral(MESSAGES.failed), ctx.logger, 'answer failure notice');
    }
  };
}
