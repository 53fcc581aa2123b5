/**
 * Delivers a TA's answer to the student in Discord (the human loop's `deliver` task for the
 * `discord` target, run by the core's outbox worker).
 *
 * - The answer was public: a message in the question's channel or thread, replying to the bot's
 *   answer when its id is known (`fail_if_not_exists: false`: a deleted answer does not block the
 *   delivery), mentioning the student; `allowed_mentions` lets exactly that user be pinged.
 * - The answer was private (DISCORD_EPHEMERAL, or asked in a DM): a DM (`POST /users/@me/channels`,
 *   then the message). When the channel cannot be written to (no access, deleted), a DM too.
 * - DMs closed (Discord's 50007): `unreachable`, and the core shows the answer at the student's next
 *   `/pergunta`.
 *
 * Every create carries the task's `nonce` with `enforce_nonce: true`: if a process posted it and
 * died before the store recorded it, the retry gets Discord's earlier message back instead of a
 * second one. Errors other than these (5xx, network; 429s are waited out by discord.js) are thrown,
 * and the task is retried with backoff.
 */
import { DiscordAPIError, Routes, type Client, type RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { type DeliveryAddress, type DeliveryResult, type DeliveryView, type OutboxHandlers, PermanentDeliveryError } from '../../src/bot/index.js';
import { renderDelivery, type DiscordMessage } from './cards.js';
import type { HandlerContext } from './context.js';

/** Discord error codes the delivery reacts to. */
export const DISCORD_CODES = {
  unknownChannel: 10003,
  unknownUser: 10013,
  missingAccess: 50001,
  cannotSendToUser: 50007,
  missingPermissions: 50013,
} as const;

const codeOf = (err: unknown): number | null => (err instanceof DiscordAPIError && typeof err.code === 'number' ? err.code : null);

function body(message: DiscordMessage, extra: Partial<RESTPostAPIChannelMessageJSONBody> & { enforce_nonce?: boolean }): RESTPostAPIChannelMessageJSONBody {
  return { ...(message.content ? { content: message.content } : {}), embeds: message.embeds, components: message.components, ...extra } as RESTPostAPIChannelMessageJSONBody;
}

export function discordDeliveryHandlers(client: Client, ctx: Pick<HandlerContext, 'logger'>): OutboxHandlers {
  const post = (channelId: string, payload: RESTPostAPIChannelMessageJSONBody) => client.rest.post(Routes.channelMessages(channelId), { body: payload });

  async function byDm(view: DeliveryView, address: DeliveryAddress, nonce: string): Promise<DeliveryResult> {
    let channelId: string;
    try {
      const dm = (await client.rest.post(Routes.userChannels(), { body: { recipient_id: address.userId } })) as { id: string };
      channelId = dm.id;
    } catch (err) {
      if (codeOf(err) === DISCORD_CODES.unknownUser) throw new PermanentDeliveryError('the student is no longer a Discord user');
      throw err;
    }
    try {
      await post(channelId, body(renderDelivery(view), { allowed_mentions: { parse: [] }, nonce, enforce_nonce: true }));
      return { status: 'delivered', via: 'dm' };
    } catch (err) {
      if (codeOf(err) === DISCORD_CODES.cannotSendToUser) return { status: 'unreachable', reason: 'Discord: Cannot send messages to this user (50007)' };
      throw err;
    }
  }

  return {
    async deliver(view, address, nonce) {
      if (address.platform !== 'discord') throw new PermanentDeliveryError(`not a Discord address (${address.platform})`);
      if (address.ephemeral || !address.channelId) return byDm(view, address, nonce);
      const message = renderDelivery(view, { mention: address.userId });
      try {
        await post(
          address.channelId,
          body(message, {
            allowed_mentions: { parse: [], users: [address.userId] },
            ...(address.messageId ? { message_reference: { message_id: address.messageId, fail_if_not_exists: false } } : {}),
            nonce,
            enforce_nonce: true,
          }),
        );
        return { status: 'delivered', via: 'channel' };
      } catch (err) {
        const code = codeOf(err);
        if (code === DISCORD_CODES.unknownChannel || code === DISCORD_CODES.missingAccess || code === DISCORD_CODES.missingPermissions) {
          ctx.logger.warn({ caseId: view.caseId, code }, 'discord: cannot post the TA answer in the question\'s channel, sending it by DM');
          return byDm(view, address, nonce);
        }
        throw err;
      }
    },
  };
}
