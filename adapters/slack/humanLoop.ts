/**
 * The Slack side of the human loop's outbox (run by the core's worker in the process that runs
 * this adapter): posting a case card to SLACK_ESCALATION_CHANNEL, updating it as the case moves,
 * one reminder in the card's thread (also shown in the channel), and delivering a TA's answer by
 * DM to a Slack user who forwarded an answer. And the start-up check that the bot can post in the
 * TAs' channel, said in one log line.
 */
import type { App } from '@slack/bolt';
import { type Logger, type OutboxHandlers, PermanentDeliveryError } from '../../src/bot/index.js';
import { renderCaseCard, renderReminder, renderSlackDelivery } from './caseCard.js';
import { errorText } from './errors.js';

/** Bolt's Web API client (the app's `client`). */
type WebClient = App['client'];

/** The `error` of a failed Web API call (`not_in_channel`, `channel_not_found`, …), or null. */
export function slackErrorCode(err: unknown): string | null {
  const data = (err as { data?: { error?: unknown } } | null)?.data;
  return typeof data?.error === 'string' ? data.error : null;
}

/** Slack refused the blocks themselves: sending the same again would fail forever. */
const REFUSED_BLOCKS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'too_many_attachments']);

export function slackLoopHandlers(client: WebClient, channel: string, logger: Logger): OutboxHandlers {
  /** `send` with the full card; refused as such, with the compact one (the buttons stay). */
  async function withCard<T>(view: Parameters<typeof renderCaseCard>[0], send: (card: ReturnType<typeof renderCaseCard>) => Promise<T>): Promise<T> {
    try {
      return await send(renderCaseCard(view));
    } catch (err) {
      const code = slackErrorCode(err);
      if (code === null || !REFUSED_BLOCKS.has(code)) throw err;
      logger.warn({ caseId: view.case.id, code }, 'slack: the case card was refused; sending the compact card');
      return send(renderCaseCard(view, { compact: true }));
    }
  }
  return {
    async postCard(view) {
      const result = await withCard(view, (card) => client.chat.postMessage({ channel, text: card.text, blocks: card.blocks, unfurl_links: false, unfurl_media: false }));
      if (!result.channel || !result.ts) throw new Error('chat.postMessage answered without channel or ts');
      return { channel: result.channel, ts: result.ts };
    },
    async updateCard(view, card) {
      try {
        await withCard(view, (rendered) => client.chat.update({ channel: card.channel, ts: card.ts, text: rendered.text, blocks: rendered.blocks }));
      } catch (err) {
        const code = slackErrorCode(err);
        // Someone deleted the card: nothing left to update (the case itself is in the store).
        if (code === 'message_not_found' || code === 'cant_update_message') {
          logger.warn({ caseId: view.case.id, code }, 'slack: the case card is gone, not updated');
          return;
        }
        throw err;
      }
    },
    async remind(view, card) {
      await client.chat.postMessage({ channel: card.channel, thread_ts: card.ts, reply_broadcast: true, text: renderReminder(view) });
    },
    async deliver(view, address) {
      if (address.platform !== 'slack') throw new PermanentDeliveryError(`not a Slack address (${address.platform})`);
      const message = renderSlackDelivery(view);
      try {
        await client.chat.postMessage({ channel: address.userId, text: message.text, blocks: message.blocks, unfurl_links: false });
      } catch (err) {
        const code = slackErrorCode(err);
        if (code === 'user_not_found' || code === 'account_inactive') throw new PermanentDeliveryError(`Slack: ${code}`);
        throw err;
      }
      return { status: 'delivered', via: 'slack-dm' };
    },
  };
}

/** Checks (conversations.info) that the bot is in the TAs' channel, and says so in one log line. */
export async function checkEscalationChannel(client: WebClient, channel: string, logger: Logger): Promise<'ready' | 'not-member' | 'unknown'> {
  try {
    const info = await client.conversations.info({ channel });
    const name = info.channel?.name ? `#${info.channel.name}` : channel;
    if (info.channel?.is_archived) {
      logger.warn({ channel }, `slack: the TAs' channel ${name} (SLACK_ESCALATION_CHANNEL) is archived: unarchive it or choose another, cases cannot be posted`);
      return 'not-member';
    }
    if (info.channel?.is_member === false) {
      logger.warn({ channel }, `slack: the bot is not in the TAs' channel ${name} (SLACK_ESCALATION_CHANNEL): invite it there (/invite @Pergunta), cases wait until then`);
      return 'not-member';
    }
    logger.info({ channel }, `slack: TAs' channel ${name} ready: the bot can post the students' requests there (human loop)`);
    return 'ready';
  } catch (err) {
    const code = slackErrorCode(err);
    if (code === 'channel_not_found') {
      logger.warn({ channel }, `slack: the TAs' channel ${channel} (SLACK_ESCALATION_CHANNEL) was not found: check the id; a private channel is only visible once the bot is invited`);
    } else if (code === 'missing_scope') {
      logger.warn({ channel }, `slack: cannot check the TAs' channel ${channel}: add the channels:read and groups:read scopes (adapters/slack/manifest.yml) and reinstall the app`);
    } else {
      logger.warn({ channel, err: errorText(err) }, `slack: could not check the TAs' channel ${channel}`);
    }
    return 'unknown';
  }
}
