/**
 * The feedback store on top of keyv (any backend: SQLite, Redis, Postgres, or an in-memory Map).
 *
 * Data layout (every key lives in the keyv namespace `pergunta`; `<id>` is the answer id,
 * URI-encoded so it never contains `:`; `<user>` is a pseudonym such as `discord:3f9a0c…`):
 *
 * | key                                        | value                                  |
 * |--------------------------------------------|----------------------------------------|
 * | `answer:<id>`                              | AnswerRecord                           |
 * | `vote:<id>:<user>`                         | VoteRecord: one key per voter          |
 * | `annotation:<id>`                          | latest AnnotationRecord                |
 * | `annotation:<id>:<ISO time>:<annotator>`   | every AnnotationRecord (history)       |
 * | `judge:<id>`                               | JudgeRecord                            |
 * | `conversation:<conversation id>:<turn>`    | ConversationTurn: one key per turn     |
 * | `thread:<platform>:<thread>`               | ThreadLink: the conversation a platform thread holds |
 * | `meta:salt`                                | generated salt (only without USER_ID_SALT) |
 * | `meta:saltCheck`                           | HMAC of a constant under the salt (detects a changed salt) |
 * | `case:…`, `verified:…`, `note:…`, `outbox:…`… | the human loop's records (src/store/humanLoopData.ts) |
 *
 * Nothing is lost under concurrency because no write reads-modifies-writes a shared value:
 * each vote is its own key (200 voters on one answer are 200 keys), an annotation is a plain
 * overwrite (the latest wins) plus an append-only history key. Within one process, writes to
 * the same key are serialised (so a vote and a comment by the same user cannot undo each
 * other); across processes the same user acting twice at the same instant is the only race,
 * and its outcome is still one vote. Listing uses keyv's `iterator()` (SQLite, Postgres, Redis
 * and Map all have one) and classifies keys by prefix; it reads the whole namespace, so
 * `votes(answerId)` and `listRecords()` cost O(keys in the store). `iterateRecords()` streams
 * instead, for reports over large stores: it reads one kind of key at a time with each backend's
 * cheapest query (src/store/prefixScan.ts), holds only votes and current annotations, and reads
 * answers page by page with their verdicts (one `getMany` per page).
 *
 * A conversation's turns are read by key (`conversation:<id>:1`, `:2`, …, in batches), never by
 * listing the store, so answering a follow-up costs a few reads whatever the store's size. Turn
 * numbers come from the shared counter when the backend has one (Redis, Postgres: distinct across
 * processes), from a lock in this process otherwise (SQLite and memory serve one process).
 *
 * Raw platform user ids are never stored: `pseudonymize` is HMAC-SHA256(salt,
 * `<platform>:<rawId>`) truncated to 16 hex characters and prefixed by the platform.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { Keyv } from 'keyv';
import type { Logger } from '../logger.js';
import type { HitCounter } from './hitCounter.js';
import { keyvPrefixScan, SCAN_PAGE_ROWS, type PrefixScan } from './prefixScan.js';
import { asCase, HumanLoopData, LockBusyError, summarizeCase, type DocumentBackend } from './humanLoopData.js';
import { processLeases, type LeaseStore } from './leases.js';
import {
  AnswerNotFoundError,
  CONVERSATION_FIELDS,
  OMITTED_ANSWER_CHARS,
  StoreUnavailableError,
  VoteNotFoundError,
  type AnnotationRecord,
  type AnswerRecord,
  type CaseStatus,
  type CaseSummary,
  type Conversation,
  type ConversationTurn,
  type FeedbackStore,
  type FullRecord,
  type IterateOptions,
  type JudgeRecord,
  type JudgeScore,
  type Label,
  type NewAnswerRecord,
  type Platform,
  type ThreadLink,
  type VoteRecord,
  type VoteValue,
} from './types.js';

export const STORE_NAMESPACE = 'pergunta';
/** Hex characters kept from the HMAC (64 bits: collisions are negligible at course scale). */
export const PSEUDONYM_HEX_CHARS = 16;
/** Default bound on one backend operation; a store that does not answer becomes an error. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;
const GENERIC_REDIS_ERROR = /client is not connected or has failed to connect/i;

/** `commentVote` for a user who has not voted on that answer. */

export const storeKeys = {
  answer: (answerId: string) => `answer:${encodeURIComponent(answerId)}`,
  vote: (answerId: string, user: string) => `vote:${encodeURIComponent(answerId)}:${user}`,
  votePrefix: (answerId: string) => `vote:${encodeURIComponent(answerId)}:`,
  annotation: (answerId: string) => `annotation:${encodeURIComponent(answerId)}`,
  annotationHistory: (answerId: string, at: string, annotator: string) =>
    `annotation:${encodeURIComponent(answerId)}:${at}:${annotator}`,
  judge: (answerId: string) => `judge:${encodeURIComponent(answerId)}`,
  turn: (conversationId: string, turn: number) => `conversation:${encodeURIComponent(conversationId)}:${turn}`,
  thread: (platform: Platform, thread: string) => `thread:${platform}:${encodeURIComponent(thread)}`,
  salt: 'meta:salt',
  saltCheck: 'meta:saltCheck',
} as const;

export function pseudonymFor(salt: string, platform: Platform, rawUserId: string): string {
  const digest = createHmac('sha256', salt).update(`${platform}:${rawUserId}`).digest('hex');
  return `${platform}:${digest.slice(0, PSEUDONYM_HEX_CHARS)}`;
}

