/**
 * The report's charts: Vega-Lite specifications built from the insights, rendered to SVG at
 * build time in Node (Vega's View with renderer 'none' draws to an SVG string: no DOM, no
 * browser, no script in the report). Each figure carries its caption and its data as a table,
 * the text alternative the report prints under the chart.
 *
 * Everything people read is pt-BR (titles, axes, legends, numbers with a decimal comma). Axis
 * and legend ARIA labels, which Vega writes in English, are turned off; the heatmap's bins keep
 * theirs (pt-BR descriptions), because they are links.
 */
import { parse, View } from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import { LABELS } from '../evaluation/agreement.js';
import type { Insights, LectureSummary } from './aggregate.js';

/** What the charts read: the insights without the raw list of gap questions. */
export type ChartInput = Omit<Insights, 'gapQuestions'>;
import { shortDate } from './calendar.js';
import { formatInt, formatPercent, formatScore, kindName, minuteRange, platformName } from './format.js';

export interface Cell {
  text: string;
  href?: string | null;
}

export interface DataTable {
  columns: string[];
  rows: (string | Cell)[][];
}

export interface ChartFigure {
  id: string;
  title: string;
  caption: string;
  /** null when there is nothing to draw (the caption says so). */
  spec: TopLevelSpec | null;
  table: DataTable;
}

/** Numbers with a decimal comma, Portuguese month and day names. */
const PT_BR_LOCALE = {
  number: { decimal: ',', thousands: '.', grouping: [3], currency: ['R$ ', ''] as [string, string] },
  time: {
    dateTime: '%A, %e de %B de %Y, %X',
    date: '%d/%m/%Y',
    time: '%H:%M:%S',
    periods: ['AM', 'PM'] as [string, string],
    days: ['domingo', 'segunda', 'terça', 'quarta', 'quinta', 'sexta', 'sábado'] as [string, string, string, string, string, string, string],
    shortDays: ['dom', 'seg', 'ter', 'qua', 'qui', 'sex', 'sáb'] as [string, string, string, string, string, string, string],
    months: ['janeiro', 'fevereiro', 'março', 'abril', 'maio', 'junho', 'julho', 'agosto', 'setembro', 'outubro', 'novembro', 'dezembro'] as [
      string, string, string, string, string, string, string, string, string, string, string, string,
    ],
    shortMonths: ['jan', 'fev', 'mar', 'abr', 'mai', 'jun', 'jul', 'ago', 'set', 'out', 'nov', 'dez'] as [
      string, string, string, string, string, string, string, string, string, string, string, string,
    ],
  },
};

const CONFIG = {
  locale: PT_BR_LOCALE,
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif',
  aria: false,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal' as const, orient: 'bottom' as const, direction: 'horizontal' as const, labelLimit: 320 },
  title: { fontSize: 13, anchor: 'start' as const },
};

const PLATFORM_COLORS = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#9d755d'];
const KIND_COLORS = ['#4c78a8', '#72b7b2', '#e45756', '#54a24b', '#bab0ac', '#9d755d'];

/** An http(s) link, or nothing (Vega refuses other schemes, and the report shows no other). */
function safeHref(url: string | null | undefined): string | undefined {
  return url && /^https?:\/\//i.test(url) ? url : undefined;
}

/** Vega-Lite's warnings (e.g. a scale it adjusted) are about our specs, not for the person running the report. */
const quiet = {
  level(): number {
    return 0;
  },
  error(...args: readonly unknown[]): never {
    throw new Error(args.map(String).join(' '));
  },
  warn() {
    return this;
  },
  info() {
    return this;
  },
  debug() {
    return this;
  },
};

/**
 * Vega-Lite, kept from changing the rest of the process. Loading it patches `Set.prototype.toJSON`
 * for its own hashing, and that patch breaks discord.js when it loads after it (its copy of Node's
 * `util.inspect` walks the built-in prototypes and stops the process with a TypeError), which is
 * what `npm start` does when the live page is on. So Vega-Lite is loaded only when a chart is
 * first drawn, the patch is taken back at once, and it is put in place only for the duration of
 * each compile() — which is synchronous, so no other code ever sees it.
 */
type VegaLite = typeof import('vega-lite');
let vegaLite: Promise<{ compile: VegaLite['compile']; patch: PropertyDescriptor | undefined }> | undefined;

function loadVegaLite() {
  vegaLite ??= (async () => {
    const before = Object.getOwnPropertyDescriptor(Set.prototype, 'toJSON');
    const module = await import('vega-lite');
    const patch = Object.getOwnPropertyDescriptor(Set.prototype, 'toJSON');
    restore(before);
    return { compile: module.compile, patch };
  })();
  return vegaLite;
}

