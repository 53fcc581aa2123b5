/** Events the app subscribes to (manifest.yml): mentions of the bot. */
import type { App } from '@slack/bolt';
import type { ListenerContext } from '../../context.js';
import { appMention } from './appMention.js';

export function registerEvents(app: App, ctx: ListenerContext): void {
  app.event('app_mention', ctx.track('event app_mention', appMention(ctx)));
}
