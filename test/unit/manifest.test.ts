import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Video } from '../../src/types.js';
import { loadCourseTranscripts, ManifestError, readCourse } from '../../src/course/manifest.js';
import { TranscriptError } from '../../src/transcripts/errors.js';

const BOM = '\uFEFF';

const SRT = '1\n00:00:01,000 --> 00:00:04,000\nBom dia, turma.\n\n2\n00:00:04,000 --> 00:00:06,500\nHoje: gradiente descendente.\n';
const VTT = 'WEBVTT\n\n00:00:02.000 --> 00:00:05.000\nVamos ver um exemplo prático.\n';
const JSON_TRANSCRIPT = '{"segments": [{"start": 0, "end": 3.2, "text": " Revisão para a prova. "}]}';

let root: string;
let counter = 0;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pergunta-manifest-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Creates a fresh course folder with the given files (paths relative to it). */
async function makeCourse(files: Record<string, string | Buffer>): Promise<string> {
  const dir = path.join(root, `curso-${++counter}`);
  await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return dir;
}

const TRANSCRIPTS = {
  'transcripts/aula01.srt': SRT,
  'transcripts/aula02.vtt': VTT,
  'transcripts/aula03.json': JSON_TRANSCRIPT,
};

interface Entry {
  id?: unknown;
  title?: unknown;
  url?: unknown;
  transcript?: unknown;
}

const GOOD: Entry[] = [
  { id: 'aula01', title: 'Aula 1 — Introdução', url: 'https://www.youtube.com/watch?v=abc123', transcript: 'transcripts/aula01.srt' },
  { id: 'aula02', title: 'Aula 2 — Regressão linear', url: 'https://youtu.be/def456', transcript: 'transcripts/aula02.vtt' },
  { id: 'aula03', title: 'Aula 3 — Revisão', url: 'http://videos.exemplo.br/aula3.mp4', transcript: 'transcripts/aula03.json' },
];

/** JSON with one entry per line, so entry i is on line i + 2. */
function jsonManifest(entries: readonly unknown[]): string {
  return `[\n${entries.map((e) => `  ${JSON.stringify(e)}`).join(',\n')}\n]\n`;
}

async function courseWithJson(entries: readonly unknown[], extra: Record<string, string | Buffer> = {}): Promise<string> {
  return makeCourse({ ...TRANSCRIPTS, 'videos.json': jsonManifest(entries), ...extra });
}

async function expectManifestError(
  promise: Promise<unknown>,
  expected: { file: string; line?: number | undefined; row?: number | undefined; reason: string | RegExp },
): Promise<ManifestError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ManifestError);
  const e = err as ManifestError;
  expect(e.name).toBe('ManifestError');
  expect(e.file).toBe(expected.file);
  expect(e.line).toBe(expected.line);
  expect(e.row).toBe(expected.row);
  if (typeof expected.reason === 'string') expect(e.reason).toBe(expected.reason);
  else expect(e.reason).toMatch(expected.reason);
  expect(e.message).toBe(`${expected.file}${expected.line === undefined ? '' : `:${expected.line}`}: ${e.reason}`);
  return e;
}

const EXPECTED_VIDEOS: Video[] = [
  { id: 'aula01', title: 'Aula 1 — Introdução', url: 'https://www.youtube.com/watch?v=abc123', transcript: 'transcripts/aula01.srt' },
  { id: 'aula02', title: 'Aula 2 — Regressão linear', url: 'https://youtu.be/def456', transcript: 'transcripts/aula02.vtt' },
  { id: 'aula03', title: 'Aula 3 — Revisão', url: 'http://videos.exemplo.br/aula3.mp4', transcript: 'transcripts/aula03.json' },
];

// ---------------------------------------------------------------------------------------------

