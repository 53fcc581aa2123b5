/**
 * The course's answer policy (homework guardrails): in `guide` mode the answer prompt tells the
 * model to explain concepts and point to the lecture moments, but not to solve graded work, and
 * to say so kindly when asked for a solution.
 *
 * A course sets it in `politica.md` in its course folder, read at ingest and kept in the index
 * generation (the bot has it without the course folder). The file is Markdown with an optional
 * front matter:
 *
 *     ---
 *     modo: orientar        # orientar | guide (default) · livre | open (no guardrails)
 *     versão: 2026-1        # optional; default: a hash of the text
 *     ---
 *     Free text for the model (pt-BR), e.g. what counts as a solution in this course.
 *
 *     ## Trabalhos avaliados
 *     - Lista 1 — regressão linear
 *     - Trabalho final: classificador de imagens
 *
 * List items under a heading that says "avaliad…" (Trabalhos avaliados, Atividades avaliadas…)
 * are the graded assignments the prompt names. The setting ANSWER_POLICY=guide applies the
 * guardrails to a course without the file (or forces them on), ANSWER_POLICY=open turns them off.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EXIT, UserError } from '../errors.js';

export const POLICY_FILE = 'politica.md';
/** Longest policy text accepted: it goes into every answer prompt. */
export const MAX_POLICY_CHARS = 6000;
/** Version of the built-in guide rules (src/answer/prompt.ts), used when no policy file gives one. */
export const GUIDE_RULES_VERSION = 'orientar-2026-12-07.1';

export type PolicyMode = 'guide' | 'open';

export interface AnswerPolicy {
  mode: PolicyMode;
  /** From the front matter, else `sha256:<12 hex>` of the text; the built-in rules' version without a file. */
  version: string;
  /** The policy text (without front matter) for the prompt; null when the mode comes from ANSWER_POLICY alone. */
  text: string | null;
  /** Graded assignments named in the file. */
  assignments: string[];
}

/** A policy file that cannot be used: the ingest stops before writing anything (exit 1). */
export class PolicyFileError extends UserError {
  readonly exitCode = EXIT.failure;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.name = 'PolicyFileError';
  }
}

const MODES: Record<string, PolicyMode> = { orientar: 'guide', guiar: 'guide', guide: 'guide', livre: 'open', open: 'open', aberto: 'open' };

function fold(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '').toLowerCase().trim();
}

/** Parses the text of a policy file; `file` names it in errors. */
export function parsePolicy(raw: string, file = POLICY_FILE): AnswerPolicy {
  let text = raw.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let mode: PolicyMode = 'guide';
  let version: string | undefined;
  const front = /^---\n([\s\S]*?)\n---\n?/.exec(text);
  if (front) {
    text = text.slice(front[0].length);
    for (const [i, line] of front[1]!.split('\n').entries()) {
      const clean = line.replace(/\s+#.*$/, '').trim();
      if (clean === '' || clean.startsWith('#')) continue;
      const kv = /^([^:]+):\s*(.*)$/.exec(clean);
      if (!kv) throw new PolicyFileError(file, `line ${i + 2} of the front matter is not "key: value"`);
      const key = fold(kv[1]!);
      const value = kv[2]!.trim().replace(/^["']|["']$/g, '');
      if (key === 'modo' || key === 'mode') {
        const m = MODES[fold(value)];
        if (!m) throw new PolicyFileError(file, `modo "${value}" is not one of orientar, livre (guide, open)`);
        mode = m;
      } else if (key === 'versao' || key === 'version') {
        if (!/^[\w.:+-]{1,64}$/.test(value)) throw new PolicyFileError(file, `versão "${value}" must be 1–64 letters, digits or . _ : + -`);
        version = value;
      } else {
        throw new PolicyFileError(file, `unknown front-matter key "${kv[1]!.trim()}" (use modo and versão)`);
      }
    }
  }
  // Control characters other than line breaks and tabs have no place in a prompt.
  text = text.replace(/[^\P{Cc}\n\t]/gu, '').trim();
  if ([...text].length > MAX_POLICY_CHARS) {
    throw new PolicyFileError(file, `the text has ${[...text].length} characters; at most ${MAX_POLICY_CHARS} go into every prompt: shorten it`);
  }
  return {
    mode,
    version: version ?? `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`,
    text: text === '' ? null : text,
    assignments: gradedAssignments(text),
  };
}

/** List items under a heading that mentions graded work ("avaliad…"). */
function gradedAssignments(text: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of text.split('\n')) {
    const heading = /^\s{0,3}#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      inside = /avaliad|graded|assignments/.test(fold(heading[1]!));
      continue;
    }
    const item = /^\s*(?:[-*+]|\d+[.)])\s+(.+)$/.exec(line);
    if (inside && item) out.push(item[1]!.trim());
  }
  return out;
}

/** The policy file of a course folder, or null when it has none. */
export async function readPolicyFile(courseDir: string): Promise<{ raw: string; policy: AnswerPolicy } | null> {
  const file = path.join(courseDir, POLICY_FILE);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PolicyFileError(file, `cannot be read: ${(err as Error).message}`);
  }
  return { raw, policy: parsePolicy(raw, file) };
}

/**
 * The policy answers follow: ANSWER_POLICY (`guide` / `open`) over the course's file; without
 * the setting, the file's own mode. Null when no guardrails apply.
 */
export function effectivePolicy(setting: PolicyMode | undefined, fromCourse: AnswerPolicy | null): AnswerPolicy | null {
  if (setting === 'open') return null;
  if (setting === 'guide') return fromCourse ? { ...fromCourse, mode: 'guide' } : { mode: 'guide', version: GUIDE_RULES_VERSION, text: null, assignments: [] };
  return fromCourse && fromCourse.mode === 'guide' ? fromCourse : null;
}
