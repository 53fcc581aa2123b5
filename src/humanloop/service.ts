/**
 * The human loop (docs/human-loop.md), platform-neutral: a student's unresolved answer becomes a
 * case for the TAs; the TAs claim, answer, endorse or close it from Slack; the answer goes back
 * to the student and becomes a verified answer the bot reuses.
 *
 * Every change of a case is one locked write of the case record, carrying the side effects it
 * causes as outbox tasks (src/store/humanLoopData.ts); the adapters do the platform work through
 * handlers they register per target (`serve`), run by an OutboxWorker (src/humanloop/outbox.ts)
 * in whichever process serves that target. Nothing is sent before it is written, and a task
 * leaves the record only once done: a restart, or another process, finishes what was pending.
 *
 * Raw platform ids: the student's delivery address is sealed (src/humanloop/address.ts) before
 * it is written, opened only by the worker that delivers, and wiped once delivered. Logs carry
 * case ids and pseudonyms only.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from '../logger.js';
import { isNotCoveredAnswer } from '../answer/prompt.js';
import { neutralizeMentions } from '../bot/mentions.js';
import { CaseNotFoundError } from '../store/humanLoopData.js';
import {
  AnswerNotFoundError,
  OPEN_CASE_STATUSES,
  StoreUnavailableError,
  type AnswerRecord,
  type CaseRecord,
  type CaseRequester,
  type CaseSummary,
  type FeedbackStore,
  type Label,
  type OutboxKind,
  type OutboxTarget,
  type OutboxTask,
  type Platform,
  type StaffNote,
  type StaffRef,
  type VerifiedAnswer,
  type VoteValue,
} from '../store/types.js';
import { summarizeCase } from '../store/humanLoopData.js';
import type { Reference, Video } from '../types.js';
import { ADDRESS_KEY_PURPOSE, AddressUnreadableError, openAddress, sealAddress, type DeliveryAddress } from './address.js';
import type { Knowledge } from './knowledge.js';
import { lectureReferences } from './lectureLinks.js';
import { LOOP_MESSAGES } from './messages.js';
import { OutboxWorker } from './outbox.js';
import { MESSAGES } from '../bot/messages.js';

export interface HumanLoopSettings {
  /** ESCALATION_SHOW_NAMES: keep and show students' display names on the TAs' cards. */
  showNames: boolean;
  /** ESCALATION_REMINDER_HOURS: one reminder for a case open longer than this. */
  reminderHours: number;
  /** OUTBOX_POLL_SECONDS × 1000: how often each worker looks for work written by other processes. */
  pollMs: number;
  /** How long a worker's claim on a case outlives the worker if it dies, ms. Default 30 s. */
  leaseMs?: number;
}

export interface HumanLoopOptions {
  store: FeedbackStore;
  logger: Logger;
  /** Course videos: turn the TAs' lecture links into references. */
  videos: ReadonlyMap<string, Video>;
  knowledge: Knowledge;
  settings: HumanLoopSettings;
  now?: () => Date;
}

/** One turn of the conversation an answer belongs to (the conversations feature, #16). */
export interface ConversationTurn {
  question: string;
  answer: string;
}

/** What a case card shows. No raw ids; students by pseudonym (or display name when allowed). */
export interface CaseView {
  case: CaseSummary;
  /** The bot's answer the case is about (null if it was deleted). */
  answer: AnswerRecord | null;
  /** The earlier turns of the answer's conversation, when it has one. */
  conversation: ConversationTurn[] | null;
  requesters: Array<{ label: string; platform: Platform; details: string | null; at: string; delivery: CaseRequester['delivery'] }>;
  reminderHours: number;
}

/** What a student is sent when a case is resolved. */
export interface DeliveryView {
  caseId: string;
  kind: 'answered' | 'endorsed' | 'closed';
  /** The student's question. */
  question: string;
  /** pt-BR label: "✅ Resposta do monitor", … */
  label: string;
  /** The TA's answer (Markdown), the confirmation, or the closing reason. */
  text: string;
  references: Reference[];
  at: string;
}

export type DeliveryResult =
  | { status: 'delivered'; via: 'channel' | 'dm' | 'slack-dm' }
  /** The student cannot be reached now (DMs closed): show it at their next question. */
  | { status: 'unreachable'; reason: string };

/** A delivery that will never succeed (retrying would not help). */
export class PermanentDeliveryError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'PermanentDeliveryError';
  }
}

/** What an adapter does for the loop; each target's worker calls its own. */
export interface OutboxHandlers {
  postCard?(view: CaseView): Promise<{ channel: string; ts: string }>;
  updateCard?(view: CaseView, card: { channel: string; ts: string }): Promise<void>;
  remind?(view: CaseView, card: { channel: string; ts: string }): Promise<void>;
  /** `nonce`: the same for every attempt of one delivery (Discord dedupes a resend with it). */
  deliver?(view: DeliveryView, address: DeliveryAddress, nonce: string): Promise<DeliveryResult>;
}

