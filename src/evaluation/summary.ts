/**
 * The evaluation summary: mean judge scores (abstentions apart), 👍 rate and the agreement
 * between manual (TA) and automated (judge) labels. Pure functions.
 *
 * Means are per answer: each answer's context relevance is the mean over its segments, and
 * each answer weighs the same. Only verdicts with status 'ok' count; failed ones are counted
 * apart and never averaged.
 */
import type { FullRecord, Label } from '../store/types.js';
import { agreement, LABELS, type Agreement } from './agreement.js';
import { isAbstention } from './exportRecords.js';
import { correctnessLabel, JUDGE_PROMPT_VERSION, taReference } from './judge.js';

type LabelCounts = Record<Label, number>;

export interface EvaluationSummary {
  generatedAt: string;
  /** The `--since` filter, ISO, or null. */
  since: string | null;
  judgePromptVersion: string;
  /** Judge models found in the verdicts. */
  judgeModels: string[];
  records: {
    total: number;
    /** Verdicts with status 'ok'. */
    judged: number;
    /** Verdicts with status 'failed'. */
    failed: number;
    /** No verdict yet. */
    unjudged: number;
  };
  /** Answers that are not abstentions. Means are 0–1, null when nothing was judged. */
  answered: {
    count: number;
    judged: number;
    meanAnswerRelevance: number | null;
    meanContextRelevance: number | null;
    meanGroundedness: number | null;
  };
  /** Answers saying the lectures do not cover the question (reported apart). */
  abstentions: {
    count: number;
    judged: number;
    meanContextRelevance: number | null;
  };
  votes: {
    up: number;
    down: number;
    /** up / (up + down), null without votes. */
    upRate: number | null;
  };
  labels: { manual: LabelCounts; automated: LabelCounts };
  /** Over the answers with both a manual label and an automated one. */
  agreement: Agreement;
  /**
   * The human loop's golden set: answers whose case a TA answered, judged for correctness against
   * the TA's answer (0–1), and the agreement between the TA's verdict on the bot's answer (given
   * with the answer, or the TA annotation) and the label the correctness score means.
   */
  taReferences: {
    count: number;
    judged: number;
    meanCorrectness: number | null;
    agreement: Agreement;
  };
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

function emptyCounts(): LabelCounts {
  return { C: 0, P: 0, I: 0 };
}

export function summarize(records: readonly FullRecord[], opts: { since?: Date; now?: Date } = {}): EvaluationSummary {
  const judgeModels = new Set<string>();
  const answeredAR: number[] = [];
  const answeredCR: number[] = [];
  const answeredG: number[] = [];
  const abstainedCR: number[] = [];
  const manual = emptyCounts();
  const automated = emptyCounts();
  const pairs: { manual: Label; automated: Label }[] = [];
  let judged = 0;
  let failed = 0;
  let answeredCount = 0;
  let answeredJudged = 0;
  let abstainedCount = 0;
  let abstainedJudged = 0;
  let up = 0;
  let down = 0;
  let referenced = 0;
  const correctness: number[] = [];
  const taPairs: { manual: Label; automated: Label }[] = [];

  for (const record of records) {
    if (taReference(record) !== null) {
      referenced++;
      const score = record.judge?.status === 'ok' ? record.judge.answerCorrectness : null;
      if (score) {
        correctness.push(score.normalized);
        const taLabel = record.case?.resolution?.botLabel ?? record.annotation?.label ?? null;
        if (taLabel) taPairs.push({ manual: taLabel, automated: correctnessLabel(score.raw) });
      }
    }
    up += record.votes.up;
    down += record.votes.down;
    const abstained = isAbstention(record);
    if (abstained) abstainedCount++;
    else answeredCount++;
    if (record.annotation) manual[record.annotation.label]++;

    const verdict = record.judge;
    if (!verdict) continue;
    if (verdict.status !== 'ok') {
      failed++;
      continue;
    }
    judged++;
    judgeModels.add(verdict.judgeModel);
    const cr = mean(verdict.contextRelevance.map((c) => c.normalized));
    if (verdict.abstained) {
      abstainedJudged++;
      if (cr !== null) abstainedCR.push(cr);
    } else {
      answeredJudged++;
      if (verdict.answerRelevance) answeredAR.push(verdict.answerRelevance.normalized);
      if (cr !== null) answeredCR.push(cr);
      if (verdict.groundednessMean !== null) answeredG.push(verdict.groundednessMean);
    }
    if (verdict.label) {
      automated[verdict.label]++;
      if (record.annotation) pairs.push({ manual: record.annotation.label, automated: verdict.label });
    }
  }

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    since: opts.since ? opts.since.toISOString() : null,
    judgePromptVersion: JUDGE_PROMPT_VERSION,
    judgeModels: [...judgeModels].sort(),
    records: { total: records.length, judged, failed, unjudged: records.length - judged - failed },
    answered: {
      count: answeredCount,
      judged: answeredJudged,
      meanAnswerRelevance: mean(answeredAR),
      meanContextRelevance: mean(answeredCR),
      meanGroundedness: mean(answeredG),
    },
    abstentions: { count: abstainedCount, judged: abstainedJudged, meanContextRelevance: mean(abstainedCR) },
    votes: { up, down, upRate: up + down === 0 ? null : up / (up + down) },
    labels: { manual, automated },
    agreement: agreement(pairs),
    taReferences: { count: referenced, judged: correctness.length, meanCorrectness: mean(correctness), agreement: agreement(taPairs) },
  };
}

