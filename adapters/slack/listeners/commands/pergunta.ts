/**
 * `/pergunta <texto>`: acknowledged at once (Slack's 3-second deadline) with an ephemeral
 * "Procurando nas aulas…", then answered through `respond()`. Empty text gets the usage hint,
 * and a user over the rate limit the core's message, in the acknowledgement itself.
 */
import type { SlackCommandMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import { renderAnswer, renderPlainAnswer } from '../../cards.js';
import { slackTextToPlain } from '../../markdown.js';
import { ephemeral, tryRespond, type ListenerContext } from '../../context.js';
import { errorText, refusedStatus } from '../../errors.js';

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

    const { result, recorded } = outcome;
    const message = renderAnswer(result, { feedback: recorded, askedBy: command.user_id, forward: ctx.humanLoop !== undefined });
    try {
      await respond({ response_type: ctx.config.SLACK_RESPONSE_TYPE, ...message });
      ctx.logger.info({ answerId: result.id, kind: result.kind, blocks: message.blocks.length, recorded }, 'slack answer sent');
      return;
    } catch (err) {
      const status = refusedStatus(err);
      if (status !== null) {
        // Slack refused the blocks: the same answer and links, as plain text, beat an error.
        ctx.logger.warn({ answerId: result.id, status, blocks: message.blocks.length, err: errorText(err) }, 'slack refused the rendered answer; sending it as plain text');
        const plain = renderPlainAnswer(result, { askedBy: command.user_id });
        if (await tryRespond(respond, { response_type: ctx.config.SLACK_RESPONSE_TYPE, ...plain }, ctx.logger, 'plain-text answer')) {
          ctx.logger.info({ answerId: result.id, kind: result.kind, plainText: true, recorded }, 'slack answer sent');
          return;
        }
      }
      // The response_url expired, or even the plain text was refused: say so, privately.
      ctx.logger.error({ answerId: result.id, err: errorText(err) }, 'slack answer could not be sent');
      await tryRespond(respond, ephemeral(MESSAGES.failed), ctx.logger, 'answer failure notice');
    }
  };
}