describe('readCourse: videos.json', () => {
  it('reads a valid manifest', async () => {
    const dir = await courseWithJson(GOOD);
    expect(await readCourse(dir)).toEqual({ videos: EXPECTED_VIDEOS, manifestFile: path.join(dir, 'videos.json') });
  });

  it('trims values, normalises transcript paths, ignores extra fields, accepts a BOM and CRLF', async () => {
    const entries = [
      { id: ' aula01 ', title: '  Aula 1 — Introdução ', url: ' https://www.youtube.com/watch?v=abc123 ', transcript: './transcripts/aula01.srt', duracao: 3600 },
      { id: 'aula02', title: 'Aula 2 — Regressão linear', url: 'https://youtu.be/def456', transcript: 'transcripts\\aula02.vtt' },
      { id: 'aula03', title: 'Aula 3 — Revisão', url: 'http://videos.exemplo.br/aula3.mp4', transcript: 'transcripts/../transcripts//aula03.json' },
    ];
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.json': BOM + jsonManifest(entries).replace(/\n/g, '\r\n') });
    expect((await readCourse(dir)).videos).toEqual(EXPECTED_VIDEOS);
  });

  it('reads a videos.json saved as UTF-16 without a byte-order mark', async () => {
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.json': Buffer.from(jsonManifest(GOOD), 'utf16le') });
    expect((await readCourse(dir)).videos).toEqual(EXPECTED_VIDEOS);
  });

  it('prefers videos.json when videos.csv also exists', async () => {
    const dir = await courseWithJson(GOOD, { 'videos.csv': 'isto nem é csv válido\n"' });
    expect((await readCourse(dir)).manifestFile).toBe(path.join(dir, 'videos.json'));
  });

  it('accepts a symlink that stays inside the course folder', async () => {
    const dir = await courseWithJson([{ ...GOOD[0], transcript: 'atalho.srt' }]);
    await symlink(path.join(dir, 'transcripts/aula01.srt'), path.join(dir, 'atalho.srt'));
    expect((await readCourse(dir)).videos[0]?.transcript).toBe('atalho.srt');
  });

  it('accepts ids with dots, dashes and underscores up to 100 characters', async () => {
    const ids = ['a', 'MC102_2024-1.aula-07', 'x'.repeat(100)];
    const dir = await courseWithJson(ids.map((id) => ({ ...GOOD[0], id })));
    expect((await readCourse(dir)).videos.map((v) => v.id)).toEqual(ids);
  });
});

describe('readCourse: control characters in titles and urls', () => {
  const HOSTILE_TITLE = 'Aula\x1b[2J 1\x1b]0;pwned\x07 —\u009b31m Introdução\x00\x7f\u0085\n\tparte\u202e A\x1b[0m';
  const CONTROL = /[\p{Cc}\u202e]/u;

  it('strips escape sequences and C0/C1/DEL (and bidi controls) from titles, keeping them one line', async () => {
    const dir = await courseWithJson([{ ...GOOD[0], title: HOSTILE_TITLE }, GOOD[1], GOOD[2]]);
    const { videos } = await readCourse(dir);
    expect(videos[0]!.title).toBe('Aula 1 — Introdução parte A');
    expect(videos.map((v) => v.title).join('')).not.toMatch(CONTROL);
  });

  it('also in videos.csv', async () => {
    const csv = `id,title,url,transcript\naula01,"${HOSTILE_TITLE}",https://youtu.be/a1,transcripts/aula01.srt\n`;
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': csv });
    expect((await readCourse(dir)).videos[0]!.title).toBe('Aula 1 — Introdução parte A');
  });

  it('strips them from urls', async () => {
    const dir = await courseWithJson([{ ...GOOD[0], url: 'https://youtu.be/abc\x1b[2J123?x=\x1b]0;t\x07\u009b1m1' }, GOOD[1], GOOD[2]]);
    expect((await readCourse(dir)).videos[0]!.url).toBe('https://youtu.be/abc123?x=1');
  });

  it('refuses a title made only of control characters, naming the line', async () => {
    const dir = await courseWithJson([GOOD[0], { ...GOOD[1], title: '\x1b[2J\x07\u009b' }, GOOD[2]]);
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 3,
      reason: 'videos[1] (id "aula02"): field "title" holds only control or invisible characters',
    });
  });
});

