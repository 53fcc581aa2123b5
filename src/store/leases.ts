/**
 * Leases: "this key is mine for the next N ms", held by one owner at a time across every process
 * that shares the store. The human loop (src/humanloop/) takes one before it changes a case or
 * works through a case's outbox, so that a Slack process and a Discord process on different
 * machines never both deliver the same TA answer, nor overwrite each other's change of a case.
 *
 *   acquire(key, owner, ttlMs) → true when `owner` now holds `key` (taken, or renewed because it
 *                                 already held it); false while someone else holds it.
 *   release(key, owner)        → gives it back, only if `owner` still holds it.
 *
 * A lease ends by itself after `ttlMs`: a process that dies while holding one blocks the key for
 * at most that long. Expiry is measured by the server (Redis `PX`, Postgres `clock_timestamp()`),
 * so processes on machines whose clocks disagree still agree on it.
 *
 * - Redis: one key `pergunta:lease:<key>` per lease (outside the keyv namespace `pergunta::`),
 *   set and compared by Lua scripts, so check-and-set is one atomic step on the server.
 * - Postgres: the table `pergunta_leases`, one `INSERT … ON CONFLICT DO UPDATE … WHERE` (the row
 *   lock makes it atomic).
 * - One-process stores (SQLite, memory): a Map in this process, which is every process there is.
 *
 * Keys are built by callers from ids the store already holds (case ids, pseudonyms), never raw
 * platform ids.
 */
import { tableOnce, type RedisScriptClient, type SqlQuery } from './hitCounter.js';

export interface LeaseStore {
  acquire(key: string, owner: string, ttlMs: number): Promise<boolean>;
  release(key: string, owner: string): Promise<void>;
}

export const REDIS_LEASE_PREFIX = 'pergunta:lease:';

const REDIS_ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
`;

const REDIS_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

const ttl = (ms: number) => String(Math.max(1, Math.ceil(ms)));

export function redisLeases(client: () => Promise<RedisScriptClient>): LeaseStore {
  return {
    async acquire(key, owner, ttlMs) {
      const reply = await (await client()).eval(REDIS_ACQUIRE, { keys: [REDIS_LEASE_PREFIX + key], arguments: [owner, ttl(ttlMs)] });
      return Number(reply) === 1;
    },
    async release(key, owner) {
      await (await client()).eval(REDIS_RELEASE, { keys: [REDIS_LEASE_PREFIX + key], arguments: [owner] });
    },
  };
}

export const POSTGRES_LEASES_TABLE = 'pergunta_leases';

const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS ${POSTGRES_LEASES_TABLE} (
  key VARCHAR(255) PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL
)`;

// $1 key, $2 owner, $3 ttl: a row comes back only when this owner holds the lease afterwards.
const ACQUIRE = `
INSERT INTO ${POSTGRES_LEASES_TABLE} AS l (key, owner, expires_at)
VALUES ($1, $2, ${NOW_MS} + $3::bigint)
ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
  WHERE l.expires_at <= ${NOW_MS} OR l.owner = EXCLUDED.owner
RETURNING owner`;

const RELEASE = `DELETE FROM ${POSTGRES_LEASES_TABLE} WHERE key = $1 AND owner = $2`;

/** Expired rows are deleted now and then, not on every call. */
const CLEANUP_EVERY_MS = 10 * 60_000;

export function postgresLeases(query: SqlQuery): LeaseStore {
  let lastCleanup = 0;
  const ensureTable = tableOnce(query, CREATE_TABLE);
  return {
    async acquire(key, owner, ttlMs) {
      await ensureTable();
      const rows = await query(ACQUIRE, [key, owner, ttl(ttlMs)]);
      const now = Date.now();
      if (now - lastCleanup > CLEANUP_EVERY_MS) {
        lastCleanup = now;
        void query(`DELETE FROM ${POSTGRES_LEASES_TABLE} WHERE expires_at < ${NOW_MS}`).catch(() => undefined);
      }
      return rows.length > 0;
    },
    async release(key, owner) {
      await ensureTable();
      await query(RELEASE, [key, owner]);
    },
  };
}

/** Leases for a store only one process uses (SQLite, memory). */
export function processLeases(now: () => number = Date.now): LeaseStore {
  const held = new Map<string, { owner: string; until: number }>();
  return {
    async acquire(key, owner, ttlMs) {
      const t = now();
      const current = held.get(key);
      if (current && current.until > t && current.owner !== owner) return false;
      held.set(key, { owner, until: t + Math.max(1, ttlMs) });
      if (held.size > 10_000) for (const [k, v] of held) if (v.until <= t) held.delete(k);
      return true;
    },
    async release(key, owner) {
      if (held.get(key)?.owner === owner) held.delete(key);
    },
  };
}
