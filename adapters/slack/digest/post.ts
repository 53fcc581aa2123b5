/**
 * Posting the weekly digest to the TAs' channel (SLACK_DIGEST_CHANNEL) with the Web API
 * (`chat.postMessage`), on SLACK_API_URL when set. Slack's refusals become errors that say what
 * to do (invite the bot to the channel, check the token or the channel id).
 */
import { webApi } from '@slack/bolt';
import { EXIT, UserError, type Config, type Digest, type Logger } from '../../../src/bot/index.js';
import { renderDigest } from './blocks.js';

/** Exit 2: a setting is missing (nothing was sent); exit 1: Slack could not be reached or refused. */
export class DigestPostError extends UserError {
  override readonly name = 'DigestPostError';
  constructor(
    message: string,
    readonly exitCode: typeof EXIT.failure | typeof EXIT.invalidInput = EXIT.failure,
  ) {
    super(message);
  }
}

export type DigestSettings = Pick<Config, 'SLACK_BOT_TOKEN' | 'SLACK_API_URL' | 'SLACK_DIGEST_CHANNEL'> & Partial<Pick<Config, 'SLACK_ESCALATION_CHANNEL'>>;

export interface PostedDigest {
  channel: string;
  ts: string;
}

/**
 * The channel to post to: `--channel`, else SLACK_DIGEST_CHANNEL, else the TAs' channel of the
 * human loop (SLACK_ESCALATION_CHANNEL, where they already work); and the token.
 */
export function digestTarget(settings: DigestSettings, channel?: string): { token: string; channel: string } {
  const target = channel ?? settings.SLACK_DIGEST_CHANNEL ?? settings.SLACK_ESCALATION_CHANNEL;
  const missing = [!settings.SLACK_BOT_TOKEN && 'SLACK_BOT_TOKEN', !target && 'SLACK_DIGEST_CHANNEL (or SLACK_ESCALATION_CHANNEL, or --channel)'].filter(Boolean);
  if (!settings.SLACK_BOT_TOKEN || !target) {
    throw new DigestPostError(`${missing.join(' and ')} must be set to post the weekly digest (see .env.example and docs/insights.md).`, EXIT.invalidInput);
  }
  return { token: settings.SLACK_BOT_TOKEN, channel: target };
}

function explain(err: unknown, channel: string): DigestPostError {
  const code = (err as { data?: { error?: unknown } }).data?.error;
  switch (code) {
    case 'not_in_channel':
      return new DigestPostError(`Slack: the bot is not a member of ${channel}: invite it there (/invite @Pergunta), or give the app the chat:write.public scope.`);
    case 'channel_not_found':
      return new DigestPostError(`Slack: channel ${channel} not found: SLACK_DIGEST_CHANNEL must be a channel id (C…) or name the bot can see.`);
    case 'invalid_auth':
    case 'not_authed':
    case 'token_revoked':
    case 'account_inactive':
      return new DigestPostError(`Slack rejected SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token again.`);
    default:
      return new DigestPostError(`could not post the weekly digest to ${channel}: ${typeof code === 'string' ? code : err instanceof Error ? err.message : String(err)}`);
  }
}

export async function postDigest(digest: Digest, settings: DigestSettings, logger: Logger, options: { channel?: string; timeoutMs?: number } = {}): Promise<PostedDigest> {
  const { token, channel } = digestTarget(settings, options.channel);
  const client = new webApi.WebClient(token, {
    ...(settings.SLACK_API_URL ? { slackApiUrl: settings.SLACK_API_URL } : {}),
    timeout: options.timeoutMs ?? 10_000,
    retryConfig: { retries: 2 },
    // Slack's own client logs at info; its lines carry nothing the digest's log does not.
    logLevel: webApi.LogLevel.ERROR,
  });
  const message = renderDigest(digest);
  let result: { ts?: string; channel?: string };
  try {
    result = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false });
  } catch (err) {
    throw explain(err, channel);
  }
  const posted = { channel: result.channel ?? channel, ts: result.ts ?? '' };
  logger.info({ channel: posted.channel, blocks: message.blocks.length, questions: digest.data.thisWeek }, 'weekly digest posted');
  return posted;
}
