/**
 * Reading the keys of one kind (`answer:`, `vote:`, …) without reading the others, page by page,
 * for streamed reads of a large store (`FeedbackStore.iterateRecords`).
 *
 * keyv's own `iterator()` reads the whole namespace, and each backend's has its own limits:
 * @keyv/sqlite pages with LIMIT/OFFSET (each page rescans the rows before it) and recurses once
 * per page; @keyv/redis matches only whole namespaces (`<namespace>::*`); @keyv/postgres pages by
 * key with `LIKE '<namespace>:%'`, which serves a key prefix too. So each backend gets the
 * cheapest query that reads one prefix in key order:
 * - SQLite: a key range (`key > ? AND key < ?`, answered from the primary-key index), by pages,
 *   the next page read while the caller works on the current one;
 * - Postgres: the adapter's own iterator, given `<namespace>:<kind>` as its namespace;
 * - Redis: SCAN with `MATCH <namespace>::<kind>*`, values read with MGET, batch by batch;
 * - memory://: the Map's keys;
 * - anything else: keyv's iterator, filtered by prefix (reads everything).
 *
 * With `omitTexts`, SQLite leaves the long texts out of answers and verdicts in the query.
 *
 * A scan yields batches of `[key without namespace, raw value]`, the raw value as the backend
 * stores it (keyv's serialised form); the store deserialises them. Batches, not single entries:
 * the store puts a deadline on each step, and one per row would cost more than the row.
 */
import type { Keyv } from 'keyv';

export type ScanEntry = [key: string, raw: unknown];

/**
 * Batches of entries of one kind, in no particular order across kinds. With `omitTexts`, a
 * backend that can leaves the long texts out of answers and verdicts in the query itself
 * (IterateOptions.omitTexts); the store strips what is left either way.
 */
export type PrefixScan = (prefix: string, options?: { omitTexts?: boolean }) => AsyncIterable<ScanEntry[]>;

/** Retrieved segments an answer can hold (RETRIEVAL_K is at most 50). */
const MAX_SEGMENTS = 50;
/** Answer sentences a verdict usually holds (the judge's default is 20). */
const MAX_SENTENCES = 20;

/** Rows per page: answers are a few kB each, so a page stays a few MB. */
export const SCAN_PAGE_ROWS = 500;

export interface SqlAdapter {
  query(sql: string, ...params: unknown[]): Promise<unknown[]>;
  opts: { table?: string };
}

/**
 * `value` without the texts at `paths`, computed by SQLite's JSON functions (in C, before the
 * row reaches JavaScript); a value that is not JSON is returned as it is, for the store to reject.
 */
function sqliteWithout(paths: readonly string[]): string {
  return `CASE WHEN json_valid(value) THEN json_remove(value, ${paths.map((p) => `'$.value.${p}'`).join(', ')}) ELSE value END`;
}

const upTo = (n: number, path: (i: number) => string[]) => Array.from({ length: n }, (_, i) => path(i)).flat();

/**
 * What `omitTexts` leaves out in the query: each segment's transcript and its moment's excerpt, the
 * answer policy's text (the course's politica.md, in every answer it applied to); the judge's reasoning,
 * criteria, evidence and sentences. (The answer text is cut by the store: cutting it here costs
 * another parse of the value.) Texts beyond these paths are stripped by the store.
 */
const SQLITE_OMITTED: Record<string, string[]> = {
  'answer:': ['policy.text', ...upTo(MAX_SEGMENTS, (i) => [`segments[${i}].text`, `segments[${i}].moment.excerpt`])],
  'judge:': [
    'reasoning',
    'answerRelevance.criteria',
    'answerRelevance.supportingEvidence',
    ...upTo(MAX_SEGMENTS, (i) => [`contextRelevance[${i}].criteria`, `contextRelevance[${i}].supportingEvidence`]),
    ...upTo(MAX_SENTENCES, (i) => [`groundedness[${i}].sentence`, `groundedness[${i}].criteria`, `groundedness[${i}].supportingEvidence`]),
  ],
};