function saltFingerprint(salt: string): string {
  return createHmac('sha256', salt).update('pergunta:salt-check').digest('hex').slice(0, 16);
}

/** Serialises async work per key inside this process. */
class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// The values below were written by this module; the guards only reject foreign or corrupt data.
function asAnswer(value: unknown): AnswerRecord | undefined {
  if (!(isObject(value) && typeof value.id === 'string' && typeof value.question === 'string')) return undefined;
  // Records written before conversations, the lecture filter and answer policies lack those fields.
  const record = value as unknown as AnswerRecord;
  return CONVERSATION_FIELDS.every((field) => field in record)
    ? record
    : { ...record, ...Object.fromEntries(CONVERSATION_FIELDS.filter((field) => !(field in record)).map((field) => [field, null])) };
}
function asTurn(value: unknown): ConversationTurn | undefined {
  return isObject(value) && typeof value.conversationId === 'string' && typeof value.turn === 'number' && typeof value.answerId === 'string'
    ? (value as unknown as ConversationTurn)
    : undefined;
}
function asThreadLink(value: unknown): ThreadLink | undefined {
  return isObject(value) && typeof value.conversationId === 'string' && typeof value.thread === 'string' ? (value as unknown as ThreadLink) : undefined;
}
function asVote(value: unknown): VoteRecord | undefined {
  return isObject(value) && typeof value.answerId === 'string' && (value.value === 'up' || value.value === 'down')
    ? (value as unknown as VoteRecord)
    : undefined;
}
function asAnnotation(value: unknown): AnnotationRecord | undefined {
  return isObject(value) && typeof value.answerId === 'string' && typeof value.label === 'string'
    ? (value as unknown as AnnotationRecord)
    : undefined;
}
function asJudge(value: unknown): JudgeRecord | undefined {
  return isObject(value) && typeof value.answerId === 'string' && (value.status === 'ok' || value.status === 'failed')
    ? (value as unknown as JudgeRecord)
    : undefined;
}

/**
 * The value of what keyv stored (`{"value":…,"expires":…}`), parsed plainly when that gives
 * the same result as keyv's deserialiser; undefined otherwise. keyv parses with a reviver that
 * unescapes strings starting with ':' (written `"::…"`) and decodes Buffers (`":base64:…"`); a
 * reviver call per value makes a large scan several times slower, and text with neither
 * pattern needs none.
 */
function plainJson(raw: string): unknown {
  if (raw.includes('"::') || raw.includes('":base64:')) return undefined;
  const parsed = JSON.parse(raw) as unknown;
  return isObject(parsed) ? parsed.value : undefined;
}

/** An answer as `iterateRecords({ omitTexts: true })` gives it (IterateOptions.omitTexts); changed in place (it was just parsed). */
function withoutAnswerTexts(answer: AnswerRecord): AnswerRecord {
  if (typeof answer.answer === 'string' && answer.answer.length > OMITTED_ANSWER_CHARS) answer.answer = answer.answer.slice(0, OMITTED_ANSWER_CHARS);
  if (isObject(answer.policy)) answer.policy.text = null;
  if (Array.isArray(answer.segments)) {
    for (const segment of answer.segments) {
      if (!isObject(segment)) continue;
      segment.text = '';
      if (isObject(segment.moment)) segment.moment.excerpt = '';
    }
  }
  return answer;
}

/** A verdict without its texts: scores, label and status only. */
function withoutJudgeTexts(judge: JudgeRecord): JudgeRecord {
  const score = <T extends JudgeScore>(s: T): T => ({ ...s, criteria: '', supportingEvidence: '' });
  return {
    ...judge,
    reasoning: '',
    answerRelevance: judge.answerRelevance ? score(judge.answerRelevance) : null,
    contextRelevance: (judge.contextRelevance ?? []).map(score),
    groundedness: (judge.groundedness ?? []).map((g) => ({ ...score(g), sentence: '' })),
  };
}

function byTime<T extends { at: string }>(a: T, b: T): number {
  return a.at < b.at ? -1 : a.at > b.at ? 1 : 0;
}

/** The record `recordAnswer` stores: only the known fields, the asker pseudonymised. */
export function buildAnswerRecord(
  answer: NewAnswerRecord,
  context: { platform: Platform; channel: string | null; rawUserId: string },
  pseudonymize: (platform: Platform, rawUserId: string) => string,
): AnswerRecord {
  return {
    id: answer.id,
    question: answer.question,
    answer: answer.answer,
    kind: answer.kind,
    retriever: answer.retriever,
    embeddingModel: answer.embeddingModel,
    model: answer.model,
    promptVersion: answer.promptVersion,
    segments: answer.segments.map(({ corpusId, score, foundBy, videoId, title, url, start, end, text, evidence, moment }) => ({
      corpusId,
      score,
      foundBy,
      videoId,
      title,
      url,
      start,
      end,
      text,
      ...(evidence ? { evidence } : {}),
      ...(moment ? { moment } : {}),
    })),
    // `at` (the moment the link opens at) and `closest` (closest moments of a "not found") when set.
    references: answer.references.map(({ videoId, title, start, end, url, at, closest }) => ({
      videoId,
      title,
      start,
      end,
      url,
      ...(at !== undefined ? { at } : {}),
      ...(closest ? { closest } : {}),
    })),
    notices: [...answer.notices],
    timings: { ...answer.timings },
    ...(answer.coverage ? { coverage: answer.coverage } : {}),
    platform: context.platform,
    channel: context.channel,
    user: pseudonymize(context.platform, context.rawUserId),
    createdAt: answer.createdAt,
    conversationId: answer.conversationId ?? null,
    turn: answer.turn ?? null,
    lectureFilter: answer.lectureFilter ? [...answer.lectureFilter] : null,
    policy: answer.policy ? { version: answer.policy.version, mode: answer.policy.mode, text: answer.policy.text ?? null } : null,
    retrievalQuery: answer.retrievalQuery ?? null,
    ...(answer.verified ? { verified: { id: answer.verified.id, similarity: answer.verified.similarity, method: answer.verified.method } } : {}),
    ...(answer.staffNotes && answer.staffNotes.length > 0 ? { staffNotes: [...answer.staffNotes] } : {}),
  };
}

