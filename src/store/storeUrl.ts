/**
 * What `STORE_URL` may say, checked before anything is opened or created. A malformed URL used
 * to be read leniently: `sqlite:` became a file named `sqlite:` in the working directory (the
 * repository root, not git-ignored), so student data could end up committed. Checked at config
 * load (src/config.ts) and again in createFeedbackStore, for callers that skip the config.
 */

import path from 'node:path';

export type StoreLocation =
  | { kind: 'sqlite'; /** As written: relative to the working directory, absolute, or `:memory:`. */ file: string }
  | { kind: 'redis'; url: string }
  | { kind: 'postgres'; url: string }
  | { kind: 'memory' };

export const ACCEPTED_STORE_URLS =
  'sqlite://relative/path.sqlite, sqlite:///absolute/path.sqlite, redis://[:password@]host[:port][/db] (or rediss://), ' +
  'postgresql://user:password@host[:port]/db (or postgres://), memory://';

/** The URL with any password hidden, for messages. */
export function redactStoreUrl(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^@/]*@/i, '$1***@');
}

/** Parses STORE_URL; `problem` says what is wrong (naming STORE_URL and the accepted forms). */
export function parseStoreUrl(input: string): { ok: true; location: StoreLocation } | { ok: false; problem: string } {
  const raw = input.trim();
  const fail = (why: string) => ({
    ok: false as const,
    problem: `STORE_URL ${JSON.stringify(redactStoreUrl(raw))}: ${why}. Accepted forms: ${ACCEPTED_STORE_URLS}`,
  });
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return fail('no scheme (such as sqlite://)');
  const rest = raw.slice(scheme.length + 1);
  if (!rest.startsWith('//')) return fail(`malformed, "${scheme}:" must be followed by "//"`);
  const afterSlashes = rest.slice(2);

  switch (scheme) {
    case 'memory':
      if (afterSlashes !== '') return fail('malformed, memory:// takes nothing after it');
      return { ok: true, location: { kind: 'memory' } };

    case 'sqlite': {
      const file = afterSlashes;
      if (file === '' || file === '/') return fail('no database file after sqlite://');
      if (file.endsWith('/') || file.endsWith('\\')) return fail('it names a folder, not a database file');
      if (file.includes('\0')) return fail('the file name contains a NUL character');
      return { ok: true, location: { kind: 'sqlite', file } };
    }

    case 'redis':
    case 'rediss': {
      const url = tryUrl(raw);
      if (!url || url.hostname === '') return fail('no host');
      const db = url.pathname.replace(/^\//, '');
      if (db !== '' && !/^\d{1,2}$/.test(db)) return fail(`malformed, the database after the host must be a number (got "${db}")`);
      return { ok: true, location: { kind: 'redis', url: raw } };
    }

    case 'postgres':
    case 'postgresql': {
      const url = tryUrl(raw);
      // pg also accepts `postgresql:///db?host=/run/postgresql` (a Unix socket folder).
      if (!url || (url.hostname === '' && !url.searchParams.get('host'))) return fail('no host');
      return { ok: true, location: { kind: 'postgres', url: raw } };
    }

    default:
      return fail(`unsupported STORE_URL scheme "${scheme}:"`);
  }
}

function tryUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/**
 * Where journals live by default (STORE_JOURNAL_DIR): next to a SQLite file, `journal/` in its
 * folder; for Redis and Postgres, `data/journal`. Undefined for stores that live in the process
 * (memory://, sqlite://:memory:), which cannot be unavailable.
 */
export function defaultJournalBase(location: StoreLocation): string | undefined {
  if (location.kind === 'memory' || (location.kind === 'sqlite' && location.file === ':memory:')) return undefined;
  if (location.kind === 'sqlite') return path.join(path.dirname(location.file), 'journal');
  return path.join('data', 'journal');
}

/**
 * The journal folder of one store under `base`: named after the store (file name, or host,
 * port and database), so a journal is only ever replayed into the store it was written for.
 */
export function journalFolder(base: string, location: StoreLocation): string {
  const clean = (text: string) => text.replace(/[^A-Za-z0-9._-]+/g, '_');
  switch (location.kind) {
    case 'sqlite':
      return path.join(base, clean(path.basename(location.file)));
    case 'memory':
      return path.join(base, 'memory');
    case 'redis':
    case 'postgres': {
      const url = new URL(location.url);
      const port = url.port || (location.kind === 'redis' ? '6379' : '5432');
      const db = url.pathname.replace(/^\//, '') || (location.kind === 'redis' ? '0' : '');
      return path.join(base, clean(`${location.kind}-${url.hostname || url.searchParams.get('host') || 'local'}-${port}-${db}`));
    }
  }
}
