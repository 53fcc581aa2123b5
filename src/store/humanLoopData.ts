/**
 * The human loop's records in the feedback store: cases (each with its own outbox of side effects
 * still owed to Slack or Discord), verified answers, staff notes, and notices waiting for a
 * student's next question. Persistence only: what a change means (who may claim, what an answer
 * sends) is decided in src/humanloop/.
 *
 * Keys (keyv namespace `pergunta`, next to the answers):
 *
 * | key                        | value                                                         |
 * |----------------------------|---------------------------------------------------------------|
 * | `case:<caseId>`            | CaseRecord, its outbox inside                                 |
 * | `case-of-answer:<answerId>`| the case id of an answer (one case per answer)                |
 * | `cases:open`               | `{ ids }`: cases not yet answered, endorsed or closed (reminders) |
 * | `outbox:<target>`          | `{ cases: { <caseId>: ms } }`: cases that may owe `target` work |
 * | `verified:<id>`            | VerifiedAnswer                                                |
 * | `note:<id>`                | StaffNote                                                     |
 * | `knowledge:version`        | a number, bumped by every change of a verified answer or note (polled) |
 * | `knowledge:index`          | `{ verified: { <id>: rev }, notes: { <id>: rev } }` (read when the version moved) |
 * | `notice:<pseudonym>`       | `{ caseIds }`: TA answers to show at the student's next question |
 *
 * Why it holds with several processes and crashes:
 * - Every read-modify-write happens under a lock (`withLock`: a mutex in this process plus a
 *   store lease across processes, src/store/leases.ts).
 * - A change and the side effects it causes are one write of one key: the case record with its
 *   `outbox` tasks (a transactional outbox). A task leaves the record only when done.
 * - So that workers find the cases that owe work without reading the whole store, each target has
 *   an index (`outbox:<target>`). A case is added to it before the case record that needs it is
 *   written (in the same lock), and is removed only when its record owes that target nothing and
 *   the entry is older than `INDEX_GRACE_MS`: an entry may outlive its work (one extra read), but
 *   a task is never written without an entry pointing at it, whatever crashes in between.
 */
import { StoreUnavailableError } from './types.js';
import type { CaseRecord, CaseStatus, CaseSummary, OutboxTarget, StaffNote, VerifiedAnswer } from './types.js';
import { OPEN_CASE_STATUSES } from './types.js';

/** What the store gives this module (KeyvFeedbackStore provides it, with its deadlines and errors). */
export interface DocumentBackend {
  get(what: string, key: string): Promise<unknown>;
  set(what: string, key: string, value: unknown): Promise<void>;
  delete(what: string, key: string): Promise<void>;
  /** Every entry of the namespace (for listings; O(keys)). */
  entries(): Promise<Map<string, unknown>>;
  /** Runs `work` holding the lock `name`, in this process and across the processes sharing the store. */
  withLock<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** A store write time: ISO, strictly increasing within the process. */
  timestamp(): string;
}

/** An index entry younger than this is kept even when its case owes nothing (a writer may be between its two steps). */
export const INDEX_GRACE_MS = 30_000;

export const loopKeys = {
  case: (id: string) => `case:${encodeURIComponent(id)}`,
  caseOfAnswer: (answerId: string) => `case-of-answer:${encodeURIComponent(answerId)}`,
  openCases: 'cases:open',
  outbox: (target: OutboxTarget) => `outbox:${target}`,
  verified: (id: string) => `verified:${encodeURIComponent(id)}`,
  note: (id: string) => `note:${encodeURIComponent(id)}`,
  knowledgeVersion: 'knowledge:version',
  knowledgeIndex: 'knowledge:index',
  notice: (user: string) => `notice:${user}`,
} as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function asCase(value: unknown): CaseRecord | undefined {
  return isObject(value) && typeof value.id === 'string' && typeof value.answerId === 'string' && Array.isArray(value.requesters) && Array.isArray(value.outbox)
    ? (value as unknown as CaseRecord)
    : undefined;
}
function asVerified(value: unknown): VerifiedAnswer | undefined {
  return isObject(value) && typeof value.id === 'string' && typeof value.question === 'string' && typeof value.answer === 'string'
    ? (value as unknown as VerifiedAnswer)
    : undefined;
}
function asNote(value: unknown): StaffNote | undefined {
  return isObject(value) && typeof value.id === 'string' && typeof value.videoId === 'string' && typeof value.text === 'string'
    ? (value as unknown as StaffNote)
    : undefined;
}
function stringList(value: unknown, field: string): string[] {
  const list = isObject(value) ? value[field] : undefined;
  return Array.isArray(list) ? list.filter((v): v is string => typeof v === 'string') : [];
}
function pendingMap(value: unknown): Record<string, number> {
  const cases = isObject(value) ? value.cases : undefined;
  const out: Record<string, number> = {};
  if (isObject(cases)) for (const [id, at] of Object.entries(cases)) if (typeof at === 'number') out[id] = at;
  return out;
}