export interface EscalateInput {
  platform: Platform;
  /** Raw platform user id: pseudonymised; kept only inside the sealed address. */
  userId: string;
  answerId: string;
  details?: string | null;
  /** Where to deliver; null when nothing is to be delivered (kept for the record only). */
  address: DeliveryAddress | null;
  /** Display name, kept only with ESCALATION_SHOW_NAMES=true. */
  displayName?: string | null;
}

export type EscalateOutcome =
  | { status: 'created' | 'joined' | 'already-waiting'; caseId: string; message: string }
  /** Already answered, endorsed or closed: `delivery` is what the student would have been sent. */
  | { status: 'resolved'; caseId: string; message: string; delivery: DeliveryView }
  | { status: 'not-found' | 'failed'; message: string };

/** Who acts on a case (from Slack). `allowed`: the adapter's permission decision (SLACK_ANNOTATOR_IDS). */
export interface StaffInput {
  platform: Platform;
  userId: string;
  name: string;
  allowed: boolean;
}

export type CaseActionOutcome =
  | { ok: true; message: string; view: CaseView }
  | { ok: false; reason: 'not-found' | 'resolved' | 'forbidden' | 'invalid' | 'store' | 'claimed'; message: string };

/** What an action decided, before the card view is added. */
type ActResult = { ok: true; message: string } | Extract<CaseActionOutcome, { ok: false }>;

export interface AnswerCaseInput {
  /** Markdown; links to lecture videos become references. */
  text: string;
  /** The TA's verdict on the bot's answer, if given: recorded as the TA annotation. */
  botLabel?: Label | null;
  /** Pin the answer as a staff note on the lecture moments the bot's answer cited. */
  pinNote?: boolean;
}

export const MAX_TA_ANSWER_CHARS = 3000;
export const MAX_DETAILS_CHARS = 1000;
export const MAX_NOTE_CHARS = 500;
const MAX_REQUESTERS = 50;
const MAX_BACKOFF_MS = 5 * 60_000;

/**
 * Text people type into the loop (details, TA answers, reasons, names) loses its mentions' raw
 * ids first (src/bot/mentions.ts), like questions and comments: it is stored and exported.
 */