/** Turns read per batch of keys; a batch with none ends the conversation. */
const TURN_BATCH = 20;
/** A conversation longer than this is not read further (settings cap conversations far below). */
const MAX_STORED_TURNS = 1000;
/** How long the shared counter remembers a conversation's turn numbers after its last turn. */
const TURN_NUMBERS_TTL_MS = 400 * 24 * 3600_000;

/** `comment` as the store keeps it: one line, at most 1000 characters; null when empty. */
export function normalizeComment(comment: string): string | null {
  const clean = comment.replace(/\p{Cc}+/gu, ' ').trim().slice(0, 1000);
  return clean === '' ? null : clean;
}

export interface KeyvStoreOptions {
  /** Human description without secrets, e.g. `sqlite (data/pergunta.sqlite)`. */
  description: string;
  /** USER_ID_SALT; when absent a random salt is generated once and kept in the store. */
  salt?: string;
  logger: Logger;
  /** Bound on one backend operation, ms. Default 10 s. */
  operationTimeoutMs?: number;
  /** Values to remove from error messages (e.g. a password in the store URL). */
  secrets?: string[];
  /** Extra cleanup after keyv is disconnected. */
  onClose?: () => Promise<void>;
  /** Shared counters on the same backend (networked backends only). */
  hitCounter?: HitCounter;
  /** Leases on the same backend (networked backends); default: leases held in this process. */
  leases?: LeaseStore;
  /** Longest wait for a lock another process holds, ms (default 10 s). */
  lockWaitMs?: number;
  /** How long a lock is held at most if its holder dies, ms (default 15 s). */
  lockTtlMs?: number;
  /** Clock, for tests. */
  now?: () => Date;
  /**
   * Reads one kind of key (`answer:`, `vote:`…) page by page, for `iterateRecords`; the backend's
   * cheapest query (src/store/prefixScan.ts). Default: keyv's iterator, filtered.
   */
  scan?: PrefixScan;
}

type SaltState =
  | { source: 'env'; salt: string; checked: boolean }
  | { source: 'stored'; salt: string }
  | { source: 'generated'; salt: string; persisted: boolean };

export class KeyvFeedbackStore implements FeedbackStore {
  readonly description: string;
  readonly counter: HitCounter | undefined;
  readonly leases: LeaseStore;
  readonly loop: HumanLoopData;
  private readonly lockWaitMs: number;
  private readonly lockTtlMs: number;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly secrets: string[];
  private readonly onClose: (() => Promise<void>) | undefined;
  private readonly now: () => Date;
  private readonly scan: PrefixScan;
  private readonly mutex = new KeyedMutex();
  /** The last turn number this process handed out per conversation (a turn is saved after its answer). */
  private readonly lastTurns = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private lastBackendError: string | undefined;
  private lastBackendErrorAt = 0;
  private errorCount = 0;
  private lastTimestamp = 0;
  private closed = false;
  private salt!: SaltState;

  private constructor(
    private readonly keyv: Keyv,
    opts: KeyvStoreOptions,
  ) {
    this.description = opts.description;
    this.logger = opts.logger;
    this.timeoutMs = opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.secrets = (opts.secrets ?? []).filter((s) => s.length > 0);
    this.onClose = opts.onClose;
    this.now = opts.now ?? (() => new Date());
    this.scan = opts.scan ?? keyvPrefixScan(keyv);
    const counter = opts.hitCounter;
    // Same deadline, error type and secret scrubbing as every other backend call.
    this.counter = counter && {
      hit: (key, options) => this.track(() => this.backend('count hits', () => counter.hit(key, options))),
      hits: (key, since) => this.track(() => this.backend('read hits', () => counter.hits(key, since))),
    };
    const leases = opts.leases ?? processLeases();
    this.leases = {
      acquire: (key, owner, ttlMs) => this.track(() => this.backend('take lease', () => leases.acquire(key, owner, ttlMs))),
      release: (key, owner) => this.track(() => this.backend('release lease', () => leases.release(key, owner))),
    };
    this.lockWaitMs = opts.lockWaitMs ?? 10_000;
    this.lockTtlMs = opts.lockTtlMs ?? 15_000;
    this.loop = new HumanLoopData(this.documents());
    keyv.on('error', (err: unknown) => {
      this.errorCount++;
      const reason = this.clean(err instanceof Error ? err.message : String(err));
      // @keyv/redis also emits its generic "not connected" wrapper; the cause seen before it says more.
      if (!(GENERIC_REDIS_ERROR.test(reason) && this.lastBackendError)) this.lastBackendError = reason;
      this.lastBackendErrorAt = Date.now();
      this.logger.debug({ store: this.description, reason }, 'feedback store backend error');
    });
  }

