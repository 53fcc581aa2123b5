/** What every interaction handler receives. */
import type { MessageMentionOptions } from 'discord.js';
import type { BotService, Config, FeedbackStore, HumanLoop, Logger } from '../../src/bot/index.js';
import type { DiscordMessage } from './cards.js';

export interface HandlerContext {
  config: Config;
  logger: Logger;
  bot: BotService;
  store: FeedbackStore;
  /** Minimum gap between two streaming edits of one reply (ms). */
  editIntervalMs: number;
  /** The human loop, when it is on ("Chamar um monitor", TAs' answers delivered here). */
  humanLoop?: HumanLoop;
}

/** The bot never pings anyone: no @everyone/@here, roles, users or replied user. */
export const NO_MENTIONS: MessageMentionOptions = { parse: [], repliedUser: false };

/** A rendered message as discord.js options, with mentions disabled. */
export function toOptions(message: DiscordMessage): { content: string; embeds: DiscordMessage['embeds']; components: DiscordMessage['components']; allowedMentions: MessageMentionOptions } {
  return { content: message.content ?? '', embeds: message.embeds, components: message.components, allowedMentions: NO_MENTIONS };
}

/** Pseudonymous user id for logs (raw Discord ids are not logged). */
export function logUser(ctx: HandlerContext, userId: string): string {
  return ctx.store.pseudonymize('discord', userId);
}
