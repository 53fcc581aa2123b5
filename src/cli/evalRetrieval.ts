/**
 * `npm run eval:retrieval -- [--source DIR] [--index DIR] [--questions FILE] [--json]`
 *
 * Runs a course's labelled questions (`SOURCE/questions.json`) through lexical, dense and hybrid
 * retrieval and prints hit@1/@5/@10, MRR@10 and nDCG@10 per retriever plus the questions each
 * one misses, how often each answers "not found" (right for not-covered questions, wrong for the
 * others) at the configured MIN_COVERAGE / MIN_DENSE_SIMILARITY, and the same over a range of
 * thresholds to calibrate them. Without `--index`, the source course is ingested into a temporary folder first.
 * Dense and hybrid are reported as skipped (with the reason) when the embedding model cannot be
 * loaded or the index has no dense vectors. stdout carries only the report (with `--json`, one
 * JSON object); logs go to stderr.
 * Exit codes: 0 report printed; 1 the questions, course or index cannot be used; 2 invalid option
 * or setting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { coverageThresholds, embedderOptions, runIngest } from '../core.js';
import type { Config } from '../config.js';
import { EmbeddingModelUnavailableError } from '../embeddings/embedder.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../embeddings/transformersEmbedder.js';
import { evaluateRetrieval, formatReport, readQuestions } from '../evaluation/retrievalEval.js';
import { loadCourseIndex } from '../index/courseIndex.js';
import type { Logger } from '../logger.js';
import { createProgram, runProgram, writeOutput } from './harness.js';

const program = createProgram('eval:retrieval', 'Measure retrieval quality (hit@k, MRR, nDCG) on a course with labelled questions.')
  .option('--source <dir>', 'course folder with videos.json, transcripts and questions.json', 'examples/curso-exemplo')
  .option('--index <dir>', 'evaluate this index folder instead of ingesting the source into a temporary one')
  .option('--questions <file>', 'labelled questions (default: SOURCE/questions.json)')
  .option('--json', 'print one JSON object instead of tables');

/** The configured embedding model, or the reason it cannot be used. */
async function loadEmbedder(cfg: Config, log: Logger): Promise<{ embedder: TransformersEmbedder | null; reason?: string }> {
  try {
    const embedder = await loadTransformersEmbedder(embedderOptions(cfg));
    log.info({ model: embedder.modelId, dimensions: embedder.dimensions }, 'embedding model loaded');
    return { embedder };
  } catch (err) {
    if (!(err instanceof EmbeddingModelUnavailableError)) throw err;
    const reason = `embedding model ${cfg.EMBEDDING_MODEL} unavailable: ${err.reason}`;
    log.warn(`${reason}; dense and hybrid retrieval are skipped`);
    return { embedder: null, reason };
  }
}

void runProgram(program, async ({ config, logger }) => {
  const opts = program.opts<{ source: string; index?: string; questions?: string; json?: boolean }>();
  const questionsFile = path.resolve(opts.questions ?? path.join(opts.source, 'questions.json'));
  const questions = await readQuestions(questionsFile);
  const { embedder, reason } = await loadEmbedder(config, logger);
  let temp: string | null = null;
  try {
    let indexDir = opts.index;
    if (!indexDir) {
      temp = await mkdtemp(path.join(tmpdir(), 'pergunta-eval-'));
      indexDir = path.join(temp, 'index');
      logger.info(`ingesting ${opts.source} into a temporary index`);
      await runIngest(config, logger, opts.source, indexDir, embedder);
    }
    const index = await loadCourseIndex(indexDir, {
      ...(embedder ? { embeddingModel: embedder.modelId } : {}),
      ef: config.HNSW_EF,
    });
    const report = await evaluateRetrieval({
      index,
      questions,
      embedder,
      ...(reason !== undefined ? { embedderUnavailableReason: reason } : {}),
      questionsFile,
      thresholds: coverageThresholds(config),
    });
    if (temp) report.indexDir = '(temporary, ingested from ' + path.resolve(opts.source) + ')';
    await writeOutput(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } finally {
    await embedder?.dispose().catch(() => undefined);
    if (temp) await rm(temp, { recursive: true, force: true });
  }
});
