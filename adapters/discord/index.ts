/**
 * The Discord adapter: a discord.js Client that answers `/pergunta`, takes 👍/👎 and comments, and
 * follows up in threads ("Perguntar mais", mentions of the bot in its threads). Gateway intents:
 * `Guilds` and `GuildMessages`, neither privileged (Message Content stays off: Discord delivers
 * the content of messages that mention the bot anyway). REST and gateway both go through
 * DISCORD_API_URL (the client asks `/gateway/bot` where to connect), so a proxy or a test fake
 * replaces Discord with one setting.
 */
import { Client, Events, GatewayIntentBits, type ClientOptions, type Interaction, type Message } from 'discord.js';
import { AdapterStartError, type AdapterDeps, type RunningAdapter } from '../../src/bot/index.js';
import { commands } from './commands/index.js';
import { NO_MENTIONS, type HandlerContext } from './context.js';
import { discordDeliveryHandlers } from './delivery.js';
import { describeError, isTokenRefused } from './errors.js';
import { onInteraction } from './events/interactionCreate.js';
import { onMessage } from './events/messageCreate.js';
import { DEFAULT_EDIT_INTERVAL_MS } from './streaming.js';
import { INVITE_PERMISSIONS, THREAD_PERMISSIONS } from './threads.js';

export interface DiscordAdapterOptions {
  /** Minimum gap between two streaming edits of one reply (ms). Default 1000. */
  editIntervalMs?: number;
  /** Extra discord.js client options (tests pass an identify throttler that does not wait). */
  clientOptions?: Partial<ClientOptions>;
  /** At startup, check (one REST call) that `/pergunta` is registered and warn if not. Default true. */
  checkCommands?: boolean;
}

export interface DiscordAdapter extends RunningAdapter {
  readonly client: Client<true>;
  /** Resolves when no interaction is being handled. */
  whenIdle(): Promise<void>;
}

export async function startDiscord(deps: AdapterDeps, options: DiscordAdapterOptions = {}): Promise<DiscordAdapter> {
  const { config, logger } = deps;
  const token = config.DISCORD_TOKEN;
  const applicationId = config.DISCORD_APPLICATION_ID;
  if (!token || !applicationId) throw new Error('Discord adapter: DISCORD_TOKEN and DISCORD_APPLICATION_ID must be set (see .env.example)');

  const ctx: HandlerContext = {
    config,
    logger,
    bot: deps.bot,
    store: deps.store,
    editIntervalMs: options.editIntervalMs ?? DEFAULT_EDIT_INTERVAL_MS,
    ...(deps.humanLoop ? { humanLoop: deps.humanLoop } : {}),
  };
  const client = new Client({
    ...options.clientOptions,
    intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages],
    rest: { ...options.clientOptions?.rest, api: config.DISCORD_API_URL },
    allowedMentions: NO_MENTIONS,
  });

  const inFlight = new Set<Promise<void>>();
  const onCreate = (interaction: Interaction): void => {
    const work = onInteraction(interaction, ctx)
      .catch((err: unknown) => logger.error({ err: describeError(err) }, 'discord: interaction handler failed'))
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  };
  client.on(Events.InteractionCreate, onCreate);
  const onMessageCreate = (message: Message): void => {
    const work = onMessage(message, ctx)
      .catch((err: unknown) => logger.error({ err: describeError(err) }, 'discord: message handler failed'))
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  };
  client.on(Events.MessageCreate, onMessageCreate);
  client.on(Events.Error, (err) => logger.error({ err: describeError(err) }, 'discord: client error'));
  client.on(Events.Warn, (message) => logger.warn(`discord: ${message}`));
  let lastCloseCode: number | undefined;
  client.on(Events.ShardDisconnect, (event) => {
    lastCloseCode = event.code;
    logger.warn({ code: event.code }, 'discord: gateway disconnected');
  });
  client.on(Events.ShardResume, () => logger.info('discord: gateway resumed'));

  const ready = new Promise<Client<true>>((resolve) => client.once(Events.ClientReady, resolve));
  try {
    await client.login(token);
  } catch (err) {
    await client.destroy();
    // A mistake in the settings, not a bug: one line that says what to fix, no stack.
    if (isTokenRefused(err, lastCloseCode)) {
      throw new AdapterStartError(
        'Discord refused DISCORD_TOKEN (the bot token is wrong, or was reset): copy the token from the Discord developer portal (your application → Bot → Reset Token) into DISCORD_TOKEN',
      );
    }
    const closed = lastCloseCode !== undefined ? ` (gateway close code ${lastCloseCode})` : '';
    throw new AdapterStartError(`Discord login failed${closed}: ${describeError(err).message}`);
  }
  const readyClient = await ready;
  logger.info(
    {
      bot: readyClient.user.tag,
      applicationId: readyClient.application.id,
      guilds: readyClient.guilds.cache.size,
      ephemeral: config.DISCORD_EPHEMERAL,
      api: config.DISCORD_API_URL,
    },
    'discord: connected',
  );
  if (readyClient.application.id !== applicationId) {
    logger.warn({ applicationId }, 'discord: DISCORD_APPLICATION_ID is not the application of this bot token; run discord:register with the right one');
  }
  if (options.checkCommands ?? true) await checkRegistration(readyClient, config.DISCORD_GUILD_ID, deps);
  checkThreadPermissions(readyClient, deps);
  // TAs' answers (written by this process or another one sharing the store) are delivered from here.
  const stopDelivering = deps.humanLoop?.serve('discord', discordDeliveryHandlers(readyClient, ctx));
  if (deps.humanLoop) logger.info({ pollSeconds: config.OUTBOX_POLL_SECONDS }, 'discord: delivering TAs\' answers to students (human loop)');

  const whenIdle = async (): Promise<void> => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };
  let stopping: Promise<void> | undefined;
  return {
    name: 'discord',
    client: readyClient,
    whenIdle,
    stop() {
      stopping ??= (async () => {
        client.off(Events.InteractionCreate, onCreate);
        client.off(Events.MessageCreate, onMessageCreate);
        const pending = inFlight.size;
        if (pending > 0) logger.info({ pending }, 'discord: waiting for interactions in flight');
        await whenIdle();
        await stopDelivering?.();
        await client.destroy();
        logger.info('discord: stopped');
      })();
      return stopping;
    },
  };
}

