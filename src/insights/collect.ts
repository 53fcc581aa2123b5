/**
 * Reads the feedback store once, streaming, into the insights shared by the report, the live
 * page and the digest: escalation cases first (when the store has them), then every record
 * through the aggregator, then the coverage gaps grouped.
 */
import type { Embedder } from '../embeddings/embedder.js';
import type { Logger } from '../logger.js';
import type { CaseSummary, EscalationCase, FeedbackStore } from '../store/types.js';
import { InsightsAggregator, type AggregateOptions, type Insights } from './aggregate.js';
import { groupGaps, type GapOptions, type GapReport } from './gaps.js';
import { toInsightRecord } from './records.js';

/** The insights with the gap questions grouped (the ungrouped list is not kept). */
export interface InsightsReport extends Omit<Insights, 'gapQuestions'> {
  gaps: GapReport;
}

export interface CollectOptions extends AggregateOptions {
  /**
   * For grouping the coverage gaps by meaning; null groups them by their words. A function is
   * called only when there are gaps to group (loading a model takes seconds).
   */
  embedder: Embedder | null | (() => Promise<Embedder | null>);
  logger: Logger;
  /** Called every few thousand records (progress). */
  onProgress?: (records: number) => void;
  gapOptions?: Pick<GapOptions, 'cosineThreshold' | 'jaccardThreshold' | 'embedLimit'>;
}

const DAY_MS = 86_400_000;

/** What the insights read from a store: its records, streamed, and its escalation cases. */
export interface InsightsSource {
  iterateRecords: FeedbackStore['iterateRecords'];
  escalations?(): AsyncIterable<EscalationCase>;
}

/**
 * The insights' view of a feedback store: every case, whatever its age (one still open matters
 * however old it is), with the question read from the answer it escalated.
 */
export function insightsSource(store: Pick<FeedbackStore, 'iterateRecords' | 'listCases' | 'getAnswer'>): InsightsSource {
  return {
    iterateRecords: (options) => store.iterateRecords(options),
    async *escalations() {
      for (const summary of await store.listCases()) {
        const answer = await store.getAnswer(summary.answerId);
        yield escalationOf(summary, answer?.question ?? '');
      }
    },
  };
}

function escalationOf(summary: CaseSummary, question: string): EscalationCase {
  return { id: summary.id, answerId: summary.answerId, question, status: summary.status, createdAt: summary.createdAt, platform: summary.origin };
}

/** A store with nothing recorded yet (no store file at all, say). */
export const EMPTY_SOURCE: InsightsSource = {
  async *iterateRecords() {
    // nothing recorded
  },
};

export async function collectInsights(store: InsightsSource, options: CollectOptions): Promise<InsightsReport> {
  const aggregator = new InsightsAggregator(options);
  let cases = 0;
  if (store.escalations) {
    for await (const c of store.escalations()) {
      aggregator.addCase(c);
      cases++;
    }
  }
  // The week comparison needs the last 14 days even when --since starts later.
  const twoWeeksAgo = new Date(options.now.getTime() - 14 * DAY_MS);
  const readFrom = options.since && options.since > twoWeeksAgo ? twoWeeksAgo : options.since;
  let records = 0;
  // Nothing here reads transcripts or the judge's reasoning: leaving them out is most of the bytes.
  for await (const record of store.iterateRecords({ ...(readFrom ? { since: readFrom } : {}), omitTexts: true })) {
    aggregator.add(toInsightRecord(record, aggregator.caseFor(record.id)));
    records++;
    if (records % 5000 === 0) options.onProgress?.(records);
  }
  const insights = aggregator.finish();
  const titles = new Map(insights.lectures.map((l) => [l.id, l.title]));
  const embedder = typeof options.embedder === 'function' ? (insights.gapQuestions.length > 1 ? await options.embedder() : null) : options.embedder;
  const gaps = await groupGaps(insights.gapQuestions, {
    embedder,
    conversationOf: (id) => aggregator.conversationTurns(id),
    lectureTitle: (id) => titles.get(id) ?? id,
    logger: options.logger,
    ...options.gapOptions,
  });
  options.logger.debug({ records, cases, gapQuestions: gaps.questions, gapGroups: gaps.groups.length, gapMethod: gaps.method }, 'insights collected');
  const { gapQuestions: _grouped, ...rest } = insights;
  return { ...rest, gaps };
}