describe('readCourse: folder and manifest problems', () => {
  it('refuses a course folder that does not exist', async () => {
    const dir = path.join(root, 'nao-existe');
    await expectManifestError(readCourse(dir), { file: dir, reason: `course folder "${dir}" does not exist` });
  });

  it('refuses a course folder that is a file', async () => {
    const dir = await makeCourse({ 'arquivo.txt': 'x' });
    const file = path.join(dir, 'arquivo.txt');
    await expectManifestError(readCourse(file), { file, reason: `course folder "${file}" is not a directory` });
  });

  it('says which manifest files it looked for', async () => {
    const dir = await makeCourse({ 'videos.txt': 'x', ...TRANSCRIPTS });
    await expectManifestError(readCourse(dir), {
      file: dir,
      reason: `no course manifest found in "${dir}": looked for videos.json and videos.csv`,
    });
  });

  it('reports invalid JSON with its line', async () => {
    const dir = await makeCourse({
      ...TRANSCRIPTS,
      'videos.json': '[\n  {"id": "aula01", "title": "Aula 1",}\n]\n',
    });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 2,
      reason: /^invalid JSON: .+ \(line 2, column \d+\)$/,
    });
  });

  it('reports an empty videos.json', async () => {
    const dir = await makeCourse({ 'videos.json': '' });
    await expectManifestError(readCourse(dir), { file: path.join(dir, 'videos.json'), reason: 'invalid JSON: the file is empty' });
  });

  it.each([
    ['an object', '{"videos": []}'],
    ['a string', '"aula01"'],
    ['null', 'null'],
  ])('refuses a top level that is %s, not an array', async (what, content) => {
    const dir = await makeCourse({ 'videos.json': content });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 1,
      reason: `expected a JSON array of videos [{"id", "title", "url", "transcript"}, …], got ${what === 'a string' ? '"aula01"' : what}`,
    });
  });

  it('refuses an empty list', async () => {
    const dir = await makeCourse({ 'videos.json': '[]' });
    await expectManifestError(readCourse(dir), { file: path.join(dir, 'videos.json'), reason: 'the manifest lists no videos' });
  });

  it('refuses an entry that is not an object', async () => {
    const dir = await courseWithJson([GOOD[0], 'aula02']);
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 3,
      reason: 'videos[1] must be an object with "id", "title", "url" and "transcript", got "aula02"',
    });
  });
});

interface EntryErrorCase {
  name: string;
  /** Replaces GOOD[1] (entry index 1, on line 3). */
  entry: Entry;
  reason: string;
}

