/**
 * What the bot's buttons and modals carry in their `custom_id` (at most 100 characters):
 * the action and the answer id, so a click needs no state kept in the bot process and still
 * works after a restart. Every format is written and read here, in one place: buttons already
 * posted in chat carry these exact strings, so they must not change.
 *
 *   vote:up:<answerId>    👍 on an answer                     (components/vote.ts)
 *   vote:down:<answerId>  👎 on an answer                     (components/vote.ts)
 *   comment:<answerId>    the "Deixar comentário" button, and the modal it opens
 *                                                             (components/comment.ts)
 */
import type { VoteValue } from '../../src/bot/index.js';

export interface VoteAction {
  value: VoteValue;
  answerId: string;
}

export interface CommentAction {
  answerId: string;
}

/** The text input of the comment modal. */
export const COMMENT_FIELD_ID = 'comentario';

const ANSWER_ID = /^[A-Za-z0-9_-]{1,80}$/;

export const customIds = {
  vote: (value: VoteValue, answerId: string): string => `vote:${value}:${answerId}`,
  comment: (answerId: string): string => `comment:${answerId}`,
};

/** A custom_id written by `customIds.vote`; null for anything else (an old or foreign id). */
export function parseVoteId(customId: string): VoteAction | null {
  const parts = customId.split(':');
  if (parts[0] === 'vote' && parts.length === 3 && (parts[1] === 'up' || parts[1] === 'down') && ANSWER_ID.test(parts[2] ?? '')) {
    return { value: parts[1], answerId: parts[2] as string };
  }
  return null;
}

/** A custom_id written by `customIds.comment`; null for anything else. */
export function parseCommentId(customId: string): CommentAction | null {
  const parts = customId.split(':');
  if (parts[0] === 'comment' && parts.length === 2 && ANSWER_ID.test(parts[1] ?? '')) {
    return { answerId: parts[1] as string };
  }
  return null;
}
