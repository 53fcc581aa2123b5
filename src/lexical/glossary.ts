/**
 * The course glossary: `glossario.csv` in the course folder, one row per concept.
 *
 *   termo,sinonimos
 *   taxa de aprendizado,learning rate|lr|learning rei
 *   matriz de confusão,confusion matrix
 *
 * The first column is the term, the second its synonyms separated by `|` (the English form, the
 * lecture's Portuguese one, how the captions mis-hear it). `,`, `;` or a tab separate the columns
 * (spreadsheets in the pt-BR locale save with `;`); UTF-8, UTF-16 and Windows-1252 are read. Ingest
 * checks the file before anything is written and stores it in the index, so the bot needs no
 * course folder. A question that contains one form of a concept also searches the others.
 *
 * Expressions are compared after analysis (lowercase, no accents, stems, no stop words), so
 * "Learning rates" matches "learning rate", and "taxa de aprendizado" is the terms [tax, aprendiz].
 * Rows sharing an expression are one concept.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import { EXIT, UserError } from '../errors.js';
import { TextEncodingError, decodeTranscriptBytes } from '../transcripts/parseTranscript.js';
import { normalizeNewlines } from '../transcripts/common.js';
import { analyze, foldAccents } from './portugueseAnalyzer.js';

export const GLOSSARY_FILE = 'glossario.csv';
/** Rows at most: a glossary is a few hundred concepts, not a dictionary. */
export const MAX_GLOSSARY_ROWS = 5000;
/** Characters per expression at most. */
const MAX_EXPRESSION_CHARS = 200;

/** One concept: its expressions, the term first. */
export type GlossaryConcept = string[];

export interface Glossary {
  /** File it was read from (relative to the course folder), for messages. */
  source: string;
  concepts: GlossaryConcept[];
}

