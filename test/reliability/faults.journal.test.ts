/**
 * The feedback store's local journal on Redis (a restartable redis-server, killed with SIGKILL
 * and started again; skipped when redis-server is missing, a failure under REQUIRE_SERVICES=1):
 * answers and votes given while the store is down are stored once it is back. The same suite runs
 * on Postgres in test/stores/postgres.test.ts.
 */
import { afterAll, beforeAll } from 'vitest';
import { journalSuite } from '../helpers/journalSuite.js';
import { startRestartableRedis, type RestartableRedis } from '../helpers/restartableRedis.js';
import { describeWith } from '../helpers/services.js';

describeWith('redis')('redis', () => {
  let redis: RestartableRedis;
  beforeAll(async () => {
    redis = await startRestartableRedis();
  });
  afterAll(async () => {
    await redis?.destroy();
  });

  journalSuite('redis', () => ({ url: redis.url, kill: () => redis.kill(), start: () => redis.start() }));
});