/** Warns (does not fail) when a command (`/pergunta`) is not registered where the bot will be used. */
async function checkRegistration(client: Client<true>, guildId: string | undefined, { logger }: AdapterDeps): Promise<void> {
  try {
    const global = await client.application.commands.fetch();
    const inGuild = guildId ? await client.application.commands.fetch({ guildId }) : undefined;
    for (const name of commands.keys()) {
      const found = [...global.values(), ...(inGuild?.values() ?? [])].some((c) => c.name === name);
      if (found) logger.info({ scope: inGuild?.some((c) => c.name === name) ? 'guild' : 'global' }, `discord: /${name} is registered`);
      else logger.warn(`discord: /${name} is not registered yet: run \`npm run discord:register\``);
    }
  } catch (err) {
    logger.warn({ err: describeError(err) }, 'discord: could not check the registered commands');
  }
}

/**
 * Warns, per server, when the bot lacks what follow-ups in threads need (an installation invited
 * before threads existed, with `permissions=0`): the feature would otherwise fail silently, one
 * student at a time. Follow-ups there are answered privately instead (components/followUp.ts).
 */
function checkThreadPermissions(client: Client<true>, { logger, config }: AdapterDeps): void {
  for (const guild of client.guilds.cache.values()) {
    const me = guild.members.me;
    if (!me) continue;
    const missing = THREAD_PERMISSIONS.filter(([, bit]) => !me.permissions.has(bit)).map(([name]) => name);
    if (missing.length === 0) continue;
    logger.warn(
      { guild: guild.id, missing },
      `discord: the bot lacks ${missing.join(', ')} in server "${guild.name}": "Perguntar mais" answers privately instead of in a thread. ` +
        `Grant them to the bot's role, or invite it again with the link in adapters/discord/README.md ` +
        `(https://discord.com/oauth2/authorize?client_id=${config.DISCORD_APPLICATION_ID ?? 'APPLICATION_ID'}&scope=bot+applications.commands&permissions=${INVITE_PERMISSIONS})`,
    );
  }
}