const entryErrorCases: EntryErrorCase[] = [
  { name: 'missing id', entry: { ...GOOD[1], id: undefined }, reason: 'videos[1]: missing field "id"' },
  { name: 'missing title', entry: { ...GOOD[1], title: undefined }, reason: 'videos[1] (id "aula02"): missing field "title"' },
  { name: 'missing url', entry: { ...GOOD[1], url: undefined }, reason: 'videos[1] (id "aula02"): missing field "url"' },
  { name: 'missing transcript', entry: { ...GOOD[1], transcript: undefined }, reason: 'videos[1] (id "aula02"): missing field "transcript"' },
  { name: 'null title', entry: { ...GOOD[1], title: null }, reason: 'videos[1] (id "aula02"): missing field "title"' },
  { name: 'empty id', entry: { ...GOOD[1], id: '' }, reason: 'videos[1]: field "id" is empty' },
  { name: 'blank title', entry: { ...GOOD[1], title: '   ' }, reason: 'videos[1] (id "aula02"): field "title" is empty' },
  { name: 'empty url', entry: { ...GOOD[1], url: '' }, reason: 'videos[1] (id "aula02"): field "url" is empty' },
  { name: 'empty transcript', entry: { ...GOOD[1], transcript: '' }, reason: 'videos[1] (id "aula02"): field "transcript" is empty' },
  { name: 'numeric id', entry: { ...GOOD[1], id: 2 }, reason: 'videos[1]: field "id" must be a string, got 2' },
  { name: 'array title', entry: { ...GOOD[1], title: ['Aula 2'] }, reason: 'videos[1] (id "aula02"): field "title" must be a string, got an array' },
  {
    name: 'id with a space',
    entry: { ...GOOD[1], id: 'aula 02' },
    reason: 'videos[1] (id "aula 02"): "id" "aula 02" is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)',
  },
  {
    name: 'id with an accent',
    entry: { ...GOOD[1], id: 'revisão' },
    reason: 'videos[1] (id "revisão"): "id" "revisão" is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)',
  },
  {
    name: 'id with a slash',
    entry: { ...GOOD[1], id: 'aulas/02' },
    reason: 'videos[1] (id "aulas/02"): "id" "aulas/02" is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)',
  },
  {
    name: 'id of 101 characters',
    entry: { ...GOOD[1], id: 'a'.repeat(101) },
    reason: `videos[1] (id "${'a'.repeat(101)}"): "id" "${'a'.repeat(101)}" is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)`,
  },
  {
    name: 'id ".."',
    entry: { ...GOOD[1], id: '..' },
    reason: 'videos[1] (id ".."): "id" ".." is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)',
  },
  {
    name: 'duplicate id',
    entry: { ...GOOD[1], id: 'aula01' },
    reason: 'videos[1] (id "aula01"): duplicate id "aula01": used by videos[0] (line 2) and videos[1] (line 3)',
  },
  { name: 'url without scheme', entry: { ...GOOD[1], url: 'youtu.be/def456' }, reason: 'videos[1] (id "aula02"): "url" must be an http(s) URL, got "youtu.be/def456"' },
  { name: 'ftp url', entry: { ...GOOD[1], url: 'ftp://videos.exemplo.br/a.mp4' }, reason: 'videos[1] (id "aula02"): "url" must be an http(s) URL, got "ftp://videos.exemplo.br/a.mp4"' },
  { name: 'javascript: url', entry: { ...GOOD[1], url: 'javascript:alert(1)' }, reason: 'videos[1] (id "aula02"): "url" must be an http(s) URL, got "javascript:alert(1)"' },
  { name: 'file path as url', entry: { ...GOOD[1], url: '/videos/aula02.mp4' }, reason: 'videos[1] (id "aula02"): "url" must be an http(s) URL, got "/videos/aula02.mp4"' },
  {
    name: 'absolute transcript path',
    entry: { ...GOOD[1], transcript: '/etc/passwd' },
    reason: 'videos[1] (id "aula02"): "transcript" must be a path relative to the course folder, got absolute path "/etc/passwd"',
  },
  {
    name: 'Windows absolute transcript path',
    entry: { ...GOOD[1], transcript: 'C:\\legendas\\aula02.srt' },
    reason: 'videos[1] (id "aula02"): "transcript" must be a path relative to the course folder, got absolute path "C:\\\\legendas\\\\aula02.srt"',
  },
  {
    name: '../../etc/passwd',
    entry: { ...GOOD[1], transcript: '../../etc/passwd' },
    reason: 'videos[1] (id "aula02"): "transcript" path "../../etc/passwd" points outside the course folder',
  },
  {
    name: 'traversal in the middle of the path',
    entry: { ...GOOD[1], transcript: 'transcripts/../../outro-curso/aula02.vtt' },
    reason: 'videos[1] (id "aula02"): "transcript" path "transcripts/../../outro-curso/aula02.vtt" points outside the course folder',
  },
  {
    name: 'backslash traversal',
    entry: { ...GOOD[1], transcript: '..\\..\\etc\\passwd' },
    reason: 'videos[1] (id "aula02"): "transcript" path "..\\\\..\\\\etc\\\\passwd" points outside the course folder',
  },
  {
    name: 'transcript file that does not exist',
    entry: { ...GOOD[1], transcript: 'transcripts/aula02.srt' },
    reason: 'videos[1] (id "aula02"): transcript file "transcripts/aula02.srt" does not exist',
  },
  {
    name: 'transcript that is a folder',
    entry: { ...GOOD[1], transcript: 'transcripts' },
    reason: 'videos[1] (id "aula02"): transcript "transcripts" is not a file',
  },
  {
    name: 'transcript that is the course folder itself',
    entry: { ...GOOD[1], transcript: '.' },
    reason: 'videos[1] (id "aula02"): transcript "." is not a file',
  },
];

