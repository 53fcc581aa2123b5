/**
 * The feedback store's data model: every answered question with everything that produced it,
 * the votes and TA annotations it received, and the automated judge's verdict. One store module
 * is used by every adapter and by export/evaluate. User ids are pseudonymous (salted hash):
 * raw Discord/Slack ids are never stored.
 */
import type { CoverageEstimate } from '../retrieval/coverage.js';
import type { AnswerKind, Moment, Reference, RetrieverName, SegmentEvidence, Timings } from '../types.js';
import { EXIT, UserError } from '../errors.js';
import type { HitCounter } from './hitCounter.js';

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
}

/** One answer with everything about it: what export writes. */
export interface FullRecord extends AnswerRecord {
  votes: { up: number; down: number; items: VoteRecord[] };
  /** Latest TA annotation, or null. */
  annotation: AnnotationRecord | null;
  judge: JudgeRecord | null;
}

/**
 * A student's question handed to the TAs (the human loop, issue #17). No store records cases
 * yet; the staff insights (report, digest) read them through `FeedbackStore.listCases` when a
 * store offers it, so escalations appear there without changing the insights.
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
   * '' and the answer keeps its first `OMITTED_ANSWER_CHARS` characters (enough to tell an
   * abstention). SQLite and Postgres drop them in the query; other backends after parsing.
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
    answer: Omit<AnswerRecord, 'platform' | 'channel' | 'user' | 'segments'> & { segments: StoredSegment[] },
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
  /**
   * The same records as `listRecords`, streamed for large stores: in store order (not by time),
   * read page by page, so a caller that aggregates as it goes never holds every record. Votes
   * and current annotations (small) are read first, then answers page by page with their judge
   * verdicts. Failures are StoreUnavailableError, as for every read.
   */
  iterateRecords(options?: IterateOptions): AsyncIterable<FullRecord>;
  /**
   * Escalation cases (#17), when this store records them; absent until then. `since` filters by
   * createdAt; cases still open are wanted whatever their age, so callers ask without it.
   */
  listCases?(options?: { since?: Date }): AsyncIterable<EscalationCase>;
  close(): Promise<void>;
}
