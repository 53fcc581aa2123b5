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
 *   escalate:<answerId>[:<messageId>]
 *                         "Chamar um monitor", and the modal it opens; the message id is the
 *                         public answer to reply to when the TA answers (components/escalate.ts)
 *   caserate:up:<caseId>  👍 on a TA's answer delivered to the student (components/caseRating.ts)
 *   caserate:down:<caseId>
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

/** The text input of the "Chamar um monitor" modal. */
export const ESCALATION_FIELD_ID = 'detalhes';

export interface EscalateAction {
  answerId: string;
  /** The public answer message to reply to, when known. */
  messageId: string | null;
}

export interface CaseRatingAction {
  value: VoteValue;
  caseId: string;
}

const SNOWFLAKE = /^\d{5,25}$/;
const CASE_ID = /^[A-Za-z0-9-]{1,60}$/;

const ANSWER_ID = /^[A-Za-z0-9_-]{1,80}$/;

export const customIds = {
  vote: (value: VoteValue, answerId: string): string => `vote:${value}:${answerId}`,
  comment: (answerId: string): string => `comment:${answerId}`,
  followUp: (answerId: string): string => `followup:${answerId}`,
  everywhere: (answerId: string): string => `everywhere:${answerId}`,
  escalate: (answerId: string, messageId?: string | null): string => (messageId ? `escalate:${answerId}:${messageId}` : `escalate:${answerId}`),
  caseRating: (value: VoteValue, caseId: string): string => `caserate:${value}:${caseId}`,
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

/** A custom_id written by `customIds.escalate`; null for anything else. */
export function parseEscalateId(customId: string): EscalateAction | null {
  const parts = customId.split(':');
  if (parts[0] !== 'escalate' || !ANSWER_ID.test(parts[1] ?? '')) return null;
  if (parts.length === 2) return { answerId: parts[1] as string, messageId: null };
  if (parts.length === 3 && SNOWFLAKE.test(parts[2] ?? '')) return { answerId: parts[1] as string, messageId: parts[2] as string };
  return null;
}

/** A custom_id written by `customIds.caseRating`; null for anything else. */
export function parseCaseRatingId(customId: string): CaseRatingAction | null {
  const parts = customId.split(':');
  if (parts[0] === 'caserate' && parts.length === 3 && (parts[1] === 'up' || parts[1] === 'down') && CASE_ID.test(parts[2] ?? '')) {
    return { value: parts[1], caseId: parts[2] as string };
  }
  return null;
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
