/**
 * The question rate limit counted in the store: StoreRateLimiter's fallback on a counter that
 * hangs or fails (no server), then the suite across bot processes on Redis (a restartable
 * redis-server on 127.0.0.1; skipped when redis-server is missing, a failure under
 * REQUIRE_SERVICES=1). The same suite runs on Postgres in test/stores/postgres.test.ts.
 */
import { createClient } from '@keyv/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { StoreRateLimiter } from '../../src/bot/storeRateLimiter.js';
import type { HitCounter, HitOptions } from '../../src/store/hitCounter.js';
import { recordingLogger } from '../helpers/course.js';
import { REDIS_HITS_PREFIX } from '../../src/store/hitCounter.js';
import { rateLimitAcrossProcesses } from '../helpers/rateLimitSuite.js';
import { startRestartableRedis, type RestartableRedis } from '../helpers/restartableRedis.js';
import { describeWith } from '../helpers/services.js';

describe('StoreRateLimiter when the store does not answer', () => {
  it('decides with the in-memory limiter after the deadline, logs once, asks the store again later, and says when it counts again', async () => {
    let now = 1_000_000;
    let mode: 'hang' | 'fail' | 'ok' = 'hang';
    const calls: HitOptions[] = [];
    const counter: HitCounter = {
      hit: (_key, options) => {
        calls.push(options);
        if (mode === 'hang') return new Promise(() => undefined);
        if (mode === 'fail') return Promise.reject(new Error('feedback store unavailable: redis (h:1): count hits failed: connect ECONNREFUSED'));
        return Promise.resolve({ recorded: true, hits: [options.now] });
      },
      hits: () => Promise.resolve([]),
    };
    const log = recordingLogger();
    const limiter = new StoreRateLimiter(counter, new RateLimiter(2, 60_000, () => now), log.logger, { deadlineMs: 50, retryStoreAfterMs: 30_000 });

    expect(await limiter.take('discord:u', 'discord:p')).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(calls).toHaveLength(1);
    // Within the interval the store is not asked: the in-memory count decides (2 per minute).
    now += 1_000;
    expect(await limiter.take('discord:u', 'discord:p')).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await limiter.take('discord:u', 'discord:p')).toMatchObject({ allowed: false, retryAfterSeconds: 59 });
    expect(calls).toHaveLength(1);
    expect(log.lines.filter((l) => l.includes('rate limit counted in this process only'))).toHaveLength(1);

    mode = 'fail';
    now += 30_001;
    expect((await limiter.take('discord:v', 'discord:q')).allowed).toBe(true);
    expect(calls).toHaveLength(2);
    expect(log.lines.filter((l) => l.includes('rate limit counted in this process only'))).toHaveLength(1);

    mode = 'ok';
    now += 30_001;
    expect((await limiter.take('discord:v', 'discord:q')).allowed).toBe(true);
    expect(calls).toHaveLength(3);
    expect(calls[2]).toEqual({ now, since: now - 60_000 + 1, limit: 2, ttlMs: 60_000 });
    expect(log.lines.filter((l) => l.includes('rate limit counted in the feedback store again'))).toHaveLength(1);
  });

  it('peek knows what the store refused, until the window frees a place', async () => {
    let now = 5_000_000;
    const counter: HitCounter = {
      // Another process already counted two questions, 10 s and 20 s ago.
      hit: () => Promise.resolve({ recorded: false, hits: [now - 20_000, now - 10_000] }),
      hits: () => Promise.resolve([]),
    };
    const limiter = new StoreRateLimiter(counter, new RateLimiter(2, 60_000, () => now), recordingLogger().logger);
    expect(limiter.peek('slack:u')).toEqual({ allowed: true, retryAfterSeconds: 0 });
    expect(await limiter.take('slack:u', 'slack:p')).toEqual({ allowed: false, retryAfterSeconds: 40 });
    expect(limiter.peek('slack:u')).toEqual({ allowed: false, retryAfterSeconds: 40 });
    now += 40_000;
    expect(limiter.peek('slack:u')).toEqual({ allowed: true, retryAfterSeconds: 0 });
  });
});

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
