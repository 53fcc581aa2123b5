/**
 * The feedback store's data model: every answered question with everything that produced it,
 * the votes and TA annotations it received, and the automated judge's verdict. One store module
 * is used by every adapter and by export/evaluate. User ids are pseudonymous (salted hash):
 * raw Discord/Slack ids are never stored.
 */
import type { CoverageEstimate } from '../retrieval/coverage.js';
import type { AnswerKind, Moment, Reference, RetrieverName, SegmentEvidence, StaffNoteView, Timings } from '../types.js';
import { EXIT, UserError } from '../errors.js';
import type { HitCounter } from './hitCounter.js';
import type { HumanLoopData } from './humanLoopData.js';
import type { LeaseStore } from './leases.js';

export type Platform = 'discord' | 'slack' | 'cli';
export type VoteValue = 'up' | 'down';
/** C = correct, P = partially correct, I = incorrect. */
export type Label = 'C' | 'P' | 'I';

export interface StoredSegment {
  corpusId: number;
  score: number;
  foundBy: Partial<Record<RetrieverName, { rank: number; score: number }>>;
  videoId: string;
  title: string;
  /** Link to the video at `start`. */
  url: string;
  start: number;
  end: number;
  text: string;
  /** What the window had of the question (coverage, matched words, similarity); absent in older records. */
  evidence?: SegmentEvidence;
  /** The moment inside the window the answer links to; absent in older records and old indexes. */
  moment?: Moment;
}

/**
 * The answer policy applied to an answer (homework guardrails, src/answer/policy.ts): its mode
 * (`guide`: explain and point to the lectures, never solve graded work) and version, and the
 * policy text the prompt carried.
 */
export interface AppliedPolicy {
  version: string;
  mode: string;
  /** The course's policy text as the prompt carried it; null when the mode came from ANSWER_POLICY alone. */
  text: string | null;
}

export interface AnswerRecord {
  id: string;
  question: string;
  answer: string;
  kind: AnswerKind;
  retriever: string;
  embeddingModel: string | null;
  model: string;
  promptVersion: string;
  segments: StoredSegment[];
  references: Reference[];
  notices: string[];
  timings: Timings;
  /** The evidence on whether the lectures cover the question; absent in older records. */
  coverage?: CoverageEstimate;
  platform: Platform;
  channel: string | null;
  /** Pseudonymous id of the asker. */
  user: string;
  createdAt: string;
  /**
   * The conversation this answer is a turn of (every answer since conversations exist starts or
   * continues one; `getConversation` reads its turns). Null in records written before.
   */
  conversationId: string | null;
  /** 1-based position in the conversation; null in records written before conversations. */
  turn: number | null;
  /** Video ids the question was restricted to (the lecture filter); null when it searched every lecture. */
  lectureFilter: string[] | null;
  /** The answer policy applied (src/answer/policy.ts); null when none was. */
  policy: AppliedPolicy | null;
  /**
   * What retrieval searched when it was not the question as asked: a follow-up rewritten into a
   * standalone question (or extended with the previous question's key terms). Null otherwise.
   */
  retrievalQuery: string | null;
  /** Set when the answer is a TA-verified answer that matched the question (kind `verified`). */
  verified?: VerifiedHit;
  /** Ids of the staff notes shown with the answer (notes pinned to segments it cites). */
  staffNotes?: string[];
}

/** The fields of AnswerRecord that records written before them lack (read back as null). */
export const CONVERSATION_FIELDS = ['conversationId', 'turn', 'lectureFilter', 'policy', 'retrievalQuery'] as const;
type ConversationField = (typeof CONVERSATION_FIELDS)[number];

/** What `recordAnswer` takes: the answer without who asked it; the conversation fields default to null. */
export type NewAnswerRecord = Omit<AnswerRecord, 'platform' | 'channel' | 'user' | 'segments' | ConversationField> &
  Partial<Pick<AnswerRecord, ConversationField>> & { segments: StoredSegment[] };

/** A segment as a conversation turn keeps it: what the answer cited, for the next turns. */
export interface TurnSegment {
  corpusId: number;
  videoId: string;
  title: string;
  start: number;
  end: number;
  url: string;
  text: string;
}