/** The glossary file cannot be used; the message names the file and the line. Exit 1: fix the file. */
export class GlossaryError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(
    readonly file: string,
    readonly reason: string,
    readonly line?: number,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`);
    this.name = 'GlossaryError';
  }
}

function headerName(raw: string): string {
  return foldAccents(raw.trim().replace(/^"(.*)"$/, '$1').trim().toLowerCase());
}

function detectDelimiter(text: string): string {
  const header = text.split('\n').find((l) => l.trim() !== '') ?? '';
  for (const delimiter of [',', ';', '\t']) {
    const names = header.split(delimiter).map(headerName);
    if (names.includes('termo') && names.includes('sinonimos')) return delimiter;
  }
  return ',';
}

/** Parses the text of a glossary file. Throws GlossaryError naming the line of the first problem. */
export function parseGlossary(text: string, file = GLOSSARY_FILE): Glossary {
  const content = normalizeNewlines(text);
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parseCsv(content, {
      bom: true,
      delimiter: detectDelimiter(content),
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    if (err instanceof CsvError) {
      const line = typeof err['lines'] === 'number' ? err['lines'] : undefined;
      throw new GlossaryError(file, `invalid CSV: ${err.message.replace(/ (?:on|at) line \d+/, '')}`, line);
    }
    throw err;
  }
  const [header, ...body] = rows;
  if (!header) throw new GlossaryError(file, 'the file is empty (expected a header row: termo,sinonimos)');
  const names = header.record.map(headerName);
  const termColumn = names.indexOf('termo');
  const synonymsColumn = names.indexOf('sinonimos');
  if (termColumn < 0 || synonymsColumn < 0) {
    throw new GlossaryError(file, `the header row must name the columns termo and sinonimos (found: ${names.map((n) => `"${n}"`).join(', ')})`, header.info.lines);
  }
  if (body.length > MAX_GLOSSARY_ROWS) throw new GlossaryError(file, `has ${body.length} rows; at most ${MAX_GLOSSARY_ROWS} are read`);
  const concepts: GlossaryConcept[] = [];
  for (const { record, info } of body) {
    // info.lines is the last line of the record; rows hold no line breaks unless quoted.
    const line = info.lines;
    const term = (record[termColumn] ?? '').trim();
    const synonyms = (record[synonymsColumn] ?? '')
      .split('|')
      .map((s) => s.trim())
      .filter(Boolean);
    if (term === '' && synonyms.length === 0) continue;
    if (term === '') throw new GlossaryError(file, 'the term (column termo) is empty', line);
    if (synonyms.length === 0) throw new GlossaryError(file, `"${term}" has no synonym (column sinonimos, separated by |)`, line);
    const expressions = [term, ...synonyms];
    for (const expression of expressions) {
      if (expression.length > MAX_EXPRESSION_CHARS) {
        throw new GlossaryError(file, `an expression is longer than ${MAX_EXPRESSION_CHARS} characters`, line);
      }
      if (analyze(expression).length === 0) {
        throw new GlossaryError(file, `"${expression}" has no searchable word (only stop words or single letters)`, line);
      }
    }
    concepts.push(expressions);
  }
  return { source: file, concepts };
}

/** Reads `glossario.csv` of a course folder; null when the course has none. */
export async function readGlossary(courseDir: string): Promise<Glossary | null> {
  const file = path.join(courseDir, GLOSSARY_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GlossaryError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let text: string;
  try {
    text = decodeTranscriptBytes(bytes);
  } catch (err) {
    if (err instanceof TextEncodingError) throw new GlossaryError(file, err.message);
    throw err;
  }
  return { ...parseGlossary(text, file), source: GLOSSARY_FILE };
}

/** Where a glossary expression occurs in a question's terms. */
export interface ExpressionMatch {
  /** Position of its first term in the question's terms. */
  from: number;
  /** Number of terms it spans. */
  length: number;
  /** The other expressions of its concept, as terms. */
  alternatives: string[][];
}

/** A glossary ready for questions: its expressions analysed, concepts sharing one merged. */
export class CompiledGlossary {
  /** First term → expressions starting with it (longest first), each with its concept. */
  private readonly byFirstTerm = new Map<string, { terms: string[]; concept: number }[]>();
  /** Per concept, its distinct expressions as terms. */
  private readonly concepts: string[][][];

  constructor(glossary: Pick<Glossary, 'concepts'>) {
    // Concepts that share an analysed expression are one concept (union–find over rows).
    const rows = glossary.concepts.map((expressions) => expressions.map((e) => analyze(e)).filter((t) => t.length > 0));
    const parent = rows.map((_, i) => i);
    const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
    const owner = new Map<string, number>();
    rows.forEach((expressions, row) => {
      for (const terms of expressions) {
        const key = terms.join(' ');
        const other = owner.get(key);
        if (other === undefined) owner.set(key, row);
        else parent[find(row)] = find(other);
      }
    });
    const merged = new Map<number, Map<string, string[]>>();
    rows.forEach((expressions, row) => {
      const root = find(row);
      let concept = merged.get(root);
      if (!concept) merged.set(root, (concept = new Map()));
      for (const terms of expressions) concept.set(terms.join(' '), terms);
    });
    this.concepts = [...merged.values()].map((c) => [...c.values()]);
    this.concepts.forEach((expressions, concept) => {
      for (const terms of expressions) {
        const list = this.byFirstTerm.get(terms[0]!) ?? [];
        list.push({ terms, concept });
        this.byFirstTerm.set(terms[0]!, list);
      }
    });
    for (const list of this.byFirstTerm.values()) list.sort((a, b) => b.terms.length - a.terms.length);
  }

  /** Number of concepts (after merging). */
  get size(): number {
    return this.concepts.length;
  }

  /**
   * The glossary expressions found in a question's terms, left to right, longest first where two
   * start at the same term, never overlapping.
   */
  match(terms: readonly string[]): ExpressionMatch[] {
    const matches: ExpressionMatch[] = [];
    let i = 0;
    while (i < terms.length) {
      const found = (this.byFirstTerm.get(terms[i]!) ?? []).find((e) => e.terms.every((t, j) => terms[i + j] === t));
      if (!found) {
        i++;
        continue;
      }
      const key = found.terms.join(' ');
      matches.push({
        from: i,
        length: found.terms.length,
        alternatives: this.concepts[found.concept]!.filter((e) => e.join(' ') !== key),
      });
      i += found.terms.length;
    }
    return matches;
  }
}
