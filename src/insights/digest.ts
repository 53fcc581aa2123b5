/**
 * The weekly digest for the TAs, as platform-neutral data: plain pt-BR text (no markup) in
 * sections of items with optional links. The Slack adapter renders it as Block Kit
 * (adapters/slack/digest/); `npm run digest` and DIGEST_CRON post it.
 *
 * Same data as the report: the last 7 days through the same aggregation (src/insights/), with
 * the 7 days before them for comparison. Sections: questions this week against the last, the 5
 * lecture moments that confused most (with links to the second), the largest coverage gaps, and
 * the escalated questions still waiting for a TA (#17; none until the store records cases).
 */
import type { Embedder } from '../embeddings/embedder.js';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import { loadEmbedderOrNull } from '../core.js';
import type { GapGroup, Moment, OpenCase } from './aggregate.js';
import { CourseCalendar, longDate } from './calendar.js';
import { collectInsights, type InsightsSource } from './collect.js';
import { caseStatusName, formatInt, formatPercent, minuteRange, weekChange } from './format.js';
import { loadLectureCatalog, type LectureCatalog } from './lectures.js';
import { openStoreForInsights } from './openStore.js';

const DAY_MS = 86_400_000;
export const DIGEST_MOMENTS = 5;
export const DIGEST_GAPS = 5;
export const DIGEST_CASES = 10;
/** Questions quoted under each moment or gap. */
const QUOTES = 2;

export interface DigestItem {
  /** The item's name, e.g. a lecture and minute, or a gap's typical question. */
  title: string;
  /** Where the title links to (a video at a second); null without a link. */
  url: string | null;
  /** One line of figures. */
  detail: string;
  /** Questions students asked, quoted. */
  quotes: string[];
}

export interface DigestSection {
  heading: string;
  items: DigestItem[];
  /** Said instead of the items when there are none. */
  empty: string;
  /** Said after the items when some were left out, e.g. "e mais 3". */
  more: string | null;
}

export interface Digest {
  title: string;
  /** e.g. "08/04/2026 a 14/04/2026 (America/Sao_Paulo)" */
  period: string;
  /** Questions this week against the week before, 👍 rate. */
  summary: string;
  sections: DigestSection[];
  footer: string;
  /** One line for notifications. */
  fallback: string;
  /** The figures behind the text. */
  data: { thisWeek: number; lastWeek: number; moments: Moment[]; gaps: GapGroup[]; openCases: OpenCase[] };
}

export interface DigestOptions {
  now: Date;
  timeZone: string;
  lectures: LectureCatalog | null;
  embedder: Embedder | null | (() => Promise<Embedder | null>);
  logger: Logger;
}

function plural(n: number, one: string, many: string): string {
  return `${formatInt(n)} ${n === 1 ? one : many}`;
}

function momentItem(m: Moment): DigestItem {
  const marks = [m.down > 0 ? `${formatInt(m.down)} com 👎` : '', m.incorrect > 0 ? `${formatInt(m.incorrect)} incorreta(s)` : '', m.escalated > 0 ? `${formatInt(m.escalated)} escalada(s)` : ''].filter(Boolean);
  return {
    title: `${m.title}, ${minuteRange(m.minute)}`,
    url: m.url,
    detail: [plural(m.count, 'pergunta', 'perguntas'), ...marks].join(' · '),
    quotes: m.questions.slice(0, QUOTES).map((q) => q.text),
  };
}

function gapItem(g: GapGroup): DigestItem {
  const reasons = [g.notFound > 0 ? `${formatInt(g.notFound)} sem resposta nas aulas` : '', g.down > 0 ? `${formatInt(g.down)} com 👎` : '', g.escalated > 0 ? `${formatInt(g.escalated)} escalada(s)` : ''].filter(Boolean);
  return {
    title: g.label,
    url: null,
    detail: [
      plural(g.size, 'pergunta', 'perguntas'),
      ...reasons,
      ...(g.lectures.length > 0 ? [`aulas: ${g.lectures.slice(0, 2).join(', ')}`] : []),
      ...(g.unknownWords.length > 0 ? [`palavras que as aulas não usam: ${g.unknownWords.slice(0, 3).join(', ')}`] : []),
    ].join(' · '),
    quotes: g.examples
      .map((e) => e.text)
      .filter((t) => t !== g.label)
      .slice(0, QUOTES),
  };
}

