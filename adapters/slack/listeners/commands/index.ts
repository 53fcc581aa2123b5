import type { App } from '@slack/bolt';
import type { ListenerContext } from '../context.js';
import { COMMAND, perguntaCommand } from './pergunta.js';

export function registerCommands(app: App, ctx: ListenerContext): void {
  app.command(COMMAND, ctx.track('command /pergunta', perguntaCommand(ctx)));
}
