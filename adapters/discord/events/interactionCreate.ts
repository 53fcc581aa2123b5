/**
 * Routes every interaction to its handler: slash commands by name (commands/index.ts), buttons
 * and modals to the component whose `parse` recognises the custom_id (components/index.ts).
 * Anything else (an unknown command, a stale or foreign button) gets a private
 * pt-BR explanation rather than Discord's "interaction failed".
 */
import { MessageFlags, type Interaction, type RepliableInteraction } from 'discord.js';
import { MESSAGES } from '../../../src/bot/index.js';
import { renderNotice } from '../cards.js';
import { commands } from '../commands/index.js';
import { buttons, modals } from '../components/index.js';
import { toOptions, type HandlerContext } from '../context.js';
import { describeError } from '../errors.js';

export async function onInteraction(interaction: Interaction, ctx: HandlerContext): Promise<void> {
  if (interaction.isChatInputCommand()) {
    const command = commands.get(interaction.commandName);
    if (command) return command.execute(interaction, ctx);
    ctx.logger.info({ command: interaction.commandName }, 'discord: unknown command');
    return explain(interaction, MESSAGES.unknownCommand, ctx);
  }
  if (interaction.isButton()) {
    for (const component of buttons) {
      const running = component(interaction, ctx);
      if (running) return running;
    }
    ctx.logger.info({ customId: interaction.customId.slice(0, 100) }, 'discord: unknown button');
    return explain(interaction, MESSAGES.answerNotFound, ctx);
  }
  if (interaction.isModalSubmit()) {
    for (const component of modals) {
      const running = component(interaction, ctx);
      if (running) return running;
    }
    ctx.logger.info({ customId: interaction.customId.slice(0, 100) }, 'discord: unknown modal');
    return explain(interaction, MESSAGES.answerNotFound, ctx);
  }
  if (interaction.isAutocomplete()) {
    const command = commands.get(interaction.commandName);
    if (command?.autocomplete) return command.autocomplete(interaction, ctx);
    await interaction.respond([]).catch(() => undefined);
    return;
  }
  if (interaction.isRepliable()) return explain(interaction, MESSAGES.unknownCommand, ctx);
}

async function explain(interaction: RepliableInteraction, message: string, ctx: HandlerContext): Promise<void> {
  await interaction
    .reply({ ...toOptions(renderNotice(message, 'ℹ️')), flags: MessageFlags.Ephemeral })
    .catch((err: unknown) => ctx.logger.warn({ err: describeError(err) }, 'discord: could not send the explanation'));
}
