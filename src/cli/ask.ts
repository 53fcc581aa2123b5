/**
 * `npm run ask -- [--index DIR] [--k N] [--json] "question"`
 * stdout carries only the answer (or, with --json, one JSON object); logs, notices and progress
 * go to stderr. With no index yet on the default settings (a fresh clone), the sample course is
 * ingested first; anywhere else a missing index is an error saying how to ingest.
 */
import { Command, InvalidArgumentError } from 'commander';
import { InvalidQuestionError, normalizeQuestion } from '../answer/answerService.js';
import { formatClock } from '../course/links.js';
import { LlmError } from '../answer/llm.js';
import { excerptTag } from '../answer/references.js';
import { usesSampleCourseDefaults } from '../config.js';
import { createCore } from '../core.js';
import type { AnswerResult } from '../types.js';
import { runMain, setup } from './common.js';

const { config, logger } = setup();
const program = new Command('ask')
  .description('Answer a question from the indexed lectures.')
  .argument('<question...>', 'the question, in Portuguese')
  .option('--index <dir>', 'index folder (default: INDEX_DIR)', config.INDEX_DIR)
  .option('--k <n>', 'number of transcript excerpts to retrieve', parsePositiveInt, config.RETRIEVAL_K)
  .option('--json', 'print one JSON object instead of text')
  .showHelpAfterError();
program.parse();
const opts = program.opts<{ index: string; k: number; json?: boolean }>();
const question = program.args.join(' ');

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
    references: result.references.map(({ videoId, title, start, end, url, excerpts }) => ({ videoId, title, start, end, url, excerpts })),
    segments: result.segments.map(({ corpusId, videoId, title, start, end, score, foundBy, url, text }) => ({
      corpusId,
      videoId,
      title,
      start,
      end,
      score,
      foundBy,
      url,
      text,
    })),
    retriever: result.retriever,
    embeddingModel: result.embeddingModel,
    model: result.model,
    promptVersion: result.promptVersion,
    notices: result.notices,
    timings: result.timings,
    createdAt: result.createdAt,
  };
}

runMain(async () => {
  if (normalizeQuestion(question) === '') {
    // Checked before loading anything: no need to build an index to refuse an empty question.
    process.stderr.write(`${new InvalidQuestionError('empty').userMessage}\n`);
    return 2;
  }
  const core = await createCore(config, logger, { indexDir: opts.index, buildIfMissing: usesSampleCourseDefaults(config, opts.index) });
  try {
    const streaming = !opts.json;
    const result = await core.answers.answer(question, {
      k: opts.k,
      onDelta: streaming ? (text) => process.stdout.write(text) : undefined,
    });
    for (const notice of result.notices) process.stderr.write(`aviso: ${notice}\n`);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(toJson(result), null, 2)}\n`);
      return 0;
    }
    const lines = ['', ''];
    if (result.references.length > 0) {
      lines.push('Trechos das aulas:');
      for (const ref of result.references) {
        lines.push(`- ${excerptTag(ref)}${ref.title} (${formatClock(ref.start)}–${formatClock(ref.end)}): ${ref.url}`);
      }
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof InvalidQuestionError || err instanceof LlmError) {
      process.stderr.write(`${err.userMessage}\n`);
      logger.error({ err: err.message }, 'question not answered');
      return err instanceof InvalidQuestionError ? 2 : 1;
    }
    throw err;
  }
}, logger);
