/**
 * `npm run discord:register`: registers every slash command (`/pergunta`) with Discord (a bulk
 * overwrite of the application's commands). Guild-scoped when DISCORD_GUILD_ID is set (updates
 * show at once), global otherwise (every server the bot is in; Discord may take a while to show
 * changes).
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DiscordAPIError, REST, Routes, type RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import { EXIT, UserError, type Config, type Logger } from '../../src/bot/index.js';
import { commands } from './commands/index.js';

/**
 * Exit 2 when a setting is missing (nothing was sent to Discord); exit 1 when Discord could not be
 * reached or refused the registration (the message says which setting or invite to check).
 */
export class DiscordRegistrationError extends UserError {
  override readonly name = 'DiscordRegistrationError';
  constructor(
    message: string,
    readonly exitCode: typeof EXIT.failure | typeof EXIT.invalidInput = EXIT.failure,
  ) {
    super(message);
  }
}

export type RegistrationSettings = Pick<Config, 'DISCORD_TOKEN' | 'DISCORD_APPLICATION_ID' | 'DISCORD_GUILD_ID' | 'DISCORD_API_URL'>;

export interface RegistrationResult {
  scope: 'guild' | 'global';
  guildId: string | null;
  commands: string[];
}

/** Every command the bot registers: the `data` of each module in commands/index.ts. */
export function commandDefinitions(): RESTPostAPIApplicationCommandsJSONBody[] {
  return [...commands.values()].map((command) => command.data.toJSON());
}

export async function registerCommands(settings: RegistrationSettings, logger: Logger): Promise<RegistrationResult> {
  const { DISCORD_TOKEN: token, DISCORD_APPLICATION_ID: applicationId, DISCORD_GUILD_ID: guildId } = settings;
  const missing = [!token && 'DISCORD_TOKEN', !applicationId && 'DISCORD_APPLICATION_ID'].filter(Boolean);
  if (!token || !applicationId) {
    throw new DiscordRegistrationError(
      `${missing.join(' and ')} must be set to register the Discord command (see .env.example and adapters/discord/README.md).`,
      EXIT.invalidInput,
    );
  }
  const body = commandDefinitions();
  const rest = new REST({ api: settings.DISCORD_API_URL }).setToken(token);
  const scope = guildId ? 'guild' : 'global';
  try {
    await rest.put(guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId), { body });
  } catch (err) {
    throw explainFailure(err, applicationId, guildId);
  } finally {
    rest.clearHashSweeper();
    rest.clearHandlerSweeper();
  }
  const commands = body.map((c) => c.name);
  logger.info({ scope, applicationId, ...(guildId ? { guildId } : {}), commands }, 'discord: commands registered');
  return { scope, guildId: guildId ?? null, commands };
}

function explainFailure(err: unknown, applicationId: string, guildId: string | undefined): Error {
  if (!(err instanceof DiscordAPIError)) {
    return new DiscordRegistrationError(`could not reach Discord to register the command: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (err.status === 401) return new DiscordRegistrationError('Discord rejected DISCORD_TOKEN (401): copy the bot token again from the Developer Portal.');
  if (err.status === 403 && guildId) {
    return new DiscordRegistrationError(
      `Discord refused access to server ${guildId} (403): invite the bot there with the "applications.commands" scope (see adapters/discord/README.md), or check DISCORD_GUILD_ID.`,
    );
  }
  if (err.status === 403 || err.status === 404) {
    return new DiscordRegistrationError(`Discord refused application ${applicationId} (${err.status}): DISCORD_APPLICATION_ID must be the id of the bot's own application.`);
  }
  return new DiscordRegistrationError(`Discord refused the command registration (${err.status}, code ${err.code}): ${err.message}`);
}

function isMain(): boolean {
  const entry = process.argv[1];
  return entry !== undefined && import.meta.url === pathToFileURL(path.resolve(entry)).href;
}

if (isMain()) {
  const { createProgram, runProgram } = await import('../../src/bot/index.js');
  const program = createProgram('discord:register', "Register /pergunta with Discord (guild-scoped when DISCORD_GUILD_ID is set, global otherwise).");
  await runProgram(
    program,
    async ({ config, logger }) => {
      const result = await registerCommands(config, logger);
      const where = result.scope === 'guild' ? `server ${result.guildId} (shows at once)` : 'every server the bot is in (global; may take a while to show)';
      logger.info(`registered /${result.commands.join(', /')} for ${where}`);
      return EXIT.ok;
    },
    // The HTTP keep-alive connection to Discord would otherwise hold the process open.
    { exitWhenDone: true },
  );
}