function num(value: number | null, digits = 2): string {
  return value === null ? '—' : value.toFixed(digits);
}

function pct(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 100)}%`;
}

/** The summary as a pt-BR Markdown table (what `npm run evaluate` prints). */
export function formatSummary(s: EvaluationSummary): string {
  const judge = s.judgeModels.length > 0 ? s.judgeModels.join(', ') : '—';
  const counts = (c: LabelCounts) => LABELS.map((l) => `${l} ${c[l]}`).join(' · ');
  const lines = [
    `Resumo da avaliação (juiz: ${judge}; prompts ${s.judgePromptVersion}${s.since ? `; desde ${s.since}` : ''})`,
    '',
    '| métrica | valor |',
    '|---|---|',
    `| respostas no período | ${s.records.total} |`,
    `| avaliadas pelo juiz | ${s.records.judged} (falhas: ${s.records.failed}; sem avaliação: ${s.records.unjudged}) |`,
    `| respostas (sem abstenções) | ${s.answered.count} (avaliadas: ${s.answered.judged}) |`,
    `| Answer Relevance (AR) média | ${num(s.answered.meanAnswerRelevance)} |`,
    `| relevância do contexto média | ${num(s.answered.meanContextRelevance)} |`,
    `| fundamentação (groundedness) média | ${num(s.answered.meanGroundedness)} |`,
    `| abstenções ("as aulas não abordam isso") | ${s.abstentions.count} (avaliadas: ${s.abstentions.judged}; relevância do contexto média: ${num(s.abstentions.meanContextRelevance)}) |`,
    `| taxa de 👍 | ${pct(s.votes.upRate)} (👍 ${s.votes.up} · 👎 ${s.votes.down}) |`,
    `| anotações manuais | ${counts(s.labels.manual)} |`,
    `| anotações automatizadas | ${counts(s.labels.automated)} |`,
    `| concordância manual × automatizada | ${s.agreement.n} pares: acurácia ${num(s.agreement.accuracy)}, kappa de Cohen ${num(s.agreement.kappa)} |`,
    '',
    'Matriz de confusão (linhas: anotação manual; colunas: anotação automatizada)',
    '',
    `| manual \\ automatizada | ${s.agreement.labels.join(' | ')} |`,
    `|---|${s.agreement.labels.map(() => '---').join('|')}|`,
    ...s.agreement.labels.map((label, i) => `| ${label} | ${(s.agreement.matrix[i] ?? []).join(' | ')} |`),
    '',
    'Respostas dos monitores como referência (pedidos de ajuda respondidos)',
    '',
    '| métrica | valor |',
    '|---|---|',
    `| respostas com resposta do monitor | ${s.taReferences.count} (avaliadas: ${s.taReferences.judged}) |`,
    `| correção em relação à resposta do monitor, média | ${num(s.taReferences.meanCorrectness)} |`,
    `| concordância juiz × monitor (veredito do monitor × nota de correção: 3 → C, 2 → P, 0–1 → I) | ${s.taReferences.agreement.n} pares: acurácia ${num(s.taReferences.agreement.accuracy)}, kappa de Cohen ${num(s.taReferences.agreement.kappa)} |`,
  ];
  return `${lines.join('\n')}\n`;
}
