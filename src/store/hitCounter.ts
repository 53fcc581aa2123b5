/**
 * Counting events per key across every process that shares a networked store (Redis,
 * Postgres): the question rate limit today, a daily question quota tomorrow. One primitive:
 *
 *   hit(key, { now, since, limit, ttlMs })
 *
 * atomically forgets the key's hits older than `since`, records one at `now` if fewer than
 * `limit` remain, and returns the hits kept (oldest first). With `since = now - window` that is
 * an exact sliding window (the same semantics as the in-memory RateLimiter); with `since = the
 * start of the day` and `ttlMs` until the next reset it is a daily quota, and the caller knows
 * when the quota resets. At most `limit` hits are kept per key, so a key costs O(limit).
 *
 * Keys are built by the caller from pseudonyms (never raw platform ids). Redis keeps them as
 * sorted sets `pergunta:hits:<key>` (outside the keyv namespace `pergunta::`, so listings of the
 * feedback records never see them); Postgres in the table `pergunta_hits`.
 */

export interface HitOptions {
  /** Time of this hit, ms since the epoch. */
  now: number;
  /** Hits before this time (ms) no longer count and are dropped. */
  since: number;
  /** Most hits kept: when `limit` hits remain since `since`, this one is not recorded. */
  limit: number;
  /** The key may be forgotten this long after its last recorded hit, ms. */
  ttlMs: number;
}

export interface HitResult {
  recorded: boolean;
  /** Times of the hits that count, oldest first (the new one included when recorded). */
  hits: number[];
}

export interface HitCounter {
  hit(key: string, options: HitOptions): Promise<HitResult>;
  /** Times of the hits of `key` at or after `since`, oldest first; records nothing. */
  hits(key: string, since: number): Promise<number[]>;
}

function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 10);
}

// ---------------------------------------------------------------------------------------------
// Redis: one Lua script, so the trim, the count and the add are one atomic step on the server.

/** The few node-redis calls used here (a client from @keyv/redis). */
export interface RedisScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  zRangeWithScores(key: string, min: number, max: number): Promise<{ value: string; score: number }[]>;
}

const REDIS_HIT_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
local recorded = 0
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  recorded = 1
end
return {recorded, redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}
`;

export const REDIS_HITS_PREFIX = 'pergunta:hits:';

export function redisHitCounter(client: () => Promise<RedisScriptClient>): HitCounter {
  return {
    async hit(key, { now, since, limit, ttlMs }) {
      const reply = (await (await client()).eval(REDIS_HIT_SCRIPT, {
        keys: [REDIS_HITS_PREFIX + key],
        arguments: [String(now), String(since), String(limit), String(Math.max(1, Math.ceil(ttlMs))), `${now}-${randomSuffix()}`],
      })) as [number, string[]];
      const flat = reply[1] ?? [];
      const hits: number[] = [];
      for (let i = 1; i < flat.length; i += 2) hits.push(Number(flat[i]));
      return { recorded: reply[0] === 1, hits };
    },
    async hits(key, since) {
      const c = await client();
      const entries = await c.zRangeWithScores(REDIS_HITS_PREFIX + key, 0, -1);
      return entries.map((e) => e.score).filter((t) => t >= since);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Postgres: one upsert; the row lock taken by ON CONFLICT DO UPDATE makes it atomic.

export type SqlQuery = (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * Runs `createTable` once, on first use, for every caller. Two processes starting at the same
 * moment can both find the table missing, and one then fails on Postgres' own catalog
 * (`duplicate key value violates unique constraint "pg_type_typname_nsp_index"`): the table
 * exists by then, so a second try succeeds. Forgotten on failure, so a store that was down gets
 * its table once it answers.
 */
export function tableOnce(query: SqlQuery, createTable: string): () => Promise<void> {
  let table: Promise<void> | undefined;
  return () => {
    table ??= query(createTable)
      .catch(() => query(createTable))
      .then(
        () => undefined,
        (err: unknown) => {
          table = undefined;
          throw err;
        },
      );
    return table;
  };
}

export const POSTGRES_HITS_TABLE = 'pergunta_hits';

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${POSTGRES_HITS_TABLE} (
  key VARCHAR(255) PRIMARY KEY,
  hits BIGINT[] NOT NULL,
  expires_at BIGINT NOT NULL,
  token TEXT
)`;

// $1 key, $2 now, $3 since, $4 limit, $5 ttl, $6 a token that says whether this call recorded
// (RETURNING sees only the new row).
const HIT = `
INSERT INTO ${POSTGRES_HITS_TABLE} AS h (key, hits, expires_at, token)
VALUES ($1, ARRAY[$2::bigint], $2::bigint + $5::bigint, $6)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE
    WHEN (SELECT count(*) FROM unnest(h.hits) AS t(v) WHERE t.v >= $3::bigint) < $4::int
      THEN ARRAY(SELECT t.v FROM unnest(h.hits) AS t(v) WHERE t.v >= $3::bigint ORDER BY t.v) || $2::bigint
    ELSE ARRAY(SELECT t.v FROM unnest(h.hits) AS t(v) WHERE t.v >= $3::bigint ORDER BY t.v)
  END,
  expires_at = CASE
    WHEN (SELECT count(*) FROM unnest(h.hits) AS t(v) WHERE t.v >= $3::bigint) < $4::int THEN $2::bigint + $5::bigint
    ELSE h.expires_at
  END,
  token = CASE
    WHEN (SELECT count(*) FROM unnest(h.hits) AS t(v) WHERE t.v >= $3::bigint) < $4::int THEN $6
    ELSE h.token
  END
RETURNING hits, token = $6 AS recorded`;

const READ = `SELECT ARRAY(SELECT t.v FROM unnest(hits) AS t(v) WHERE t.v >= $2::bigint ORDER BY t.v) AS hits
FROM ${POSTGRES_HITS_TABLE} WHERE key = $1`;

/** Expired keys are deleted now and then, not on every hit. */
const CLEANUP_EVERY_MS = 10 * 60_000;

export function postgresHitCounter(query: SqlQuery): HitCounter {
  let lastCleanup = 0;
  const ensureTable = tableOnce(query, CREATE_TABLE);
  const numbers = (value: unknown): number[] => (Array.isArray(value) ? value.map(Number) : []);
  return {
    async hit(key, { now, since, limit, ttlMs }) {
      await ensureTable();
      const token = `${now}-${randomSuffix()}`;
      const [row] = await query(HIT, [key, now, since, limit, Math.max(1, Math.ceil(ttlMs)), token]);
      if (now - lastCleanup > CLEANUP_EVERY_MS) {
        lastCleanup = now;
        void query(`DELETE FROM ${POSTGRES_HITS_TABLE} WHERE expires_at < $1`, [now]).catch(() => undefined);
      }
      return { recorded: row?.recorded === true, hits: numbers(row?.hits) };
    },
    async hits(key, since) {
      await ensureTable();
      const [row] = await query(READ, [key, since]);
      return numbers(row?.hits);
    },
  };
}
