/** What every interaction handler receives, and what they share. */
import { MessageFlags, type MessageMentionOptions, type ModalSubmitInteraction } from 'discord.js';
import type { BotService, Config, FeedbackStore, HumanLoop, Logger } from '../../src/bot/index.js';
import type { DiscordMessage } from './cards.js';
import { describeError } from './errors.js';

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

/**
 * A submitted modal's text field, or '' when the modal lacks it (the form changed since it was
 * opened): every field the bot's modals ask for is optional to the code that reads it.
 */
export function modalText(interaction: ModalSubmitInteraction, fieldId: string): string {
  try {
    return interaction.fields.getTextInputValue(fieldId);
  } catch {
    return '';
  }
}

/** Acknowledges privately; false, logged as `discord: <what> defer failed`, when Discord refused. */
export async function deferPrivately(interaction: ModalSubmitInteraction, ctx: HandlerContext, user: string, what: string): Promise<boolean> {
  try {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    return true;
  } catch (err) {
    ctx.logger.warn({ user, err: describeError(err) }, `discord: ${what} defer failed`);
    return false;
  }
}

