/**
 * Course manifest: the list of lecture videos of a course folder, read from `videos.json`
 * (preferred) or `videos.csv`, validated, and the transcripts it points to.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, relative, resolve, sep, win32 } from 'node:path';
import { parse as parseCsv, CsvError } from 'csv-parse/sync';
import type { Cue, Video } from '../types.js';
import { cleanTitle, cleanUrl } from './cleanText.js';
import { TranscriptError } from '../transcripts/errors.js';
import { TextEncodingError, decodeTranscriptBytes, parseTranscriptFile } from '../transcripts/parseTranscript.js';
import { lineLookup, locateJson, normalizeNewlines, parseJsonText } from '../transcripts/common.js';
import { EXIT, UserError } from '../errors.js';

/**
 * Error in the course folder or its manifest. The message names the file, and the line when known.
 * Exit 1: the command line was right; the course files it points at need fixing.
 */
export class ManifestError extends UserError {
  readonly exitCode = EXIT.failure;
  /** The manifest file (or the course folder, when no manifest could be opened). */
  readonly file: string;
  /** 1-based line in the manifest file, when known. */
  readonly line?: number;
  /** CSV only: row number as shown by a spreadsheet (the header is row 1). */
  readonly row?: number;
  /** What is wrong, without the `file:line: ` prefix. */
  readonly reason: string;

  constructor(file: string, reason: string, where: { line?: number | undefined; row?: number | undefined; cause?: unknown } = {}) {
    super(`${file}${where.line !== undefined ? `:${where.line}` : ''}: ${reason}`, { cause: where.cause });
    this.name = 'ManifestError';
    this.file = file;
    if (where.line !== undefined) this.line = where.line;
    if (where.row !== undefined) this.row = where.row;
    this.reason = reason;
  }
}

export const MANIFEST_FILES = ['videos.json', 'videos.csv'] as const;
export const VIDEO_ID_PATTERN = /^[A-Za-z0-9._-]{1,100}$/;
const FIELDS = ['id', 'title', 'url', 'transcript'] as const;
type Field = (typeof FIELDS)[number];

/** One manifest entry before validation, with where it came from. */
interface RawEntry {
  values: Partial<Record<Field, unknown>>;
  /** `videos[2]` (JSON) or `row 4` (CSV). */
  label: string;
  line?: number | undefined;
  row?: number | undefined;
  /** JSON only: line of each field's value. */
  fieldLines?: Partial<Record<Field, number>>;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/** True when `child` is `parent` or below it (both absolute, already resolved). */
function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Checks a manifest `transcript` value and resolves it against the course folder.
 * Backslashes are treated as separators (manifests written on Windows). Refuses absolute paths,
 * `..` escapes, and symlinks resolving outside the folder; the file must exist.
 */
async function resolveTranscript(
  courseDir: string,
  courseReal: string,
  transcript: string,
): Promise<{ ok: true; absolute: string; relative: string } | { ok: false; reason: string }> {
  if (transcript.includes('\0')) return { ok: false, reason: `"transcript" contains a NUL character` };
  const slashed = transcript.replace(/\\/g, '/');
  if (posix.isAbsolute(slashed) || win32.isAbsolute(transcript)) {
    return {
      ok: false,
      reason: `"transcript" must be a path relative to the course folder, got absolute path ${JSON.stringify(transcript)}`,
    };
  }
  const absolute = resolve(courseDir, slashed);
  if (!isInside(resolve(courseDir), absolute)) {
    return { ok: false, reason: `"transcript" path ${JSON.stringify(transcript)} points outside the course folder` };
  }
  const rel = relative(resolve(courseDir), absolute).split(sep).join('/');
  let real: string;
  try {
    real = await realpath(absolute);
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { ok: false, reason: `transcript file ${JSON.stringify(transcript)} does not exist` };
    }
    return { ok: false, reason: `cannot access transcript file ${JSON.stringify(transcript)} (${String(code ?? err)})` };
  }
  if (!isInside(courseReal, real)) {
    return {
      ok: false,
      reason: `"transcript" path ${JSON.stringify(transcript)} resolves (through a symlink) to ${JSON.stringify(real)}, outside the course folder`,
    };
  }
  if (!(await stat(real)).isFile()) {
    return { ok: false, reason: `transcript ${JSON.stringify(transcript)} is not a file` };
  }
  return { ok: true, absolute, relative: rel };
}

