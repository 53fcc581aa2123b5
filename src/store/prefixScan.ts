/**
 * Reading the keys of one kind (`answer:`, `vote:`, …) without reading the others, page by page,
 * for streamed reads of a large store (`FeedbackStore.iterateRecords`).
 *
 * keyv's own `iterator()` reads the whole namespace, and each backend's has its own limits:
 * @keyv/sqlite pages with LIMIT/OFFSET (each page rescans the rows before it) and recurses once
 * per page; @keyv/redis matches only whole namespaces (`<namespace>::*`); @keyv/postgres pages by
 * key with `LIKE '<namespace>:%'`, which serves a key prefix too. So each backend gets the
 * cheapest query that reads one prefix in key order:
 * - SQLite: a key range (`key > ? AND key < ?`, answered from the primary-key index), by pages;
 * - Postgres: the adapter's own iterator, given `<namespace>:<kind>` as its namespace;
 * - Redis: SCAN with `MATCH <namespace>::<kind>*`, values read with MGET, batch by batch;
 * - memory://: the Map's keys;
 * - anything else: keyv's iterator, filtered by prefix (reads everything, still one page at a time).
 *
 * A scan yields keys without the namespace and raw values as the backend stores them (keyv's
 * serialised form); the caller deserialises them with `keyv.deserializeData`.
 */
import type { Keyv } from 'keyv';

/** `[key without namespace, raw value]`, in no particular order across kinds. */
export type PrefixScan = (prefix: string) => AsyncIterable<[string, unknown]>;

/** Rows per SQL page: answers are a few kB each, so a page stays a few MB. */
export const SCAN_PAGE_ROWS = 500;

export interface SqlAdapter {
  query(sql: string, ...params: unknown[]): Promise<unknown[]>;
  opts: { table?: string };
}

/** SQLite (@keyv/sqlite): keys `<namespace>:<key>` in the `keyv` table, read by key range. */
export function sqlitePrefixScan(adapter: SqlAdapter, namespace: string): PrefixScan {
  const table = (adapter.opts.table ?? 'keyv').replace(/[^a-zA-Z0-9_]/g, '');
  return async function* scan(prefix) {
    const low = `${namespace}:${prefix}`;
    // Keys are ASCII (ids are URI-encoded, pseudonyms hex): U+FFFF sorts after every one of them.
    const high = `${low}\uffff`;
    let after = low;
    for (;;) {
      const rows = (await adapter.query(`SELECT key, value FROM ${table} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`, after, high, SCAN_PAGE_ROWS)) as {
        key: string;
        value: unknown;
      }[];
      for (const row of rows) yield [row.key.slice(namespace.length + 1), row.value];
      const last = rows.at(-1);
      if (!last || rows.length < SCAN_PAGE_ROWS) return;
      after = last.key;
    }
  };
}

export interface IterableAdapter {
  iterator(namespace?: string): AsyncGenerator<unknown[], void>;
}

/**
 * Postgres (@keyv/postgres): its iterator pages by key over `LIKE '<namespace>:%'`, so naming
 * `<namespace>:<kind>` (the kind without its trailing colon) as the namespace reads one kind.
 * It reports a failed page as an `error` event and ends quietly: the store checks for that.
 */
export function postgresPrefixScan(adapter: IterableAdapter, namespace: string): PrefixScan {
  return async function* scan(prefix) {
    if (!prefix.endsWith(':')) throw new Error(`postgres prefix scan: the prefix must end with ':' (got ${prefix})`);
    const scoped = `${namespace}:${prefix.slice(0, -1)}`;
    for await (const [key, value] of adapter.iterator(scoped)) {
      if (typeof key === 'string') yield [key.slice(namespace.length + 1), value];
    }
  };
}

export interface RedisScanClient {
  scan(cursor: string, options: { MATCH: string; COUNT: number; TYPE?: string }): Promise<{ cursor: string | number; keys: string[] }>;
  mGet(keys: string[]): Promise<(string | null)[]>;
}

/** Redis (@keyv/redis): keys `<namespace>::<key>`; SCAN matches the kind, MGET reads each batch. */
export function redisPrefixScan(client: () => Promise<RedisScanClient>, namespace: string): PrefixScan {
  return async function* scan(prefix) {
    const redis = await client();
    const head = `${namespace}::`;
    // SCAN's MATCH is a glob: escape its special characters in the fixed part.
    const match = `${(head + prefix).replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const page = await redis.scan(cursor, { MATCH: match, COUNT: SCAN_PAGE_ROWS, TYPE: 'string' });
      cursor = String(page.cursor);
      if (page.keys.length === 0) continue;
      const values = await redis.mGet(page.keys);
      for (let i = 0; i < page.keys.length; i++) {
        const value = values[i];
        if (value !== null && value !== undefined) yield [page.keys[i]!.slice(head.length), value];
      }
    } while (cursor !== '0');
  };
}

/** The in-memory store (memory://): a Map of `<namespace>:<key>` to the serialised value. */
export function mapPrefixScan(map: Map<string, unknown>, namespace: string): PrefixScan {
  return async function* scan(prefix) {
    const head = `${namespace}:${prefix}`;
    // A snapshot of the keys: writes made while the caller reads must not disturb the iteration.
    for (const key of [...map.keys()]) {
      if (!key.startsWith(head)) continue;
      const value = map.get(key);
      if (value !== undefined) yield [key.slice(namespace.length + 1), value];
    }
  };
}

/** Any backend: keyv's iterator over the whole namespace, keeping the keys with `prefix`. */
export function keyvPrefixScan(keyv: Keyv): PrefixScan {
  return async function* scan(prefix) {
    const iterate = keyv.iterator;
    if (!iterate) throw new Error('this keyv backend cannot list its keys');
    for await (const [key, value] of iterate(undefined) as AsyncGenerator<[string, unknown], void>) {
      // Already deserialised by keyv: wrapped again so every scan yields the same shape.
      if (typeof key === 'string' && key.startsWith(prefix)) yield [key, { value }];
    }
  };
}
