/**
 * The one entry through which the chat adapters (`adapters/discord/`, `adapters/slack/`) use the
 * core: everything they need and nothing else. An adapter imports `../../src/bot/index.js`
 * (relative, so it resolves the same under tsx, vitest, tsc and in compiled JavaScript);
 * `eslint.config.js` rejects any other import of `src/` from an adapter, so what the adapters
 * depend on is this file's export list.
 *
 * `adapters/main.ts` is not an adapter but the process's composition root (it builds the core
 * and the store, like the CLIs in `src/cli/`), so it imports core modules directly.
 */

// The service the adapters call, and the contract with `npm start`.
export { BotService } from './botService.js';
export type { AskInput, AskOutcome, ConversationRef, FeedbackOutcome } from './botService.js';
export type { LectureChoice } from '../course/lectures.js';
export { MAX_LECTURE_CHOICES } from '../course/lectures.js';
export { AdapterStartError, type AdapterDeps, type RunningAdapter } from './adapter.js';

// Every pt-BR sentence users see, and text helpers for platform limits.
export { CLOSEST_MOMENTS_HEADING, LABEL_NAMES, MESSAGES, showsClosestMoments } from './messages.js';
export { plainReferenceLine, plainReferences, type PlainTextFormat } from './plainAnswer.js';
export { isolate, splitText, titleLine, truncate } from './text.js';

// Markdown as a syntax tree, for converting answers to a platform's own markup.
export { parseMarkdown, plainText, tableAsText, walk } from './markdown.js';
export { neutralizeMentions } from './mentions.js';

// Questions, answers and their references.
export { MAX_QUESTION_CHARS, normalizeQuestion } from '../answer/answerService.js';
export { excerptTag } from '../answer/references.js';
export { clockRange, formatClock } from '../course/links.js';
export type { AnswerResult, Reference } from '../types.js';

// Feedback.
export type { FeedbackStore, Label, VoteValue } from '../store/types.js';

// The human loop: students' unresolved questions to the TAs and back (docs/human-loop.md).
export { HumanLoop, PermanentDeliveryError, MAX_TA_ANSWER_CHARS, MAX_DETAILS_CHARS } from '../humanloop/service.js';
export type {
  AnswerCaseInput,
  CaseActionOutcome,
  CaseView,
  ConversationTurn,
  DeliveryResult,
  DeliveryView,
  EscalateOutcome,
  OutboxHandlers,
  StaffInput,
} from '../humanloop/service.js';
export type { DeliveryAddress } from '../humanloop/address.js';
export { BOT_LABEL_CHOICES, LOOP_MESSAGES, STATUS_WORDS } from '../humanloop/messages.js';
export { VERIFIED_COMPLEMENT_HEADER } from '../answer/answerService.js';
export type { CaseStatus, CaseSummary, StaffNote, VerifiedAnswer } from '../store/types.js';
export type { StaffNoteView } from '../types.js';

// Settings and logs.
export type { Config } from '../config.js';
export { scrubSecrets, type Logger } from '../logger.js';

// The weekly digest for the TAs (neutral data; the Slack adapter renders and posts it).
export { buildDigest, loadDigest } from '../insights/digest.js';
export type { Digest, DigestItem, DigestOptions, DigestSection } from '../insights/digest.js';

// The command-line harness and exit codes, for an adapter's own command (`npm run discord:register`).
export { createProgram, runProgram } from '../cli/harness.js';
export { EXIT, UserError } from '../errors.js';
