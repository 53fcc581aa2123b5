/**
 * Every slash command, by name (the discord.js guide's command collection). A command module
 * exports `data` (its definition, registered by `npm run discord:register`), `execute(interaction,
 * ctx)` and, when an option autocompletes, `autocomplete(interaction, ctx)`;
 * events/interactionCreate.ts dispatches by name from this map.
 * A new command is a new module added to the list below.
 */
import type { AutocompleteInteraction, ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { HandlerContext } from '../context.js';
import * as pergunta from './pergunta.js';

export interface Command {
  /** The definition registered with Discord (a SlashCommandBuilder). */
  readonly data: { readonly name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, ctx: HandlerContext): Promise<void>;
  /** Answers the autocomplete of the command's options (within Discord's 3 seconds). */
  autocomplete?(interaction: AutocompleteInteraction, ctx: HandlerContext): Promise<void>;
}

const modules: readonly Command[] = [pergunta];

export const commands: ReadonlyMap<string, Command> = new Map(modules.map((command) => [command.data.name, command]));