function readJsonEntries(file: string, content: string): RawEntry[] {
  const text = normalizeNewlines(content);
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new ManifestError(file, parsed.reason, { line: parsed.line });
  const root = parsed.value;
  if (!Array.isArray(root)) {
    throw new ManifestError(
      file,
      `expected a JSON array of videos [{"id", "title", "url", "transcript"}, …], got ${describe(root)}`,
      { line: 1 },
    );
  }
  const positions = locateJson(text);
  const lineAt = lineLookup(text);
  return root.map((item: unknown, index): RawEntry => {
    const pos = positions?.items?.[index];
    const line = pos ? lineAt(pos.offset) : undefined;
    const label = `videos[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new ManifestError(file, `${label} must be an object with "id", "title", "url" and "transcript", got ${describe(item)}`, {
        line,
      });
    }
    const values: Partial<Record<Field, unknown>> = {};
    const fieldLines: Partial<Record<Field, number>> = {};
    for (const field of FIELDS) {
      if (Object.prototype.hasOwnProperty.call(item, field)) values[field] = (item as Record<string, unknown>)[field];
      const fieldPos = pos?.keys?.get(field);
      if (fieldPos) fieldLines[field] = lineAt(fieldPos.offset);
    }
    return { values, label, line, fieldLines };
  });
}

interface CsvRecordWithInfo {
  record: string[];
  info: { lines: number; empty_lines: number };
}

function isCsvRecordWithInfo(value: unknown): value is CsvRecordWithInfo {
  if (typeof value !== 'object' || value === null) return false;
  const { record, info } = value as { record?: unknown; info?: unknown };
  return (
    Array.isArray(record) &&
    record.every((f) => typeof f === 'string') &&
    typeof info === 'object' &&
    info !== null &&
    typeof (info as { lines?: unknown }).lines === 'number' &&
    typeof (info as { empty_lines?: unknown }).empty_lines === 'number'
  );
}

function headerName(raw: string): string {
  return raw.trim().replace(/^"(.*)"$/, '$1').trim().toLowerCase();
}

/**
 * Picks `,`, `;` (spreadsheets in pt-BR locale) or tab from the header line: the one that
 * splits it into the most expected column names (`,` on a tie), so that a header missing a
 * column is still read with the right delimiter and the error names the missing column.
 */
function detectDelimiter(text: string): string {
  const headerLine = text.split('\n').find((l) => l.trim().length > 0) ?? '';
  let best = ',';
  let bestCount = 0;
  for (const delimiter of [',', ';', '\t']) {
    const names = headerLine.split(delimiter).map(headerName);
    const count = FIELDS.filter((f) => names.includes(f)).length;
    if (count > bestCount) {
      best = delimiter;
      bestCount = count;
    }
  }
  return best;
}

function readCsvEntries(file: string, content: string): RawEntry[] {
  const text = normalizeNewlines(content);
  const delimiter = detectDelimiter(text);
  let rows: unknown[];
  try {
    rows = parseCsv(text, {
      bom: true,
      delimiter,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err['lines'] === 'number' ? err['lines'] : undefined;
      const message = err.message.replace(/ (?:on|at) line \d+/, '');
      throw new ManifestError(file, `invalid CSV: ${message}`, { line, cause: err });
    }
    throw err;
  }
  // Start line of each record: the line after the previous record plus skipped empty lines.
  let prevLines = 0;
  let prevEmpty = 0;
  const records = rows.map((row) => {
    if (!isCsvRecordWithInfo(row)) throw new Error('csv-parse returned records without info (unexpected version?)');
    const line = prevLines + 1 + (row.info.empty_lines - prevEmpty);
    prevLines = row.info.lines;
    prevEmpty = row.info.empty_lines;
    return { fields: row.record, line };
  });

  const header = records[0];
  if (!header) throw new ManifestError(file, `the file is empty (expected a header row: ${FIELDS.join(',')})`);
  const names = header.fields.map(headerName);
  const missing = FIELDS.filter((f) => !names.includes(f));
  if (missing.length > 0) {
    throw new ManifestError(
      file,
      `header row is missing column${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')} ` +
        `(found: ${names.map((n) => `"${n}"`).join(', ')}; expected columns id, title, url, transcript in any order)`,
      { line: header.line, row: 1 },
    );
  }
  for (const field of FIELDS) {
    if (names.indexOf(field) !== names.lastIndexOf(field)) {
      throw new ManifestError(file, `header row has column "${field}" twice`, { line: header.line, row: 1 });
    }
  }

  return records.slice(1).map(({ fields, line }, index): RawEntry => {
    const row = index + 2;
    const label = `row ${row}`;
    const extra = fields.slice(names.length).filter((f) => f.length > 0);
    if (extra.length > 0) {
      throw new ManifestError(
        file,
        `${label} has ${fields.length} fields but the header has ${names.length} ` +
          `(a value containing "${delimiter === '\t' ? '\\t' : delimiter}" must be in double quotes)`,
        { line, row },
      );
    }
    const values: Partial<Record<Field, unknown>> = {};
    for (const field of FIELDS) {
      const value = fields[names.indexOf(field)];
      if (value !== undefined) values[field] = value;
    }
    return { values, label, line, row };
  });
}

/**
 * Reads and validates the manifest of a course folder: `videos.json` (an array of
 * `{ id, title, url, transcript }`) or, when absent, `videos.csv` (header row with those columns
 * in any order; `,` `;` or tab separated; quoted fields, BOM and CRLF accepted).
 *
 * Checks: every field present and non-empty (values are trimmed; titles and URLs lose escape
 * sequences and control characters, titles become one line: see cleanText.ts), `id` matches
 * {@link VIDEO_ID_PATTERN} and is unique, `url` is an http(s) URL, `transcript` is a relative
 * path that stays inside the folder (no absolute paths, `..` escapes or symlinks leading out)
 * and names an existing file. The returned `transcript` is normalised (`/` separators).
 *
 * @returns the videos in manifest order and the path of the manifest file that was read
 * @throws ManifestError naming the file (and line / CSV row) for any problem
 */
export async function readCourse(dir: string): Promise<{ videos: Video[]; manifestFile: string }> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new ManifestError(dir, `course folder ${JSON.stringify(dir)} is not a directory`);
  } catch (err) {
    if (err instanceof ManifestError) throw err;
    const code = errorCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new ManifestError(dir, `course folder ${JSON.stringify(dir)} does not exist`, { cause: err });
    }
    throw new ManifestError(dir, `cannot open course folder ${JSON.stringify(dir)} (${String(code ?? err)})`, { cause: err });
  }
  const courseReal = await realpath(dir);

  let manifestFile: string | undefined;
  let content = '';
  for (const name of MANIFEST_FILES) {
    const candidate = join(dir, name);
    try {
      content = decodeTranscriptBytes(await readFile(candidate));
      manifestFile = candidate;
      break;
    } catch (err) {
      if (err instanceof TextEncodingError) throw new ManifestError(candidate, err.reason, { cause: err });
      const code = errorCode(err);
      if (code === 'ENOENT') continue;
      throw new ManifestError(candidate, `cannot read manifest (${String(code ?? err)})`, { cause: err });
    }
  }
  if (manifestFile === undefined) {
    throw new ManifestError(
      dir,
      `no course manifest found in ${JSON.stringify(dir)}: looked for ${MANIFEST_FILES.join(' and ')}`,
    );
  }
  const file = manifestFile;
  const entries = file.endsWith('.json') ? readJsonEntries(file, content) : readCsvEntries(file, content);
  if (entries.length === 0) throw new ManifestError(file, 'the manifest lists no videos');

  const videos: Video[] = [];
  const seen = new Map<string, RawEntry>();
  for (const entry of entries) {
    const values: Partial<Record<Field, string>> = {};
    const idValue = entry.values.id;
    const who = typeof idValue === 'string' && idValue.trim() ? `${entry.label} (id ${JSON.stringify(idValue.trim())})` : entry.label;
    const fail: (reason: string, field?: Field) => never = (reason, field) => {
      throw new ManifestError(file, `${who}: ${reason}`, {
        line: (field && entry.fieldLines?.[field]) ?? entry.line,
        row: entry.row,
      });
    };
    for (const field of FIELDS) {
      const value = entry.values[field];
      if (value === undefined || value === null) fail(`missing field "${field}"`, field);
      if (typeof value !== 'string') fail(`field "${field}" must be a string, got ${describe(value)}`, field);
      if (value.trim() === '') fail(`field "${field}" is empty`, field);
      values[field] = value.trim();
    }
    const { id = '', transcript = '' } = values;
    const title = cleanTitle(values.title ?? '');
    if (title === '') fail('field "title" holds only control or invisible characters', 'title');
    const url = cleanUrl(values.url ?? '');

    if (!VIDEO_ID_PATTERN.test(id) || id === '.' || id === '..') {
      fail(`"id" ${JSON.stringify(id)} is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)`, 'id');
    }
    const previous = seen.get(id);
    if (previous) {
      const where = (e: RawEntry): string => (e.line !== undefined && e.row === undefined ? `${e.label} (line ${e.line})` : e.label);
      fail(`duplicate id ${JSON.stringify(id)}: used by ${where(previous)} and ${where(entry)}`, 'id');
    }
    seen.set(id, entry);

    let parsedUrl: URL | undefined;
    try {
      parsedUrl = new URL(url);
    } catch {
      parsedUrl = undefined;
    }
    if (!parsedUrl || (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') || parsedUrl.hostname === '') {
      fail(`"url" must be an http(s) URL, got ${JSON.stringify(url)}`, 'url');
    }

    const resolved = await resolveTranscript(dir, courseReal, transcript);
    if (!resolved.ok) fail(resolved.reason, 'transcript');
    videos.push({ id, title, url, transcript: resolved.relative });
  }
  return { videos, manifestFile: file };
}

