/**
 * `npm run ask -- [--index DIR] [--k N] [--json] "question"`
 * stdout carries only the answer (or, with --json, one JSON object); logs, notices and progress
 * go to stderr. With no index yet on the default settings (a fresh clone), the sample course is
 * ingested first; anywhere else a missing index is an error saying how to ingest.
 * Exit codes: 0 answered; 1 failure (index, LLM); 2 invalid question, option or setting.
 */
import { InvalidArgumentError } from 'commander';
import { InvalidQuestionError, normalizeQuestion } from '../answer/answerService.js';
import { formatClock } from '../course/links.js';
import { LlmError } from '../answer/llm.js';
import { excerptTag } from '../answer/references.js';
import { CLOSEST_MOMENTS_HEADING, showsClosestMoments } from '../bot/messages.js';
import { usesSampleCourseDefaults } from '../config.js';
import { createCore } from '../core.js';
import { EXIT } from '../errors.js';
import type { AnswerResult } from '../types.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

const program = createProgram('ask', 'Answer a question from the indexed lectures.')
  .argument('<question...>', 'the question, in Portuguese')
  .option('--index <dir>', 'index folder (default: INDEX_DIR)')
  .option('--k <n>', 'number of transcript excerpts to retrieve, 1 to 50 (default: RETRIEVAL_K)', parsePositiveInt)
  .option('--json', 'print one JSON object instead of text');

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 50) throw new InvalidArgumentError('expected a whole number from 1 to 50');
  return n;
}

export function toJson(result: AnswerResult): object {
  return {
    id: result.id,
    question: result.question,
    answer: result.answer,
    kind: result.kind,
    references: result.references.map(({ videoId, title, start, end, url, excerpts, at, closest }) => ({
      videoId,
      title,
      start,
      end,
      url,
      excerpts,
      ...(at !== undefined ? { at } : {}),
      ...(closest ? { closest } : {}),
    })),
    segments: result.segments.map(({ corpusId, videoId, title, start, end, score, foundBy, url, text, evidence, moment }) => ({
      corpusId,
      videoId,
      title,
      start,
      end,
      score,
      foundBy,
      url,
      text,
      ...(evidence ? { evidence } : {}),
      ...(moment ? { moment } : {}),
    })),
    retriever: result.retriever,
    embeddingModel: result.embeddingModel,
    model: result.model,
    promptVersion: result.promptVersion,
    notices: result.notices,
    timings: result.timings,
    createdAt: result.createdAt,
    ...(result.coverage ? { coverage: result.coverage } : {}),
  };
}

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ index?: string; k?: number; json?: boolean }>();
  const question = program.args.join(' ');
  if (normalizeQuestion(question) === '') {
    // Checked before loading anything: no need to build an index to refuse an empty question.
    const err = new InvalidQuestionError('empty');
    process.stderr.write(`${err.userMessage}\n`);
    return err.exitCode;
  }
  const indexDir = opts.index ?? config.INDEX_DIR;
  const core = await createCore(config, logger, { indexDir, buildIfMissing: usesSampleCourseDefaults(config, indexDir) });
  try {
    const streaming = !opts.json;
    const result = await core.answers.answer(question, {
      k: opts.k ?? config.RETRIEVAL_K,
      onDelta: streaming ? (text) => process.stdout.write(text) : undefined,
    });
    for (const notice of result.notices) process.stderr.write(`aviso: ${notice}\n`);
    if (opts.json) {
      await writeOutput(`${JSON.stringify(toJson(result), null, 2)}\n`);
      return EXIT.ok;
    }
    const lines = ['', ''];
    if (result.references.length > 0) {
      lines.push(showsClosestMoments(result) ? `${CLOSEST_MOMENTS_HEADING}:` : 'Trechos das aulas:');
      for (const ref of result.references) {
        lines.push(`- ${excerptTag(ref)}${ref.title} (${formatClock(ref.start)}–${formatClock(ref.end)}): ${ref.url}`);
      }
    }
    await writeOutput(`${lines.join('\n')}\n`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof InvalidQuestionError || err instanceof LlmError) {
      // The pt-BR message a student would read, then the admin's log line.
      process.stderr.write(`${err.userMessage}\n`);
      logger.error({ err: err.message }, 'question not answered');
      return err.exitCode;
    }
    throw err;
  }
});
