/**
 * The human loop's store primitives as one suite every backend passes: leases, locked case updates,
 * one case per answer, the outbox index, the knowledge version, notices, `listCases` and the
 * export join. On shared backends (Redis, Postgres) `shared: true` also runs them across two store
 * objects on the same data, standing in for two bot processes.
 *
 *   humanLoopStoreSemantics('redis', () => ({ open: () => createFeedbackStore(…) }), { shared: true });
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CaseNotFoundError, INDEX_GRACE_MS } from '../../src/store/humanLoopData.js';
import type { CaseRecord, FeedbackStore, FullRecord, OutboxTask, StaffRef, VerifiedAnswer } from '../../src/store/types.js';
import { newAnswer } from './records.js';

export interface LoopBackend {
  /** Opens a store on the same data every time. */
  open(): Promise<FeedbackStore>;
}

const staff = (name = 'ana'): StaffRef => ({ user: 'slack:aaaaaaaaaaaaaaaa', name, at: new Date().toISOString() });

export function caseRecord(overrides: Partial<CaseRecord> = {}): CaseRecord {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    answerId: randomUUID(),
    status: 'open',
    createdAt: now,
    origin: 'discord',
    requesters: [],
    votesAtEscalation: { up: 0, down: 1 },
    card: null,
    claimedBy: null,
    firstActionAt: null,
    resolution: null,
    remindedAt: null,
    ratings: {},
    outbox: [],
    version: 1,
    updatedAt: now,
    ...overrides,
  };
}

export function task(target: OutboxTask['target'], kind: OutboxTask['kind']): OutboxTask {
  return { id: randomUUID(), target, kind, createdAt: new Date().toISOString(), attempts: 0, notBefore: 0, lastError: null };
}

function verified(overrides: Partial<VerifiedAnswer> = {}): VerifiedAnswer {
  const at = new Date().toISOString();
  return {
    id: randomUUID(),
    question: 'O que é overfitting?',
    answer: 'É quando o modelo decora o treino.',
    references: [],
    source: 'ta-answer',
    caseId: null,
    answerId: null,
    by: staff(),
    createdAt: at,
    updatedAt: at,
    updatedBy: null,
    retired: null,
    embedding: null,
    ...overrides,
  };
}

