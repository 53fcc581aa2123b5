/**
 * The feedback store with a local journal (src/store/journal.ts) for the writes it could not
 * make: an answer given while the store was down is kept and stored once the store answers
 * again, and so are the votes, comments and TA annotations made meanwhile.
 *
 * - A write that fails with StoreUnavailableError is journaled (pseudonymised first: the salt is
 *   known to the store object even while its backend is down) and reported as done; the user
 *   gets the normal confirmation. A write for an answer whose record, or whose voter's earlier
 *   vote, is still in the journal goes to the journal too, even when the store is up, so it is
 *   replayed after what it depends on, in order.
 * - Why votes on a journaled answer are journaled rather than held until the replay: the student
 *   clicked 👍 on an answer that is on their screen; a confirmation at once is what they expect,
 *   and keeping the click costs one journal line, where waiting could cost a Discord/Slack
 *   deadline or, if the store stays down, the vote itself.
 * - Replay: at start-up (including journals left by processes that are gone), every
 *   `replayIntervalMs` while entries are pending, and at once after any store operation succeeds.
 *   Each entry is replayed idempotently (an answer id already stored is not written again; a vote
 *   is the same one-vote-per-user key and is not written over a newer one), so replaying twice,
 *   or after a crash halfway, changes nothing. An entry for an answer the store does not have
 *   (a vote on an id that was never recorded) is dropped with a log line.
 * - A journal file is deleted only once every entry in it was replayed; on close, pending entries
 *   stay on disk for the next process.
 */
import type { Logger } from '../logger.js';
import { Journal, type ReadEntry } from './journal.js';
import { buildAnswerRecord, normalizeComment } from './keyvStore.js';
import {
  AnswerNotFoundError,
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
  type Label,
  type Platform,
  type ThreadLink,
  type VoteRecord,
  type VoteValue,
} from './types.js';

/** What a store must offer to replay journaled writes (KeyvFeedbackStore does). */
export interface JournalTarget extends FeedbackStore {
  putAnswer(record: AnswerRecord): Promise<'written' | 'exists'>;
  applyVote(vote: VoteRecord): Promise<'written' | 'superseded'>;
  applyComment(input: { answerId: string; user: string; comment: string; at: string }): Promise<'written' | 'superseded' | 'no-vote'>;
  applyAnnotation(record: AnnotationRecord): Promise<'written' | 'superseded'>;
  nextTimestamp(): string;
}

/** One journal line. `vote.comment: null` keeps the comment the stored vote has (as `vote` does). */
type Entry =
  | { v: 1; type: 'answer'; record: AnswerRecord }
  | { v: 1; type: 'vote'; vote: VoteRecord }
  | { v: 1; type: 'comment'; answerId: string; user: string; platform: Platform; comment: string; at: string }
  | { v: 1; type: 'annotation'; annotation: AnnotationRecord }
  | { v: 1; type: 'turn'; turn: ConversationTurn }
  | { v: 1; type: 'thread'; link: Omit<ThreadLink, 'at'> };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shape check of a line read back (a file edited by hand or damaged must not crash the replay). */
function asEntry(value: unknown): Entry | undefined {
  if (!isObject(value) || value.v !== 1) return undefined;
  const str = (v: unknown) => typeof v === 'string';
  switch (value.type) {
    case 'answer':
      return isObject(value.record) && str(value.record.id) && str(value.record.question) && str(value.record.user) ? (value as unknown as Entry) : undefined;
    case 'vote':
      return isObject(value.vote) && str(value.vote.answerId) && str(value.vote.user) && (value.vote.value === 'up' || value.vote.value === 'down') && str(value.vote.at)
        ? (value as unknown as Entry)
        : undefined;
    case 'comment':
      return str(value.answerId) && str(value.user) && str(value.comment) && str(value.at) ? (value as unknown as Entry) : undefined;
    case 'annotation':
      return isObject(value.annotation) && str(value.annotation.answerId) && ['C', 'P', 'I'].includes(value.annotation.label as string) && str(value.annotation.at)
        ? (value as unknown as Entry)
        : undefined;
    case 'turn':
      return isObject(value.turn) && str(value.turn.conversationId) && typeof value.turn.turn === 'number' && str(value.turn.answerId) ? (value as unknown as Entry) : undefined;
    case 'thread':
      return isObject(value.link) && str(value.link.platform) && str(value.link.thread) && str(value.link.conversationId) ? (value as unknown as Entry) : undefined;
    default:
      return undefined;
  }
}

