/** Registers every listener, grouped by kind (the bolt-js template layout). */
import type { App } from '@slack/bolt';
import { registerActions } from './actions/index.js';
import { assistant } from './assistant.js';
import { registerCommands } from './commands/index.js';
import { registerEvents } from './events/index.js';
import { registerViews } from './views/index.js';
import type { ListenerContext } from '../context.js';

export function registerListeners(app: App, ctx: ListenerContext): void {
  registerCommands(app, ctx);
  registerActions(app, ctx);
  registerEvents(app, ctx);
  registerViews(app, ctx);
  app.assistant(assistant(ctx));
}