  /**
   * Opens the store: reads the salt (which also proves the backend answers) and fails with
   * StoreUnavailableError when it does not.
   */
  static async open(keyv: Keyv, opts: KeyvStoreOptions): Promise<KeyvFeedbackStore> {
    const store = new KeyvFeedbackStore(keyv, opts);
    if (typeof keyv.iterator !== 'function') {
      throw new StoreUnavailableError(`${store.description}: this keyv backend cannot list its keys (no iterator)`);
    }
    try {
      await store.initSalt(opts.salt);
    } catch (err) {
      await keyv.disconnect().catch(() => undefined);
      await opts.onClose?.().catch(() => undefined);
      throw err;
    }
    return store;
  }

  pseudonymize(platform: Platform, rawUserId: string): string {
    return pseudonymFor(this.salt.salt, platform, rawUserId);
  }

  async recordAnswer(
    answer: NewAnswerRecord,
    context: { platform: Platform; channel: string | null; rawUserId: string },
  ): Promise<AnswerRecord> {
    return this.track(async () => {
      await this.persistSaltIfNeeded();
      const record = buildAnswerRecord(answer, context, (platform, raw) => this.pseudonymize(platform, raw));
      await this.set('record answer', storeKeys.answer(record.id), record);
      return record;
    });
  }

  // --- Writes made while the store was down, replayed from the journal (src/store/journaledStore.ts).
  // Each is idempotent: replaying an entry twice, or after a newer write, changes nothing.

  /** Stores an answer record as it is (its user already pseudonymous), unless its id is stored. */
  async putAnswer(record: AnswerRecord): Promise<'written' | 'exists'> {
    return this.track(() =>
      this.mutex.run(storeKeys.answer(record.id), async () => {
        await this.persistSaltIfNeeded();
        if (asAnswer(await this.get('read answer', storeKeys.answer(record.id)))) return 'exists';
        await this.set('record answer', storeKeys.answer(record.id), record);
        return 'written';
      }),
    );
  }

  /**
   * A vote as it was made: written unless the user's stored vote is as recent or newer (the
   * latest counts). `comment: null` keeps the stored comment, as `vote` does. Throws
   * AnswerNotFoundError.
   */
  async applyVote(vote: VoteRecord): Promise<'written' | 'superseded'> {
    const key = storeKeys.vote(vote.answerId, vote.user);
    return this.track(() =>
      this.mutex.run(key, async () => {
        await this.persistSaltIfNeeded();
        await this.requireAnswer(vote.answerId);
        const previous = asVote(await this.get('read vote', key));
        if (previous && previous.at >= vote.at) return 'superseded';
        await this.set('record vote', key, { ...vote, comment: vote.comment === null ? (previous?.comment ?? null) : normalizeComment(vote.comment) });
        return 'written';
      }),
    );
  }

  /** A comment as it was made, on the user's stored vote; `no-vote` when there is none. */
  async applyComment(input: { answerId: string; user: string; comment: string; at: string }): Promise<'written' | 'superseded' | 'no-vote'> {
    const key = storeKeys.vote(input.answerId, input.user);
    return this.track(() =>
      this.mutex.run(key, async () => {
        await this.requireAnswer(input.answerId);
        const previous = asVote(await this.get('read vote', key));
        if (!previous) return 'no-vote';
        if (previous.at >= input.at) return 'superseded';
        await this.set('record comment', key, { ...previous, comment: normalizeComment(input.comment), at: input.at });
        return 'written';
      }),
    );
  }

  /** An annotation as it was made: kept in the history; the latest one stays the current one. */
  async applyAnnotation(record: AnnotationRecord): Promise<'written' | 'superseded'> {
    return this.track(() =>
      this.mutex.run(storeKeys.annotation(record.answerId), async () => {
        await this.persistSaltIfNeeded();
        await this.requireAnswer(record.answerId);
        await this.set('record annotation', storeKeys.annotationHistory(record.answerId, record.at, record.annotator), record);
        const current = asAnnotation(await this.get('read annotation', storeKeys.annotation(record.answerId)));
        if (current && current.at >= record.at) return 'superseded';
        await this.set('record annotation', storeKeys.annotation(record.answerId), record);
        return 'written';
      }),
    );
  }

  async getAnswer(id: string): Promise<AnswerRecord | undefined> {
    return this.track(async () => asAnswer(await this.get('read answer', storeKeys.answer(id))));
  }

  async vote(input: {
    answerId: string;
    platform: Platform;
    rawUserId: string;
    value: VoteValue;
    comment?: string | null;
  }): Promise<{ previous: VoteValue | null; vote: VoteRecord }> {
    // The lock is taken at once (not after an await), so in one process the last call wins.
    const lockKey = storeKeys.vote(input.answerId, this.pseudonymize(input.platform, input.rawUserId));
    return this.track(() =>
      this.mutex.run(lockKey, async () => {
        await this.persistSaltIfNeeded();
        await this.requireAnswer(input.answerId);
        const user = this.pseudonymize(input.platform, input.rawUserId);
        const key = storeKeys.vote(input.answerId, user);
        const previous = asVote(await this.get('read vote', key));
        const comment =
          input.comment === undefined || input.comment === null ? (previous?.comment ?? null) : normalizeComment(input.comment);
        const vote: VoteRecord = {
          answerId: input.answerId,
          user,
          value: input.value,
          comment,
          platform: input.platform,
          at: this.timestamp(),
        };
        await this.set('record vote', key, vote);
        return { previous: previous?.value ?? null, vote };
      }),
    );
  }