/** What an entry belongs to, for the bookkeeping of pending entries: an answer id (a thread link: its thread). */
function answerOf(entry: Entry): string {
  switch (entry.type) {
    case 'answer':
      return entry.record.id;
    case 'vote':
      return entry.vote.answerId;
    case 'comment':
      return entry.answerId;
    case 'annotation':
      return entry.annotation.answerId;
    case 'turn':
      return entry.turn.answerId;
    case 'thread':
      return `thread\n${entry.link.platform}\n${entry.link.thread}`;
  }
}

const voteKey = (answerId: string, user: string) => `${answerId}\n${user}`;

export interface JournaledStoreOptions {
  /** This store's journal folder. */
  dir: string;
  logger: Logger;
  /** How often pending entries are tried while the store is down, ms (default 5 s). */
  replayIntervalMs?: number;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

export class JournaledFeedbackStore implements FeedbackStore {
  readonly description: string;
  readonly counter: FeedbackStore['counter'];
  // The human loop's writes are not journaled: a case that cannot be stored is refused at once
  // (the student is told to try again), and its outbox lives in the store it could not reach.
  readonly leases: FeedbackStore['leases'];
  readonly loop: FeedbackStore['loop'];
  private readonly journal: Journal;
  private readonly logger: Logger;
  private readonly replayIntervalMs: number;
  /** Answers whose record is journaled (not in the store yet). */
  private readonly journaledAnswers = new Set<string>();
  /** Journal entries not yet replayed, per answer id. */
  private readonly pendingPerAnswer = new Map<string, number>();
  /** The latest journaled vote of each (answer, user) not yet replayed, and how many entries it has. */
  private readonly pendingVotes = new Map<string, { value: VoteValue; comment: string | null; entries: number }>();
  private replaying: Promise<void> | undefined;
  private replayCounts = { replayed: 0, dropped: 0 };
  private timer: NodeJS.Timeout | undefined;
  private outage = false;
  private closed = false;

  private constructor(
    private readonly inner: JournalTarget,
    opts: JournaledStoreOptions,
  ) {
    this.description = inner.description;
    this.counter = inner.counter;
    this.leases = inner.leases;
    this.loop = inner.loop;
    this.logger = opts.logger;
    this.replayIntervalMs = opts.replayIntervalMs ?? 5_000;
    this.journal = new Journal({ dir: opts.dir, logger: opts.logger, heartbeatMs: opts.heartbeatMs, staleAfterMs: opts.staleAfterMs });
  }

  /** Wraps `inner`; journals left by processes that are gone are replayed before it returns. */
  static async open(inner: JournalTarget, opts: JournaledStoreOptions): Promise<JournaledFeedbackStore> {
    const store = new JournaledFeedbackStore(inner, opts);
    await store.replay();
    return store;
  }

  /** Entries written while the store was down and not replayed yet. */
  get pendingEntries(): number {
    let n = 0;
    for (const count of this.pendingPerAnswer.values()) n += count;
    return n;
  }

  pseudonymize(platform: Platform, rawUserId: string): string {
    return this.inner.pseudonymize(platform, rawUserId);
  }

  async recordAnswer(
    answer: Parameters<FeedbackStore['recordAnswer']>[0],
    context: { platform: Platform; channel: string | null; rawUserId: string },
  ): Promise<AnswerRecord> {
    try {
      return await this.direct(() => this.inner.recordAnswer(answer, context));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      const record = buildAnswerRecord(answer, context, (platform, raw) => this.inner.pseudonymize(platform, raw));
      await this.write({ v: 1, type: 'answer', record }, err);
      this.logger.warn(
        { answerId: record.id, store: this.description, reason: err.message },
        'answer kept in the local journal: the feedback store is unavailable; it is stored when the store answers again',
      );
      return record;
    }
  }