function restore(descriptor: PropertyDescriptor | undefined): void {
  if (descriptor) Object.defineProperty(Set.prototype, 'toJSON', descriptor);
  else delete (Set.prototype as unknown as Record<string, unknown>).toJSON;
}

async function compileToVega(spec: TopLevelSpec) {
  const { compile, patch } = await loadVegaLite();
  const before = Object.getOwnPropertyDescriptor(Set.prototype, 'toJSON');
  if (patch) Object.defineProperty(Set.prototype, 'toJSON', patch);
  try {
    return compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec, { logger: quiet as never }).spec;
  } finally {
    restore(before);
  }
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = await compileToVega(spec);
  const view = new View(parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function periodLabel(period: string, granularity: 'day' | 'week'): string {
  return granularity === 'day' ? shortDate(period) : `sem. ${shortDate(period)}`;
}

export function questionsOverTimeFigure(insights: ChartInput): ChartFigure {
  const unit = insights.granularity === 'day' ? 'dia' : 'semana (a partir de segunda-feira)';
  const platforms = [...new Set(insights.questionsOverTime.map((p) => p.platform))];
  const periods = [...new Set(insights.questionsOverTime.map((p) => p.period))];
  const values = insights.questionsOverTime.map((p) => ({
    periodo: periodLabel(p.period, insights.granularity),
    ordem: periods.indexOf(p.period),
    plataforma: platformName(p.platform),
    perguntas: p.count,
  }));
  const total = insights.totals.questions;
  return {
    id: 'perguntas-no-tempo',
    title: 'Perguntas ao longo do tempo',
    caption: `Perguntas por ${unit}, por plataforma (${formatInt(total)} no período).`,
    spec:
      total === 0
        ? null
        : {
            width: Math.min(900, Math.max(320, periods.length * 18)),
            height: 220,
            data: { values },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'periodo', type: 'ordinal', sort: { field: 'ordem' }, title: unit === 'dia' ? 'dia' : 'semana', axis: { labelAngle: -45, labelOverlap: 'greedy' } },
              y: { field: 'perguntas', type: 'quantitative', title: 'perguntas', stack: 'zero', axis: { tickMinStep: 1 } },
              color: { field: 'plataforma', type: 'nominal', title: 'plataforma', scale: { domain: platforms.map(platformName), range: PLATFORM_COLORS } },
            },
          },
    table: {
      columns: [unit === 'dia' ? 'Dia' : 'Semana', ...platforms.map(platformName), 'Total'],
      rows: periods.map((period) => {
        const counts = platforms.map((pl) => insights.questionsOverTime.find((p) => p.period === period && p.platform === pl)?.count ?? 0);
        return [periodLabel(period, insights.granularity), ...counts.map(formatInt), formatInt(counts.reduce((a, b) => a + b, 0))];
      }),
    },
  };
}

const QUALITY_SERIES = [
  ['upRate', 'taxa de 👍'],
  ['answerRelevance', 'relevância da resposta (AR)'],
  ['contextRelevance', 'relevância do contexto'],
  ['groundedness', 'fundamentação'],
] as const;

export function qualityOverTimeFigure(insights: ChartInput): ChartFigure {
  const values = insights.qualityOverTime.flatMap((w, i) =>
    QUALITY_SERIES.filter(([key]) => w[key] !== null).map(([key, name]) => ({ semana: `sem. ${shortDate(w.week)}`, ordem: i, serie: name, valor: w[key] })),
  );
  return {
    id: 'qualidade-no-tempo',
    title: 'Qualidade ao longo do tempo',
    caption:
      'Por semana: a parcela de votos 👍 entre os votos, e as médias das notas do juiz automático (0 a 1) nas respostas que não são abstenções. Semanas sem votos ou sem avaliações ficam sem ponto.',
    spec:
      values.length === 0
        ? null
        : {
            width: Math.min(900, Math.max(320, insights.qualityOverTime.length * 40)),
            height: 220,
            data: { values },
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'semana', type: 'ordinal', sort: { field: 'ordem' }, title: 'semana', axis: { labelAngle: -45 } },
              y: { field: 'valor', type: 'quantitative', title: null, scale: { domain: [0, 1] }, axis: { format: '.0%' } },
              color: { field: 'serie', type: 'nominal', title: null, scale: { domain: QUALITY_SERIES.map(([, n]) => n) } },
            },
          },
    table: {
      columns: ['Semana', 'Votos', 'Taxa de 👍', 'Avaliadas', 'AR', 'Contexto', 'Fundamentação'],
      rows: insights.qualityOverTime.map((w) => [
        `sem. ${shortDate(w.week)}`,
        formatInt(w.votes),
        formatPercent(w.upRate),
        formatInt(w.judged),
        formatScore(w.answerRelevance),
        formatScore(w.contextRelevance),
        formatScore(w.groundedness),
      ]),
    },
  };
}