/** Every verified answer and note id with its revision (bumped by each change of that item). */
export interface KnowledgeIndex {
  verified: Record<string, number>;
  notes: Record<string, number>;
}

function revisions(value: unknown, field: string): Record<string, number> {
  const map = isObject(value) ? value[field] : undefined;
  const out: Record<string, number> = {};
  if (isObject(map)) for (const [id, rev] of Object.entries(map)) if (typeof rev === 'number') out[id] = rev;
  return out;
}

/** Case as exports and `listCases` give it: no addresses, no outbox, with timings. */
export function summarizeCase(record: CaseRecord): CaseSummary {
  const { requesters, outbox: _outbox, ...rest } = record;
  const created = Date.parse(record.createdAt);
  const since = (at: string | null | undefined) => (at ? Math.max(0, Date.parse(at) - created) : null);
  return {
    ...rest,
    requesters: requesters.map(({ address: _address, ...r }) => r),
    timings: { firstActionMs: since(record.firstActionAt), resolvedMs: since(record.resolution?.by.at) },
  };
}

export type CaseChange = (current: CaseRecord) => CaseRecord | null;

export class HumanLoopData {
  constructor(private readonly db: DocumentBackend) {}

  // ------------------------------------------------------------------------------------------- cases

  async getCase(id: string): Promise<CaseRecord | undefined> {
    return asCase(await this.db.get('read case', loopKeys.case(id)));
  }

  async caseOfAnswer(answerId: string): Promise<CaseRecord | undefined> {
    const id = await this.db.get('read case of answer', loopKeys.caseOfAnswer(answerId));
    return typeof id === 'string' ? this.getCase(id) : undefined;
  }

  /**
   * The one case of `answerId`: created with `create()` when there is none, otherwise changed by
   * `join` (e.g. another student asking too; null leaves it as it is). Two requests for the same
   * answer at once, in any processes, end in one case.
   */
  async openOrJoin(answerId: string, create: () => CaseRecord, join: CaseChange): Promise<{ record: CaseRecord; created: boolean; changed: boolean }> {
    return this.db.withLock(`answer-case:${answerId}`, async () => {
      const existing = await this.caseOfAnswer(answerId);
      if (existing) {
        const { record, changed } = await this.updateCase(existing.id, join);
        return { record, created: false, changed };
      }
      const record = create();
      await this.db.withLock(`case:${record.id}`, async () => {
        await this.indexTasks(undefined, record);
        await this.db.set('record case', loopKeys.case(record.id), record);
      });
      await this.db.set('record case of answer', loopKeys.caseOfAnswer(answerId), record.id);
      if (OPEN_CASE_STATUSES.includes(record.status)) await this.editOpenIndex(record.id, true);
      return { record, created: true, changed: true };
    });
  }

  /**
   * Read-modify-write of one case under its lock: `change` gets the stored record and returns the
   * next one (its version and time are set here), or null to leave it unchanged. Throws
   * CaseNotFoundError when there is no such case.
   */
  async updateCase(id: string, change: CaseChange): Promise<{ record: CaseRecord; changed: boolean }> {
    const result = await this.db.withLock(`case:${id}`, async () => {
      const current = await this.getCase(id);
      if (!current) throw new CaseNotFoundError(id);
      const proposed = change(structuredClone(current));
      if (!proposed) return { record: current, changed: false, before: current };
      const next: CaseRecord = { ...proposed, version: current.version + 1, updatedAt: this.db.timestamp() };
      await this.indexTasks(current, next);
      await this.db.set('record case', loopKeys.case(id), next);
      return { record: next, changed: true, before: current };
    });
    const wasOpen = OPEN_CASE_STATUSES.includes(result.before.status);
    const isOpen = OPEN_CASE_STATUSES.includes(result.record.status);
    if (result.changed && wasOpen !== isOpen) await this.editOpenIndex(id, isOpen);
    return { record: result.record, changed: result.changed };
  }

