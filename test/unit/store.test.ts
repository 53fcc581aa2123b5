/**
 * Feedback store semantics on SQLite (temp file) and Redis (a redis-server spawned on
 * 127.0.0.1 by the test; skipped when redis-server is missing, a failure under REQUIRE_SERVICES=1),
 * plus the in-memory backend.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { pseudonymFor, storeKeys } from '../../src/store/keyvStore.js';
import { VoteNotFoundError } from '../../src/store/types.js';
import {
  AnswerNotFoundError,
  StoreUnavailableError,
  type FeedbackStore,
  type JudgeRecord,
  type Platform,
} from '../../src/store/types.js';
import { startRedisServer, type RedisServer } from '../helpers/redisServer.js';
import { describeWith, hasService } from '../helpers/services.js';

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });

const DISCORD_ID = '987654321012345678';
const SLACK_ID = 'U0RAWSLACK42';
const TA_ID = 'U0TEACHING77';

type NewAnswer = Parameters<FeedbackStore['recordAnswer']>[0];

function newAnswer(overrides: Partial<NewAnswer> = {}): NewAnswer {
  return {
    id: randomUUID(),
    question: 'Como funciona o dropout?',
    answer: 'O dropout desliga neurônios aleatoriamente durante o treino [1].',
    kind: 'llm',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-11-26.1',
    segments: [
      {
        corpusId: 412,
        score: 0.8421,
        foundBy: { dense: { rank: 1, score: 0.91 }, lexical: { rank: 2, score: 7.5 } },
        videoId: 'aula6',
        title: 'Aula 6 — Regularização',
        url: 'https://youtu.be/abc123?t=2470',
        start: 2470,
        end: 2615,
        text: 'então o dropout ele desliga aleatoriamente alguns neurônios',
      },
    ],
    references: [{ videoId: 'aula6', title: 'Aula 6 — Regularização', start: 2470, end: 2615, url: 'https://youtu.be/abc123?t=2470' }],
    notices: [],
    timings: { embedMs: 12, retrieveMs: 30, generateMs: 800, totalMs: 850 },
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}

const ctx = (platform: Platform = 'discord', rawUserId = DISCORD_ID) => ({ platform, channel: 'C-general', rawUserId });

function judgeFor(answerId: string): JudgeRecord {
  const score = { raw: 3, normalized: 1, criteria: 'responde', supportingEvidence: 'cita o trecho' };
  return {
    answerId,
    status: 'ok',
    error: null,
    judgeModel: 'judge-model',
    promptVersion: 'juiz-test',
    at: new Date().toISOString(),
    answerRelevance: score,
    contextRelevance: [{ ...score, corpusId: 412 }],
    groundedness: [{ ...score, sentence: 'O dropout desliga neurônios.' }],
    groundednessMean: 1,
    label: 'C',
    abstained: false,
    reasoning: 'Criteria: responde Supporting Evidence: cita o trecho Score: 3',
  };
}

interface Backend {
  /** Opens a store on the backend of the current test (same data on every call). */
  open(salt?: string): Promise<FeedbackStore>;
  /** Every stored key and value, as text. */
  dump(): Promise<{ keys: string[]; text: string }>;
}

