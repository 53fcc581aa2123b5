/**
 * Opens the feedback store named by `STORE_URL`:
 *
 * - `sqlite://data/pergunta.sqlite` (default; `sqlite:///abs/path.sqlite` for an absolute path):
 *   one file, WAL journal, parent folder created. Good for one bot process.
 * - `redis://[:password@]host:port[/db]` (or `rediss://`): for several bot processes.
 * - `postgresql://user:password@host:5432/db` (or `postgres://`): table `keyv`, created if missing.
 * - `memory://`: a Map, gone when the process exits (tests).
 *
 * Every store but the in-process ones (memory://, sqlite://:memory:) is wrapped in a local journal
 * (src/store/journaledStore.ts): writes it cannot take while it is down are kept on disk and
 * replayed when it answers again, also by the next process if this one stops first.
 *
 * Redis and Postgres stores also carry shared counters (`store.counter`, src/store/hitCounter.ts)
 * and leases (`store.leases`, src/store/leases.ts) on the same connection, for limits and locks
 * that must hold across bot processes.
 *
 * Anything else (a malformed URL such as `sqlite:` or `redis:`, another scheme) is a ConfigError
 * naming STORE_URL and the accepted forms, before anything is created.
 *
 * All go through the official keyv adapters (`@keyv/sqlite`, `@keyv/redis`, `@keyv/postgres`),
 * in the keyv namespace `pergunta`. Connection and operation timeouts are set so that a store
 * that is down becomes a StoreUnavailableError within seconds instead of a hang.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import { Keyv } from 'keyv';
import { ConfigError } from '../config.js';
import type { Logger } from '../logger.js';
import { postgresHitCounter, redisHitCounter, type RedisScriptClient } from './hitCounter.js';
import { postgresLeases, redisLeases } from './leases.js';
import { KeyvFeedbackStore, STORE_NAMESPACE } from './keyvStore.js';
import { JournaledFeedbackStore } from './journaledStore.js';
import {
  mapPrefixScan,
  postgresPrefixScan,
  redisPrefixScan,
  sqlitePrefixScan,
  type IterableAdapter,
  type RedisScanClient,
  type SqlAdapter,
} from './prefixScan.js';
import { defaultJournalBase, journalFolder, parseStoreUrl, type StoreLocation } from './storeUrl.js';
import { StoreUnavailableError, type FeedbackStore } from './types.js';

export const DEFAULT_STORE_URL = 'sqlite://data/pergunta.sqlite';

export interface CreateStoreOptions {
  /** STORE_URL. */
  url: string;
  /** USER_ID_SALT; when absent a random salt is generated once and kept in the store (`meta:salt`). */
  salt?: string;
  logger: Logger;
  /** Longest wait for a network connection, ms. Default 5 s. */
  connectTimeoutMs?: number;
  /** Longest wait for one store operation, ms. Default 10 s. */
  operationTimeoutMs?: number;
  /**
   * STORE_JOURNAL_DIR: the folder under which writes that the store could not take are journaled
   * (each store in a subfolder named after it) and replayed. Default: `journal/` next to a SQLite
   * file, else `data/journal`. null: no journal (a failed write is an error).
   */
  journalDir?: string | null;
  /** How often journaled writes are tried while the store is down, ms. Default 5 s. */
  journalReplayMs?: number;
}

function passwordOf(url: URL): string[] {
  const out: string[] = [];
  if (url.password) {
    out.push(url.password);
    try {
      out.push(decodeURIComponent(url.password));
    } catch {
      // keep the raw form only
    }
  }
  return out.filter((s) => s.length > 0);
}

/** `host:port/db` without user or password. */
function hostPart(url: URL): string {
  const db = url.pathname && url.pathname !== '/' ? url.pathname : '';
  return `${url.hostname}${url.port ? `:${url.port}` : ''}${db}`;
}

