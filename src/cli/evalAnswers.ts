/**
 * `npm run eval:answers -- [--source DIR] [--index DIR] [--questions FILE] [--out FILE] [--no-judge]`
 *
 * Runs a course's labelled questions (`SOURCE/questions.json`) through the full answer path — the
 * LLM when OPENAI_API_KEY is set, else the extractive answer — and reports, per question and in
 * total: whether it answered or said "not found" (and whether that was right), whether a
 * reference opens inside the labelled range, and how far the link is from where the explanation
 * starts. With an LLM configured, the judge (JUDGE_MODEL, or OPENAI_MODEL) scores every answer
 * too, unless `--no-judge`. Without `--index`, the source course is ingested into a temporary
 * folder first (with the embedding model when it can be loaded, lexical-only otherwise).
 *
 * stdout carries only the Markdown report; the same report as JSON goes to `--out` (default
 * `data/eval-answers.json`); progress and logs go to stderr.
 * Exit codes: 0 report written; 1 the questions, course, index or LLM cannot be used; 2 invalid
 * option or setting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLlm } from '../answer/llm.js';
import { createCore, loadEmbedderOrNull, runIngest } from '../core.js';
import { evaluateAnswers, formatAnswerReport } from '../evaluation/answerEval.js';
import { Judge } from '../evaluation/judge.js';
import { readQuestions } from '../evaluation/retrievalEval.js';
import { createProgress, type Progress } from '../progress.js';
import { writeFileAtomic } from './common.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

const program = createProgram(
  'eval:answers',
  'Answer a course\'s labelled questions and measure the answers: "not found" when right, links to the moment, judge scores.',
)
  .option('--source <dir>', 'course folder with videos.json, transcripts and questions.json', 'examples/curso-exemplo')
  .option('--index <dir>', 'answer from this index folder instead of ingesting the source into a temporary one')
  .option('--questions <file>', 'labelled questions (default: SOURCE/questions.json)')
  .option('--out <file>', 'where to write the report as JSON', 'data/eval-answers.json')
  .option('--no-judge', 'do not judge the answers even when an LLM is configured');

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ source: string; index?: string; questions?: string; out: string; judge: boolean }>();
  const questionsFile = path.resolve(opts.questions ?? path.join(opts.source, 'questions.json'));
  const questions = await readQuestions(questionsFile);
  const embedder = await loadEmbedderOrNull(config, logger);
  let temp: string | null = null;
  try {
    let indexDir = opts.index;
    if (!indexDir) {
      temp = await mkdtemp(path.join(tmpdir(), 'pergunta-eval-'));
      indexDir = path.join(temp, 'index');
      logger.info(`ingesting ${opts.source} into a temporary index`);
      await runIngest(config, logger, opts.source, indexDir, embedder);
    }
    const core = await createCore(config, logger, { indexDir, embedder });
    const judge =
      opts.judge && config.OPENAI_API_KEY
        ? new Judge({
            llm: createLlm({
              apiKey: config.OPENAI_API_KEY,
              ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
              model: config.JUDGE_MODEL ?? config.OPENAI_MODEL,
              timeoutMs: config.LLM_TIMEOUT_MS,
              maxRetries: config.LLM_MAX_RETRIES,
              temperature: 0,
              maxTokens: 800,
              maxConcurrency: config.LLM_CONCURRENCY,
              logger,
            }),
            logger,
          })
        : null;
    if (!judge) logger.info(opts.judge ? 'no LLM configured (OPENAI_API_KEY): answers are not judged' : 'judge turned off (--no-judge)');
    let progress: Progress | undefined;
    const report = await evaluateAnswers({
      answers: core.answers,
      questions,
      judge,
      concurrency: core.llm ? config.LLM_CONCURRENCY : 1,
      questionsFile,
      onProgress: (done, total) => {
        if (done === 0) progress = createProgress('eval:answers', total, logger);
        else progress?.update(done);
      },
    });
    progress?.stop();
    await writeFileAtomic(opts.out, `${JSON.stringify(report, null, 2)}\n`);
    logger.info({ out: opts.out }, 'answer evaluation written');
    await writeOutput(formatAnswerReport(report));
    return 0;
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
  }
});