describe('readCourse: invalid entries in videos.json', () => {
  it.each(entryErrorCases)('$name', async ({ entry, reason }) => {
    const dir = await courseWithJson([GOOD[0], entry, GOOD[2]]);
    await expectManifestError(readCourse(dir), { file: path.join(dir, 'videos.json'), line: 3, reason });
  });

  it('points at the line of the offending field in a pretty-printed manifest', async () => {
    const entries = [GOOD[0], { ...GOOD[1], url: 'www.youtube.com/watch?v=def456' }];
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.json': JSON.stringify(entries, null, 2) });
    // [, {, id, title, url, transcript, }, {, id, title, url ← line 11
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 11,
      reason: 'videos[1] (id "aula02"): "url" must be an http(s) URL, got "www.youtube.com/watch?v=def456"',
    });
  });

  it('refuses a symlink that resolves outside the course folder', async () => {
    const outside = await makeCourse({ 'segredo.srt': SRT });
    const dir = await courseWithJson([GOOD[0], { ...GOOD[1], transcript: 'transcripts/link.srt' }]);
    await symlink(path.join(outside, 'segredo.srt'), path.join(dir, 'transcripts/link.srt'));
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 3,
      reason: /^videos\[1\] \(id "aula02"\): "transcript" path "transcripts\/link.srt" resolves \(through a symlink\) to ".*segredo\.srt", outside the course folder$/,
    });
  });

  it('refuses a symlinked folder that leads outside the course folder', async () => {
    const outside = await makeCourse({ 'legendas/aula02.vtt': VTT });
    const dir = await courseWithJson([GOOD[0], { ...GOOD[1], transcript: 'externo/aula02.vtt' }]);
    await symlink(path.join(outside, 'legendas'), path.join(dir, 'externo'));
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 3,
      reason: /resolves \(through a symlink\) to ".*legendas[/\\]aula02\.vtt", outside the course folder$/,
    });
  });

  it('reports a dangling symlink as a missing transcript', async () => {
    const dir = await courseWithJson([{ ...GOOD[0], transcript: 'quebrado.srt' }]);
    await symlink(path.join(dir, 'apagado.srt'), path.join(dir, 'quebrado.srt'));
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.json'),
      line: 2,
      reason: 'videos[0] (id "aula01"): transcript file "quebrado.srt" does not exist',
    });
  });

  it('works when the course folder itself is reached through a symlink', async () => {
    const real = await courseWithJson(GOOD);
    const link = path.join(root, `link-${++counter}`);
    await symlink(real, link);
    expect((await readCourse(link)).videos).toEqual(EXPECTED_VIDEOS);
  });
});

// ---------------------------------------------------------------------------------------------