function storeSemantics(name: string, setup: () => Backend) {
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
      const verdict = judgeFor(a.id);
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
      await expect(store.saveJudge(judgeFor('desconhecida'))).rejects.toBeInstanceOf(AnswerNotFoundError);
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

    it('keeps everything after a restart, pseudonyms included (explicit and generated salt)', async () => {
      for (const salt of ['sal-de-teste-1234', null]) {
        const store = await open(salt);
        const a = newAnswer();
        await store.recordAnswer(a, ctx());
        await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'down', comment: 'incompleta' });
        await store.vote({ answerId: a.id, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
        await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'P' });
        await store.saveJudge(judgeFor(a.id));
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

// -------------------------------------------------------------------------------------------------

describe('sqlite backend', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pergunta-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  storeSemantics('sqlite', () => {
    const file = path.join(dir, randomUUID(), 'nested', 'store.sqlite');
    return {
      open: (salt) => createFeedbackStore({ url: `sqlite://${file}`, salt, logger }),
      async dump() {
        let text = '';
        for (const f of [file, `${file}-wal`]) if (existsSync(f)) text += readFileSync(f).toString('latin1');
        const adapter = new KeyvSqlite({ uri: `sqlite://${file}` });
        const rows = (await adapter.query('SELECT key FROM keyv')) as { key: string }[];
        await adapter.disconnect();
        return { keys: rows.map((r) => r.key), text };
      },
    };
  });

  it('creates the parent folder and describes itself without secrets', async () => {
    const file = path.join(dir, 'a', 'b', 'c.sqlite');
    const store = await createFeedbackStore({ url: `sqlite://${file}`, salt: 'x'.repeat(16), logger });
    expect(store.description).toBe(`sqlite (${file})`);
    await store.recordAnswer(newAnswer(), ctx());
    await store.close();
    expect(existsSync(file)).toBe(true);
  });

  it('fails with StoreUnavailableError when the file cannot be opened', async () => {
    const blocker = path.join(dir, 'blocker');
    const store = await createFeedbackStore({ url: `sqlite://${blocker}`, salt: 'x'.repeat(16), logger });
    await store.recordAnswer(newAnswer(), ctx());
    await store.close();
    // A path "inside" a regular file cannot be created.
    await expect(createFeedbackStore({ url: `sqlite://${blocker}/inner.sqlite`, logger })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('warns once when it generates the salt, only at the first write', async () => {
    const file = path.join(dir, 'salted.sqlite');
    logLines.length = 0;
    const reader = await createFeedbackStore({ url: `sqlite://${file}`, logger });
    expect(await reader.listRecords()).toEqual([]);
    await reader.close();
    expect(logLines.join('')).not.toContain('USER_ID_SALT is not set');
    const writer = await createFeedbackStore({ url: `sqlite://${file}`, logger });
    await writer.recordAnswer(newAnswer(), ctx());
    await writer.recordAnswer(newAnswer(), ctx());
    await writer.close();
    expect(logLines.filter((l) => l.includes('USER_ID_SALT is not set'))).toHaveLength(1);
  });
});

describeWith('redis')('redis backend', () => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;

  beforeAll(async () => {
    server = await startRedisServer();
    client = createClient({ url: server.url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await server?.stop();
  });
  beforeEach(async () => {
    await client.flushAll();
  });

  storeSemantics('redis', () => ({
    open: (salt) => createFeedbackStore({ url: server.url, salt, logger }),
    async dump() {
      const keys = await client.keys('*');
      const values = keys.length > 0 ? await client.mGet(keys) : [];
      return { keys, text: `${keys.join('\n')}\n${values.join('\n')}` };
    },
  }));

  it('describes itself without the password and keeps keys in the pergunta namespace', async () => {
    const store = await createFeedbackStore({ url: `${server.url}/0`, salt: 's'.repeat(16), logger });
    expect(store.description).toBe(`redis (127.0.0.1:${server.port}/0)`);
    const a = newAnswer();
    await store.recordAnswer(a, ctx());
    await store.close();
    expect((await client.keys('*')).sort()).toEqual([`pergunta::answer:${a.id}`, 'pergunta::meta:saltCheck']);
  });
});

describe('store unavailable', () => {
  async function closedPort(): Promise<number> {
    return new Promise((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const address = s.address();
        const port = typeof address === 'object' && address ? address.port : 1;
        s.close(() => resolve(port));
      });
    });
  }

  it('turns a refused Redis connection into StoreUnavailableError quickly, without the password', async () => {
    const port = await closedPort();
    const started = Date.now();
    const error = await createFeedbackStore({ url: `redis://:s3cr3t-pass@127.0.0.1:${port}`, logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toMatch(/redis \(127\.0\.0\.1:\d+\)/);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).message).not.toContain('s3cr3t-pass');
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it('turns a refused Postgres connection into StoreUnavailableError quickly, without the password', async () => {
    const port = await closedPort();
    const error = await createFeedbackStore({ url: `postgresql://bot:s3cr3t-pass@127.0.0.1:${port}/pergunta`, logger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(`postgres (127.0.0.1:${port}/pergunta)`);
    expect((error as Error).message).not.toContain('s3cr3t-pass');
  });

  it.skipIf(!hasService('redis'))('fails operations of an open Redis store when the server goes away, instead of hanging', async () => {
    const own = await startRedisServer();
    const store = await createFeedbackStore({ url: own.url, salt: 'z'.repeat(16), logger });
    const a = newAnswer();
    await store.recordAnswer(a, ctx());
    await own.stop();
    const started = Date.now();
    await expect(store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'up' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await expect(store.listRecords()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(Date.now() - started).toBeLessThan(15_000);
    await store.close();
  });

  it('rejects an unsupported STORE_URL scheme', async () => {
    await expect(createFeedbackStore({ url: 'mongodb://localhost/x', logger })).rejects.toThrow(/unsupported STORE_URL scheme/);
  });
});

describe('memory backend', () => {
  it('supports the whole interface (used by the adapter tests)', async () => {
    const store = await createFeedbackStore({ url: 'memory://', salt: 'm'.repeat(16), logger });
    expect(store.description).toBe('memory');
    const a = newAnswer();
    await store.recordAnswer(a, ctx());
    await store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'up' });
    await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: TA_ID, label: 'C' });
    const [record] = await store.listRecords();
    expect(record).toMatchObject({ id: a.id, votes: { up: 1, down: 0 }, annotation: { label: 'C' }, judge: null });
    await store.close();
    await expect(store.getAnswer(a.id)).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('gives different pseudonyms under different salts and per platform', () => {
    expect(pseudonymFor('a'.repeat(16), 'discord', '1')).not.toBe(pseudonymFor('b'.repeat(16), 'discord', '1'));
    expect(pseudonymFor('a'.repeat(16), 'discord', '1')).not.toBe(pseudonymFor('a'.repeat(16), 'slack', '1').replace('slack', 'discord'));
  });
});