export function kindsOverTimeFigure(insights: ChartInput): ChartFigure {
  const kinds = Object.keys(insights.totals.byKind);
  const weeks = [...new Set(insights.kindsOverTime.map((k) => k.week))];
  const values = insights.kindsOverTime.map((k) => ({ semana: `sem. ${shortDate(k.week)}`, ordem: weeks.indexOf(k.week), tipo: kindName(k.kind), respostas: k.count }));
  return {
    id: 'tipos-de-resposta',
    title: 'Tipos de resposta ao longo do tempo',
    caption:
      'Respostas por semana: geradas pelo LLM, extrativas (trechos citados, sem LLM), "não encontrada" (as aulas não cobrem) e verificadas (resposta de um monitor reaproveitada).',
    spec:
      insights.totals.questions === 0
        ? null
        : {
            width: Math.min(900, Math.max(320, weeks.length * 40)),
            height: 220,
            data: { values },
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'semana', type: 'ordinal', sort: { field: 'ordem' }, title: 'semana', axis: { labelAngle: -45 } },
              y: { field: 'respostas', type: 'quantitative', title: 'respostas', stack: 'zero', axis: { tickMinStep: 1 } },
              color: { field: 'tipo', type: 'nominal', title: 'tipo', scale: { domain: kinds.map(kindName), range: KIND_COLORS } },
            },
          },
    table: {
      columns: ['Semana', ...kinds.map(kindName)],
      rows: weeks.map((week) => [`sem. ${shortDate(week)}`, ...kinds.map((kind) => formatInt(insights.kindsOverTime.find((k) => k.week === week && k.kind === kind)?.count ?? 0))]),
    },
  };
}

const TENTHS = Array.from({ length: 10 }, (_, i) => `${formatScore(i / 10)}–${formatScore((i + 1) / 10)}`);

export function judgeDistributionFigure(insights: ChartInput): ChartFigure {
  const d = insights.judgeDistribution;
  const metrics = [
    { name: 'Relevância da resposta (nota 0–3)', buckets: ['0', '1', '2', '3'], counts: d.answerRelevance },
    { name: 'Relevância do contexto (média 0–1)', buckets: TENTHS, counts: d.contextRelevance },
    { name: 'Fundamentação (média 0–1)', buckets: TENTHS, counts: d.groundedness },
  ];
  const judged = d.answerRelevance.reduce((a, b) => a + b, 0) + d.contextRelevance.reduce((a, b) => a + b, 0);
  return {
    id: 'notas-do-juiz',
    title: 'Distribuição das notas do juiz',
    caption: `Quantas respostas receberam cada nota do juiz automático (${formatInt(insights.totals.judged)} avaliadas; ${formatInt(insights.totals.judgeFailed)} avaliações falharam; abstenções fora).`,
    spec:
      judged === 0
        ? null
        : {
            hconcat: metrics.map((m) => ({
              title: m.name,
              width: m.buckets.length * 22,
              height: 160,
              data: { values: m.buckets.map((b, i) => ({ faixa: b, ordem: i, respostas: m.counts[i] ?? 0 })) },
              mark: { type: 'bar', color: '#4c78a8' },
              encoding: {
                x: { field: 'faixa', type: 'ordinal', sort: { field: 'ordem' }, title: null, axis: { labelAngle: -45 } },
                y: { field: 'respostas', type: 'quantitative', title: 'respostas', axis: { tickMinStep: 1 } },
              },
            })),
          },
    table: {
      columns: ['Nota', 'Respostas'],
      rows: metrics.flatMap((m) => m.buckets.map((b, i) => [`${m.name}: ${b}`, formatInt(m.counts[i] ?? 0)])),
    },
  };
}

const LABEL_TEXT: Record<string, string> = { C: 'C (correta)', P: 'P (parcial)', I: 'I (incorreta)' };