/** SQLite (@keyv/sqlite): keys `<namespace>:<key>` in the `keyv` table, read by key range. */
export function sqlitePrefixScan(adapter: SqlAdapter, namespace: string): PrefixScan {
  const table = (adapter.opts.table ?? 'keyv').replace(/[^a-zA-Z0-9_]/g, '');
  const slim = Object.fromEntries(Object.entries(SQLITE_OMITTED).map(([prefix, paths]) => [prefix, sqliteWithout(paths)]));
  return async function* scan(prefix, options = {}) {
    const value = (options.omitTexts && slim[prefix]) || 'value';
    const low = `${namespace}:${prefix}`;
    // Keys are ASCII (ids are URI-encoded, pseudonyms hex): U+FFFF sorts after every one of them.
    const high = `${low}\uffff`;
    const page = (after: string) =>
      adapter.query(`SELECT key, ${value} AS value FROM ${table} WHERE key > ? AND key < ? ORDER BY key LIMIT ?`, after, high, SCAN_PAGE_ROWS) as Promise<
        { key: string; value: unknown }[]
      >;
    let pending = page(low);
    for (;;) {
      const rows = await pending;
      const last = rows.at(-1);
      const more = last !== undefined && rows.length === SCAN_PAGE_ROWS;
      // The next page is read (on SQLite's thread) while the caller works on this one.
      if (more) pending = page(last.key);
      if (rows.length > 0) yield rows.map((row): ScanEntry => [row.key.slice(namespace.length + 1), row.value]);
      if (!more) return;
    }
  };
}

export interface IterableAdapter {
  iterator(namespace?: string): AsyncGenerator<unknown[], void>;
}

/** Groups an entry-by-entry iteration into batches. */
async function* batches(entries: AsyncIterable<ScanEntry>): AsyncGenerator<ScanEntry[]> {
  let batch: ScanEntry[] = [];
  for await (const entry of entries) {
    batch.push(entry);
    if (batch.length >= SCAN_PAGE_ROWS) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
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
    yield* batches(
      (async function* () {
        for await (const [key, value] of adapter.iterator(scoped)) {
          if (typeof key === 'string') yield [key.slice(namespace.length + 1), value] as ScanEntry;
        }
      })(),
    );
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
      const batch: ScanEntry[] = [];
      for (let i = 0; i < page.keys.length; i++) {
        const value = values[i];
        if (value !== null && value !== undefined) batch.push([page.keys[i]!.slice(head.length), value]);
      }
      if (batch.length > 0) yield batch;
    } while (cursor !== '0');
  };
}

/** The in-memory store (memory://): a Map of `<namespace>:<key>` to the serialised value. */
export function mapPrefixScan(map: Map<string, unknown>, namespace: string): PrefixScan {
  return async function* scan(prefix) {
    const head = `${namespace}:${prefix}`;
    // A snapshot of the keys: writes made while the caller reads must not disturb the iteration.
    const batch: ScanEntry[] = [];
    for (const key of [...map.keys()]) {
      if (!key.startsWith(head)) continue;
      const value = map.get(key);
      if (value !== undefined) batch.push([key.slice(namespace.length + 1), value]);
    }
    for (let i = 0; i < batch.length; i += SCAN_PAGE_ROWS) yield batch.slice(i, i + SCAN_PAGE_ROWS);
  };
}

/** Any backend: keyv's iterator over the whole namespace, keeping the keys with `prefix`. */
export function keyvPrefixScan(keyv: Keyv): PrefixScan {
  return async function* scan(prefix) {
    const iterate = keyv.iterator;
    if (!iterate) throw new Error('this keyv backend cannot list its keys');
    yield* batches(
      (async function* () {
        for await (const [key, value] of iterate(undefined) as AsyncGenerator<[string, unknown], void>) {
          // Already deserialised by keyv: wrapped again so every scan yields the same shape.
          if (typeof key === 'string' && key.startsWith(prefix)) yield [key, { value }] as ScanEntry;
        }
      })(),
    );
  };
}