  async commentVote(input: { answerId: string; platform: Platform; rawUserId: string; comment: string }): Promise<VoteRecord> {
    const key = storeKeys.vote(input.answerId, this.pseudonymize(input.platform, input.rawUserId));
    return this.track(() =>
      this.mutex.run(key, async () => {
        await this.requireAnswer(input.answerId);
        const previous = asVote(await this.get('read vote', key));
        if (!previous) throw new VoteNotFoundError(input.answerId);
        const vote: VoteRecord = { ...previous, comment: normalizeComment(input.comment), at: this.timestamp() };
        await this.set('record comment', key, vote);
        return vote;
      }),
    );
  }

  async annotate(input: { answerId: string; platform: Platform; rawUserId: string; label: Label }): Promise<AnnotationRecord> {
    if (!['C', 'P', 'I'].includes(input.label)) return Promise.reject(new RangeError(`invalid label ${String(input.label)}`));
    return this.track(() =>
      this.mutex.run(storeKeys.annotation(input.answerId), async () => {
        await this.persistSaltIfNeeded();
        await this.requireAnswer(input.answerId);
        const annotator = this.pseudonymize(input.platform, input.rawUserId);
        const record: AnnotationRecord = {
          answerId: input.answerId,
          label: input.label,
          annotator,
          platform: input.platform,
          at: this.timestamp(),
        };
        await this.set('record annotation', storeKeys.annotationHistory(input.answerId, record.at, annotator), record);
        await this.set('record annotation', storeKeys.annotation(input.answerId), record);
        return record;
      }),
    );
  }

  async votes(answerId: string): Promise<VoteRecord[]> {
    return this.track(async () => {
      const prefix = storeKeys.votePrefix(answerId);
      const out: VoteRecord[] = [];
      for (const [key, value] of await this.entries()) {
        if (!key.startsWith(prefix)) continue;
        const vote = asVote(value);
        if (vote) out.push(vote);
      }
      return out.sort(byTime);
    });
  }

  async annotation(answerId: string): Promise<AnnotationRecord | null> {
    return this.track(async () => asAnnotation(await this.get('read annotation', storeKeys.annotation(answerId))) ?? null);
  }

  async saveJudge(record: JudgeRecord): Promise<void> {
    return this.track(async () => {
      await this.requireAnswer(record.answerId);
      await this.set('record judge', storeKeys.judge(record.answerId), record);
    });
  }

  async judge(answerId: string): Promise<JudgeRecord | null> {
    return this.track(async () => asJudge(await this.get('read judge', storeKeys.judge(answerId))) ?? null);
  }