const oneLine = (text: string, max: number) => neutralizeMentions(text).replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim().slice(0, max);
/** Multi-line text as typed: mentions neutral, control characters other than line breaks removed, trimmed, bounded. */
const multiline = (text: string, max: number) =>
  neutralizeMentions(text)
    .replace(/\r\n?/g, '\n')
    .replace(/\t/g, ' ')
    .replace(/[^\P{Cc}\n]+/gu, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .slice(0, max);

/** Discord accepts a nonce of at most 25 characters: the same for every attempt of a task. */
export function deliveryNonce(taskId: string): string {
  return createHash('sha256').update(taskId).digest('hex').slice(0, 25);
}

/** The conversation an answer record belongs to (#16); null for records written before conversations. */
export function conversationIdOf(answer: AnswerRecord | null | undefined): string | null {
  const id = answer?.conversationId;
  return typeof id === 'string' && id !== '' ? id : null;
}

export class HumanLoop {
  private readonly store: FeedbackStore;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly leaseMs: number;
  private readonly handlers = new Map<OutboxTarget, OutboxHandlers>();
  private readonly workers = new Map<OutboxTarget, OutboxWorker>();
  private lastReminderScan = 0;

  constructor(private readonly options: HumanLoopOptions) {
    this.store = options.store;
    this.logger = options.logger.child({ component: 'human-loop' });
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.settings.leaseMs ?? 30_000;
  }

  get knowledge(): Knowledge {
    return this.options.knowledge;
  }

  get settings(): HumanLoopSettings {
    return this.options.settings;
  }

  // ------------------------------------------------------------------------------------- students

  /** "Chamar um monitor": opens the answer's case, or adds this student to it. Never throws. */
  async escalate(input: EscalateInput): Promise<EscalateOutcome> {
    try {
      const answer = await this.store.getAnswer(input.answerId);
      if (!answer) return { status: 'not-found', message: MESSAGES.answerNotFound };
      const user = this.store.pseudonymize(input.platform, input.userId);
      const key = input.address ? await this.store.deriveKey(ADDRESS_KEY_PURPOSE) : null;
      const at = this.timestamp();
      const requester = (caseId: string): CaseRequester => ({
        user,
        platform: input.platform,
        at,
        details: input.details ? multiline(input.details, MAX_DETAILS_CHARS) || null : null,
        name: this.options.settings.showNames && input.displayName ? oneLine(input.displayName, 80) || null : null,
        address: input.address && key ? sealAddress(input.address, key, caseId, user) : null,
        delivery: { status: 'waiting', at: null, via: null, error: null },
      });
      let outcome = 'joined' as 'joined' | 'already-waiting' | 'resolved';
      // Counting votes reads every key of the store: only when a case is created.
      let votes: { up: number; down: number } | undefined;
      const existing = await this.store.loop.caseOfAnswer(input.answerId);
      if (!existing) {
        const items = await this.store.votes(input.answerId);
        votes = { up: items.filter((v) => v.value === 'up').length, down: items.filter((v) => v.value === 'down').length };
      }
      const conversationId = conversationIdOf(answer);
      const { record, created } = await this.store.loop.openOrJoin(
        input.answerId,
        () => {
          const id = randomUUID();
          return {
            id,
            answerId: input.answerId,
            ...(conversationId ? { conversationId } : {}),
            status: 'open',
            createdAt: at,
            origin: input.platform,
            requesters: [requester(id)],
            votesAtEscalation: votes ?? { up: 0, down: 0 },
            card: null,
            claimedBy: null,
            firstActionAt: null,
            resolution: null,
            remindedAt: null,
            ratings: {},
            outbox: [this.task('slack', 'post-card')],
            version: 1,
            updatedAt: at,
          };
        },
        (current) => {
          if (!OPEN_CASE_STATUSES.includes(current.status)) {
            outcome = 'resolved';
            return null;
          }
          if (current.requesters.some((r) => r.user === user) || current.requesters.length >= MAX_REQUESTERS) {
            outcome = 'already-waiting';
            return null;
          }
          return { ...current, requesters: [...current.requesters, requester(current.id)], outbox: [...current.outbox, this.task('slack', 'update-card')] };
        },
      );
      this.kick('slack');
      const privately = input.address?.ephemeral === true;
      if (created) {
        this.logger.info({ caseId: record.id, answerId: input.answerId, platform: input.platform, user }, 'human loop: case opened');
        return { status: 'created', caseId: record.id, message: LOOP_MESSAGES.escalated(privately) };
      }
      if (outcome === 'resolved') {
        return { status: 'resolved', caseId: record.id, message: LOOP_MESSAGES.escalationResolved, delivery: this.deliveryView(record, answer) };
      }
      if (outcome === 'already-waiting') return { status: 'already-waiting', caseId: record.id, message: LOOP_MESSAGES.escalatedAgain };
      this.logger.info({ caseId: record.id, platform: input.platform, user, requesters: record.requesters.length }, 'human loop: student joined a case');
      return { status: 'joined', caseId: record.id, message: LOOP_MESSAGES.escalated(privately) };
    } catch (err) {
      this.logger.error({ answerId: input.answerId, reason: (err as Error).message }, 'human loop: escalation failed');
      return { status: 'failed', message: LOOP_MESSAGES.escalationFailed };
    }
  }

  /** A student's 👍/👎 on the TA's answer they received. */
  async rateAnswer(input: { caseId: string; platform: Platform; userId: string; value: VoteValue }): Promise<{ ok: boolean; message: string }> {
    const user = this.store.pseudonymize(input.platform, input.userId);
    let previous: VoteValue | null = null;
    try {
      await this.store.loop.updateCase(input.caseId, (c) => {
        previous = c.ratings[user] ?? null;
        if (previous === input.value) return null;
        return { ...c, ratings: { ...c.ratings, [user]: input.value }, outbox: [...c.outbox, this.task('slack', 'update-card')] };
      });
    } catch (err) {
      if (err instanceof CaseNotFoundError) return { ok: false, message: LOOP_MESSAGES.caseNotFound };
      this.logger.error({ caseId: input.caseId, reason: (err as Error).message }, 'human loop: rating not recorded');
      return { ok: false, message: MESSAGES.voteFailed };
    }
    this.kick('slack');
    return { ok: true, message: MESSAGES.voteRecorded(input.value, previous) };
  }

  /**
   * Shows the student, through `show`, the TA answers that could not reach them (DMs closed).
   * Each one shown is marked delivered; one that `show` could not send stays for next time.
   * Returns how many were shown. Never throws.
   */
  async deliverNotices(platform: Platform, userId: string, show: (view: DeliveryView) => Promise<void>): Promise<number> {
    const user = this.store.pseudonymize(platform, userId);
    let shown = 0;
    try {
      await this.store.loop.withNotices(user, async (caseIds) => {
        const done: string[] = [];
        for (const caseId of caseIds) {
          const record = await this.store.loop.getCase(caseId);
          const requester = record?.requesters.find((r) => r.user === user);
          if (!record || !record.resolution || !requester || requester.delivery.status === 'delivered') {
            done.push(caseId);
            continue;
          }
          try {
            await show(this.deliveryView(record, (await this.store.getAnswer(record.answerId)) ?? null));
          } catch (err) {
            this.logger.warn({ caseId, reason: (err as Error).message }, 'human loop: notice not shown (kept for the next question)');
            continue;
          }
          done.push(caseId);
          shown++;
          await this.store.loop.updateCase(caseId, (c) => ({
            ...c,
            requesters: c.requesters.map((r) => (r.user === user ? { ...r, address: null, delivery: { status: 'delivered', at: this.timestamp(), via: 'notice', error: null } } : r)),
            outbox: [...c.outbox, this.task('slack', 'update-card')],
          }));
          this.logger.info({ caseId, user }, 'human loop: answer shown at the student\'s next question');
        }
        return done;
      });
    } catch (err) {
      this.logger.warn({ user, reason: (err as Error).message }, 'human loop: could not read pending notices');
    }
    if (shown > 0) this.kick('slack');
    return shown;
  }

  // ------------------------------------------------------------------------------------- TAs

  async claim(caseId: string, staff: StaffInput): Promise<CaseActionOutcome> {
    if (!staff.allowed) return this.forbidden();
    const by = this.staffRef(staff);
    let refused: ActResult | null = null;
    return this.act(caseId, 'claim', (c) => {
      if (!OPEN_CASE_STATUSES.includes(c.status)) {
        refused = { ok: false, reason: 'resolved', message: LOOP_MESSAGES.alreadyResolved(c.status) };
        return null;
      }
      if (c.claimedBy && c.claimedBy.user !== by.user) {
        refused = { ok: false, reason: 'claimed', message: LOOP_MESSAGES.claimedByOther(c.claimedBy.name) };
        return null;
      }
      if (c.claimedBy) return null;
      return { ...c, status: 'claimed', claimedBy: by, firstActionAt: c.firstActionAt ?? by.at, outbox: [...c.outbox, this.task('slack', 'update-card')] };
    }, () => refused ?? { ok: true, message: LOOP_MESSAGES.claimed });
  }

  /** A TA's answer: delivered to every student waiting, kept as a verified answer. */
  async answer(caseId: string, staff: StaffInput, input: AnswerCaseInput): Promise<CaseActionOutcome> {
    if (!staff.allowed) return this.forbidden();
    const text = multiline(input.text, MAX_TA_ANSWER_CHARS);
    if (text === '') return { ok: false, reason: 'invalid', message: LOOP_MESSAGES.emptyAnswer };
    return this.resolve(caseId, staff, 'answered', async (record, answer) => {
      const references = lectureReferences(text, this.options.videos);
      const verified = answer ? await this.newVerified(record, answer, text, references, 'ta-answer', staff) : null;
      const notes = input.pinNote && answer ? this.notesFor(record, answer, text, staff) : [];
      return { text, references, botLabel: input.botLabel ?? null, verified, notes, message: LOOP_MESSAGES.answered };
    });
  }

  /** "A resposta do bot está certa": the bot's answer becomes a verified answer; the students are told. */
  async endorse(caseId: string, staff: StaffInput): Promise<CaseActionOutcome> {
    if (!staff.allowed) return this.forbidden();
    return this.resolve(caseId, staff, 'endorsed', async (record, answer) => {
      const abstention = !answer || answer.kind === 'not-found' || isNotCoveredAnswer(answer.answer);
      const verified = answer && !abstention ? await this.newVerified(record, answer, answer.answer, answer.references, 'endorsement', staff) : null;
      return {
        text: null,
        references: answer?.references ?? [],
        botLabel: 'C',
        verified,
        notes: [],
        message: abstention ? LOOP_MESSAGES.endorsedAbstention : LOOP_MESSAGES.endorsed,
      };
    });
  }

  /** Closes without an answer; the students are told the reason. */
  async close(caseId: string, staff: StaffInput, reason: string): Promise<CaseActionOutcome> {
    if (!staff.allowed) return this.forbidden();
    const text = multiline(reason, MAX_DETAILS_CHARS);
    if (text === '') return { ok: false, reason: 'invalid', message: LOOP_MESSAGES.emptyReason };
    return this.resolve(caseId, staff, 'closed', async () => ({ text, references: [], botLabel: null, verified: null, notes: [], message: LOOP_MESSAGES.closed }));
  }

  /** What the card of a case shows now; undefined for an unknown case. */
  async caseView(caseId: string): Promise<CaseView | undefined> {
    const record = await this.store.loop.getCase(caseId);
    return record ? this.view(record) : undefined;
  }

  // ------------------------------------------------------------------------------------- verified answers (Slack /pergunta-faq)

  /** Live verified answers, newest first, optionally those whose question or answer contains `query`. */
  listVerified(query?: string): VerifiedAnswer[] {
    const all = this.knowledge.verifiedAnswers;
    const q = query?.trim().toLocaleLowerCase('pt-BR');
    return q ? all.filter((v) => `${v.question}\n${v.answer}`.toLocaleLowerCase('pt-BR').includes(q)) : all;
  }

  listNotes(): StaffNote[] {
    return this.knowledge.staffNotes;
  }

  async getVerified(id: string): Promise<VerifiedAnswer | undefined> {
    return this.store.loop.getVerified(id);
  }

  async editVerified(id: string, staff: StaffInput, edit: { question: string; answer: string }): Promise<{ ok: boolean; message: string }> {
    if (!staff.allowed) return { ok: false, message: LOOP_MESSAGES.notAllowed };
    const question = oneLine(edit.question, 2000);
    const answer = multiline(edit.answer, MAX_TA_ANSWER_CHARS);
    if (question === '' || answer === '') return { ok: false, message: LOOP_MESSAGES.emptyAnswer };
    const by = this.staffRef(staff);
    const embedding = await this.knowledge.embedQuestion(question);
    return this.editKnowledge(() =>
      this.store.loop.updateVerified(id, (v) =>
        v.retired ? null : { ...v, question, answer, references: lectureReferences(answer, this.options.videos), updatedAt: by.at, updatedBy: by, embedding: embedding ?? v.embedding },
      ),
      LOOP_MESSAGES.verifiedEdited,
    );
  }

  async retireVerified(id: string, staff: StaffInput): Promise<{ ok: boolean; message: string }> {
    if (!staff.allowed) return { ok: false, message: LOOP_MESSAGES.notAllowed };
    const by = this.staffRef(staff);
    return this.editKnowledge(() => this.store.loop.updateVerified(id, (v) => (v.retired ? null : { ...v, retired: by })), LOOP_MESSAGES.verifiedRetired);
  }

  async retireNote(id: string, staff: StaffInput): Promise<{ ok: boolean; message: string }> {
    if (!staff.allowed) return { ok: false, message: LOOP_MESSAGES.notAllowed };
    const by = this.staffRef(staff);
    return this.editKnowledge(() => this.store.loop.updateNote(id, (n) => (n.retired ? null : { ...n, retired: by })), LOOP_MESSAGES.noteRetired);
  }

  // ------------------------------------------------------------------------------------- outbox

  /**
   * This process serves `target` with `handlers`: a worker polls for the target's tasks (and runs
   * at once when this process writes some). Returns a function that stops it.
   */
  serve(target: OutboxTarget, handlers: OutboxHandlers): () => Promise<void> {
    this.handlers.set(target, handlers);
    const worker = new OutboxWorker({
      target,
      store: this.store,
      logger: this.logger,
      pollMs: this.options.settings.pollMs,
      leaseMs: this.leaseMs,
      work: (caseId) => this.runCase(target, caseId),
      ...(target === 'slack' ? { beforePass: () => this.scheduleReminders() } : {}),
    });
    this.workers.set(target, worker);
    worker.start();
    return async () => {
      await worker.stop();
      if (this.workers.get(target) === worker) this.workers.delete(target);
      this.handlers.delete(target);
    };
  }

  /** Whether this process delivers `target`'s tasks. */
  serves(target: OutboxTarget): boolean {
    return this.workers.has(target);
  }

  /** Looks for `target`'s work now (when this process serves it). */
  kick(target: OutboxTarget): void {
    this.workers.get(target)?.kick();
  }

  /** Resolves when this process's workers have nothing in progress (tests, benchmarks). */
  async idle(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.idle()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
    this.handlers.clear();
  }

  // ------------------------------------------------------------------------------------- internals

  private task(target: OutboxTarget, kind: OutboxKind, requester?: string): OutboxTask {
    return { id: randomUUID(), target, kind, ...(requester ? { requester } : {}), createdAt: this.timestamp(), attempts: 0, notBefore: 0, lastError: null };
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  private staffRef(staff: StaffInput): StaffRef {
    return { user: this.store.pseudonymize(staff.platform, staff.userId), name: oneLine(staff.name, 80) || 'monitor', at: this.timestamp() };
  }

  private forbidden(): CaseActionOutcome {
    return { ok: false, reason: 'forbidden', message: LOOP_MESSAGES.notAllowed };
  }

  /** A TA action: one locked change of the case; `result` says what to answer when it applied. */
  private async act(caseId: string, what: string, change: (c: CaseRecord) => CaseRecord | null, result: () => ActResult): Promise<CaseActionOutcome> {
    let record: CaseRecord;
    let changed: boolean;
    try {
      ({ record, changed } = await this.store.loop.updateCase(caseId, change));
    } catch (err) {
      if (err instanceof CaseNotFoundError) return { ok: false, reason: 'not-found', message: LOOP_MESSAGES.caseNotFound };
      this.logger.error({ caseId, what, reason: (err as Error).message }, 'human loop: case not changed');
      return { ok: false, reason: 'store', message: LOOP_MESSAGES.storeFailed };
    }
    const outcome = result();
    if (changed) {
      this.logger.info({ caseId, what, status: record.status }, 'human loop: case changed');
      this.kick('slack');
    }
    return outcome.ok ? { ...outcome, view: await this.view(record) } : outcome;
  }

  /**
   * Answer, endorse or close. The verified answer and notes are written first (so a crash never
   * leaves an answered case without them); if the case turns out to be resolved already (another
   * TA was faster), they are retired again.
   */
  private async resolve(
    caseId: string,
    staff: StaffInput,
    kind: 'answered' | 'endorsed' | 'closed',
    prepare: (
      record: CaseRecord,
      answer: AnswerRecord | null,
    ) => Promise<{ text: string | null; references: Reference[]; botLabel: Label | null; verified: VerifiedAnswer | null; notes: StaffNote[]; message: string }>,
  ): Promise<CaseActionOutcome> {
    const by = this.staffRef(staff);
    let current: CaseRecord | undefined;
    try {
      current = await this.store.loop.getCase(caseId);
    } catch (err) {
      this.logger.error({ caseId, reason: (err as Error).message }, 'human loop: case not readable');
      return { ok: false, reason: 'store', message: LOOP_MESSAGES.storeFailed };
    }
    if (!current) return { ok: false, reason: 'not-found', message: LOOP_MESSAGES.caseNotFound };
    if (!OPEN_CASE_STATUSES.includes(current.status)) return { ok: false, reason: 'resolved', message: LOOP_MESSAGES.alreadyResolved(current.status) };
    let prepared: Awaited<ReturnType<typeof prepare>>;
    try {
      const answer = (await this.store.getAnswer(current.answerId)) ?? null;
      prepared = await prepare(current, answer);
      if (prepared.verified) await this.store.loop.addVerified(prepared.verified);
      await this.store.loop.addNotes(prepared.notes);
    } catch (err) {
      this.logger.error({ caseId, reason: (err as Error).message }, 'human loop: verified answer not stored');
      return { ok: false, reason: 'store', message: LOOP_MESSAGES.storeFailed };
    }
    let lateBy: CaseRecord['status'] | null = null;
    const outcome = await this.act(
      caseId,
      kind,
      (c) => {
        if (!OPEN_CASE_STATUSES.includes(c.status)) {
          lateBy = c.status;
          return null;
        }
        const deliveries = c.requesters.filter((r) => r.delivery.status === 'waiting');
        return {
          ...c,
          status: kind,
          claimedBy: c.claimedBy ?? (kind === 'answered' ? by : null),
          firstActionAt: c.firstActionAt ?? by.at,
          resolution: {
            kind,
            by,
            text: prepared.text,
            references: prepared.references,
            botLabel: prepared.botLabel,
            verifiedId: prepared.verified?.id ?? null,
            noteIds: prepared.notes.map((n) => n.id),
          },
          requesters: c.requesters.map((r) =>
            r.delivery.status === 'waiting' ? { ...r, delivery: r.address ? { ...r.delivery, status: 'pending' } : { ...r.delivery, status: 'failed', error: 'no address' } } : r,
          ),
          outbox: [
            ...c.outbox,
            ...deliveries.filter((r) => r.address).map((r) => this.task(r.platform === 'slack' ? 'slack' : 'discord', 'deliver', r.user)),
            this.task('slack', 'update-card'),
          ],
        };
      },
      (): ActResult => (lateBy ? { ok: false, reason: 'resolved', message: LOOP_MESSAGES.alreadyResolved(lateBy) } : { ok: true, message: prepared.message }),
    );
    if (!outcome.ok) {
      if (outcome.reason === 'resolved') await this.undoPrepared(prepared.verified, prepared.notes, by);
      return outcome;
    }
    if (prepared.botLabel) {
      const record = outcome.view.case;
      await this.store.annotate({ answerId: record.answerId, platform: staff.platform, rawUserId: staff.userId, label: prepared.botLabel }).catch((err: unknown) => {
        if (!(err instanceof AnswerNotFoundError)) this.logger.warn({ caseId, reason: (err as Error).message }, 'human loop: the TA label was not recorded');
      });
    }
    if (prepared.verified || prepared.notes.length > 0) await this.knowledge.refresh();
    this.kick('discord');
    return outcome;
  }

  private async undoPrepared(verified: VerifiedAnswer | null, notes: StaffNote[], by: StaffRef): Promise<void> {
    try {
      if (verified) await this.store.loop.updateVerified(verified.id, (v) => ({ ...v, retired: by }));
      for (const note of notes) await this.store.loop.updateNote(note.id, (n) => ({ ...n, retired: by }));
    } catch (err) {
      this.logger.warn({ reason: (err as Error).message }, 'human loop: a duplicate verified answer could not be retired');
    }
  }

  private async newVerified(
    record: CaseRecord,
    answer: AnswerRecord,
    text: string,
    references: Reference[],
    source: VerifiedAnswer['source'],
    staff: StaffInput,
  ): Promise<VerifiedAnswer> {
    const by = this.staffRef(staff);
    return {
      id: randomUUID(),
      question: answer.question,
      answer: text,
      references,
      source,
      caseId: record.id,
      answerId: answer.id,
      by,
      createdAt: by.at,
      updatedAt: by.at,
      updatedBy: null,
      retired: null,
      embedding: await this.knowledge.embedQuestion(answer.question),
    };
  }

  /** One note per lecture moment the bot's answer cited. */
  private notesFor(record: CaseRecord, answer: AnswerRecord, text: string, staff: StaffInput): StaffNote[] {
    const by = this.staffRef(staff);
    const note = text.length > MAX_NOTE_CHARS ? `${text.slice(0, MAX_NOTE_CHARS - 1).trimEnd()}…` : text;
    return answer.references.map((ref) => ({
      id: randomUUID(),
      text: note,
      videoId: ref.videoId,
      title: ref.title,
      start: ref.start,
      end: ref.end,
      url: ref.url,
      caseId: record.id,
      answerId: answer.id,
      by,
      createdAt: by.at,
      retired: null,
    }));
  }

  private async editKnowledge(work: () => Promise<unknown>, message: string): Promise<{ ok: boolean; message: string }> {
    try {
      const result = await work();
      if (result === undefined) return { ok: false, message: LOOP_MESSAGES.verifiedNotFound };
    } catch (err) {
      this.logger.error({ reason: (err as Error).message }, 'human loop: verified answers not changed');
      return { ok: false, message: LOOP_MESSAGES.storeFailed };
    }
    await this.knowledge.refresh();
    return { ok: true, message };
  }

  private deliveryView(record: CaseRecord, answer: AnswerRecord | null): DeliveryView {
    const resolution = record.resolution!;
    const question = answer?.question ?? '';
    switch (resolution.kind) {
      case 'answered':
        return { caseId: record.id, kind: 'answered', question, label: LOOP_MESSAGES.taAnswerLabel, text: resolution.text ?? '', references: resolution.references, at: resolution.by.at };
      case 'endorsed':
        return { caseId: record.id, kind: 'endorsed', question, label: LOOP_MESSAGES.endorsedLabel, text: LOOP_MESSAGES.endorsedText, references: resolution.references, at: resolution.by.at };
      case 'closed':
        return { caseId: record.id, kind: 'closed', question, label: LOOP_MESSAGES.closedLabel, text: LOOP_MESSAGES.closedText(resolution.text ?? ''), references: [], at: resolution.by.at };
    }
  }

  private async view(record: CaseRecord): Promise<CaseView> {
    const answer = (await this.store.getAnswer(record.answerId)) ?? null;
    return {
      case: summarizeCase(record),
      answer,
      conversation: await this.conversationOf(record.conversationId ?? conversationIdOf(answer), answer),
      requesters: record.requesters.map((r) => ({
        label: r.name ?? `${r.platform === 'slack' ? 'monitor' : 'estudante'} ${r.user.split(':')[1]?.slice(0, 6) ?? r.user}`,
        platform: r.platform,
        details: r.details,
        at: r.at,
        delivery: r.delivery,
      })),
      reminderHours: this.options.settings.reminderHours,
    };
  }

  /**
   * The turns of the case's conversation before its answer (`store.getConversation`), when it
   * has one; else null. A turn after the answer is not what the student asked the TA about.
   */
  private async conversationOf(conversationId: string | null, answer: AnswerRecord | null): Promise<ConversationTurn[] | null> {
    if (typeof conversationId !== 'string') return null;
    try {
      const conversation = await this.store.getConversation(conversationId);
      if (!conversation) return null;
      const before = answer?.turn ?? Number.POSITIVE_INFINITY;
      return conversation.turns.filter((t) => t.answerId !== answer?.id && t.turn < before).map((t) => ({ question: t.question, answer: t.answer }));
    } catch (err) {
      this.logger.warn({ reason: (err as Error).message }, 'human loop: the conversation could not be read for the card');
      return null;
    }
  }

  /** Marks overdue open cases for one reminder each (at most once a minute per process). */
  private async scheduleReminders(): Promise<void> {
    const now = this.now().getTime();
    if (now - this.lastReminderScan < Math.min(60_000, this.options.settings.pollMs * 6)) return;
    this.lastReminderScan = now;
    const dueBefore = now - this.options.settings.reminderHours * 3_600_000;
    for (const id of await this.store.loop.openCaseIds()) {
      const record = await this.store.loop.getCase(id);
      if (!record || record.remindedAt || !record.card || !OPEN_CASE_STATUSES.includes(record.status) || Date.parse(record.createdAt) > dueBefore) continue;
      await this.store.loop.updateCase(id, (c) =>
        c.remindedAt || !OPEN_CASE_STATUSES.includes(c.status) ? null : { ...c, remindedAt: this.timestamp(), outbox: [...c.outbox, this.task('slack', 'reminder')] },
      );
      this.logger.info({ caseId: id, hours: this.options.settings.reminderHours }, 'human loop: reminder scheduled');
    }
  }

  /** Runs `target`'s tasks of one case, in order, until one fails or must wait; then wakes the other targets it gave work. */
  private async runCase(target: OutboxTarget, caseId: string): Promise<void> {
    const record = await this.runTasks(target, caseId);
    for (const other of new Set(record?.outbox.map((t) => t.target) ?? [])) if (other !== target) this.kick(other);
  }

  private async runTasks(target: OutboxTarget, caseId: string): Promise<CaseRecord | undefined> {
    let record = await this.store.loop.getCase(caseId);
    const handlers = this.handlers.get(target);
    if (!record || !handlers) {
      if (!record) await this.store.loop.prunePending(target, caseId);
      return record;
    }
    for (;;) {
      const task = record.outbox.find((t) => t.target === target);
      if (!task) {
        await this.store.loop.prunePending(target, caseId);
        return record;
      }
      if (task.notBefore > this.now().getTime()) return record;
      try {
        const change = await this.runTask(task, record, handlers);
        record = (await this.store.loop.updateCase(caseId, change)).record;
      } catch (err) {
        const permanent = err instanceof PermanentDeliveryError || err instanceof AddressUnreadableError;
        const reason = (err as Error).message.slice(0, 300);
        this.logger.warn({ caseId, target, kind: task.kind, attempt: task.attempts + 1, permanent, reason }, 'human loop: task failed');
        record = (
          await this.store.loop.updateCase(caseId, (c) =>
            permanent ? this.failDelivery(c, task, reason) : { ...c, outbox: c.outbox.map((t) => (t.id === task.id ? this.retryLater(t, reason) : t)) },
          )
        ).record;
        if (!permanent) return record;
      }
    }
  }

  private retryLater(task: OutboxTask, reason: string): OutboxTask {
    const attempts = task.attempts + 1;
    return { ...task, attempts, lastError: reason, notBefore: this.now().getTime() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempts) };
  }

  private failDelivery(c: CaseRecord, task: OutboxTask, reason: string): CaseRecord {
    return {
      ...c,
      requesters: c.requesters.map((r) =>
        task.kind === 'deliver' && r.user === task.requester ? { ...r, address: null, delivery: { status: 'failed', at: this.timestamp(), via: null, error: reason } } : r,
      ),
      outbox: [...c.outbox.filter((t) => t.id !== task.id), ...(task.target === 'slack' && task.kind !== 'deliver' ? [] : [this.task('slack', 'update-card')])],
    };
  }

  /** Does one task; returns the change that records it done. Throws to retry later. */
  private async runTask(task: OutboxTask, record: CaseRecord, handlers: OutboxHandlers): Promise<(c: CaseRecord) => CaseRecord> {
    const without = (c: CaseRecord, ids: Set<string>) => c.outbox.filter((t) => !ids.has(t.id));
    const done = new Set([task.id]);
    switch (task.kind) {
      case 'post-card': {
        if (record.card) return (c) => ({ ...c, outbox: [...without(c, done), this.task('slack', 'update-card')] });
        if (!handlers.postCard) throw new Error('no postCard handler');
        const card = await handlers.postCard(await this.view(record));
        this.logger.info({ caseId: record.id }, 'human loop: card posted to the TAs');
        // Updates asked for before the card existed are shown by the card just posted.
        for (const t of record.outbox) if (t.kind === 'update-card') done.add(t.id);
        return (c) => ({ ...c, card, outbox: without(c, done) });
      }
      case 'update-card': {
        for (const t of record.outbox) if (t.kind === 'update-card') done.add(t.id);
        if (record.card && handlers.updateCard) await handlers.updateCard(await this.view(record), record.card);
        return (c) => ({ ...c, outbox: without(c, done) });
      }
      case 'reminder': {
        if (record.card && handlers.remind && OPEN_CASE_STATUSES.includes(record.status)) await handlers.remind(await this.view(record), record.card);
        return (c) => ({ ...c, outbox: without(c, done) });
      }
      case 'deliver':
        return this.deliver(task, record, handlers);
    }
  }

  private async deliver(task: OutboxTask, record: CaseRecord, handlers: OutboxHandlers): Promise<(c: CaseRecord) => CaseRecord> {
    const requester = record.requesters.find((r) => r.user === task.requester);
    const drop = (c: CaseRecord) => ({ ...c, outbox: c.outbox.filter((t) => t.id !== task.id) });
    if (!requester || requester.delivery.status === 'delivered' || !record.resolution) return drop;
    if (!requester.address) throw new PermanentDeliveryError('no delivery address');
    if (!handlers.deliver) throw new Error('no deliver handler');
    const address = openAddress(requester.address, await this.store.deriveKey(ADDRESS_KEY_PURPOSE), record.id, requester.user);
    const view = this.deliveryView(record, (await this.store.getAnswer(record.answerId)) ?? null);
    const result = await handlers.deliver(view, address, deliveryNonce(task.id));
    const at = this.timestamp();
    const mark = (delivery: CaseRequester['delivery']) => (c: CaseRecord): CaseRecord => ({
      ...c,
      requesters: c.requesters.map((r) => (r.user === requester.user ? { ...r, address: null, delivery } : r)),
      outbox: [...c.outbox.filter((t) => t.id !== task.id), this.task('slack', 'update-card')],
    });
    if (result.status === 'delivered') {
      this.logger.info({ caseId: record.id, user: requester.user, via: result.via, attempt: task.attempts + 1 }, 'human loop: answer delivered');
      return mark({ status: 'delivered', at, via: result.via, error: null });
    }
    // Written before the case says so: a crash in between only repeats this step.
    await this.store.loop.addNotice(requester.user, record.id);
    this.logger.info({ caseId: record.id, user: requester.user, reason: result.reason }, 'human loop: student unreachable, answer kept for their next question');
    return mark({ status: 'notice', at, via: 'notice', error: result.reason });
  }
}

export { StoreUnavailableError };
