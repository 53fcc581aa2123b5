/**
 * Delivers a TA's answer to the student in Discord (the human loop's `deliver` task for the
 * `discord` target, run by the core's outbox worker).
 *
 * - The answer was public: a message in the question's channel or thread, replying to the bot's
 *   answer when its id is known (`fail_if_not_exists: false`: a deleted answer does not block the
 *   delivery), mentioning the student; `allowed_mentions` lets exactly that user be pinged.
 * - The answer was private (DISCORD_EPHEMERAL, or asked in a DM): a DM (`POST /users/@me/channels`,
 *   then the message). When the channel or thread cannot be written to (no access, deleted, a
 *   thread a moderator locked), a DM too. An archived thread that is not locked takes the reply
 *   (Discord unarchives it).
 * - DMs closed (Discord's 50007): `unreachable`, and the core shows the answer at the student's next
 *   `/pergunta`.
 *
 * Every create carries the task's `nonce` with `enforce_nonce: true`: if a process posted it and
 * died before the store recorded it, the retry gets Discord's earlier message back instead of a
 * second one. When Discord refuses the rendered message itself (400), the same answer goes as plain
 * text (one nonce per part, derived from the task's), like a refused `/pergunta` answer. Errors
 * other than these (5xx, network; 429s are waited out by discord.js) are thrown, and the task is
 * retried with backoff.
 */
import { DiscordAPIError, Routes, type Client, type RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { type DeliveryAddress, type DeliveryResult, type DeliveryView, type OutboxHandlers, PermanentDeliveryError } from '../../src/bot/index.js';
import { renderDelivery, renderPlainDelivery, type DiscordMessage } from './cards.js';
import type { HandlerContext } from './context.js';
import { isRefusedMessage } from './errors.js';

/** Discord error codes the delivery reacts to. */
export const DISCORD_CODES = {
  unknownChannel: 10003,
  unknownUser: 10013,
  missingAccess: 50001,
  cannotSendToUser: 50007,
  missingPermissions: 50013,
  /** A thread locked by a moderator and archived: nobody without Manage Threads may post in it. */
  archivedThread: 50083,
} as const;

/** The question's channel or thread cannot take the message: deleted, no access, locked or archived for good. */
const UNWRITABLE: ReadonlySet<number> = new Set([DISCORD_CODES.unknownChannel, DISCORD_CODES.missingAccess, DISCORD_CODES.missingPermissions, DISCORD_CODES.archivedThread]);

const codeOf = (err: unknown): number | null => (err instanceof DiscordAPIError && typeof err.code === 'number' ? err.code : null);

function body(message: DiscordMessage, extra: Partial<RESTPostAPIChannelMessageJSONBody> & { enforce_nonce?: boolean; nonce?: string }): RESTPostAPIChannelMessageJSONBody {
  return { ...(message.content ? { content: message.content } : {}), embeds: message.embeds, components: message.components, ...extra } as RESTPostAPIChannelMessageJSONBody;
}

/** The nonce of a plain-text part: derived from the delivery's, so a retry sends the same ones. */
export function partNonce(nonce: string, part: number): string {
  return `${nonce.slice(0, 21)}-p${part}`;
}

export function discordDeliveryHandlers(client: Client, ctx: Pick<HandlerContext, 'logger'>): OutboxHandlers {
  const create = (channelId: string, payload: RESTPostAPIChannelMessageJSONBody) => client.rest.post(Routes.channelMessages(channelId), { body: payload });

  /** The rendered message; refused (400), the same as plain text. */
  async function post(
    channelId: string,
    view: DeliveryView,
    render: { mention?: string },
    extra: Partial<RESTPostAPIChannelMessageJSONBody>,
    nonce: string,
  ): Promise<void> {
    try {
      await create(channelId, body(renderDelivery(view, render), { ...extra, nonce, enforce_nonce: true }));
    } catch (err) {
      // A 400 about the thread (archived and locked), not about the message: plain text would fail the same way.
      if (!isRefusedMessage(err) || UNWRITABLE.has(codeOf(err) ?? 0)) throw err;
      ctx.logger.warn({ caseId: view.caseId, code: (err as { code?: unknown }).code }, 'discord: the TA answer was refused as rendered; sending it as plain text');
      const parts = renderPlainDelivery(view, render);
      for (const [i, part] of parts.entries()) {
        // Only the first part replies to the bot's answer; every part keeps the mention limits.
        const { message_reference, ...rest } = extra;
        await create(channelId, body(part, { ...rest, ...(i === 0 && message_reference ? { message_reference } : {}), nonce: partNonce(nonce, i), enforce_nonce: true }));
      }
    }
  }

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
      await post(channelId, view, {}, { allowed_mentions: { parse: [] } }, nonce);
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
      try {
        await post(
          address.channelId,
          view,
          { mention: address.userId },
          {
            allowed_mentions: { parse: [], users: [address.userId] },
            ...(address.messageId ? { message_reference: { message_id: address.messageId, fail_if_not_exists: false } } : {}),
          },
          nonce,
        );
        return { status: 'delivered', via: 'channel' };
      } catch (err) {
        const code = codeOf(err);
        if (code !== null && UNWRITABLE.has(code)) {
          ctx.logger.warn({ caseId: view.caseId, code }, 'discord: cannot post the TA answer in the question\'s channel, sending it by DM');
          return byDm(view, address, nonce);
        }
        throw err;
      }
    },
  };
}