  async listRecords(options: { since?: Date } = {}): Promise<FullRecord[]> {
    return this.track(async () => {
      const answers = new Map<string, AnswerRecord>();
      const votes = new Map<string, VoteRecord[]>();
      const annotations = new Map<string, AnnotationRecord>();
      const judges = new Map<string, JudgeRecord>();
      const cases = new Map<string, CaseSummary>();
      for (const [key, value] of await this.entries()) {
        const [kind, encodedId, ...rest] = key.split(':');
        if (encodedId === undefined) continue;
        if (kind === 'answer' && rest.length === 0) {
          const answer = asAnswer(value);
          if (answer) answers.set(answer.id, answer);
        } else if (kind === 'vote') {
          const vote = asVote(value);
          if (vote) votes.set(vote.answerId, [...(votes.get(vote.answerId) ?? []), vote]);
        } else if (kind === 'annotation' && rest.length === 0) {
          const annotation = asAnnotation(value);
          if (annotation) annotations.set(annotation.answerId, annotation);
        } else if (kind === 'judge' && rest.length === 0) {
          const judge = asJudge(value);
          if (judge) judges.set(judge.answerId, judge);
        } else if (kind === 'case' && rest.length === 0) {
          const record = asCase(value);
          if (record) cases.set(record.answerId, summarizeCase(record));
        }
      }
      // How many answers each verified answer served, credited to the answer it was made from.
      const hitsByVerified = new Map<string, number>();
      for (const answer of answers.values()) {
        if (answer.verified) hitsByVerified.set(answer.verified.id, (hitsByVerified.get(answer.verified.id) ?? 0) + 1);
      }
      const sinceMs = options.since?.getTime();
      const records: FullRecord[] = [];
      for (const answer of answers.values()) {
        const created = Date.parse(answer.createdAt);
        if (sinceMs !== undefined && !(created >= sinceMs)) continue;
        const items = (votes.get(answer.id) ?? []).sort(byTime);
        records.push({
          ...answer,
          votes: {
            up: items.filter((v) => v.value === 'up').length,
            down: items.filter((v) => v.value === 'down').length,
            items,
          },
          annotation: annotations.get(answer.id) ?? null,
          judge: judges.get(answer.id) ?? null,
          case: cases.get(answer.id) ?? null,
          verifiedHits: 0,
        });
      }
      const byId = new Map(records.map((r) => [r.id, r]));
      for (const record of cases.values()) {
        const id = record.resolution?.verifiedId;
        const target = byId.get(record.answerId);
        if (id && target) target.verifiedHits = hitsByVerified.get(id) ?? 0;
      }
      return records.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }

  async nextTurnNumber(conversationId: string): Promise<number> {
    return this.track(() =>
      this.mutex.run(`turn-number:${conversationId}`, async () => {
        const stored = (await this.readTurns(conversationId)).reduce((max, t) => Math.max(max, t.turn), 1);
        let next = Math.max(stored, this.lastTurns.get(conversationId) ?? 1) + 1;
        if (this.counter) {
          // Atomic across processes: the counter counts the follow-ups (turn 1 starts the
          // conversation without asking). The stored turns cover a counter that forgot.
          const now = Date.now();
          const counted = await this.counter.hit(`turn:${conversationId}`, { now, since: 0, limit: MAX_STORED_TURNS, ttlMs: TURN_NUMBERS_TTL_MS });
          if (counted.recorded) next = Math.max(next, counted.hits.length + 1);
        }
        this.lastTurns.set(conversationId, next);
        if (this.lastTurns.size > 10_000) this.lastTurns.delete(this.lastTurns.keys().next().value as string);
        return next;
      }),
    );
  }

  async saveTurn(turn: ConversationTurn): Promise<void> {
    return this.track(async () => {
      await this.set('record conversation turn', storeKeys.turn(turn.conversationId, turn.turn), turn);
    });
  }

  async getConversation(conversationId: string): Promise<Conversation | null> {
    return this.track(async () => {
      const turns = await this.readTurns(conversationId);
      return turns.length === 0 ? null : { id: conversationId, turns };
    });
  }

  async linkThread(link: Omit<ThreadLink, 'at'>): Promise<void> {
    return this.track(async () => {
      const record: ThreadLink = { platform: link.platform, thread: link.thread, conversationId: link.conversationId, at: this.timestamp() };
      await this.set('record thread link', storeKeys.thread(link.platform, link.thread), record);
    });
  }

  async threadConversation(platform: Platform, thread: string): Promise<string | null> {
    return this.track(async () => asThreadLink(await this.get('read thread link', storeKeys.thread(platform, thread)))?.conversationId ?? null);
  }

  /** A conversation's turns by key, in batches, oldest first (a turn whose write failed is a gap, skipped). */
  private async readTurns(conversationId: string): Promise<ConversationTurn[]> {
    const turns: ConversationTurn[] = [];
    for (let first = 1; first <= MAX_STORED_TURNS; first += TURN_BATCH) {
      const keys = Array.from({ length: TURN_BATCH }, (_, i) => storeKeys.turn(conversationId, first + i));
      const values = await this.backend('read conversation', () => this.keyv.getMany<unknown>(keys));
      const found = values.map(asTurn).filter((t): t is ConversationTurn => t !== undefined);
      if (found.length === 0) break;
      turns.push(...found);
    }
    return turns.sort((a, b) => a.turn - b.turn);
  }

  async *iterateRecords(options: IterateOptions = {}): AsyncGenerator<FullRecord, void, undefined> {
    const omitTexts = options.omitTexts === true;
    const votes = new Map<string, VoteRecord[]>();
    for await (const batch of this.scanKind('vote:')) {
      for (const [, value] of batch) {
        const vote = asVote(value);
        if (!vote) continue;
        const list = votes.get(vote.answerId);
        if (list) list.push(vote);
        else votes.set(vote.answerId, [vote]);
      }
    }
    const annotations = new Map<string, AnnotationRecord>();
    for await (const batch of this.scanKind('annotation:')) {
      for (const [key, value] of batch) {
        // `annotation:<id>` is the current one; `annotation:<id>:<time>:<annotator>` the history.
        if (key.split(':').length !== 2) continue;
        const annotation = asAnnotation(value);
        if (annotation) annotations.set(annotation.answerId, annotation);
      }
    }
    // Cases are few (one per escalated answer): read first, like votes. The answers a verified
    // answer was made from are held back to the end, once every answer it served was counted.
    const cases = new Map<string, CaseSummary>();
    const verifiedFrom = new Map<string, string>();
    for await (const batch of this.scanKind('case:')) {
      for (const [key, value] of batch) {
        if (key.split(':').length !== 2) continue;
        const record = asCase(value);
        if (!record) continue;
        cases.set(record.answerId, summarizeCase(record));
        if (record.resolution?.verifiedId) verifiedFrom.set(record.answerId, record.resolution.verifiedId);
      }
    }
    const hitsByVerified = new Map<string, number>();
    const heldBack: AnswerRecord[] = [];
    // Without their texts, verdicts are small enough to read first, like votes; with them, they
    // are read with each page of answers.
    let judges: Map<string, JudgeRecord> | undefined;
    if (omitTexts) {
      judges = new Map();
      for await (const batch of this.scanKind('judge:')) {
        for (const [key, value] of batch) {
          if (key.split(':').length !== 2) continue;
          const judge = asJudge(value);
          if (judge) judges.set(judge.answerId, withoutJudgeTexts(judge));
        }
      }
    }
    // The answer object was just parsed for this call: completed in place rather than copied.
    const full = (answer: AnswerRecord, judge: JudgeRecord | null): FullRecord => {
      const items = (votes.get(answer.id) ?? []).sort(byTime);
      votes.delete(answer.id);
      let up = 0;
      for (const v of items) if (v.value === 'up') up++;
      const record = (omitTexts ? withoutAnswerTexts(answer) : answer) as FullRecord;
      record.votes = { up, down: items.length - up, items };
      record.annotation = annotations.get(answer.id) ?? null;
      record.judge = judge;
      record.case = cases.get(answer.id) ?? null;
      record.verifiedHits = 0;
      return record;
    };
    const sinceMs = options.since?.getTime();
    const completePage = async (answers: AnswerRecord[]): Promise<FullRecord[]> => {
      if (judges) return answers.map((answer) => full(answer, judges.get(answer.id) ?? null));
      const found = await this.backend('read judges', () => this.keyv.getMany(answers.map((a) => storeKeys.judge(a.id))));
      return answers.map((answer, i) => full(answer, asJudge(found[i]) ?? null));
    };
    let page: AnswerRecord[] = [];
    for await (const batch of this.scanKind('answer:', { omitTexts })) {
      for (const [key, value] of batch) {
        if (key.split(':').length !== 2) continue;
        const answer = asAnswer(value);
        if (!answer) continue;
        // Every answer a verified answer served counts, whatever `since` leaves out.
        if (answer.verified) hitsByVerified.set(answer.verified.id, (hitsByVerified.get(answer.verified.id) ?? 0) + 1);
        if (sinceMs !== undefined && !(Date.parse(answer.createdAt) >= sinceMs)) continue;
        if (verifiedFrom.has(answer.id)) heldBack.push(answer);
        else page.push(answer);
      }
      if (page.length >= SCAN_PAGE_ROWS) {
        yield* await completePage(page);
        page = [];
      }
    }
    if (page.length > 0) yield* await completePage(page);
    for (const record of heldBack.length > 0 ? await completePage(heldBack) : []) {
      record.verifiedHits = hitsByVerified.get(verifiedFrom.get(record.id)!) ?? 0;
      yield record;
    }
  }

  /**
   * The decoded values of one kind of key, batch by batch, each backend step under the
   * operation deadline. A backend that ends a listing quietly on an error (Postgres) makes this
   * throw instead of passing a partial listing for a complete one.
   */
  private async *scanKind(prefix: string, scanOptions: { omitTexts?: boolean } = {}): AsyncGenerator<[string, unknown][], void, undefined> {
    if (this.closed) throw new StoreUnavailableError(`${this.description}: the store is closed`);
    const what = `list ${prefix.slice(0, -1)} records`;
    const errorsBefore = this.errorCount;
    const iterator = this.scan(prefix, scanOptions)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const step = await this.backend(what, () => iterator.next());
        if (step.done) break;
        const decoded: [string, unknown][] = [];
        for (const [key, raw] of step.value) {
          const value = typeof raw === 'string' ? (plainJson(raw) ?? (await this.keyv.deserializeData<unknown>(raw))?.value) : isObject(raw) ? raw.value : undefined;
          if (value !== undefined && value !== null) decoded.push([key, value]);
        }
        yield decoded;
      }
    } finally {
      // Not awaited: after a timeout the generator may still be stuck in its pending step.
      void iterator.return?.(undefined)?.catch(() => undefined);
    }
    if (this.errorCount !== errorsBefore) {
      throw this.unavailable(what, new Error(this.lastBackendError ?? 'the backend reported an error while listing'), errorsBefore);
    }
  }