export function agreementFigure(insights: ChartInput): ChartFigure {
  const a = insights.agreement;
  const values = LABELS.flatMap((manual, i) => LABELS.map((automated, j) => ({ manual: LABEL_TEXT[manual], automatizada: LABEL_TEXT[automated], respostas: a.matrix[i]?.[j] ?? 0 })));
  const order = LABELS.map((l) => LABEL_TEXT[l]!);
  return {
    id: 'concordancia',
    title: 'Anotação manual × automatizada',
    caption:
      a.n === 0
        ? 'Nenhuma resposta tem ao mesmo tempo a anotação de um monitor e a do juiz automático no período.'
        : `Matriz de confusão das ${formatInt(a.n)} respostas anotadas por um monitor e pelo juiz: acurácia ${formatPercent(a.accuracy)}, kappa de Cohen ${formatScore(a.kappa)}.`,
    spec:
      a.n === 0
        ? null
        : {
            width: 240,
            height: 180,
            data: { values },
            encoding: {
              x: { field: 'automatizada', type: 'ordinal', sort: order, title: 'anotação automatizada (juiz)', axis: { labelAngle: 0 } },
              y: { field: 'manual', type: 'ordinal', sort: order, title: 'anotação manual (monitor)' },
            },
            layer: [
              { mark: { type: 'rect' }, encoding: { color: { field: 'respostas', type: 'quantitative', title: 'respostas', scale: { scheme: 'blues' }, legend: null } } },
              {
                mark: { type: 'text', fontSize: 14 },
                encoding: {
                  text: { field: 'respostas', type: 'quantitative' },
                  color: { condition: { test: `datum.respostas > ${Math.max(1, Math.max(...a.matrix.flat()) / 2)}`, value: 'white' }, value: 'black' },
                },
              },
            ],
          },
    table: {
      columns: ['Manual \\ automatizada', ...order],
      rows: LABELS.map((manual, i) => [LABEL_TEXT[manual]!, ...LABELS.map((_, j) => formatInt(a.matrix[i]?.[j] ?? 0))]),
    },
  };
}

/** Lecture names for the heatmap's rows: unique even when two lectures share a title. */
function rowLabels(lectures: readonly LectureSummary[]): Map<string, string> {
  const seen = new Map<string, number>();
  const labels = new Map<string, string>();
  for (const l of lectures) {
    const base = l.title.length > 60 ? `${l.title.slice(0, 59)}…` : l.title;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    labels.set(l.id, n === 1 ? base : `${base} (${l.id})`);
  }
  return labels;
}

const MARKS = [
  { key: 'down', name: 'com 👎', shape: 'triangle-down', color: '#b2182b' },
  { key: 'incorrect', name: 'anotada I (incorreta)', shape: 'cross', color: '#111111' },
  { key: 'escalated', name: 'escalada aos monitores', shape: 'circle', color: '#2166ac' },
] as const;

/**
 * Each lecture's timeline in one-minute bins, coloured by how many questions cited the minute;
 * 👎, "I" labels and escalations marked. Every bin links to the video at that minute (unless
 * URLs are hidden): an SVG `<a>` made by Vega-Lite's href channel.
 */
