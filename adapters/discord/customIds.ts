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
 *   followup:<answerId>   the "Perguntar mais" button, and the modal it opens
 *                                                             (components/followUp.ts)
 *   everywhere:<answerId> "Buscar em todas as aulas" after a lecture-filtered "not found"
 *                                                             (components/everywhere.ts)
 */
import type { VoteValue } from '../../src/bot/index.js';

export interface VoteAction {
  value: VoteValue;
  answerId: string;
}

export interface CommentAction {
  answerId: string;
}

export interface AnswerAction {
  answerId: string;
}

/** The text input of the comment modal. */
export const COMMENT_FIELD_ID = 'comentario';
/** The text input of the follow-up modal. */
export const FOLLOW_UP_FIELD_ID = 'pergunta';

const ANSWER_ID = /^[A-Za-z0-9_-]{1,80}$/;

export const customIds = {
  vote: (value: VoteValue, answerId: string): string => `vote:${value}:${answerId}`,
  comment: (answerId: string): string => `comment:${answerId}`,
  followUp: (answerId: string): string => `followup:${answerId}`,
  everywhere: (answerId: string): string => `everywhere:${answerId}`,
};

/** `<prefix>:<answerId>` → the answer id; null for anything else. */
function parseAnswerId(prefix: string, customId: string): AnswerAction | null {
  const parts = customId.split(':');
  if (parts[0] === prefix && parts.length === 2 && ANSWER_ID.test(parts[1] ?? '')) return { answerId: parts[1] as string };
  return null;
}

/** A custom_id written by `customIds.followUp`; null for anything else. */
export function parseFollowUpId(customId: string): AnswerAction | null {
  return parseAnswerId('followup', customId);
}

/** A custom_id written by `customIds.everywhere`; null for anything else. */
export function parseEverywhereId(customId: string): AnswerAction | null {
  return parseAnswerId('everywhere', customId);
}

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
  return parseAnswerId('comment', customId);
}