export function humanLoopStoreSemantics(name: string, setup: () => LoopBackend, options: { shared?: boolean } = {}) {
  describe(`human-loop store primitives: ${name}`, () => {
    const opened: FeedbackStore[] = [];
    const open = async () => {
      const store = await setup().open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
    });

    it('leases: one owner at a time, renewed by its owner, released only by it, ended by their time', async () => {
      const store = await open();
      const key = `test-${randomUUID()}`;
      expect(await store.leases.acquire(key, 'a', 10_000)).toBe(true);
      expect(await store.leases.acquire(key, 'b', 10_000)).toBe(false);
      expect(await store.leases.acquire(key, 'a', 10_000)).toBe(true);
      await store.leases.release(key, 'b');
      expect(await store.leases.acquire(key, 'b', 10_000)).toBe(false);
      await store.leases.release(key, 'a');
      expect(await store.leases.acquire(key, 'b', 150)).toBe(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.leases.acquire(key, 'c', 10_000)).toBe(true);
    });

    it('updates a case under its lock: concurrent changes all land, versions count them', async () => {
      const store = await open();
      const other = options.shared ? await open() : store;
      const { record } = await store.loop.openOrJoin(randomUUID(), () => caseRecord(), () => null);
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).loop.updateCase(record.id, (c) => ({ ...c, ratings: { ...c.ratings, [`u${i}`]: 'up' } })),
        ),
      );
      const final = await store.loop.getCase(record.id);
      expect(Object.keys(final!.ratings)).toHaveLength(20);
      expect(final!.version).toBe(21);
      await expect(store.loop.updateCase('no-such-case', (c) => c)).rejects.toBeInstanceOf(CaseNotFoundError);
      const unchanged = await store.loop.updateCase(record.id, () => null);
      expect(unchanged.changed).toBe(false);
      expect(unchanged.record.version).toBe(21);
    });

    it('keeps one case per answer, however many ask at once', async () => {
      const store = await open();
      const other = options.shared ? await open() : store;
      const answerId = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          (i % 2 === 0 ? store : other).loop.openOrJoin(
            answerId,
            () => caseRecord({ answerId, requesters: [{ user: `u${i}`, platform: 'discord', at: '', details: null, name: null, address: null, delivery: { status: 'waiting', at: null, via: null, error: null } }] }),
            (c) => ({ ...c, requesters: [...c.requesters, { ...c.requesters[0]!, user: `u${i}` }] }),
          ),
        ),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
      const stored = await store.loop.caseOfAnswer(answerId);
      expect(stored!.requesters.map((r) => r.user).sort()).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
      expect(await store.loop.openCaseIds()).toContain(stored!.id);
    });

    it('indexes the cases that owe a target work, and prunes them only once done and past the grace time', async () => {
      const store = await open();
      const { record } = await store.loop.openOrJoin(randomUUID(), () => caseRecord({ outbox: [task('slack', 'post-card')] }), () => null);
      expect(await store.loop.pendingCases('slack')).toContain(record.id);
      expect(await store.loop.pendingCases('discord')).not.toContain(record.id);
      await store.loop.updateCase(record.id, (c) => ({ ...c, outbox: [...c.outbox, task('discord', 'deliver')] }));
      expect(await store.loop.pendingCases('discord')).toContain(record.id);
      // Work still owed: never pruned.
      expect(await store.loop.prunePending('slack', record.id, Date.now() + INDEX_GRACE_MS * 2)).toBe(false);
      await store.loop.updateCase(record.id, (c) => ({ ...c, outbox: c.outbox.filter((t) => t.target !== 'slack') }));
      // Done, but the entry is young: kept (a writer may be between its two steps).
      expect(await store.loop.prunePending('slack', record.id)).toBe(false);
      expect(await store.loop.prunePending('slack', record.id, Date.now() + INDEX_GRACE_MS + 1)).toBe(true);
      expect(await store.loop.pendingCases('slack')).not.toContain(record.id);
      expect(await store.loop.pendingCases('discord')).toContain(record.id);
    });

    it('leaves the open-cases index when a case is resolved', async () => {
      const store = await open();
      const { record } = await store.loop.openOrJoin(randomUUID(), () => caseRecord(), () => null);
      expect(await store.loop.openCaseIds()).toContain(record.id);
      await store.loop.updateCase(record.id, (c) => ({ ...c, status: 'closed' }));
      expect(await store.loop.openCaseIds()).not.toContain(record.id);
    });

    it('versions the knowledge: every new, edited or retired verified answer or note is seen by another store object', async () => {
      const store = await open();
      const other = options.shared ? await open() : store;
      const before = await other.loop.knowledgeVersion();
      const v = verified();
      await store.loop.addVerified(v);
      expect(await other.loop.knowledgeVersion()).toBe(before + 1);
      expect((await other.loop.knowledgeIndex()).verified[v.id]).toBe(1);
      await store.loop.updateVerified(v.id, (c) => ({ ...c, answer: 'Editada.' }));
      await store.loop.addNotes([
        { id: randomUUID(), text: 'Nota', videoId: 'aula1', title: 'Aula 1', start: 10, end: 60, url: 'https://youtu.be/x?t=10', caseId: null, answerId: null, by: staff(), createdAt: v.createdAt, retired: null },
      ]);
      expect(await other.loop.knowledgeVersion()).toBe(before + 3);
      expect((await other.loop.knowledgeIndex()).verified[v.id]).toBe(2);
      const loaded = await other.loop.loadKnowledge();
      expect(loaded.verified.find((x) => x.id === v.id)?.answer).toBe('Editada.');
      expect(loaded.notes.some((n) => n.text === 'Nota')).toBe(true);
      const onlyOne = await other.loop.loadKnowledge({ verified: [v.id], notes: [] });
      expect(onlyOne.verified.map((x) => x.id)).toEqual([v.id]);
      expect(onlyOne.notes).toEqual([]);
      expect(await store.loop.updateVerified('unknown', (c) => c)).toBeUndefined();
      expect(await other.loop.knowledgeVersion()).toBe(before + 3);
    });

    it('keeps notices until shown, and only the ones shown are removed', async () => {
      const store = await open();
      const user = `discord:${randomUUID().slice(0, 16)}`;
      await store.loop.addNotice(user, 'c1');
      await store.loop.addNotice(user, 'c2');
      await store.loop.addNotice(user, 'c1');
      let seen: string[] = [];
      await store.loop.withNotices(user, async (ids) => {
        seen = ids;
        return ['c1'];
      });
      expect(seen).toEqual(['c1', 'c2']);
      await store.loop.withNotices(user, async (ids) => {
        seen = ids;
        return ids;
      });
      expect(seen).toEqual(['c2']);
      seen = [];
      await store.loop.withNotices(user, async (ids) => {
        seen = ids;
        return ids;
      });
      expect(seen).toEqual([]);
    });

    it('lists cases without addresses, with timings, filtered; and joins them to the exported records', async () => {
      const store = await open();
      const answer = newAnswer();
      await store.recordAnswer(answer, { platform: 'discord', channel: 'c', rawUserId: '123456789012345678' });
      const created = new Date(Date.now() - 60_000).toISOString();
      const { record } = await store.loop.openOrJoin(
        answer.id,
        () =>
          caseRecord({
            answerId: answer.id,
            createdAt: created,
            requesters: [
              { user: 'discord:1111111111111111', platform: 'discord', at: created, details: null, name: null, address: { v: 1, iv: 'aXY=', tag: 'dGFn', data: 'ZGF0YQ==' }, delivery: { status: 'waiting', at: null, via: null, error: null } },
            ],
          }),
        () => null,
      );
      const by = staff();
      await store.loop.updateCase(record.id, (c) => ({
        ...c,
        status: 'answered',
        firstActionAt: new Date(Date.parse(created) + 10_000).toISOString(),
        resolution: { kind: 'answered', by: { ...by, at: new Date(Date.parse(created) + 30_000).toISOString() }, text: 'Resposta do monitor', references: [], botLabel: 'I', verifiedId: 'v1', noteIds: [] },
      }));
      const all = await store.listCases();
      const mine = all.find((c) => c.id === record.id)!;
      expect(mine.timings).toEqual({ firstActionMs: 10_000, resolvedMs: 30_000 });
      expect(JSON.stringify(mine)).not.toContain('ZGF0YQ==');
      expect('outbox' in mine).toBe(false);
      expect((await store.listCases({ status: ['open'] })).some((c) => c.id === record.id)).toBe(false);
      expect((await store.listCases({ status: ['answered'] })).some((c) => c.id === record.id)).toBe(true);
      expect((await store.listCases({ since: new Date(Date.now() + 60_000) })).length).toBe(0);
      // Two later answers served by the verified answer this case made.
      for (let i = 0; i < 2; i++) {
        await store.recordAnswer({ ...newAnswer(), kind: 'verified', verified: { id: 'v1', similarity: 0.97, method: 'lexical' } }, { platform: 'discord', channel: 'c', rawUserId: '2' });
      }
      const records = await store.listRecords();
      const escalated = records.find((r) => r.id === answer.id)!;
      expect(escalated.case?.status).toBe('answered');
      expect(escalated.verifiedHits).toBe(2);
      expect(JSON.stringify(records)).not.toContain('ZGF0YQ==');
      expect(records.filter((r) => r.verified?.id === 'v1')).toHaveLength(2);
      // The streamed read (report, digest) gives the same case and hits, texts left out or not.
      for (const omitTexts of [false, true]) {
        const streamed: FullRecord[] = [];
        for await (const record of store.iterateRecords({ omitTexts })) streamed.push(record);
        const same = streamed.find((r) => r.id === answer.id)!;
        expect(same.case).toEqual(escalated.case);
        expect(same.verifiedHits).toBe(2);
        expect(streamed.filter((r) => r.verified?.id === 'v1').every((r) => r.case === null && r.verifiedHits === 0)).toBe(true);
      }
    });

    it('derives the same key for a purpose from every store object on the same data, and different keys per purpose', async () => {
      const store = await open();
      const other = await open();
      const a = await store.deriveKey('purpose-a');
      expect(a).toHaveLength(32);
      expect((await other.deriveKey('purpose-a')).equals(a)).toBe(true);
      expect((await store.deriveKey('purpose-b')).equals(a)).toBe(false);
    });
  });
}