  async listCases(options: { since?: Date; status?: CaseStatus[] } = {}): Promise<CaseSummary[]> {
    return this.track(() => this.loop.listCases(options));
  }

  async deriveKey(purpose: string): Promise<Buffer> {
    // Generated salts are persisted first, so every process derives the same key from the same salt.
    await this.persistSaltIfNeeded();
    return Buffer.from(hkdfSync('sha256', this.salt.salt, 'pergunta', purpose, 32));
  }

  /** Waits for the operations in flight (their writes land), then disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    try {
      await this.keyv.disconnect();
    } catch (err) {
      this.logger.warn({ store: this.description, reason: this.clean((err as Error).message) }, 'feedback store did not close cleanly');
    }
    await this.onClose?.();
  }

  // ---------------------------------------------------------------------------------------------

  private async initSalt(envSalt: string | undefined): Promise<void> {
    if (envSalt !== undefined && envSalt !== '') {
      this.salt = { source: 'env', salt: envSalt, checked: false };
      const check = await this.get('read salt check', storeKeys.saltCheck);
      if (typeof check === 'string') {
        this.salt.checked = true;
        if (check !== saltFingerprint(envSalt)) {
          this.logger.warn(
            { store: this.description },
            'USER_ID_SALT differs from the salt this store was written with: pseudonyms of new records will not match the earlier ones',
          );
        }
      }
      return;
    }
    const stored = await this.get('read salt', storeKeys.salt);
    if (typeof stored === 'string' && stored.length > 0) {
      this.salt = { source: 'stored', salt: stored };
      return;
    }
    if (typeof (await this.get('read salt check', storeKeys.saltCheck)) === 'string') {
      this.logger.warn(
        { store: this.description },
        'this store was written with USER_ID_SALT, which is now unset: pseudonyms of new records will not match the earlier ones',
      );
    }
    // Persisted at the first write, so read-only commands (export) never write to the store.
    this.salt = { source: 'generated', salt: randomBytes(32).toString('hex'), persisted: false };
  }

  private async persistSaltIfNeeded(): Promise<void> {
    const state = this.salt;
    if (state.source === 'stored') return;
    if (state.source === 'env') {
      if (state.checked) return;
      await this.mutex.run(storeKeys.saltCheck, async () => {
        if (state.checked) return;
        const existing = await this.get('read salt check', storeKeys.saltCheck);
        if (typeof existing !== 'string') await this.set('record salt check', storeKeys.saltCheck, saltFingerprint(state.salt));
        state.checked = true;
      });
      return;
    }
    if (state.persisted) return;
    await this.mutex.run(storeKeys.salt, async () => {
      if (state.persisted) return;
      // Another process may have generated one meanwhile: adopt it, so pseudonyms stay consistent.
      const existing = await this.get('read salt', storeKeys.salt);
      if (typeof existing === 'string' && existing.length > 0) {
        this.salt = { source: 'stored', salt: existing };
        return;
      }
      await this.set('record salt', storeKeys.salt, state.salt);
      await this.set('record salt check', storeKeys.saltCheck, saltFingerprint(state.salt));
      state.persisted = true;
      this.logger.warn(
        { store: this.description, key: storeKeys.salt },
        'USER_ID_SALT is not set: generated a random salt for pseudonymous user ids and stored it in the feedback store. ' +
          'Set USER_ID_SALT (a long random string) so pseudonyms do not depend on data kept next to the records.',
      );
    });
  }

  /** What src/store/humanLoopData.ts stores through: this store's deadlines, errors and locks. */
  private documents(): DocumentBackend {
    return {
      get: (what, key) => this.track(() => this.get(what, key)),
      set: (what, key, value) =>
        this.track(async () => {
          await this.persistSaltIfNeeded();
          await this.set(what, key, value);
        }),
      delete: (what, key) => this.track(() => this.backend(what, () => this.keyv.delete(key)).then(() => undefined)),
      entries: () => this.track(() => this.entries()),
      withLock: (name, work) => this.withLock(name, work),
      timestamp: () => this.timestamp(),
    };
  }