/**
 * One turn of a conversation, as the next turns (and the staff's views) read it: the question,
 * what was searched, the answer and the segments it cited. Kept under its own key per turn
 * (`conversation:<id>:<turn>`), so concurrent writes never rewrite a shared value.
 */
export interface ConversationTurn {
  conversationId: string;
  turn: number;
  answerId: string;
  question: string;
  /** What retrieval searched (the question itself, or its standalone rewrite). */
  retrievalQuery: string;
  answer: string;
  kind: AnswerKind;
  /** The segments the answer cited (the retrieved ones when it cited none), best first. */
  segments: TurnSegment[];
  lectureFilter: string[] | null;
  platform: Platform;
  /** Pseudonymous id of the asker. */
  user: string;
  at: string;
}

/** A conversation's turns, oldest first. */
export interface Conversation {
  id: string;
  turns: ConversationTurn[];
}

/** A platform thread (Discord thread id, Slack `channel:thread_ts`) and the conversation it holds. */
export interface ThreadLink {
  platform: Platform;
  /** Platform-specific thread reference, without any user id. */
  thread: string;
  conversationId: string;
  at: string;
}

/** Which verified answer answered a question, and how closely it matched. */
export interface VerifiedHit {
  id: string;
  /** 0–1: cosine of the question embeddings (`dense`) or of their weighted terms (`lexical`). */
  similarity: number;
  method: 'dense' | 'lexical';
}

export interface VoteRecord {
  answerId: string;
  /** Pseudonymous id of the voter. */
  user: string;
  value: VoteValue;
  comment: string | null;
  platform: Platform;
  at: string;
}

export interface AnnotationRecord {
  answerId: string;
  label: Label;
  /** Pseudonymous id of the TA. */
  annotator: string;
  platform: Platform;
  at: string;
}

export interface JudgeScore {
  /** Raw judge score on the 0–3 scale. */
  raw: number;
  /** raw / 3, 0–1. */
  normalized: number;
  criteria: string;
  supportingEvidence: string;
}

export interface JudgeRecord {
  answerId: string;
  status: 'ok' | 'failed';
  /** Why the judge failed, when status is 'failed'. */
  error: string | null;
  judgeModel: string;
  promptVersion: string;
  at: string;
  answerRelevance: JudgeScore | null;
  /** One per retrieved segment, same order. */
  contextRelevance: (JudgeScore & { corpusId: number })[];
  /** One per answer sentence. */
  groundedness: (JudgeScore & { sentence: string })[];
  /** Mean normalised groundedness, or null. */
  groundednessMean: number | null;
  /** Automated C/P/I label. */
  label: Label | null;
  /** True when the answer says the lectures do not cover the question (reported apart). */
  abstained: boolean;
  /** "Criteria: … Supporting Evidence: … Score: N" */
  reasoning: string;
  /**
   * Correctness against a TA's answer to the same question (the human loop's golden set), when a
   * TA answered this answer's case; absent or null otherwise (and in verdicts made before).
   */
  answerCorrectness?: JudgeScore | null;
}

/** One answer with everything about it: what export writes. */
export interface FullRecord extends AnswerRecord {
  votes: { up: number; down: number; items: VoteRecord[] };
  /** Latest TA annotation, or null. */
  annotation: AnnotationRecord | null;
  judge: JudgeRecord | null;
  /** The human-loop case of this answer (a student asked a TA), without delivery addresses; or null. */
  case: CaseSummary | null;
  /** When this answer became a verified answer: how many later answers it served. */
  verifiedHits: number;
}

// ---------------------------------------------------------------------------------------------
// The human loop (docs/human-loop.md): a student's unresolved question goes to the TAs as a case,
// the TA's answer comes back to the student and becomes a verified answer.

/**
 * open → claimed (a TA took it) → answered (a TA wrote the answer) | endorsed (the bot's answer
 * is right) | closed (no answer, with a reason). A TA may answer, endorse or close without
 * claiming first.
 */
