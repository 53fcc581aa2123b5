/**
 * The human loop's store primitives (test/helpers/humanLoopStoreSuite.ts) on memory, SQLite and
 * Redis; Redis also across two store objects on the same server (two bot processes). Postgres
 * runs the same suite in test/stores/postgres.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { REDIS_LEASE_PREFIX } from '../../src/store/leases.js';
import { humanLoopStoreSemantics } from '../helpers/humanLoopStoreSuite.js';
import { startRedisServer, type RedisServer } from '../helpers/redisServer.js';
import { describeWith } from '../helpers/services.js';

const logger = createLogger({ level: 'silent' });

describe('memory', () => {
  // One Map per store object: the suite's cross-object checks run only on shared backends.
  humanLoopStoreSemantics('memory', () => ({ open: () => createFeedbackStore({ url: 'memory://', salt: 'sal-da-memoria', logger }) }));
});

describe('sqlite', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'pergunta-loop-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  humanLoopStoreSemantics('sqlite', () => {
    const file = path.join(dir, `${randomUUID()}.sqlite`);
    return { open: () => createFeedbackStore({ url: `sqlite://${file}`, salt: 'sal-do-sqlite', logger, journalDir: null }) };
  });
});

describeWith('redis')('redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  humanLoopStoreSemantics('redis', () => ({ open: () => createFeedbackStore({ url: server.url, salt: 'sal-do-redis', logger, journalDir: null }) }), { shared: true });

  it('keeps leases outside the keyv namespace, with an expiry the server enforces', async () => {
    const store = await createFeedbackStore({ url: server.url, salt: 'sal-do-redis', logger, journalDir: null });
    const client = createClient({ url: server.url });
    await client.connect();
    try {
      expect(await store.leases.acquire('probe', 'me', 5_000)).toBe(true);
      const ttl = await client.pTTL(`${REDIS_LEASE_PREFIX}probe`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
      expect(await client.get(`${REDIS_LEASE_PREFIX}probe`)).toBe('me');
    } finally {
      await client.close();
      await store.close();
    }
  });
});
