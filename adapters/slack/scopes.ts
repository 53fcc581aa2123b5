/**
 * At start-up, the bot token's scopes (Slack lists them in the `x-oauth-scopes` header of every
 * Web API answer; the WebClient puts them in `response_metadata.scopes`) against what each
 * feature needs. An installation made from an older manifest lacks the new ones: each missing
 * scope gets a warning saying what does not work and how to fix it, instead of a feature that
 * silently never answers.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from '../../src/bot/index.js';

/** Every bot scope of manifest.yml, and what works only with it. */
export const SCOPE_FEATURES: Readonly<Record<string, string>> = {
  commands: '/pergunta',
  'chat:write': 'answers posted as messages (threads, mentions, the assistant)',
  'chat:write.public': 'public answers in channels the bot was not invited to (without it they are posted through the command response and cannot be continued in a thread)',
  'app_mentions:read': 'follow-up questions by mentioning the bot in an answer’s thread (also subscribe to the app_mention event)',
  'assistant:write': 'the assistant (AI app) threads: "thinking" status and suggested prompts',
  'im:history': 'questions asked in the assistant threads (also subscribe to the message.im event)',
};

/** The scopes the token lacks (null when Slack did not say). Logs one warning per missing scope. */
export async function checkScopes(client: webApi.WebClient, logger: Logger): Promise<string[] | null> {
  let scopes: string[] | undefined;
  try {
    const auth = await client.auth.test();
    scopes = auth.response_metadata?.scopes;
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'slack: could not read the bot token scopes');
    return null;
  }
  if (!scopes) {
    logger.debug('slack: auth.test did not list the token scopes; not checked');
    return null;
  }
  const missing = Object.keys(SCOPE_FEATURES).filter((scope) => !scopes.includes(scope));
  for (const scope of missing) {
    logger.warn(
      { scope },
      `slack: the bot token lacks the ${scope} scope, so ${SCOPE_FEATURES[scope]} will not work: ` +
        'add it (adapters/slack/manifest.yml lists every scope and event), then reinstall the app to the workspace',
    );
  }
  if (missing.length === 0) logger.info({ scopes: scopes.length }, 'slack: the bot token has every scope the bot uses');
  return missing;
}
