/**
 * Answers as real messages (`chat.postMessage`), which have a `ts` and so a thread: the
 * `/pergunta` answer when it is public, and every answer in a thread (mentions, the assistant).
 * A thread is named `<channel>:<thread_ts>` in the core, which links it to its conversation.
 */
import type { webApi } from '@slack/bolt';
import type { SlackMessage } from './cards.js';
import { refusedMessageError } from './errors.js';

/** The core's name for a Slack thread. */
export function threadKey(channel: string, threadTs: string): string {
  return `${channel}:${threadTs}`;
}

/** The question in a message that mentions the bot: its text without the bot's mentions. */
export function withoutMention(text: string, botUserId: string | undefined): string {
  const mine = botUserId ? new RegExp(`<@${botUserId}(?:\\|[^>]*)?>`, 'g') : /^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>/;
  return text.replace(mine, ' ').replace(/\s+/g, ' ').trim();
}

/** A message of the bot: posted once (in a thread when `threadTs` is given), then updated. */
export class BotMessage {
  private ts: string | undefined;

  constructor(
    private readonly client: webApi.WebClient,
    readonly channel: string,
    private readonly threadTs?: string,
  ) {}

  /** Its `ts` once posted. */
  get messageTs(): string | undefined {
    return this.ts;
  }

  /**
   * Shows a rendered answer; when Slack refuses its blocks (`invalid_blocks`, `msg_too_long`…),
   * the same answer and links as plain text (`plain`), which beats an error. Throws any other
   * error (e.g. not_in_channel), or Slack's refusal of the plain text too.
   */
  async showAnswer(message: SlackMessage, plain: () => { text: string }, onRefused: (error: string) => void): Promise<{ ts: string; plainText: boolean }> {
    try {
      return { ts: await this.show(message), plainText: false };
    } catch (err) {
      const refused = refusedMessageError(err);
      if (refused === null) throw err;
      onRefused(refused);
      return { ts: await this.show(plain()), plainText: true };
    }
  }

  /**
   * Posts the message (the first call) or updates it; a message without blocks replaces the
   * earlier blocks too. Throws Slack's error (e.g. not_in_channel).
   */
  async show(message: { text: string; blocks?: SlackMessage['blocks'] }): Promise<string> {
    if (this.ts === undefined) {
      const posted = await this.client.chat.postMessage({
        channel: this.channel,
        text: message.text,
        ...(message.blocks ? { blocks: message.blocks } : {}),
        ...(this.threadTs ? { thread_ts: this.threadTs } : {}),
        // Links to the videos would otherwise unfurl into big previews under every answer.
        unfurl_links: false,
        unfurl_media: false,
      });
      if (!posted.ts) throw new Error('chat.postMessage returned no ts');
      this.ts = posted.ts;
      return this.ts;
    }
    await this.client.chat.update({ channel: this.channel, ts: this.ts, text: message.text, blocks: message.blocks ?? [] });
    return this.ts;
  }
}