  async vote(input: { answerId: string; platform: Platform; rawUserId: string; value: VoteValue; comment?: string | null }): Promise<{ previous: VoteValue | null; vote: VoteRecord }> {
    const user = this.inner.pseudonymize(input.platform, input.rawUserId);
    const key = voteKey(input.answerId, user);
    if (!this.journaledAnswers.has(input.answerId) && !this.pendingVotes.has(key)) {
      try {
        return await this.direct(() => this.inner.vote(input));
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return this.journalVote(input, user, key, err);
      }
    }
    return this.journalVote(input, user, key);
  }

  async commentVote(input: { answerId: string; platform: Platform; rawUserId: string; comment: string }): Promise<VoteRecord> {
    const user = this.inner.pseudonymize(input.platform, input.rawUserId);
    const key = voteKey(input.answerId, user);
    const pending = this.pendingVotes.get(key);
    if (!pending) {
      // The answer exists only in the journal, and this user has no vote there: no vote at all.
      if (this.journaledAnswers.has(input.answerId)) throw new VoteNotFoundError(input.answerId);
      try {
        return await this.direct(() => this.inner.commentVote(input));
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return this.journalComment(input, user, key, undefined, err);
      }
    }
    return this.journalComment(input, user, key, pending);
  }

  async annotate(input: { answerId: string; platform: Platform; rawUserId: string; label: Label }): Promise<AnnotationRecord> {
    if (!['C', 'P', 'I'].includes(input.label)) throw new RangeError(`invalid label ${String(input.label)}`);
    if (!this.journaledAnswers.has(input.answerId)) {
      try {
        return await this.direct(() => this.inner.annotate(input));
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return this.journalAnnotation(input, err);
      }
    }
    return this.journalAnnotation(input);
  }

  getAnswer(id: string): Promise<AnswerRecord | undefined> {
    return this.direct(() => this.inner.getAnswer(id));
  }
  votes(answerId: string): Promise<VoteRecord[]> {
    return this.direct(() => this.inner.votes(answerId));
  }
  annotation(answerId: string): Promise<AnnotationRecord | null> {
    return this.direct(() => this.inner.annotation(answerId));
  }
  saveJudge(record: JudgeRecord): Promise<void> {
    return this.direct(() => this.inner.saveJudge(record));
  }
  judge(answerId: string): Promise<JudgeRecord | null> {
    return this.direct(() => this.inner.judge(answerId));
  }
  listRecords(options?: { since?: Date }): Promise<FullRecord[]> {
    return this.direct(() => this.inner.listRecords(options));
  }
  nextTurnNumber(conversationId: string): Promise<number> {
    return this.direct(() => this.inner.nextTurnNumber(conversationId));
  }
  getConversation(conversationId: string): Promise<Conversation | null> {
    return this.direct(() => this.inner.getConversation(conversationId));
  }
  threadConversation(platform: Platform, thread: string): Promise<string | null> {
    return this.direct(() => this.inner.threadConversation(platform, thread));
  }

  /** A turn the store cannot take is journaled with the answer it belongs to. */
  async saveTurn(turn: ConversationTurn): Promise<void> {
    if (!this.journaledAnswers.has(turn.answerId)) {
      try {
        return await this.direct(() => this.inner.saveTurn(turn));
      } catch (err) {
        if (!(err instanceof StoreUnavailableError)) throw err;
        return this.write({ v: 1, type: 'turn', turn }, err);
      }
    }
    return this.write({ v: 1, type: 'turn', turn });
  }

  async linkThread(link: Omit<ThreadLink, 'at'>): Promise<void> {
    try {
      return await this.direct(() => this.inner.linkThread(link));
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      return this.write({ v: 1, type: 'thread', link: { platform: link.platform, thread: link.thread, conversationId: link.conversationId } }, err);
    }
  }

  listCases(options?: { since?: Date; status?: CaseStatus[] }): Promise<CaseSummary[]> {
    return this.direct(() => this.inner.listCases(options));
  }
  deriveKey(purpose: string): Promise<Buffer> {
    return this.inner.deriveKey(purpose);
  }
  /** Reads the store only: what is still in the journal appears once it is replayed. */
  iterateRecords(options?: IterateOptions): AsyncIterable<FullRecord> {
    return this.inner.iterateRecords(options);
  }

