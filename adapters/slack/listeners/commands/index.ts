import type { App, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { MESSAGES } from '../../../../src/bot/index.js';
import type { ListenerContext } from '../../context.js';
import { FAQ_COMMAND, faqCommand } from './faq.js';
import { COMMAND, perguntaCommand } from './pergunta.js';

export function registerCommands(app: App, ctx: ListenerContext): void {
  app.command(COMMAND, ctx.track('command /pergunta', perguntaCommand(ctx)));
  app.command(FAQ_COMMAND, ctx.track('command /pergunta-faq', faqCommand(ctx)));
  // Any other command routed to this app (e.g. one added in the Slack app settings but not
  // here): a private pt-BR hint in the acknowledgement, instead of Bolt's 404 after 3 seconds.
  app.command(
    new RegExp(`^(?!(?:${[COMMAND, FAQ_COMMAND].map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$)`),
    ctx.track('command (unknown)', async ({ ack, command }: SlackCommandMiddlewareArgs) => {
      ctx.logger.info({ command: String(command.command).slice(0, 100) }, 'slack: unknown command');
      await ack({ response_type: 'ephemeral', text: MESSAGES.unknownCommand });
    }),
  );
}