  /**
   * Runs `work` holding `name`: the in-process mutex first (so this process's own callers queue
   * without polling), then a lease in the store (so other processes wait). The lease outlives a
   * crashed holder by at most lockTtlMs.
   */
  private withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.mutex.run(`lock:${name}`, async () => {
      const owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
      const started = Date.now();
      let delay = 5;
      while (!(await this.leases.acquire(`lock:${name}`, owner, this.lockTtlMs))) {
        const waited = Date.now() - started;
        if (waited >= this.lockWaitMs) throw new LockBusyError(name, waited);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 200);
      }
      try {
        return await work();
      } finally {
        await this.leases.release(`lock:${name}`, owner).catch((err: unknown) => {
          this.logger.debug({ lock: name, reason: (err as Error).message }, 'lock not released (it expires by itself)');
        });
      }
    });
  }

  private async requireAnswer(answerId: string): Promise<void> {
    const answer = await this.get('read answer', storeKeys.answer(answerId));
    if (asAnswer(answer) === undefined) throw new AnswerNotFoundError(answerId);
  }

  /** The time the next write of this store gets (journaled writes take it too, so their order holds). */
  nextTimestamp(): string {
    return this.timestamp();
  }

  /** ISO time strictly increasing within this process (so the latest write also has the latest time). */
  private timestamp(): string {
    const ms = Math.max(this.now().getTime(), this.lastTimestamp + 1);
    this.lastTimestamp = ms;
    return new Date(ms).toISOString();
  }

  private track<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError(`${this.description}: the store is closed`));
    const promise = work();
    this.inFlight.add(promise);
    const done = () => this.inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  private clean(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** `errorsBefore`: the error count when the failed operation started (its own events only). */
  private unavailable(what: string, err: unknown, errorsBefore = this.errorCount - 1): StoreUnavailableError {
    if (err instanceof StoreUnavailableError) return err;
    let reason = err instanceof Error ? err.message : String(err);
    // @keyv/redis replaces the connection error with a generic message; the event has the cause.
    // Its own event, or a recent one: a client that already gave up fails later calls without a
    // new event (e.g. after the shared counter's call saw the refusal first).
    const fresh = this.errorCount > errorsBefore || Date.now() - this.lastBackendErrorAt < 10_000;
    if (fresh && this.lastBackendError && !reason.includes(this.lastBackendError)) reason = `${reason} (${this.lastBackendError})`;
    return new StoreUnavailableError(`${this.description}: ${what} failed: ${this.clean(reason)}`);
  }

  /** Runs one backend call with a deadline; any failure becomes a StoreUnavailableError. */
  private async backend<T>(what: string, call: () => Promise<T>): Promise<T> {
    const errorsBefore = this.errorCount;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StoreUnavailableError(`${this.description}: ${what} did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([call(), deadline]);
    } catch (err) {
      throw this.unavailable(what, err, errorsBefore);
    } finally {
      clearTimeout(timer);
    }
  }

  private async get(what: string, key: string): Promise<unknown> {
    return this.backend(what, () => this.keyv.get(key) as Promise<unknown>);
  }

  private async set(what: string, key: string, value: unknown): Promise<void> {
    const ok = await this.backend(what, () => this.keyv.set(key, value));
    if (ok === false) throw this.unavailable(what, new Error('the backend refused the write'));
  }

  /** Every entry of the namespace, deduplicated by key (Redis SCAN may repeat keys). */
  private async entries(): Promise<Map<string, unknown>> {
    const iterate = this.keyv.iterator;
    if (!iterate) throw new StoreUnavailableError(`${this.description}: this keyv backend cannot list its keys`);
    const errorsBefore = this.errorCount;
    const iterator = iterate(undefined) as AsyncGenerator<[string, unknown], void>;
    const out = new Map<string, unknown>();
    try {
      for (;;) {
        const step = await this.backend('list records', () => iterator.next());
        if (step.done) break;
        const [key, value] = step.value;
        if (typeof key === 'string' && value !== undefined && value !== null) out.set(key, value);
      }
    } finally {
      // Not awaited: after a timeout the generator may still be stuck in its pending step.
      void iterator.return?.(undefined).catch(() => undefined);
    }
    // Some adapters (Postgres) end the iteration quietly on an error and only emit an event:
    // a partial listing must not pass for a complete one.
    if (this.errorCount !== errorsBefore) {
      throw this.unavailable('list records', new Error(this.lastBackendError ?? 'the backend reported an error while listing'), errorsBefore);
    }
    return out;
  }
}
