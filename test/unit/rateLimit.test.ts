/**
 * The question rate limit across bot processes on Redis (a restartable redis-server on
 * 127.0.0.1; skipped when redis-server is missing, a failure under REQUIRE_SERVICES=1). The same
 * suite runs on Postgres in test/stores/postgres.test.ts.
 */
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll } from 'vitest';
import { REDIS_HITS_PREFIX } from '../../src/store/hitCounter.js';
import { rateLimitAcrossProcesses } from '../helpers/rateLimitSuite.js';
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

  rateLimitAcrossProcesses('redis', () => ({
    url: redis.url,
    async counterKeys() {
      const client = createClient({ url: redis.url });
      await client.connect();
      try {
        return (await client.keys(`${REDIS_HITS_PREFIX}*`)).map((k) => k.slice(REDIS_HITS_PREFIX.length));
      } finally {
        await client.close();
      }
    },
    kill: () => redis.kill(),
    start: () => redis.start(),
  }));
});
