/**
 * The evaluation summary: mean judge scores (abstentions apart), the share of failed verdicts,
 * 👍 rate and, per metric, the agreement between manual (TA) and judge labels. Pure functions.
 *
 * Means are per answer: each answer's context relevance is the mean over its segments, and
 * each answer weighs the same. Only verdicts with status 'ok' count; failed ones are counted
 * apart and never averaged.
 *
 * Agreement per metric. The TAs label an answer C/P/I; the judge scores three metrics on 0–3.
 * Each metric is turned into C/P/I with the thresholds of the automated label (`labelFromScore`,
 * `labelFromMean`), and compared with the TA label like the automated label is (accuracy,
 * Cohen's kappa, confusion matrix):
 *   answer relevance (raw 0–3):                     3 → C, 2 → P, 0–1 → I
 *   context relevance (mean of the segments, 0–1):  ≥ 2/3 → C, < 1/3 → I, else P
 *   groundedness (mean of the sentences, 0–1):      ≥ 2/3 → C, < 1/3 → I, else P
 * Mapping the TA label onto the 0–3 scale instead would have to invent a number for P (1 or 2?);
 * deriving C/P/I keeps one scale, one kappa and one confusion matrix for every metric, and a
 * metric's agreement then says how far that metric alone would have labelled like the TAs.
 * These three are compared on answers only: for an abstention a TA's C means "right not to
 * answer", which no 0–3 metric scores. The automated label covers abstentions too.
 */
import type { FullRecord, Label } from '../store/types.js';
import { agreement, LABELS, type Agreement, type LabelPair } from './agreement.js';
import { isAbstention } from './exportRecords.js';
import { JUDGE_PROMPT_VERSION, labelFromMean, labelFromScore, taReference } from './judge.js';

type LabelCounts = Record<Label, number>;

/** The judge's outputs compared with the TA label, in report order. */
export const AGREEMENT_METRICS = ['answerRelevance', 'contextRelevance', 'groundedness', 'label'] as const;
export type AgreementMetric = (typeof AGREEMENT_METRICS)[number];

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
    /** failed / (judged + failed): the share of verdicts that failed, null when none was made. */
    failedShare: number | null;
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
  /** Records with a TA label, and those of them left out of every agreement for want of a usable verdict. */
  labelled: { total: number; failedVerdict: number; noVerdict: number };
  /** Over the answers with both a manual label and an automated one (the same as `agreementByMetric.label`). */
  agreement: Agreement;
  /** TA label vs. each metric read as C/P/I (see the module comment); abstentions only in `label`. */
  agreementByMetric: Record<AgreementMetric, Agreement>;
  /**
   * The human loop's golden set: answers whose case a TA answered, judged for correctness against
   * the TA's answer (0–1), and the agreement between the TA's verdict on the bot's answer (given
   * with the answer, or the TA annotation) and the label the correctness score means (read like
   * answer relevance: 3 → C, 2 → P, 0–1 → I).
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
  const pairs: Record<AgreementMetric, LabelPair[]> = { answerRelevance: [], contextRelevance: [], groundedness: [], label: [] };
  const labelled = { total: 0, failedVerdict: 0, noVerdict: 0 };
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
        if (taLabel) taPairs.push({ manual: taLabel, automated: labelFromScore(score.raw) });
      }
    }
    up += record.votes.up;
    down += record.votes.down;
    const abstained = isAbstention(record);
    if (abstained) abstainedCount++;
    else answeredCount++;
    const ta = record.annotation?.label;
    if (ta) {
      manual[ta]++;
      labelled.total++;
    }
    const compare = (metric: AgreementMetric, judgeLabel: Label) => {
      if (ta) pairs[metric].push({ manual: ta, automated: judgeLabel });
    };

    const verdict = record.judge;
    if (!verdict) {
      if (ta) labelled.noVerdict++;
      continue;
    }
    if (verdict.status !== 'ok') {
      failed++;
      if (ta) labelled.failedVerdict++;
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
      if (verdict.answerRelevance) {
        answeredAR.push(verdict.answerRelevance.normalized);
        compare('answerRelevance', labelFromScore(verdict.answerRelevance.raw));
      }
      if (cr !== null) {
        answeredCR.push(cr);
        compare('contextRelevance', labelFromMean(cr));
      }
      if (verdict.groundednessMean !== null) {
        answeredG.push(verdict.groundednessMean);
        compare('groundedness', labelFromMean(verdict.groundednessMean));
      }
    }
    if (verdict.label) {
      automated[verdict.label]++;
      compare('label', verdict.label);
    }
  }
  const agreementByMetric = Object.fromEntries(AGREEMENT_METRICS.map((m) => [m, agreement(pairs[m])])) as Record<
    AgreementMetric,
    Agreement
  >;

  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    since: opts.since ? opts.since.toISOString() : null,
    judgePromptVersion: JUDGE_PROMPT_VERSION,
    judgeModels: [...judgeModels].sort(),
    records: {
      total: records.length,
      judged,
      failed,
      unjudged: records.length - judged - failed,
      failedShare: judged + failed === 0 ? null : failed / (judged + failed),
    },
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
    labelled,
    agreement: agreementByMetric.label,
    agreementByMetric,
    taReferences: { count: referenced, judged: correctness.length, meanCorrectness: mean(correctness), agreement: agreement(taPairs) },
  };
}

function num(value: number | null, digits = 2): string {
  return value === null ? '—' : value.toFixed(digits);
}

function pct(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 100)}%`;
}

/** How each metric is named and read as C/P/I in the printed table. */
const METRIC_ROWS: Readonly<Record<AgreementMetric, string>> = {
  answerRelevance: 'relevância da resposta (AR: 3 → C, 2 → P, 0–1 → I)',
  contextRelevance: 'relevância do contexto (média dos trechos: ≥ 2/3 → C, < 1/3 → I, senão P)',
  groundedness: 'fundamentação (média das frases: ≥ 2/3 → C, < 1/3 → I, senão P)',
  label: 'anotação automatizada (C/P/I)',
};

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
    `| avaliações que falharam | ${pct(s.records.failedShare)} (${s.records.failed} de ${s.records.judged + s.records.failed}) |`,
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
    'Concordância entre a anotação manual e cada métrica do juiz',
    '',
    '| métrica do juiz, lida como C/P/I | pares | acurácia | kappa de Cohen |',
    '|---|---|---|---|',
    ...AGREEMENT_METRICS.map((m) => {
      const a = s.agreementByMetric[m];
      return `| ${METRIC_ROWS[m]} | ${a.n} | ${num(a.accuracy)} | ${num(a.kappa)} |`;
    }),
    '',
    'As notas do juiz viram C/P/I com os mesmos limiares da anotação automatizada (que é a pior entre a leitura da AR e a da fundamentação). ' +
      'As três métricas só são comparadas nas respostas; as abstenções entram apenas na anotação automatizada. ' +
      `Das ${s.labelled.total} respostas anotadas, ficaram fora da comparação ${s.labelled.failedVerdict} cuja avaliação falhou e ${s.labelled.noVerdict} ainda sem avaliação.`,
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