function caseItem(c: OpenCase, day: (iso: string) => string): DigestItem {
  return {
    title: c.question,
    url: c.url,
    detail: [`${caseStatusName(c.status)} desde ${day(c.createdAt)}`, ...(c.lectureTitle ? [c.lectureTitle] : [])].join(' · '),
    quotes: [],
  };
}

/** The digest of the 7 days before `now`, from any store the insights read. */
export async function buildDigest(source: InsightsSource, options: DigestOptions): Promise<Digest> {
  const since = new Date(options.now.getTime() - 7 * DAY_MS);
  const report = await collectInsights(source, {
    now: options.now,
    since,
    timeZone: options.timeZone,
    lectures: options.lectures,
    embedder: options.embedder,
    logger: options.logger,
  });
  const calendar = new CourseCalendar(options.timeZone);
  const day = (iso: string) => longDate(calendar.day(Date.parse(iso)));
  const moments = report.topMoments.slice(0, DIGEST_MOMENTS);
  const gaps = report.gaps.groups.slice(0, DIGEST_GAPS);
  const cases = report.openCases;
  const { thisWeek, lastWeek } = report.weeks;
  const period = `${day(since.toISOString())} a ${day(new Date(options.now.getTime() - 1).toISOString())} (${options.timeZone})`;
  const votes = report.totals.up + report.totals.down;
  const summary =
    `${plural(thisWeek, 'pergunta', 'perguntas')} nos últimos 7 dias (${formatInt(lastWeek)} nos 7 dias anteriores; ${weekChange(thisWeek, lastWeek)})` +
    (votes > 0 ? ` · taxa de 👍 ${formatPercent(report.totals.upRate)} em ${plural(votes, 'voto', 'votos')}` : ' · nenhum voto');
  const sections: DigestSection[] = [
    {
      heading: `Os ${DIGEST_MOMENTS} momentos das aulas que mais geraram perguntas`,
      items: moments.map(momentItem),
      empty: 'Nenhuma resposta da semana citou trechos das aulas.',
      more: null,
    },
    {
      heading: 'Maiores lacunas de cobertura (sem resposta nas aulas, 👎 ou escaladas)',
      items: gaps.map(gapItem),
      empty: 'Nenhuma lacuna nesta semana.',
      more: report.gaps.groups.length > gaps.length ? `e mais ${plural(report.gaps.groups.length - gaps.length, 'grupo', 'grupos')} no relatório` : null,
    },
  ];
  if (cases.length > 0) {
    sections.push({
      heading: 'Perguntas escaladas aguardando um monitor',
      items: cases.slice(0, DIGEST_CASES).map((c) => caseItem(c, day)),
      empty: '',
      more: cases.length > DIGEST_CASES ? `e mais ${formatInt(cases.length - DIGEST_CASES)}` : null,
    });
  }
  return {
    title: 'Resumo semanal do pergunta',
    period,
    summary,
    sections,
    footer: 'Relatório completo com gráficos: npm run report (ou o painel, se estiver ativo).',
    fallback: `Resumo semanal do pergunta: ${plural(thisWeek, 'pergunta', 'perguntas')} nos últimos 7 dias (${weekChange(thisWeek, lastWeek)}).`,
    data: { thisWeek, lastWeek, moments, gaps, openCases: cases },
  };
}

/**
 * The digest from the settings (`npm run digest`): the store at STORE_URL, the lectures of the
 * index at INDEX_DIR, the embedding model when it loads (`lexical: true` skips it).
 */
export async function loadDigest(config: Config, logger: Logger, options: { now?: Date; lexical?: boolean } = {}): Promise<Digest> {
  const lectures = await loadLectureCatalog(config.INDEX_DIR);
  if (!lectures) logger.warn({ index: config.INDEX_DIR }, 'no index here: lectures are named as the records cite them');
  const store = await openStoreForInsights(config, logger);
  try {
    return await buildDigest(store.source, {
      now: options.now ?? new Date(),
      timeZone: config.COURSE_TIMEZONE,
      lectures,
      embedder: options.lexical ? null : () => loadEmbedderOrNull(config, logger),
      logger,
    });
  } finally {
    await store.close();
  }
}