export function heatmapFigure(insights: ChartInput, linkAt: (lecture: LectureSummary, minute: number) => string | null): ChartFigure {
  const lectures = insights.lectures;
  const labels = rowLabels(lectures);
  const maxMinutes = Math.max(1, ...lectures.map((l) => l.minutes));
  const bins = lectures.flatMap((l, order) =>
    l.bins.map((b) => {
      const href = safeHref(linkAt(l, b.minute));
      const parts = [`${labels.get(l.id)}, minuto ${minuteRange(b.minute)}: ${b.count === 1 ? '1 pergunta' : `${formatInt(b.count)} perguntas`}`];
      for (const m of MARKS) if (b[m.key] > 0) parts.push(`${formatInt(b[m.key])} ${m.name}`);
      return { y0: order, y1: order + 1, m0: b.minute, m1: b.minute + 1, perguntas: b.count, descricao: parts.join(', '), ...(href ? { href } : {}) };
    }),
  );
  // A mark sits on its bin and links where the bin does, so clicking it opens the same minute.
  const marks = lectures.flatMap((l, order) =>
    l.bins.flatMap((b) => {
      const href = safeHref(linkAt(l, b.minute));
      return MARKS.map((m, k) => ({ m, k }))
        .filter(({ m }) => b[m.key] > 0)
        .map(({ m, k }) => ({ yMarca: order + 0.22 + k * 0.28, meio: b.minute + 0.5, marca: m.name, parcela: b[m.key] / Math.max(1, b.count), ...(href ? { href } : {}) }));
    }),
  );
  const maxCount = Math.max(1, ...bins.map((b) => b.perguntas));
  const cited = lectures.reduce((n, l) => n + l.bins.filter((b) => b.count > 0).length, 0);
  // Rows on a numeric axis (lecture i spans i..i+1), so the marks sit at exact heights inside them.
  const rowNames = lectures.map((l) => labels.get(l.id)!);
  const yRows = {
    type: 'quantitative' as const,
    scale: { domain: [0, Math.max(1, lectures.length)], reverse: true, nice: false, zero: false },
    axis: {
      title: null,
      values: lectures.map((_, i) => i + 0.5),
      labelExpr: 'aulas[floor(datum.value)]',
      grid: false,
      ticks: false,
      domain: false,
      // Vega measures text without a font here and overestimates it: room for ~50 characters.
      labelLimit: 400,
      labelOverlap: false,
      labelFlush: false,
      labelBound: false,
    },
  };
  return {
    id: 'mapa-de-confusao',
    title: 'Mapa de confusão nas aulas',
    caption:
      'Cada linha é uma aula, dividida em minutos; a cor diz quantas perguntas tiveram resposta citando aquele minuto. ' +
      'Marcas: ▼ respostas com 👎, ✚ respostas anotadas como incorretas (I), ● perguntas escaladas aos monitores; ' +
      'quanto mais forte a marca, maior a parte das perguntas do minuto que ela representa. ' +
      (insights.hideUrls ? 'Os links estão ocultos neste relatório.' : 'Clique num minuto para abrir o vídeo naquele ponto.'),
    spec:
      lectures.length === 0
        ? null
        : {
            width: Math.min(1400, Math.max(480, maxMinutes * 16)),
            height: Math.max(1, lectures.length) * 30,
            params: [{ name: 'aulas', value: rowNames }],
            layer: [
              {
                data: { values: bins },
                mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5, aria: true, cursor: insights.hideUrls ? 'default' : 'pointer' },
                encoding: {
                  x: { field: 'm0', type: 'quantitative', title: 'minuto da aula', scale: { domain: [0, maxMinutes], nice: false }, axis: { tickMinStep: 1 } },
                  x2: { field: 'm1' },
                  y: { field: 'y0', ...yRows },
                  y2: { field: 'y1' },
                  color: {
                    field: 'perguntas',
                    type: 'quantitative',
                    title: 'perguntas que citaram o minuto',
                    scale: { domain: [0, maxCount], range: ['#f0f0f0', '#fdbb84', '#e34a33', '#7f0000'], interpolate: 'hcl' },
                    legend: { gradientLength: 160, tickMinStep: 1, titleLimit: 320 },
                  },
                  description: { field: 'descricao' },
                  ...(insights.hideUrls ? {} : { href: { field: 'href' } }),
                },
              },
              {
                data: { values: marks },
                mark: { type: 'point', filled: true, size: 26 },
                encoding: {
                  // In a busy course nearly every minute has one 👎 somewhere: a mark is as strong
                  // as the share of the minute's questions it stands for (half or more: full).
                  opacity: { field: 'parcela', type: 'quantitative', scale: { domain: [0, 0.5], range: [0.2, 1], clamp: true }, legend: null },
                  x: { field: 'meio', type: 'quantitative' },
                  y: { field: 'yMarca', ...yRows },
                  // One entry per line: side by side, the three would make the chart wider than the page.
                  shape: {
                    field: 'marca',
                    type: 'nominal',
                    title: 'marcas',
                    scale: { domain: MARKS.map((m) => m.name), range: MARKS.map((m) => m.shape) },
                    legend: { direction: 'vertical', symbolOpacity: 1 },
                  },
                  color: {
                    field: 'marca',
                    type: 'nominal',
                    title: 'marcas',
                    scale: { domain: MARKS.map((m) => m.name), range: MARKS.map((m) => m.color) },
                    legend: { direction: 'vertical', symbolOpacity: 1 },
                  },
                  ...(insights.hideUrls ? {} : { href: { field: 'href' } }),
                },
              },
            ],
            resolve: { scale: { color: 'independent', shape: 'independent' }, legend: { color: 'independent', shape: 'independent' } },
          },
    table: {
      columns: ['Aula', 'Minuto', 'Perguntas', '👎', 'I', 'Escaladas', 'Vídeo'],
      rows: lectures.flatMap((l) =>
        l.bins
          .filter((b) => b.count > 0)
          .map((b) => [
            labels.get(l.id)!,
            minuteRange(b.minute),
            formatInt(b.count),
            formatInt(b.down),
            formatInt(b.incorrect),
            formatInt(b.escalated),
            { text: insights.hideUrls ? 'oculto' : 'abrir', href: insights.hideUrls ? null : (safeHref(linkAt(l, b.minute)) ?? null) },
          ]),
      ),
    },
    ...(cited === 0 ? { caption: 'Nenhuma resposta do período citou trechos das aulas.' } : {}),
  };
}