  /**
   * Replays the journal now (this process's entries and those of processes that are gone).
   * Resolves when done or when the store stops answering (the rest stays for later); never rejects.
   */
  replay(): Promise<void> {
    this.replaying ??= this.replayOnce().finally(() => {
      this.replaying = undefined;
      this.schedule();
    });
    return this.replaying;
  }

  /** Stops replaying (after one last try) and closes the store; what is still pending stays on disk. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.timer);
    if (this.journal.hasFiles) await this.replay();
    this.closed = true;
    clearTimeout(this.timer);
    await this.journal.close();
    if (this.journal.hasFiles) {
      this.logger.warn({ store: this.description, journal: this.journal.dir, entries: this.pendingEntries }, 'journal: writes not yet stored are kept on disk for the next start');
    }
    await this.inner.close();
  }

  // ---------------------------------------------------------------------------------------------

  /** A store operation; when it succeeds while entries are pending, the store is back: replay. */
  private async direct<T>(operation: () => Promise<T>): Promise<T> {
    const result = await operation();
    if (this.journal.hasFiles && !this.replaying && !this.closed) void this.replay();
    return result;
  }

  private async write(entry: Entry, cause?: StoreUnavailableError): Promise<void> {
    if (this.closed) throw cause ?? new StoreUnavailableError(`${this.description}: the store is closed`);
    try {
      await this.journal.append(entry);
    } catch (err) {
      // Neither the store nor the journal could keep it: the caller reports the failure.
      throw cause ?? new StoreUnavailableError(`${this.description}: the journal could not be written: ${(err as Error).message}`);
    }
    this.track(entry, +1);
    if (cause && !this.outage) {
      this.outage = true;
      this.logger.warn({ store: this.description, journal: this.journal.dir, reason: cause.message }, 'journal: the feedback store is unavailable; writes are kept locally until it answers again');
    }
    this.schedule();
  }

  private async journalVote(
    input: { answerId: string; platform: Platform; value: VoteValue; comment?: string | null },
    user: string,
    key: string,
    cause?: StoreUnavailableError,
  ): Promise<{ previous: VoteValue | null; vote: VoteRecord }> {
    const pending = this.pendingVotes.get(key);
    const previous = pending?.value ?? null;
    const previousComment = pending?.comment ?? null;
    const given = input.comment === undefined || input.comment === null ? null : input.comment;
    const vote: VoteRecord = { answerId: input.answerId, user, value: input.value, comment: given, platform: input.platform, at: this.inner.nextTimestamp() };
    await this.write({ v: 1, type: 'vote', vote }, cause);
    const comment = given === null ? previousComment : normalizeComment(given);
    const entry = this.pendingVotes.get(key);
    if (entry) {
      entry.value = input.value;
      entry.comment = comment;
    }
    // A vote already in the store is not known here (it is down): "registered" rather than "changed".
    return { previous, vote: { ...vote, comment } };
  }

  private async journalComment(
    input: { answerId: string; platform: Platform; comment: string },
    user: string,
    key: string,
    pending: { value: VoteValue; comment: string | null } | undefined,
    cause?: StoreUnavailableError,
  ): Promise<VoteRecord> {
    const at = this.inner.nextTimestamp();
    await this.write({ v: 1, type: 'comment', answerId: input.answerId, user, platform: input.platform, comment: input.comment, at }, cause);
    const comment = normalizeComment(input.comment);
    const entry = this.pendingVotes.get(key);
    if (entry) entry.comment = comment;
    // Without a journaled vote the stored one is not readable now; comments follow a 👎 in both adapters.
    return { answerId: input.answerId, user, value: pending?.value ?? 'down', comment, platform: input.platform, at };
  }

  private async journalAnnotation(input: { answerId: string; platform: Platform; rawUserId: string; label: Label }, cause?: StoreUnavailableError): Promise<AnnotationRecord> {
    const annotation: AnnotationRecord = {
      answerId: input.answerId,
      label: input.label,
      annotator: this.inner.pseudonymize(input.platform, input.rawUserId),
      platform: input.platform,
      at: this.inner.nextTimestamp(),
    };
    await this.write({ v: 1, type: 'annotation', annotation }, cause);
    return annotation;
  }