export type CaseStatus = 'open' | 'claimed' | 'answered' | 'endorsed' | 'closed';
export const CASE_STATUSES: readonly CaseStatus[] = ['open', 'claimed', 'answered', 'endorsed', 'closed'];
export const OPEN_CASE_STATUSES: readonly CaseStatus[] = ['open', 'claimed'];

/** A TA (or anyone acting on a case from Slack): pseudonym for records, display name for cards. */
export interface StaffRef {
  /** Pseudonymous id (`slack:…`). */
  user: string;
  /** Display name as Slack gave it (the TA's handle), shown on the TAs' own cards; never exported. */
  name: string;
  at: string;
}

/** AES-256-GCM ciphertext of a delivery address (src/humanloop/address.ts); base64 fields. */
export interface SealedAddress {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

export type DeliveryStatus = 'waiting' | 'pending' | 'delivered' | 'notice' | 'failed';

/** Someone who asked for help on a case, and where the TA's answer goes. */
export interface CaseRequester {
  /** Pseudonym of the student (or of the TA who forwarded a Slack answer). */
  user: string;
  platform: Platform;
  at: string;
  /** What the student added in the "Chamar um monitor" form. */
  details: string | null;
  /** Display name, only kept when ESCALATION_SHOW_NAMES=true. */
  name: string | null;
  /** Where to deliver the TA's answer, encrypted; wiped (null) once delivered or no longer needed. */
  address: SealedAddress | null;
  /**
   * waiting: no answer yet; pending: the answer is in the outbox; delivered; notice: shown at the
   * student's next question (DMs closed); failed: could not be delivered (see `error`).
   */
  delivery: { status: DeliveryStatus; at: string | null; via: 'channel' | 'dm' | 'notice' | 'slack-dm' | null; error: string | null };
}

export type OutboxTarget = 'slack' | 'discord';
export type OutboxKind = 'post-card' | 'update-card' | 'reminder' | 'deliver';

/**
 * One side effect a case still owes a platform, written into the case record in the same write as
 * the change that causes it (the transactional outbox), and removed when done.
 */
export interface OutboxTask {
  id: string;
  target: OutboxTarget;
  kind: OutboxKind;
  /** For `deliver`: the requester's pseudonym. */
  requester?: string;
  createdAt: string;
  attempts: number;
  /** Not tried again before this time (ms since the epoch), after a failure. */
  notBefore: number;
  lastError: string | null;
}

export interface CaseResolution {
  kind: 'answered' | 'endorsed' | 'closed';
  by: StaffRef;
  /** The TA's answer (answered), or the reason (closed); null when endorsed. */
  text: string | null;
  /** Lecture links found in the TA's answer (answered), or the bot's references (endorsed). */
  references: Reference[];
  /** The TA's verdict on the bot's answer, when given (endorsed: C). */
  botLabel: Label | null;
  /** The verified answer this resolution created (answered, endorsed). */
  verifiedId: string | null;
  /** Staff notes pinned to the bot's cited segments with this answer. */
  noteIds: string[];
}

export interface CaseRecord {
  id: string;
  answerId: string;
  /**
   * The conversation the escalated answer belongs to (the conversations feature, #16: follow-ups
   * in a thread), copied from the answer record when it has one; absent otherwise and in cases
   * written before. The card shows the conversation's earlier turns.
   */
  conversationId?: string | null;
  status: CaseStatus;
  createdAt: string;
  /** Platform of the first request. */
  origin: Platform;
  requesters: CaseRequester[];
  /** Votes on the bot's answer when help was first asked. */
  votesAtEscalation: { up: number; down: number };
  /** The card in the TAs' Slack channel, once posted. */
  card: { channel: string; ts: string } | null;
  claimedBy: StaffRef | null;
  /** First claim, answer, endorsement or close. */
  firstActionAt: string | null;
  resolution: CaseResolution | null;
  remindedAt: string | null;
  /** Students' 👍/👎 on the TA's answer, by pseudonym (latest counts). */
  ratings: Record<string, VoteValue>;
  /** Side effects still owed (see OutboxTask). */
  outbox: OutboxTask[];
  /** Incremented by every change. */
  version: number;
  updatedAt: string;
}

/** A case as `listCases` and exports give it: no delivery address, plus timings. */
export interface CaseSummary extends Omit<CaseRecord, 'requesters' | 'outbox'> {
  requesters: Omit<CaseRequester, 'address'>[];
  timings: {
    /** From the request to the first TA action, ms; null until then. */
    firstActionMs: number | null;
    /** From the request to the answer, endorsement or close, ms; null while open. */
    resolvedMs: number | null;
  };
}

/** A question–answer pair a TA wrote or approved, which the bot reuses for the same question. */
export interface VerifiedAnswer {
  id: string;
  question: string;
  answer: string;
  references: Reference[];
  source: 'ta-answer' | 'endorsement';
  caseId: string | null;
  /** The bot answer the case was about. */
  answerId: string | null;
  by: StaffRef;
  createdAt: string;
  updatedAt: string;
  updatedBy: StaffRef | null;
  /** Retired answers are kept (exports, history) but never matched. */
  retired: StaffRef | null;
  /** The question's embedding when one was computed: model id and base64 little-endian float32. */
  embedding: { model: string; vector: string } | null;
}

/** A TA's correction pinned to a lecture moment: shown with every later answer that cites it. */
export interface StaffNote extends StaffNoteView {
  caseId: string | null;
  answerId: string | null;
  by: StaffRef;
  createdAt: string;
  retired: StaffRef | null;
}

/**
 * A human-loop case (#17) as the staff insights (report, digest) read it: the store's
 * `CaseSummary` with the escalated question (kept on the answer record, not on the case).
 * `insightsSource` in src/insights/collect.ts builds it.
 */
export interface EscalationCase {
  id: string;
  /** The answer the student escalated, when the case started from one. */
  answerId: string | null;
  question: string;
  /** `open`, `claimed`, `answered`, `endorsed`, `closed` (read as text: later versions may add more). */
  status: string;
  createdAt: string;
  platform?: Platform;
}

export class AnswerNotFoundError extends Error {
  constructor(readonly answerId: string) {
    super(`answer ${answerId} is not in the store`);
    this.name = 'AnswerNotFoundError';
  }
}

/** A comment was sent by a user who has no vote on that answer. */
export class VoteNotFoundError extends Error {
  constructor(readonly answerId: string) {
    super(`no vote by this user on answer ${answerId} to attach a comment to`);
    this.name = 'VoteNotFoundError';
  }
}

/**
 * Exit 1 when the store cannot be reached or used (it may work again later); exit 2 when STORE_URL
 * itself cannot name a store (`invalidSetting`).
 */
export class StoreUnavailableError extends UserError {
  readonly exitCode: typeof EXIT.failure | typeof EXIT.invalidInput;
  constructor(reason: string, options: { invalidSetting?: boolean } = {}) {
    super(`feedback store unavailable: ${reason}`);
    this.exitCode = options.invalidSetting ? EXIT.invalidInput : EXIT.failure;
    this.name = 'StoreUnavailableError';
  }
}

export interface IterateOptions {
  /** Only answers created from this instant on. */
  since?: Date;
  /**
   * Leave out the long texts an aggregation never reads, which are most of a store's bytes:
   * each segment's transcript and the judge's criteria, evidence, sentences and reasoning become
   * '', the answer policy's text null (its mode and version stay), and the answer keeps its first
   * `OMITTED_ANSWER_CHARS` characters (enough to tell an abstention). SQLite and Postgres drop them in the query; other backends after parsing.
   */
  omitTexts?: boolean;
}

/** Characters of the answer `iterateRecords({ omitTexts: true })` keeps. */
export const OMITTED_ANSWER_CHARS = 200;

export interface FeedbackStore {
  /** Human description without secrets, e.g. `sqlite (data/pergunta.sqlite)`. */
  readonly description: string;
  /**
   * Counters shared by every process that uses this store (Redis, Postgres), e.g. for a rate
   * limit that holds across bot processes; absent for one-process backends (SQLite, memory).
   * Failures are StoreUnavailableError.
   */
  readonly counter?: HitCounter;
  /** Salted hash of a platform user id: stable, not reversible without the salt. */
  pseudonymize(platform: Platform, rawUserId: string): string;
  /** Stores the answer as sent; `rawUserId` is pseudonymised before it is stored. */
  recordAnswer(
    answer: NewAnswerRecord,
    context: { platform: Platform; channel: string | null; rawUserId: string },
  ): Promise<AnswerRecord>;
  getAnswer(id: string): Promise<AnswerRecord | undefined>;
  /**
   * One vote per user per answer; a new vote replaces the user's previous one (the latest
   * counts). Keeps the previous comment unless a new one is given. Throws AnswerNotFoundError.
   */
  vote(input: { answerId: string; platform: Platform; rawUserId: string; value: VoteValue; comment?: string | null }): Promise<{ previous: VoteValue | null; vote: VoteRecord }>;
  /** Adds/replaces the comment on the user's existing vote. Throws AnswerNotFoundError. */
  commentVote(input: { answerId: string; platform: Platform; rawUserId: string; comment: string }): Promise<VoteRecord>;
  /** Records a TA annotation; the latest counts. Throws AnswerNotFoundError. */
  annotate(input: { answerId: string; platform: Platform; rawUserId: string; label: Label }): Promise<AnnotationRecord>;
  votes(answerId: string): Promise<VoteRecord[]>;
  annotation(answerId: string): Promise<AnnotationRecord | null>;
  saveJudge(record: JudgeRecord): Promise<void>;
  judge(answerId: string): Promise<JudgeRecord | null>;
  /** Every answer (oldest first) with votes, annotation and judge; `since` filters by createdAt. */
  listRecords(options?: { since?: Date }): Promise<FullRecord[]>;