/** The file path of a `sqlite://` URL (as written: relative to the working directory or absolute). */
export function sqlitePathOf(url: string): string {
  const parsed = parseStoreUrl(url);
  return parsed.ok && parsed.location.kind === 'sqlite' ? parsed.location.file : url.replace(/^sqlite:\/\//i, '');
}

export async function createFeedbackStore(opts: CreateStoreOptions): Promise<FeedbackStore> {
  const raw = (opts.url || DEFAULT_STORE_URL).trim();
  const parsed = parseStoreUrl(raw);
  if (!parsed.ok) throw new ConfigError([parsed.problem]);
  const location = parsed.location;
  const store = await openBackend(location, opts);
  const base = opts.journalDir === null ? undefined : (opts.journalDir ?? defaultJournalBase(location));
  if (base === undefined) return store;
  return JournaledFeedbackStore.open(store, {
    dir: journalFolder(base, location),
    logger: opts.logger,
    ...(opts.journalReplayMs !== undefined ? { replayIntervalMs: opts.journalReplayMs } : {}),
  });
}

async function openBackend(location: StoreLocation, opts: CreateStoreOptions): Promise<KeyvFeedbackStore> {
  const connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
  const common = {
    salt: opts.salt,
    logger: opts.logger,
    ...(opts.operationTimeoutMs !== undefined ? { operationTimeoutMs: opts.operationTimeoutMs } : {}),
  };

  if (location.kind === 'memory') {
    const map = new Map<string, unknown>();
    const keyv = new Keyv({ store: map, namespace: STORE_NAMESPACE, throwOnErrors: true });
    return KeyvFeedbackStore.open(keyv, { ...common, description: 'memory', scan: mapPrefixScan(map, STORE_NAMESPACE) });
  }

  if (location.kind === 'sqlite') {
    const file = location.file;
    if (file !== ':memory:') {
      try {
        mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      } catch (err) {
        throw new StoreUnavailableError(`sqlite (${file}): cannot create its folder: ${(err as Error).message}`);
      }
    }
    const adapter = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: opts.operationTimeoutMs ?? 10_000, iterationLimit: 1000 });
    const keyv = new Keyv({ store: adapter, namespace: STORE_NAMESPACE, throwOnErrors: true });
    const store = await KeyvFeedbackStore.open(keyv, {
      ...common,
      description: `sqlite (${file})`,
      scan: sqlitePrefixScan(adapter as unknown as SqlAdapter, STORE_NAMESPACE),
    });
    // WAL: an export can read while the bot writes. Best effort (e.g. not on some network filesystems).
    await adapter.query('PRAGMA journal_mode=WAL').catch((err: unknown) => {
      opts.logger.debug({ reason: (err as Error).message }, 'sqlite: WAL journal not enabled');
    });
    return store;
  }

  const url = new URL(location.url);
  const secrets = passwordOf(url);

  if (location.kind === 'redis') {
    const description = `redis (${hostPart(url)})`;
    const adapter = new KeyvRedis(
      {
        url: location.url,
        socket: {
          connectTimeout: connectTimeoutMs,
          // A few quick reconnection attempts, then the pending commands fail (instead of waiting
          // forever); the next operation connects again.
          reconnectStrategy: (retries: number, cause: Error) => (retries >= 3 ? cause : Math.min(100 * 2 ** retries, 1_000)),
        },
      },
      { namespace: STORE_NAMESPACE, throwOnConnectError: true, throwOnErrors: true },
    );
    // The adapter prefixes keys itself (`pergunta::answer:…`), so keyv must not prefix them again.
    const keyv = new Keyv({ store: adapter, namespace: STORE_NAMESPACE, useKeyPrefix: false, throwOnErrors: true });
    const client = async () => (await adapter.getClient()) as unknown as RedisScriptClient;
    const scan = redisPrefixScan(async () => (await adapter.getClient()) as unknown as RedisScanClient, STORE_NAMESPACE);
    return KeyvFeedbackStore.open(keyv, { ...common, description, secrets, hitCounter: redisHitCounter(client), leases: redisLeases(client), scan });
  }

  const description = `postgres (${hostPart(url)})`;
  const adapter = postgresAdapter(location.url, opts.logger, connectTimeoutMs, opts.operationTimeoutMs ?? 10_000, description);
  const keyv = new Keyv({ store: adapter, namespace: STORE_NAMESPACE, throwOnErrors: true });
  const query = (sql: string, values?: unknown[]) => adapter.query(sql, values) as Promise<Record<string, unknown>[]>;
  const scan = postgresPrefixScan(adapter as unknown as IterableAdapter, STORE_NAMESPACE);
  return KeyvFeedbackStore.open(keyv, { ...common, description, secrets, hitCounter: postgresHitCounter(query), leases: postgresLeases(query), scan });
}

interface PgPool {
  query(sql: string, values?: unknown): Promise<{ rows: unknown[] }>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  end(): Promise<void>;
}
interface PgModule {
  Pool: new (config: Record<string, unknown>) => PgPool;
}

async function loadPg(): Promise<PgModule> {
  // `pg` is @keyv/postgres's own dependency; loaded by name so TypeScript needs no typings for it.
  const name = 'pg';
  const mod = (await import(name)) as Partial<PgModule> & { default?: PgModule };
  const pg = mod.default ?? mod;
  if (typeof pg.Pool !== 'function') throw new Error('the pg module has no Pool');
  return pg as PgModule;
}

/**
 * @keyv/postgres with its own pg Pool: connection and query timeouts, and an `error` listener
 * on the pool (an idle connection dropped by the server would otherwise crash the process).
 */
function postgresAdapter(uri: string, logger: Logger, connectTimeoutMs: number, queryTimeoutMs: number, description: string): KeyvPostgres {
  let pool: PgPool | undefined;
  class GuardedKeyvPostgres extends KeyvPostgres {
    override async connect(): Promise<(sql: string, values?: unknown) => Promise<unknown[]>> {
      const pg = await loadPg();
      const created = new pg.Pool({
        connectionString: uri,
        connectionTimeoutMillis: connectTimeoutMs,
        query_timeout: queryTimeoutMs,
        max: 10,
      });
      created.on('error', (err) => logger.warn({ store: description, reason: err.message }, 'postgres: idle connection error'));
      pool = created;
      return async (sql, values) => (await created.query(sql, values)).rows;
    }

    override async disconnect(): Promise<void> {
      const current = pool;
      pool = undefined;
      await current?.end();
    }
  }
  return new GuardedKeyvPostgres({ uri, dialect: 'postgres', iterationLimit: 500 });
}
