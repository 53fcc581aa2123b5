/**
 * What the bot's buttons and modals carry in their `custom_id` (at most 100 characters):
 * the action and the answer id, so a click needs no state kept in the bot process and still
 * works after a restart.
 *
 *   vote:up:<answerId>    👍 on an answer
 *   vote:down:<answerId>  👎 on an answer
 *   comment:<answerId>    the "Deixar comentário" button, and the modal it opens
 */
import type { VoteValue } from '../../src/bot/index.js';

export type CustomAction =
  | { kind: 'vote'; value: VoteValue; answerId: string }
  | { kind: 'comment'; answerId: string };

/** The text input of the comment modal. */
export const COMMENT_FIELD_ID = 'comentario';

const ANSWER_ID = /^[A-Za-z0-9_-]{1,80}$/;

export const customIds = {
  vote: (value: VoteValue, answerId: string): string => `vote:${value}:${answerId}`,
  comment: (answerId: string): string => `comment:${answerId}`,
};

/** Parses a custom_id written by `customIds`; null for anything else (an old or foreign id). */
export function parseCustomId(customId: string): CustomAction | null {
  const parts = customId.split(':');
  if (parts[0] === 'vote' && parts.length === 3 && (parts[1] === 'up' || parts[1] === 'down') && ANSWER_ID.test(parts[2] ?? '')) {
    return { kind: 'vote', value: parts[1], answerId: parts[2] as string };
  }
  if (parts[0] === 'comment' && parts.length === 2 && ANSWER_ID.test(parts[1] ?? '')) {
    return { kind: 'comment', answerId: parts[1] as string };
  }
  return null;
}