  // --- Conversations (follow-up questions in a thread). Every answer is a turn of one.

  /**
   * The number the next follow-up of `conversationId` gets: 2, 3, … (turn 1 is the question that
   * starts a conversation, under a new id, and needs no number from the store). Distinct for
   * concurrent callers: counted in the store's shared counter when it has one (several
   * processes), under a lock in this process otherwise.
   */
  nextTurnNumber(conversationId: string): Promise<number>;
  /** Stores one turn (its own key; writing the same turn again replaces it). */
  saveTurn(turn: ConversationTurn): Promise<void>;
  /**
   * A conversation's turns, oldest first, or null when it has none. What the human loop (issue
   * #17) and the staff report (#18) read to show a conversation; the bot reads it to answer a
   * follow-up.
   */
  getConversation(conversationId: string): Promise<Conversation | null>;
  /** Records that a platform thread holds a conversation (the latest link wins). */
  linkThread(link: Omit<ThreadLink, 'at'>): Promise<void>;
  /** The conversation a platform thread holds, or null. */
  threadConversation(platform: Platform, thread: string): Promise<string | null>;

  /**
   * The same records as `listRecords`, streamed for large stores: in store order (not by time),
   * read page by page, so a caller that aggregates as it goes never holds every record. Votes
   * and current annotations (small) are read first, then answers page by page with their judge
   * verdicts. Failures are StoreUnavailableError, as for every read.
   */
  iterateRecords(options?: IterateOptions): AsyncIterable<FullRecord>;
  /**
   * Leases shared by every process that uses this store (Redis, Postgres; in-process for SQLite and
   * memory, which one process uses): see src/store/leases.ts. Failures are StoreUnavailableError.
   */
  readonly leases: LeaseStore;
  /** A 32-byte key for `purpose`, derived (HKDF-SHA256) from the salt of the pseudonyms. */
  deriveKey(purpose: string): Promise<Buffer>;
  /** The human loop's records: cases and their outbox, verified answers, staff notes, notices. */
  readonly loop: HumanLoopData;
  /**
   * Every human-loop case (oldest first), without delivery addresses, with its timings; `since`
   * filters by creation time, `status` keeps only those statuses. For exports and the staff report.
   */
  listCases(options?: { since?: Date; status?: CaseStatus[] }): Promise<CaseSummary[]>;
  close(): Promise<void>;
}
