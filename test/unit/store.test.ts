/**
 * The feedback store suite (test/helpers/storeSuite.ts) on SQLite (temp file), memory and Redis
 * (a redis-server spawned on 127.0.0.1 by the test; skipped when redis-server is missing, a
 * failure under REQUIRE_SERVICES=1), plus what is particular to each backend.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { createClient } from '@keyv/redis';
import { Keyv } from 'keyv';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { KeyvFeedbackStore, pseudonymFor, STORE_NAMESPACE } from '../../src/store/keyvStore.js';
import { StoreUnavailableError, type Platform } from '../../src/store/types.js';
import { newAnswer } from '../helpers/records.js';
import { startRedisServer, type RedisServer } from '../helpers/redisServer.js';
import { describeWith, hasService } from '../helpers/services.js';
import { DISCORD_ID, TA_ID, storeSemantics } from '../helpers/storeSuite.js';

const logLines: string[] = [];
const logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });

const ctx = (platform: Platform = 'discord', rawUserId = DISCORD_ID) => ({ platform, channel: 'C-general', rawUserId });

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
    // The backend itself, without the journal that would keep the vote (test/reliability/faults.journal.test.ts).
    const store = await createFeedbackStore({ url: own.url, salt: 'z'.repeat(16), logger, journalDir: null });
    const a = newAnswer();
    await store.recordAnswer(a, ctx());
    await own.stop();
    const started = Date.now();
    await expect(store.vote({ answerId: a.id, platform: 'discord', rawUserId: DISCORD_ID, value: 'up' })).rejects.toBeInstanceOf(
      StoreUnavailableError,
    );
    await expect(store.listRecords()).rejects.toBeInstanceOf(StoreUnavailableError);
    const streamed: string[] = [];
    const drain = async () => {
      for await (const record of store.iterateRecords()) streamed.push(record.id);
    };
    await expect(drain()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(streamed).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
    await store.close();
  });

  it('refuses a malformed STORE_URL before creating anything (no file named "sqlite:" in the working directory)', async () => {
    const cwd = process.cwd();
    const dir = mkdtempSync(path.join(tmpdir(), 'pergunta-store-url-'));
    process.chdir(dir);
    try {
      for (const url of ['sqlite:', 'sqlite:/x', 'sqlite:///', 'sqlite://', 'redis:', 'memory:']) {
        const error = await createFeedbackStore({ url, logger }).catch((e: unknown) => e);
        expect(error, url).toBeInstanceOf(ConfigError);
        expect((error as Error).message, url).toMatch(/STORE_URL ".*": .*Accepted forms: sqlite:\/\/relative\/path\.sqlite/);
      }
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      process.chdir(cwd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unsupported STORE_URL scheme', async () => {
    await expect(createFeedbackStore({ url: 'mongodb://localhost/x', logger })).rejects.toThrow(/unsupported STORE_URL scheme/);
  });
});

describe('memory backend', () => {
  // createFeedbackStore's memory:// branch on a Map the test keeps, so the suite can reopen it.
  storeSemantics('memory', () => {
    const map = new Map<string, unknown>();
    return {
      open: (salt) => KeyvFeedbackStore.open(new Keyv({ store: map, namespace: STORE_NAMESPACE, throwOnErrors: true }), { salt, logger, description: 'memory' }),
      dump: () => {
        const keys = [...map.keys()];
        return Promise.resolve({ keys, text: `${keys.join('\n')}\n${[...map.values()].map((v) => JSON.stringify(v)).join('\n')}` });
      },
    };
  });

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