  /** Every case, oldest first, as summaries (no addresses). Reads the whole store. */
  async listCases(options: { since?: Date; status?: CaseStatus[] } = {}): Promise<CaseSummary[]> {
    const sinceMs = options.since?.getTime();
    const out: CaseSummary[] = [];
    for (const [key, value] of await this.db.entries()) {
      if (!key.startsWith('case:')) continue;
      const record = asCase(value);
      if (!record) continue;
      if (sinceMs !== undefined && !(Date.parse(record.createdAt) >= sinceMs)) continue;
      if (options.status && !options.status.includes(record.status)) continue;
      out.push(summarizeCase(record));
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1));
  }

  /** Ids of the cases still open or claimed (may include a few just resolved). */
  async openCaseIds(): Promise<string[]> {
    return stringList(await this.db.get('read open cases', loopKeys.openCases), 'ids');
  }

  private async editOpenIndex(id: string, open: boolean): Promise<void> {
    await this.db.withLock(loopKeys.openCases, async () => {
      const ids = await this.openCaseIds();
      const has = ids.includes(id);
      if (open === has) return;
      await this.db.set('record open cases', loopKeys.openCases, { ids: open ? [...ids, id] : ids.filter((x) => x !== id) });
    });
  }

  // ------------------------------------------------------------------------------------------- outbox

  /** Adds the case to the index of every target its new record owes work that the old one did not. */
  private async indexTasks(before: CaseRecord | undefined, after: CaseRecord): Promise<void> {
    const fresh = new Set(after.outbox.filter((t) => !before?.outbox.some((b) => b.id === t.id)).map((t) => t.target));
    for (const target of fresh) {
      await this.db.withLock(loopKeys.outbox(target), async () => {
        const cases = pendingMap(await this.db.get('read outbox', loopKeys.outbox(target)));
        cases[after.id] = Date.now();
        await this.db.set('record outbox', loopKeys.outbox(target), { cases });
      });
    }
  }

  /** Case ids that may owe `target` work, oldest entry first. */
  async pendingCases(target: OutboxTarget): Promise<string[]> {
    const cases = pendingMap(await this.db.get('read outbox', loopKeys.outbox(target)));
    return Object.entries(cases)
      .sort((a, b) => a[1] - b[1])
      .map(([id]) => id);
  }

  /** Drops the case from `target`'s index when its record owes that target nothing (see the file comment). */
  async prunePending(target: OutboxTarget, caseId: string, now = Date.now()): Promise<boolean> {
    return this.db.withLock(loopKeys.outbox(target), async () => {
      const cases = pendingMap(await this.db.get('read outbox', loopKeys.outbox(target)));
      const added = cases[caseId];
      if (added === undefined) return true;
      if (now - added < INDEX_GRACE_MS) return false;
      const record = await this.getCase(caseId);
      if (record && record.outbox.some((t) => t.target === target)) return false;
      delete cases[caseId];
      await this.db.set('record outbox', loopKeys.outbox(target), { cases });
      return true;
    });
  }

  // ------------------------------------------------------------------------------------------- knowledge

  /** Bumped by every change of a verified answer or staff note: one small read tells whether to reload. */
  async knowledgeVersion(): Promise<number> {
    const value = await this.db.get('read knowledge version', loopKeys.knowledgeVersion);
    return typeof value === 'number' ? value : 0;
  }

  async knowledgeIndex(): Promise<KnowledgeIndex> {
    const value = await this.db.get('read knowledge index', loopKeys.knowledgeIndex);
    return { verified: revisions(value, 'verified'), notes: revisions(value, 'notes') };
  }

  /**
   * The verified answers and notes (retired ones included): all of them, or only the ids given
   * (a reload reads only what changed since it last looked).
   */
  async loadKnowledge(only?: { verified: string[]; notes: string[] }): Promise<{ verified: VerifiedAnswer[]; notes: StaffNote[] }> {
    let ids = only;
    if (!ids) {
      const index = await this.knowledgeIndex();
      ids = { verified: Object.keys(index.verified), notes: Object.keys(index.notes) };
    }
    const verified: VerifiedAnswer[] = [];
    for (const id of ids.verified) {
      const v = asVerified(await this.db.get('read verified answer', loopKeys.verified(id)));
      if (v) verified.push(v);
    }
    const notes: StaffNote[] = [];
    for (const id of ids.notes) {
      const n = asNote(await this.db.get('read staff note', loopKeys.note(id)));
      if (n) notes.push(n);
    }
    return { verified, notes };
  }

  async getVerified(id: string): Promise<VerifiedAnswer | undefined> {
    return asVerified(await this.db.get('read verified answer', loopKeys.verified(id)));
  }

  async getNote(id: string): Promise<StaffNote | undefined> {
    return asNote(await this.db.get('read staff note', loopKeys.note(id)));
  }

  /** Stores a new verified answer and bumps the knowledge version (other processes reload it). */
  async addVerified(answer: VerifiedAnswer): Promise<void> {
    await this.editKnowledge(async (index) => {
      await this.db.set('record verified answer', loopKeys.verified(answer.id), answer);
      index.verified[answer.id] = (index.verified[answer.id] ?? 0) + 1;
    });
  }

  /** Changes a verified answer (edit, retire); `change` returns null to leave it. Undefined when unknown. */
  async updateVerified(id: string, change: (current: VerifiedAnswer) => VerifiedAnswer | null): Promise<VerifiedAnswer | undefined> {
    let result: VerifiedAnswer | undefined;
    await this.editKnowledge(async (index) => {
      const current = await this.getVerified(id);
      if (!current) return false;
      const next = change(structuredClone(current));
      result = next ?? current;
      if (!next) return false;
      await this.db.set('record verified answer', loopKeys.verified(id), next);
      index.verified[id] = (index.verified[id] ?? 0) + 1;
      return true;
    });
    return result;
  }

  async addNotes(notes: StaffNote[]): Promise<void> {
    if (notes.length === 0) return;
    await this.editKnowledge(async (index) => {
      for (const note of notes) {
        await this.db.set('record staff note', loopKeys.note(note.id), note);
        index.notes[note.id] = (index.notes[note.id] ?? 0) + 1;
      }
    });
  }

  async updateNote(id: string, change: (current: StaffNote) => StaffNote | null): Promise<StaffNote | undefined> {
    let result: StaffNote | undefined;
    await this.editKnowledge(async (index) => {
      const current = await this.getNote(id);
      if (!current) return false;
      const next = change(structuredClone(current));
      result = next ?? current;
      if (!next) return false;
      await this.db.set('record staff note', loopKeys.note(id), next);
      index.notes[id] = (index.notes[id] ?? 0) + 1;
      return true;
    });
    return result;
  }

  /**
   * `work` may change the index in place; returning false means nothing changed. The index is
   * written before the version, so a reader that sees the new version also sees the new index.
   */
  private async editKnowledge(work: (index: KnowledgeIndex) => Promise<boolean | void>): Promise<void> {
    await this.db.withLock('knowledge', async () => {
      const index = await this.knowledgeIndex();
      if ((await work(index)) === false) return;
      await this.db.set('record knowledge index', loopKeys.knowledgeIndex, index);
      await this.db.set('record knowledge version', loopKeys.knowledgeVersion, (await this.knowledgeVersion()) + 1);
    });
  }

  // ------------------------------------------------------------------------------------------- notices

  async addNotice(user: string, caseId: string): Promise<void> {
    await this.db.withLock(loopKeys.notice(user), async () => {
      const ids = stringList(await this.db.get('read notices', loopKeys.notice(user)), 'caseIds');
      if (ids.includes(caseId)) return;
      await this.db.set('record notices', loopKeys.notice(user), { caseIds: [...ids, caseId] });
    });
  }

  /**
   * Holds the user's notices while `work` shows them; the case ids `work` returns as shown are
   * removed, the others stay for the next question.
   */
  async withNotices(user: string, work: (caseIds: string[]) => Promise<string[]>): Promise<void> {
    await this.db.withLock(loopKeys.notice(user), async () => {
      const ids = stringList(await this.db.get('read notices', loopKeys.notice(user)), 'caseIds');
      if (ids.length === 0) return;
      const shown = new Set(await work(ids));
      const left = ids.filter((id) => !shown.has(id));
      if (left.length === ids.length) return;
      if (left.length === 0) await this.db.delete('delete notices', loopKeys.notice(user));
      else await this.db.set('record notices', loopKeys.notice(user), { caseIds: left });
    });
  }
}

export class CaseNotFoundError extends Error {
  constructor(readonly caseId: string) {
    super(`case ${caseId} is not in the store`);
    this.name = 'CaseNotFoundError';
  }
}

/** A lock could not be taken in time (another process holds it): try again later. */
export class LockBusyError extends StoreUnavailableError {
  constructor(name: string, waitedMs: number) {
    super(`the lock ${name} is held elsewhere (waited ${waitedMs} ms)`);
    this.name = 'LockBusyError';
  }
}
