/**
 * The feedback store's contract, as one suite that every backend must pass: the unit lane runs
 * it on SQLite and memory, test/unit/store.test.ts on Redis, test/stores/ on Postgres.
 *
 *   storeSemantics('sqlite', () => ({ open: (salt) => createFeedbackStore(…), dump: async () => … }));
 *
 * `setup` is called before each test and returns a Backend whose `open` opens a store on the
 * same data every time (to test reopening) and whose `dump` returns every stored key and value
 * as text (to prove what is, and is not, written).
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { pseudonymFor, storeKeys } from '../../src/store/keyvStore.js';
import { SCAN_PAGE_ROWS } from '../../src/store/prefixScan.js';
import { AnswerNotFoundError, OMITTED_ANSWER_CHARS, VoteNotFoundError, type FeedbackStore, type FullRecord, type Platform } from '../../src/store/types.js';
import { judgeRecord, newAnswer, turnOf } from './records.js';

export const DISCORD_ID = '987654321012345678';
export const SLACK_ID = 'U0RAWSLACK42';
export const TA_ID = 'U0TEACHING77';

const ctx = (platform: Platform = 'discord', rawUserId = DISCORD_ID) => ({ platform, channel: 'C-general', rawUserId });

export interface Backend {
  /** Opens a store on the backend of the current test (same data on every call). */
  open(salt?: string): Promise<FeedbackStore>;
  /** Every stored key and value, as text. */
  dump(): Promise<{ keys: string[]; text: string }>;
}