  /** Bookkeeping of what is pending: +1 when journaled, -1 when replayed (or dropped). */
  private track(entry: Entry, delta: 1 | -1): void {
    const answerId = answerOf(entry);
    const count = (this.pendingPerAnswer.get(answerId) ?? 0) + delta;
    if (count > 0) this.pendingPerAnswer.set(answerId, count);
    else this.pendingPerAnswer.delete(answerId);
    if (entry.type === 'answer') {
      if (delta > 0) this.journaledAnswers.add(answerId);
      else this.journaledAnswers.delete(answerId);
    }
    const user = entry.type === 'vote' ? entry.vote.user : entry.type === 'comment' ? entry.user : undefined;
    if (user === undefined) return;
    const key = voteKey(answerId, user);
    const current = this.pendingVotes.get(key);
    if (delta > 0) {
      if (current) current.entries++;
      else if (entry.type === 'vote') this.pendingVotes.set(key, { value: entry.vote.value, comment: null, entries: 1 });
      // A comment on a stored vote (not journaled) needs no bookkeeping beyond the answer's count.
    } else if (current && --current.entries <= 0) {
      this.pendingVotes.delete(key);
    }
  }

  private schedule(): void {
    if (this.closed || this.timer || !this.journal.hasFiles) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.replay();
    }, this.replayIntervalMs);
    this.timer.unref();
  }

  private async replayOnce(): Promise<void> {
    // Counted across tries until the journal is empty, so the log line tells the whole outage.
    const counts = this.replayCounts;
    try {
      const adopted = await this.journal.adoptOrphans();
      for (const { entry } of await this.journal.entriesOf(adopted)) {
        const parsed = asEntry(entry);
        if (parsed) this.track(parsed, +1);
      }
      if (!this.journal.hasFiles) return;
      await this.journal.drain(async (read) => {
        const outcome = await this.apply(read);
        if (outcome === 'dropped') counts.dropped++;
        else counts.replayed++;
      });
      this.outage = false;
      if (counts.replayed + counts.dropped > 0) {
        this.logger.info({ store: this.description, ...counts }, 'journal: writes made while the feedback store was unavailable are now stored');
      }
      this.replayCounts = { replayed: 0, dropped: 0 };
    } catch (err) {
      // The store (or the disk) is still unavailable: the rest waits for the next try.
      this.logger.debug({ store: this.description, reason: (err as Error).message, pending: this.pendingEntries, ...counts }, 'journal: replay stopped');
    }
  }

  private async apply(read: ReadEntry): Promise<'applied' | 'dropped'> {
    const entry = asEntry(read.entry);
    if (!entry) {
      this.logger.error({ journal: this.journal.dir, file: read.file, line: read.line }, 'journal: skipped an entry it cannot read');
      return 'dropped';
    }
    try {
      switch (entry.type) {
        case 'answer':
          await this.inner.putAnswer(entry.record);
          break;
        case 'vote':
          await this.inner.applyVote(entry.vote);
          break;
        case 'comment':
          if ((await this.inner.applyComment(entry)) === 'no-vote') {
            this.logger.warn({ answerId: entry.answerId, file: read.file, line: read.line }, 'journal: dropped a comment whose vote is not in the store');
            this.track(entry, -1);
            return 'dropped';
          }
          break;
        case 'annotation':
          await this.inner.applyAnnotation(entry.annotation);
          break;
        case 'turn':
          await this.inner.saveTurn(entry.turn);
          break;
        case 'thread':
          await this.inner.linkThread(entry.link);
          break;
      }
    } catch (err) {
      if (!(err instanceof AnswerNotFoundError)) throw err;
      this.logger.warn({ answerId: err.answerId, type: entry.type, file: read.file, line: read.line }, 'journal: dropped a write for an answer the store does not have');
      this.track(entry, -1);
      return 'dropped';
    }
    this.track(entry, -1);
    return 'applied';
  }
}