/**
 * Parses the transcript of each video (paths relative to `dir`), in order.
 *
 * A transcript that is missing, outside the folder, of an unsupported type or malformed is
 * reported through `onError` (default: `console.warn` of the message) and that video is skipped;
 * the others are still returned. Never throws because of a single transcript.
 */
export async function loadCourseTranscripts(
  dir: string,
  videos: readonly Video[],
  onError: (videoId: string, err: TranscriptError) => void = (_id, err) => console.warn(err.message),
): Promise<{ video: Video; cues: Cue[] }[]> {
  const loaded: { video: Video; cues: Cue[] }[] = [];
  let courseReal: string;
  try {
    courseReal = await realpath(dir);
  } catch (err) {
    for (const video of videos) {
      onError(video.id, new TranscriptError(video.transcript, undefined, `course folder ${JSON.stringify(dir)} cannot be opened`, { cause: err }));
    }
    return loaded;
  }
  for (const video of videos) {
    try {
      const resolved = await resolveTranscript(dir, courseReal, video.transcript);
      if (!resolved.ok) throw new TranscriptError(video.transcript, undefined, resolved.reason);
      const cues = await parseTranscriptFile(resolved.absolute, video.transcript);
      loaded.push({ video, cues });
    } catch (err) {
      const error =
        err instanceof TranscriptError
          ? err
          : new TranscriptError(video.transcript, undefined, err instanceof Error ? err.message : String(err), { cause: err });
      onError(video.id, error);
    }
  }
  return loaded;
}