export function storeSemantics(name: string, setup: () => Backend) {
  describe(`feedback store semantics: ${name}`, () => {
    let backend: Backend;
    const opened: FeedbackStore[] = [];
    /** `null` = no USER_ID_SALT (the store generates and keeps one). */
    const open = async (salt: string | null = 'sal-de-teste-1234') => {
      const store = await backend.open(salt ?? undefined);
      opened.push(store);
      return store;
    };

    beforeEach(async () => {
      backend = setup();
      return async () => {
        for (const s of opened.splice(0)) await s.close();
      };
    });

    it('records an answer with a pseudonymous user and reads it back', async () => {
      const store = await open();
      const input = newAnswer();
      const recorded = await store.recordAnswer(input, ctx());
      expect(recorded.user).toMatch(/^discord:[0-9a-f]{16}$/);
      expect(recorded.user).toBe(store.pseudonymize('discord', DISCORD_ID));
      expect(recorded.platform).toBe('discord');
      expect(recorded.channel).toBe('C-general');
      expect(await store.getAnswer(input.id)).toEqual(recorded);
      expect(await store.getAnswer('nao-existe')).toBeUndefined();
      expect(store.description).not.toMatch(/password|sal-de-teste/);
    });

    it('keeps the retrieval evidence, the moment and the closest flag when the answer has them', async () => {
      const store = await open();
      const base = newAnswer();
      const input = newAnswer({
        kind: 'not-found',
        segments: [{ ...base.segments[0]!, evidence: { coverage: 0.25, matched: ['dropout'], similarity: 0.81 }, moment: { at: 2497, excerpt: 'então o dropout' } }],
        references: [{ ...base.references[0]!, at: 2497, closest: true }],
        coverage: { lexical: 0.25, matched: ['dropout'], unknown: ['lstm'], contentWords: 2, dense: 0.81 },
      });
      await store.recordAnswer(input, ctx());
      const stored = await store.getAnswer(input.id);
      expect(stored?.segments[0]).toMatchObject({ evidence: { coverage: 0.25, matched: ['dropout'], similarity: 0.81 }, moment: { at: 2497 } });
      expect(stored?.references[0]).toMatchObject({ at: 2497, closest: true });
      expect(stored?.coverage).toEqual(input.coverage);
      // Older answers, recorded without them, have none.
      const plain = newAnswer();
      await store.recordAnswer(plain, ctx());
      const old = await store.getAnswer(plain.id);
      expect(old?.segments[0]).not.toHaveProperty('evidence');
      expect(old).not.toHaveProperty('coverage');
    });

    it('stores a vote, changes it (latest wins) and keeps one vote per user', async () => {
      const store = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx());
      const first = await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
      expect(first.previous).toBeNull();
      expect(first.vote.user).toBe(store.pseudonymize('slack', SLACK_ID));
      const again = await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
      expect(again.previous).toBe('up');
      const changed = await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'down' });
      expect(changed.previous).toBe('up');
      const votes = await store.votes(a.id);
      expect(votes).toHaveLength(1);
      expect(votes[0]?.value).toBe('down');
      const [record] = await store.listRecords();
      expect(record?.votes).toMatchObject({ up: 0, down: 1 });
    });

    it('keeps the comment across a vote change unless a new one is given, and replaces it on commentVote', async () => {
      const store = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx());
      const v = { answerId: a.id, platform: 'discord' as const, rawUserId: DISCORD_ID };
      await store.vote({ ...v, value: 'down', comment: 'faltou o exemplo, "claro"' });
      expect((await store.vote({ ...v, value: 'up' })).vote.comment).toBe('faltou o exemplo, "claro"');
      expect((await store.commentVote({ ...v, comment: '  agora entendi \n' })).comment).toBe('agora entendi');
      expect((await store.vote({ ...v, value: 'down', comment: 'mudei de ideia' })).vote.comment).toBe('mudei de ideia');
      const votes = await store.votes(a.id);
      expect(votes).toHaveLength(1);
      expect(votes[0]).toMatchObject({ value: 'down', comment: 'mudei de ideia' });
      await expect(store.commentVote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, comment: 'x' })).rejects.toBeInstanceOf(
        VoteNotFoundError,
      );
    });

    it('counts 200 concurrent votes by different users on one answer (two store instances)', async () => {
      const storeA = await open();
      const storeB = await open();
      const a = newAnswer();
      await storeA.recordAnswer(a, ctx());
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 === 0 ? storeA : storeB).vote({ answerId: a.id, platform: 'discord', rawUserId: `user-${i}`, value: i % 4 === 0 ? 'down' : 'up' }),
        ),
      );
      const [record] = await storeA.listRecords();
      expect(record?.votes.up).toBe(150);
      expect(record?.votes.down).toBe(50);
      expect(record?.votes.items).toHaveLength(200);
      expect(new Set(record?.votes.items.map((v) => v.user)).size).toBe(200);
      expect(await storeB.votes(a.id)).toHaveLength(200);
    });

    it('keeps exactly one vote when the same user votes concurrently; in one process the last vote wins', async () => {
      const store = await open();
      const other = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx());
      const values = Array.from({ length: 30 }, (_, i) => (i % 2 === 0 ? 'up' : 'down') as 'up' | 'down');
      await Promise.all(values.map((value) => store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value })));
      let votes = await store.votes(a.id);
      expect(votes).toHaveLength(1);
      expect(votes[0]?.value).toBe(values[values.length - 1]);
      await Promise.all(
        values.map((value, i) => (i % 2 ? store : other).vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value })),
      );
      votes = await store.votes(a.id);
      expect(votes).toHaveLength(1);
    });

    it('keeps the latest annotation and the history of every annotation', async () => {
      const store = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx());
      await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'C' });
      await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: 'U0OTHERTA', label: 'P' });
      const last = await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'I' });
      expect(last.annotator).toBe(store.pseudonymize('slack', TA_ID));
      expect(await store.annotation(a.id)).toEqual(last);
      expect((await store.listRecords())[0]?.annotation).toEqual(last);
      // Concurrent annotations: one of them wins, and it is the one with the latest time.
      const labels = ['C', 'P', 'I', 'C', 'P', 'I', 'C', 'P'] as const;
      const written = await Promise.all(
        labels.map((label, i) => store.annotate({ answerId: a.id, platform: 'discord', rawUserId: `ta-${i}`, label })),
      );
      const latest = [...written].sort((x, y) => (x.at < y.at ? 1 : -1))[0];
      expect(await store.annotation(a.id)).toEqual(latest);
      await store.close();
      const { keys } = await backend.dump();
      const history = keys.filter((k) => k.includes(`annotation:${a.id}:`));
      expect(history).toHaveLength(3 + labels.length);
    });

    it('stores judge verdicts', async () => {
      const store = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx());
      expect(await store.judge(a.id)).toBeNull();
      const verdict = judgeRecord(a.id);
      await store.saveJudge(verdict);
      expect(await store.judge(a.id)).toEqual(verdict);
      expect((await store.listRecords())[0]?.judge?.status).toBe('ok');
    });

    it('rejects votes, comments, annotations and verdicts on an unknown answer with AnswerNotFoundError', async () => {
      const store = await open();
      const base = { answerId: 'desconhecida', platform: 'discord' as const, rawUserId: DISCORD_ID };
      await expect(store.vote({ ...base, value: 'up' })).rejects.toBeInstanceOf(AnswerNotFoundError);
      await expect(store.commentVote({ ...base, comment: 'oi' })).rejects.toBeInstanceOf(AnswerNotFoundError);
      await expect(store.annotate({ ...base, label: 'C' })).rejects.toBeInstanceOf(AnswerNotFoundError);
      await expect(store.saveJudge(judgeRecord('desconhecida'))).rejects.toBeInstanceOf(AnswerNotFoundError);
      expect(await store.votes('desconhecida')).toEqual([]);
      expect(await store.annotation('desconhecida')).toBeNull();
    });

    it('lists records oldest first and filters them with since', async () => {
      const store = await open();
      const dates = ['2026-03-10T12:00:00.000Z', '2026-03-01T08:00:00.000Z', '2026-03-05T00:00:00.000Z', '2026-02-27T23:59:59.000Z'];
      for (const createdAt of dates) await store.recordAnswer(newAnswer({ createdAt }), ctx());
      expect((await store.listRecords()).map((r) => r.createdAt)).toEqual([...dates].sort());
      expect((await store.listRecords({ since: new Date('2026-03-01T08:00:00.000Z') })).map((r) => r.createdAt)).toEqual([
        '2026-03-01T08:00:00.000Z',
        '2026-03-05T00:00:00.000Z',
        '2026-03-10T12:00:00.000Z',
      ]);
      expect(await store.listRecords({ since: new Date('2027-01-01') })).toEqual([]);
    });

    it('streams the same records as listRecords, in pages, with since', async () => {
      const store = await open();
      const dates = ['2026-03-10T12:00:00.000Z', '2026-03-01T08:00:00.000Z', '2026-03-05T00:00:00.000Z'];
      const ids: string[] = [];
      for (const createdAt of dates) {
        const a = newAnswer({ createdAt, question: ':começa com dois-pontos' });
        ids.push(a.id);
        await store.recordAnswer(a, ctx());
      }
      await store.vote({ answerId: ids[0]!, platform: 'discord', rawUserId: DISCORD_ID, value: 'down', comment: 'incompleta' });
      await store.vote({ answerId: ids[0]!, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
      await store.annotate({ answerId: ids[1]!, platform: 'slack', rawUserId: TA_ID, label: 'I' });
      await store.annotate({ answerId: ids[1]!, platform: 'slack', rawUserId: TA_ID, label: 'P' });
      await store.saveJudge(judgeRecord(ids[2]!));
      const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
      const collect = async (options?: { since?: Date }) => {
        const out = [];
        for await (const record of store.iterateRecords(options)) out.push(record);
        return out.sort(byId);
      };
      const streamed = await collect();
      expect(streamed).toEqual((await store.listRecords()).sort(byId));
      expect(streamed.find((r) => r.id === ids[1])?.annotation?.label).toBe('P');
      expect(streamed.find((r) => r.id === ids[0])?.votes).toMatchObject({ up: 1, down: 1 });
      expect(streamed.every((r) => r.question === ':começa com dois-pontos')).toBe(true);
      const since = new Date('2026-03-05T00:00:00.000Z');
      expect((await collect({ since })).map((r) => r.createdAt).sort()).toEqual(['2026-03-05T00:00:00.000Z', '2026-03-10T12:00:00.000Z']);

      // More answers than one page, each with its own vote and verdict.
      const more = SCAN_PAGE_ROWS + 7;
      const extra = Array.from({ length: more }, (_, i) => newAnswer({ createdAt: new Date(Date.UTC(2026, 3, 1, 0, 0, i)).toISOString() }));
      for (const a of extra) await store.recordAnswer(a, ctx());
      for (const a of extra.slice(-3)) {
        await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'up' });
        await store.saveJudge(judgeRecord(a.id));
      }
      const all = await collect();
      expect(all).toHaveLength(dates.length + more);
      expect(new Set(all.map((r) => r.id)).size).toBe(all.length);
      expect(all.filter((r) => r.judge !== null)).toHaveLength(4);
      expect(all.filter((r) => r.votes.up === 1 && r.votes.down === 0)).toHaveLength(3);
    });

    it('streams records without their long texts when asked (omitTexts)', async () => {
      const store = await open();
      const long = `:${'resposta longa '.repeat(40)}`;
      const base = newAnswer();
      const a = newAnswer({
        answer: long,
        question: ':dois-pontos no começo',
        segments: base.segments.map((s) => ({ ...s, evidence: { coverage: 0.5, matched: ['dropout'] }, moment: { at: s.start + 5, excerpt: 'então o dropout desliga' } })),
        coverage: { lexical: 0.5, matched: ['dropout'], unknown: ['lstm'], contentWords: 2, dense: null },
        conversationId: randomUUID(),
        turn: 2,
        lectureFilter: ['aula06'],
        retrievalQuery: 'Como usar dropout no keras?',
        policy: { mode: 'guide', version: '2026-1', text: `Não resolva a Lista 3. ${'Explique os conceitos. '.repeat(100)}` },
      });
      await store.recordAnswer(a, ctx());
      await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'down', comment: ':comentário' });
      await store.saveJudge(judgeRecord(a.id));
      const plain = newAnswer();
      await store.recordAnswer(plain, ctx());
      const slim = [];
      for await (const record of store.iterateRecords({ omitTexts: true })) slim.push(record);
      const full = await store.listRecords();
      expect(slim).toHaveLength(2);
      for (const record of slim) {
        const original = full.find((r) => r.id === record.id)!;
        expect(record.segments.every((s) => s.text === '' && (s.moment?.excerpt ?? '') === '')).toBe(true);
        expect(record.answer).toBe(original.answer.slice(0, OMITTED_ANSWER_CHARS));
        // Everything else is as stored: the moments' seconds, the evidence, the coverage, the
        // conversation, the lecture filter, the policy's mode and version.
        const policy = original.policy ? { ...original.policy, text: null } : null;
        expect({ ...record, answer: '', segments: [], judge: null }).toEqual({ ...original, answer: '', segments: [], judge: null, policy });
        const withoutTexts = (segments: FullRecord['segments']) =>
          segments.map(({ text: _t, moment, ...rest }) => ({ ...rest, ...(moment ? { moment: { ...moment, excerpt: '' } } : {}) }));
        expect(withoutTexts(record.segments)).toEqual(withoutTexts(original.segments));
      }
      const judged = slim.find((r) => r.id === a.id)!;
      expect(judged.segments[0]?.moment).toEqual({ at: a.segments[0]!.start + 5, excerpt: '' });
      expect(judged.coverage?.unknown).toEqual(['lstm']);
      expect(judged).toMatchObject({ turn: 2, lectureFilter: ['aula06'], retrievalQuery: 'Como usar dropout no keras?', policy: { mode: 'guide', version: '2026-1', text: null } });
      expect(judged.question).toBe(':dois-pontos no começo');
      expect(judged.answer.startsWith(':resposta longa')).toBe(true);
      expect(judged.votes.items[0]?.comment).toBe(':comentário');
      const verdict = judgeRecord(a.id);
      expect(judged.judge).toMatchObject({ status: 'ok', label: verdict.label, abstained: false, reasoning: '', groundednessMean: verdict.groundednessMean });
      expect(judged.judge?.answerRelevance).toEqual({ ...verdict.answerRelevance, criteria: '', supportingEvidence: '' });
      expect(judged.judge?.contextRelevance.map((c) => c.normalized)).toEqual(verdict.contextRelevance.map((c) => c.normalized));
      expect(judged.judge?.groundedness.every((g) => g.sentence === '' && g.criteria === '')).toBe(true);
    });

    it('keeps everything after a restart, pseudonyms included (explicit and generated salt)', async () => {
      for (const salt of ['sal-de-teste-1234', null]) {
        const store = await open(salt);
        const a = newAnswer();
        await store.recordAnswer(a, ctx());
        await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'down', comment: 'incompleta' });
        await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
        await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'P' });
        await store.saveJudge(judgeRecord(a.id));
        const before = await store.listRecords();
        const pseudonym = store.pseudonymize('discord', DISCORD_ID);
        await store.close();

        const reopened = await open(salt);
        expect(await reopened.listRecords()).toEqual(before);
        expect(reopened.pseudonymize('discord', DISCORD_ID)).toBe(pseudonym);
        await reopened.close();
        if (salt === null) {
          const { keys } = await backend.dump();
          expect(keys.some((k) => k.endsWith(storeKeys.salt))).toBe(true);
        }
      }
    });

    it('keeps a conversation: turn numbers distinct under concurrency, turns read back in order, threads linked', async () => {
      const store = await open();
      const other = await open();
      const conversationId = randomUUID();
      expect(await store.getConversation(conversationId)).toBeNull();
      // Callers asking for numbers at once never get the same one: across two "processes" when the
      // backend counts in the store (Redis, Postgres), within one process otherwise (SQLite, memory).
      const numbers = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 && store.counter ? other : store).nextTurnNumber(conversationId)));
      expect([...numbers].sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
      for (const n of [3, 1, 2]) await store.saveTurn(turnOf(conversationId, n, store.pseudonymize('discord', DISCORD_ID)));
      const conversation = await other.getConversation(conversationId);
      expect(conversation?.id).toBe(conversationId);
      expect(conversation?.turns.map((t) => [t.turn, t.question])).toEqual([
        [1, 'Pergunta 1'],
        [2, 'Pergunta 2'],
        [3, 'Pergunta 3'],
      ]);
      expect(conversation?.turns[0]?.segments[0]).toMatchObject({ corpusId: 412, videoId: 'aula6' });
      // A later number never repeats a stored turn, whichever store instance asks (nor, with a
      // shared counter, one handed out elsewhere and not stored yet).
      expect(await other.nextTurnNumber(conversationId)).toBeGreaterThan(store.counter ? 7 : 3);

      expect(await store.threadConversation('discord', '1300000000000000001')).toBeNull();
      await store.linkThread({ platform: 'discord', thread: '1300000000000000001', conversationId });
      expect(await other.threadConversation('discord', '1300000000000000001')).toBe(conversationId);
      expect(await other.threadConversation('slack', '1300000000000000001')).toBeNull();
      await store.linkThread({ platform: 'slack', thread: 'C0DUVIDAS:1712345678.000100', conversationId });
      expect(await store.threadConversation('slack', 'C0DUVIDAS:1712345678.000100')).toBe(conversationId);
      // Conversations and links are not answers: the export lists none of them.
      expect(await store.listRecords()).toEqual([]);
    });

    it('stores the conversation fields of an answer and reads records written before them with nulls', async () => {
      const store = await open();
      const a = newAnswer({
        conversationId: 'c-1',
        turn: 2,
        lectureFilter: ['aula03'],
        policy: { version: 'v1', mode: 'guide', text: 'Não resolva a Lista 2.' },
        retrievalQuery: 'Como evitar overfitting no keras?',
      });
      await store.recordAnswer(a, ctx());
      expect(await store.getAnswer(a.id)).toMatchObject({
        conversationId: 'c-1',
        turn: 2,
        lectureFilter: ['aula03'],
        policy: { version: 'v1', mode: 'guide', text: 'Não resolva a Lista 2.' },
        retrievalQuery: 'Como evitar overfitting no keras?',
      });
      const { conversationId: _c, turn: _t, lectureFilter: _l, policy: _p, retrievalQuery: _r, ...old } = newAnswer();
      await store.recordAnswer(old, ctx());
      const read = await store.getAnswer(old.id);
      expect(read).toMatchObject({ conversationId: null, turn: null, lectureFilter: null, policy: null, retrievalQuery: null });
      const listed = (await store.listRecords()).find((r) => r.id === old.id);
      expect(listed).toMatchObject({ conversationId: null, turn: null, lectureFilter: null, policy: null, retrievalQuery: null });
    });

    it('never stores raw platform user ids', async () => {
      const store = await open();
      const a = newAnswer();
      await store.recordAnswer(a, ctx('discord', DISCORD_ID));
      await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'up', comment: 'boa' });
      await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'down' });
      await store.commentVote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, comment: 'faltou' });
      await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'C' });
      await store.close();
      const { keys, text } = await backend.dump();
      expect(text.length).toBeGreaterThan(100);
      expect(text).toContain(pseudonymFor('sal-de-teste-1234', 'discord', DISCORD_ID));
      for (const raw of [DISCORD_ID, SLACK_ID, TA_ID]) {
        expect(text).not.toContain(raw);
        expect(keys.join('\n')).not.toContain(raw);
      }
      expect(text).not.toContain('sal-de-teste-1234');
    });
  });
}