describe('readCourse: videos.csv', () => {
  it('reads columns in any order, quoted fields, BOM and CRLF', async () => {
    const csv =
      BOM +
      [
        'transcript,url,id,title',
        'transcripts/aula01.srt,https://www.youtube.com/watch?v=abc123,aula01,"Aula 1 — Introdução"',
        '"transcripts/aula02.vtt","https://youtu.be/def456","aula02","Aula 2 — Regressão linear"',
        'transcripts/aula03.json,http://videos.exemplo.br/aula3.mp4,aula03,Aula 3 — Revisão',
        '',
      ].join('\r\n');
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': csv });
    expect(await readCourse(dir)).toEqual({ videos: EXPECTED_VIDEOS, manifestFile: path.join(dir, 'videos.csv') });
  });

  it('handles commas, quotes and line breaks inside quoted fields, blank lines, spaces and extra columns', async () => {
    const csv = [
      'ID , Title , URL , Transcript , duracao',
      '',
      'aula01 , "Aula 1: listas, tuplas e ""dicionários""" , https://youtu.be/a1 , transcripts/aula01.srt , 55:00',
      'aula02,"Aula 2',
      'parte A",https://youtu.be/a2,transcripts/aula02.vtt,',
    ].join('\n');
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': csv });
    expect((await readCourse(dir)).videos).toEqual([
      { id: 'aula01', title: 'Aula 1: listas, tuplas e "dicionários"', url: 'https://youtu.be/a1', transcript: 'transcripts/aula01.srt' },
      // Titles are one line: the line break inside the quoted field becomes a space.
      { id: 'aula02', title: 'Aula 2 parte A', url: 'https://youtu.be/a2', transcript: 'transcripts/aula02.vtt' },
    ]);
  });

  it('reads a semicolon-separated file as saved by a pt-BR spreadsheet (Windows-1252)', async () => {
    const csv = Buffer.from('id;title;url;transcript\r\naula01;Aula 1, introdução;https://youtu.be/a1;transcripts/aula01.srt\r\n', 'latin1');
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': csv });
    expect((await readCourse(dir)).videos).toEqual([
      { id: 'aula01', title: 'Aula 1, introdução', url: 'https://youtu.be/a1', transcript: 'transcripts/aula01.srt' },
    ]);
  });

  it('reports a header without a required column', async () => {
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': '\nid,titulo,url\naula01,Aula 1,https://youtu.be/a1\n' });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.csv'),
      line: 2,
      row: 1,
      reason:
        'header row is missing columns "title", "transcript" (found: "id", "titulo", "url"; expected columns id, title, url, transcript in any order)',
    });
  });

  it('reports a header with a column twice', async () => {
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': 'id,title,url,transcript,url\n' });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.csv'),
      line: 1,
      row: 1,
      reason: 'header row has column "url" twice',
    });
  });

  it('reports an empty file and a header without rows', async () => {
    const empty = await makeCourse({ 'videos.csv': `${BOM}\r\n` });
    await expectManifestError(readCourse(empty), {
      file: path.join(empty, 'videos.csv'),
      reason: 'the file is empty (expected a header row: id,title,url,transcript)',
    });
    const headerOnly = await makeCourse({ 'videos.csv': 'id,title,url,transcript\n' });
    await expectManifestError(readCourse(headerOnly), { file: path.join(headerOnly, 'videos.csv'), reason: 'the manifest lists no videos' });
  });

  const header = 'id,title,url,transcript';
  const row1 = 'aula01,Aula 1,https://youtu.be/a1,transcripts/aula01.srt';
  it.each([
    {
      name: 'a missing field (short row)',
      rows: [row1, 'aula02,Aula 2,https://youtu.be/a2'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula02"): missing field "transcript"',
    },
    {
      name: 'an empty field',
      rows: [row1, 'aula02,,https://youtu.be/a2,transcripts/aula02.vtt'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula02"): field "title" is empty',
    },
    {
      name: 'an unquoted comma in a title (too many fields)',
      rows: [row1, 'aula02,Aula 2, parte A,https://youtu.be/a2,transcripts/aula02.vtt'],
      line: 3,
      row: 3,
      reason: 'row 3 has 5 fields but the header has 4 (a value containing "," must be in double quotes)',
    },
    {
      name: 'a duplicate id (both rows named)',
      rows: [row1, 'aula02,Aula 2,https://youtu.be/a2,transcripts/aula02.vtt', 'aula01,Aula 1 de novo,https://youtu.be/a3,transcripts/aula03.json'],
      line: 4,
      row: 4,
      reason: 'row 4 (id "aula01"): duplicate id "aula01": used by row 2 and row 4',
    },
    {
      name: 'an invalid url',
      rows: [row1, 'aula02,Aula 2,youtube,transcripts/aula02.vtt'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula02"): "url" must be an http(s) URL, got "youtube"',
    },
    {
      name: 'an invalid id',
      rows: [row1, 'aula 02,Aula 2,https://youtu.be/a2,transcripts/aula02.vtt'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula 02"): "id" "aula 02" is not valid: use 1 to 100 letters, digits, ".", "_" or "-" (no spaces or accents)',
    },
    {
      name: 'a path traversal',
      rows: [row1, 'aula02,Aula 2,https://youtu.be/a2,../../etc/passwd'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula02"): "transcript" path "../../etc/passwd" points outside the course folder',
    },
    {
      name: 'a missing transcript file',
      rows: [row1, 'aula02,Aula 2,https://youtu.be/a2,transcripts/aula99.srt'],
      line: 3,
      row: 3,
      reason: 'row 3 (id "aula02"): transcript file "transcripts/aula99.srt" does not exist',
    },
    {
      name: 'a problem after a multi-line quoted field and a blank line (line ≠ row)',
      rows: ['aula01,"Aula 1', 'continua",https://youtu.be/a1,transcripts/aula01.srt', '', 'aula02,Aula 2,https://youtu.be/a2,/etc/passwd'],
      line: 5,
      row: 3,
      reason: 'row 3 (id "aula02"): "transcript" must be a path relative to the course folder, got absolute path "/etc/passwd"',
    },
  ])('reports $name with its row and line', async ({ rows, line, row, reason }) => {
    const dir = await makeCourse({ ...TRANSCRIPTS, 'videos.csv': [header, ...rows].join('\r\n') + '\r\n' });
    await expectManifestError(readCourse(dir), { file: path.join(dir, 'videos.csv'), line, row, reason });
  });

  it('reports CSV syntax errors (unclosed quote) with the line', async () => {
    const dir = await makeCourse({
      ...TRANSCRIPTS,
      'videos.csv': `${header}\n${row1}\naula02,"Aula 2 sem fechar aspas,https://youtu.be/a2,transcripts/aula02.vtt\n`,
    });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.csv'),
      line: 3,
      reason: 'invalid CSV: Quote Not Closed: the parsing is finished with an opening quote',
    });
  });

  it('reports CSV syntax errors (text after a closing quote) with the line', async () => {
    const dir = await makeCourse({
      ...TRANSCRIPTS,
      'videos.csv': `${header}\n${row1}\naula02,"Aula 2" extra,https://youtu.be/a2,transcripts/aula02.vtt\n`,
    });
    await expectManifestError(readCourse(dir), {
      file: path.join(dir, 'videos.csv'),
      line: 3,
      reason: /^invalid CSV: Invalid Closing Quote/,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('loadCourseTranscripts', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('parses every transcript of a course', async () => {
    const dir = await courseWithJson(GOOD);
    const { videos } = await readCourse(dir);
    const onError = vi.fn();
    const loaded = await loadCourseTranscripts(dir, videos, onError);
    expect(onError).not.toHaveBeenCalled();
    expect(loaded).toEqual([
      {
        video: EXPECTED_VIDEOS[0],
        cues: [
          { start: 1, end: 4, text: 'Bom dia, turma.' },
          { start: 4, end: 6.5, text: 'Hoje: gradiente descendente.' },
        ],
      },
      { video: EXPECTED_VIDEOS[1], cues: [{ start: 2, end: 5, text: 'Vamos ver um exemplo prático.' }] },
      { video: EXPECTED_VIDEOS[2], cues: [{ start: 0, end: 3.2, text: 'Revisão para a prova.' }] },
    ]);
  });

  it('reports malformed transcripts through onError and keeps the others', async () => {
    const files = {
      'transcripts/aula01.srt': SRT,
      'transcripts/aula02.vtt': 'sem cabeçalho\n\n00:00:01.000 --> 00:00:02.000\ntexto\n',
      'transcripts/aula03.json': '{"segments": [\n{"start": "x", "end": 1, "text": "oi"}]}',
      'transcripts/aula04.srt': '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:0x,000 --> 00:00:03,000\nquebrado\n',
      'transcripts/aula05.txt': 'texto corrido',
      'transcripts/aula06.vtt': VTT,
    };
    const entries = [
      GOOD[0],
      GOOD[1],
      GOOD[2],
      { id: 'aula04', title: 'Aula 4', url: 'https://youtu.be/a4', transcript: 'transcripts/aula04.srt' },
      { id: 'aula05', title: 'Aula 5', url: 'https://youtu.be/a5', transcript: 'transcripts/aula05.txt' },
      { id: 'aula06', title: 'Aula 6', url: 'https://youtu.be/a6', transcript: 'transcripts/aula06.vtt' },
    ];
    const dir = await makeCourse({ ...files, 'videos.json': jsonManifest(entries) });
    const { videos } = await readCourse(dir);
    const errors: { id: string; err: TranscriptError }[] = [];
    const loaded = await loadCourseTranscripts(dir, videos, (id, err) => errors.push({ id, err }));

    expect(loaded.map((l) => l.video.id)).toEqual(['aula01', 'aula06']);
    expect(loaded[1]?.cues).toEqual([{ start: 2, end: 5, text: 'Vamos ver um exemplo prático.' }]);
    expect(errors.map((e) => e.id)).toEqual(['aula02', 'aula03', 'aula04', 'aula05']);
    for (const { err } of errors) expect(err).toBeInstanceOf(TranscriptError);
    expect(errors.map((e) => e.err.message)).toEqual([
      'transcripts/aula02.vtt:1: missing "WEBVTT" header on the first line, found "sem cabeçalho"',
      'transcripts/aula03.json:2: segments[0]: "start" must be a number of seconds, got "x"',
      'transcripts/aula04.srt:6: timestamp "00:00:0x,000" is not valid (expected HH:MM:SS,mmm)',
      'transcripts/aula05.txt: unsupported transcript format (extension ".txt"); supported extensions are .vtt, .srt, .json',
    ]);
  });

  it('reports a transcript deleted after readCourse, and paths outside the folder, without throwing', async () => {
    const dir = await courseWithJson(GOOD);
    const { videos } = await readCourse(dir);
    await unlink(path.join(dir, 'transcripts/aula02.vtt'));
    const handmade: Video[] = [
      ...videos,
      { id: 'fora', title: 'Fora', url: 'https://youtu.be/x', transcript: '../../etc/passwd' },
      { id: 'absoluto', title: 'Absoluto', url: 'https://youtu.be/y', transcript: '/etc/passwd' },
    ];
    const errors: [string, string][] = [];
    const loaded = await loadCourseTranscripts(dir, handmade, (id, err) => errors.push([id, err.message]));
    expect(loaded.map((l) => l.video.id)).toEqual(['aula01', 'aula03']);
    expect(errors).toEqual([
      ['aula02', 'transcripts/aula02.vtt: transcript file "transcripts/aula02.vtt" does not exist'],
      ['fora', '../../etc/passwd: "transcript" path "../../etc/passwd" points outside the course folder'],
      ['absoluto', '/etc/passwd: "transcript" must be a path relative to the course folder, got absolute path "/etc/passwd"'],
    ]);
  });

  it('warns on the console when no onError is given', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const dir = await makeCourse({ 'transcripts/aula01.srt': '1\n00:00:02,000 --> 00:00:01,000\nvolta\n' });
    const loaded = await loadCourseTranscripts(dir, [{ ...EXPECTED_VIDEOS[0]! }]);
    expect(loaded).toEqual([]);
    expect(warn).toHaveBeenCalledWith('transcripts/aula01.srt:2: cue ends before it starts (end "00:00:01,000" is before start "00:00:02,000")');
  });

  it('reports every video when the course folder is gone', async () => {
    const errors: string[] = [];
    const loaded = await loadCourseTranscripts(path.join(root, 'sumiu'), EXPECTED_VIDEOS, (id) => errors.push(id));
    expect(loaded).toEqual([]);
    expect(errors).toEqual(['aula01', 'aula02', 'aula03']);
  });
});
