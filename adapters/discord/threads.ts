/**
 * Threads on answers and the bot's own messages in them, through the REST API (so nothing
 * depends on what discord.js has cached):
 *
 * - `startOrReuseThread`: a public thread on the answer message (`POST
 *   /channels/:channel/messages/:message/threads`; a thread started on a message has the
 *   message's id). A message that already has one (Discord's code 160004) reuses it, and an
 *   answer already inside a thread stays in that thread.
 * - `ThreadMessage`: a message the bot posts and then edits as the answer streams in.
 *
 * The bot needs, in the course channels: View Channel, Create Public Threads and Send Messages in
 * Threads (the invite link in adapters/discord/README.md asks for them; start-up warns when a
 * server did not grant them).
 */
import { DiscordAPIError, PermissionFlagsBits, Routes, type Client, type RESTPostAPIChannelMessageJSONBody } from 'discord.js';
import { truncate } from '../../src/bot/index.js';
import type { DiscordMessage } from './cards.js';

/** What answering in threads needs in a channel. */
export const THREAD_PERMISSIONS = [
  ['ViewChannel', PermissionFlagsBits.ViewChannel],
  ['CreatePublicThreads', PermissionFlagsBits.CreatePublicThreads],
  ['SendMessagesInThreads', PermissionFlagsBits.SendMessagesInThreads],
  // Replies to the message that mentioned the bot refer to it.
  ['ReadMessageHistory', PermissionFlagsBits.ReadMessageHistory],
] as const;

/** What the human loop adds: TAs' answers posted as replies in the students' channels (docs/human-loop.md). */
const HUMAN_LOOP_PERMISSIONS = PermissionFlagsBits.SendMessages | PermissionFlagsBits.EmbedLinks;

/** The `permissions` of the invite link: everything above, so one link serves both. */
export const INVITE_PERMISSIONS = String(THREAD_PERMISSIONS.reduce((bits, [, bit]) => bits | bit, 0n) | HUMAN_LOOP_PERMISSIONS);

/** Discord: "A thread has already been created for this message". */
const THREAD_EXISTS = 160004;
/** Threads of the bot's answers archive after a day without messages (they reopen when written in). */
const AUTO_ARCHIVE_MINUTES = 1440;

export type ThreadOutcome = { ok: true; threadId: string; created: boolean } | { ok: false; reason: 'permissions' | 'failed'; error: unknown };

/** Starts a thread on `messageId` in `channelId` named after the question, or finds the one it has. */
export async function startOrReuseThread(client: Client, channelId: string, messageId: string, name: string): Promise<ThreadOutcome> {
  try {
    await client.rest.post(Routes.threads(channelId, messageId), {
      body: { name: truncate(name.replace(/\s+/g, ' ').trim() || 'Pergunta', 100), auto_archive_duration: AUTO_ARCHIVE_MINUTES },
    });
    return { ok: true, threadId: messageId, created: true };
  } catch (err) {
    if (err instanceof DiscordAPIError && err.code === THREAD_EXISTS) return { ok: true, threadId: messageId, created: false };
    return { ok: false, reason: err instanceof DiscordAPIError && (err.status === 403 || err.code === 50013) ? 'permissions' : 'failed', error: err };
  }
}

function body(message: DiscordMessage, replyTo?: string): RESTPostAPIChannelMessageJSONBody {
  return {
    content: message.content ?? '',
    embeds: message.embeds,
    components: message.components,
    // The bot never pings anyone (NO_MENTIONS in context.ts): a mention of the asker shows without notifying.
    allowed_mentions: { parse: [], replied_user: false },
    ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
  };
}

/** A message of the bot in a channel or thread: posted once, then edited. */
export class ThreadMessage {
  private id: string | undefined;

  constructor(
    private readonly client: Client,
    readonly channelId: string,
    private readonly replyTo?: string,
  ) {}

  get messageId(): string | undefined {
    return this.id;
  }

  /** Posts the message (the first call) or edits it. */
  async show(message: DiscordMessage): Promise<void> {
    if (this.id === undefined) {
      const posted = (await this.client.rest.post(Routes.channelMessages(this.channelId), { body: body(message, this.replyTo) })) as { id: string };
      this.id = posted.id;
      return;
    }
    const { message_reference: _reference, ...edit } = body(message);
    await this.client.rest.patch(Routes.channelMessage(this.channelId, this.id), { body: edit });
  }

  /** Posts another message in the same channel (the rest of a long answer). */
  async more(message: DiscordMessage): Promise<void> {
    await this.client.rest.post(Routes.channelMessages(this.channelId), { body: body(message) });
  }
}
