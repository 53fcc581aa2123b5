/**
 * `npm run evaluate [-- --since DATE --limit N --force --out FILE]`
 *
 * Judges the recorded answers that have no verdict yet (or whose last verdict failed; every
 * answer with --force) with the LLM judge, storing each verdict as it is made, then prints the
 * summary table on stdout and writes it as JSON (default `data/evaluation-summary.json`).
 * Progress and logs go to stderr. The judge model is JUDGE_MODEL, or OPENAI_MODEL.
 * Exit codes: 0 all verdicts made; 1 some verdict failed or the run stopped early (the summary
 * is still written); 2 usage error or no LLM configured.
 * The summary reports, per judge metric, the agreement with the TAs' labels and the share of
 * failed verdicts; the log says whether the server accepted JSON mode (see jsonMode.ts).
 */
import { InvalidArgumentError } from 'commander';
import { createLlm } from '../answer/llm.js';
import { EXIT, UsageError, UserError } from '../errors.js';
import { parseSince, SINCE_HELP } from '../evaluation/exportRecords.js';
import { evaluateStore, Judge } from '../evaluation/judge.js';
import { formatSummary, summarize } from '../evaluation/summary.js';
import { createProgress, type Progress } from '../progress.js';
import { createFeedbackStore } from '../store/createStore.js';
import { writeFileAtomic } from './common.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

export const NO_LLM_MESSAGE =
  'O juiz automático precisa de um LLM: defina OPENAI_API_KEY (e OPENAI_BASE_URL para um servidor compatível com a API da OpenAI, ' +
  'como Ollama ou vLLM; o modelo do juiz é JUDGE_MODEL, ou OPENAI_MODEL). Nada foi avaliado.';

/** No LLM configured: a settings problem (exit 2), told in pt-BR like the rest of the evaluation. */
class NoJudgeLlmError extends UserError {
  override readonly name = 'NoJudgeLlmError';
  readonly exitCode = EXIT.invalidInput;
  constructor() {
    super(NO_LLM_MESSAGE);
  }
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('use um número inteiro maior que zero');
  return n;
}

const program = createProgram('evaluate', 'Judge the recorded answers with the LLM judge and summarise the evaluation.')
  .option('--since <date>', 'only answers created from this date on (YYYY-MM-DD or ISO 8601)')
  .option('--limit <n>', 'judge at most N answers (oldest first)', parseLimit)
  .option('--force', 'judge again answers that already have a verdict')
  .option('--out <file>', 'where to write the summary as JSON', 'data/evaluation-summary.json');

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ since?: string; limit?: number; force?: boolean; out: string }>();
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  if (opts.since !== undefined && !since) throw new UsageError(`--since: data inválida "${opts.since}" (${SINCE_HELP})`);
  const apiKey = config.OPENAI_API_KEY;
  if (!apiKey) throw new NoJudgeLlmError();

  const llm = createLlm({
    apiKey,
    ...(config.OPENAI_BASE_URL ? { baseURL: config.OPENAI_BASE_URL } : {}),
    model: config.JUDGE_MODEL ?? config.OPENAI_MODEL,
    timeoutMs: config.LLM_TIMEOUT_MS,
    maxRetries: config.LLM_MAX_RETRIES,
    temperature: 0,
    maxTokens: 800,
    maxConcurrency: config.LLM_CONCURRENCY,
    logger,
  });
  const judge = new Judge({ llm, logger });
  const store = await createFeedbackStore({ url: config.STORE_URL, salt: config.USER_ID_SALT, journalDir: config.STORE_JOURNAL_DIR, logger });
  try {
    let progress: Progress | undefined;
    const result = await evaluateStore(store, judge, {
      ...(since ? { since } : {}),
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      force: opts.force === true,
      logger,
      onProgress: (done, total) => {
        if (done === 0) progress = createProgress('evaluate', total, logger);
        else progress?.update(done);
      },
    });
    progress?.stop();
    logger.info(
      {
        judgeModel: judge.model,
        jsonMode: judge.jsonMode,
        considered: result.considered,
        skipped: result.skipped,
        judged: result.judged,
        failed: result.failed,
      },
      'evaluation finished',
    );
    if (result.stoppedEarly) logger.error(`evaluation stopped early: ${result.stoppedEarly}`);

    const summary = summarize(await store.listRecords(since ? { since } : {}), since ? { since } : {});
    await writeOutput(formatSummary(summary));
    await writeFileAtomic(opts.out, `${JSON.stringify(summary, null, 2)}\n`);
    logger.info({ out: opts.out }, 'summary written');
    return result.failed > 0 || result.stoppedEarly ? EXIT.failure : EXIT.ok;
  } finally {
    await store.close();
  }
});
