/**
 * The staff report as one self-contained HTML page (pt-BR): inline CSS, charts as inline SVG,
 * no script, no font, no image, no request of any kind — it opens offline and survives being
 * mailed. A Content-Security-Policy in the page itself forbids scripts and every external load,
 * so even text that escaped escaping could not run or call home.
 *
 * Every text that comes from students, the LLM or the course manifest is HTML-escaped here;
 * Vega escapes what it writes into the SVG. Links are only http(s) (a `javascript:` URL in a
 * manifest is dropped), and with `hideUrls` there are none at all.
 */
import { videoLinkAt } from '../course/links.js';
import type { Agreement } from '../evaluation/agreement.js';
import type { LectureSummary, ListedQuestion, Moment } from './aggregate.js';
import { CourseCalendar, longDate } from './calendar.js';
import {
  agreementFigure,
  heatmapFigure,
  judgeDistributionFigure,
  kindsOverTimeFigure,
  qualityOverTimeFigure,
  questionsOverTimeFigure,
  renderSvg,
  type Cell,
  type ChartFigure,
} from './charts.js';
import type { InsightsReport } from './collect.js';
import { caseStatusName, formatInt, formatPercent, formatScore, kindName, minuteRange, platformName, weekChange } from './format.js';

/** What the page allows itself: inline styles and data: images (none today); nothing else. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export interface ReportHtmlOptions {
  /** Shown in the title, e.g. the course's name. */
  courseName?: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function safeUrl(url: string | null | undefined): string | null {
  return url && /^https?:\/\//i.test(url) ? url : null;
}

function link(text: string, url: string | null | undefined): string {
  const href = safeUrl(url);
  return href ? `<a href="${escapeHtml(href)}" rel="noopener noreferrer">${escapeHtml(text)}</a>` : escapeHtml(text);
}

function cell(value: string | Cell): string {
  return typeof value === 'string' ? escapeHtml(value) : link(value.text, value.href);
}

function table(columns: readonly string[], rows: readonly (readonly (string | Cell)[])[], caption?: string): string {
  const head = columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((v, i) => (i === 0 ? `<th scope="row">${cell(v)}</th>` : `<td>${cell(v)}</td>`)).join('')}</tr>`).join('\n');
  return `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body || `<tr><td colspan="${columns.length}">Nenhum dado no período.</td></tr>`}</tbody></table>`;
}

async function figure(f: ChartFigure): Promise<string> {
  const chart = f.spec ? `<div class="chart">${await renderSvg(f.spec)}</div>` : '<p class="empty">Sem dados para desenhar no período.</p>';
  return `<figure id="${escapeHtml(f.id)}" class="figure">
<figcaption><strong>${escapeHtml(f.title)}.</strong> ${escapeHtml(f.caption)}</figcaption>
${chart}
<details class="data"><summary>Dados do gráfico (tabela)</summary>
${table(f.table.columns, f.table.rows)}
</details>
</figure>`;
}

/** `DD/MM/AAAA` of an ISO time, in the course's time zone. */
type DayOf = (iso: string) => string;

function dayFormatter(timeZone: string): DayOf {
  const calendar = new CourseCalendar(timeZone);
  return (iso) => {
    const ms = Date.parse(iso);
    return Number.isNaN(ms) ? '' : longDate(calendar.day(ms));
  };
}

/** `--since` as given: a date is local midnight of the machine that ran the command (parseSince). */
function sinceText(iso: string): string {
  const d = new Date(iso);
  const date = new Intl.DateTimeFormat('pt-BR', { day: '2-digit', month: '2-digit', year: 'numeric' }).format(d);
  const midnight = d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0;
  return midnight ? date : `${date} ${new Intl.DateTimeFormat('pt-BR', { hour: '2-digit', minute: '2-digit' }).format(d)}`;
}

function when(iso: string, day: DayOf): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? '' : `<time datetime="${escapeHtml(new Date(ms).toISOString())}">${escapeHtml(day(iso))}</time>`;
}

/** A listed question; its conversation's turns are shown together, in order, one click away. */
function question(q: ListedQuestion, day: DayOf): string {
  const head = `<q>${escapeHtml(q.text)}</q> ${when(q.at, day)}`;
  if (!q.conversation) return `<li>${head}</li>`;
  const turns = q.conversation.turns
    .map((t) => `<li${t.id === q.id ? ' class="this"' : ''}>${t.turn !== null ? `<span class="turn">${escapeHtml(String(t.turn))}ª</span> ` : ''}<q>${escapeHtml(t.text)}</q></li>`)
    .join('');
  return `<li>${head}<details class="conversation"><summary>conversa de ${formatInt(q.conversation.turns.length)} perguntas</summary><ol class="turns">${turns}</ol></details></li>`;
}

function questions(list: readonly ListedQuestion[], day: DayOf): string {
  return list.length === 0 ? '' : `<ul class="questions">${list.map((q) => question(q, day)).join('')}</ul>`;
}

function marks(m: { down: number; incorrect: number; escalated: number }): string {
  const parts: string[] = [];
  if (m.down > 0) parts.push(`${formatInt(m.down)} com 👎`);
  if (m.incorrect > 0) parts.push(`${formatInt(m.incorrect)} incorreta${m.incorrect > 1 ? 's' : ''} (I)`);
  if (m.escalated > 0) parts.push(`${formatInt(m.escalated)} escalada${m.escalated > 1 ? 's' : ''}`);
  return parts.length > 0 ? ` · ${parts.join(' · ')}` : '';
}

function moment(m: Moment, day: DayOf): string {
  const title = `${m.title}, ${minuteRange(m.minute)}`;
  return `<li><p><strong>${link(title, m.url)}</strong> — ${m.count === 1 ? '1 pergunta' : `${formatInt(m.count)} perguntas`}${marks(m)}</p>${questions(m.questions, day)}</li>`;
}

function agreementRow(title: string, a: Agreement): string[] {
  return [title, formatInt(a.n), formatPercent(a.accuracy), formatScore(a.kappa)];
}

function summaryItems(r: InsightsReport): [string, string][] {
  const t = r.totals;
  const order = (p: string) => (['discord', 'slack', 'cli'].indexOf(p) + 4) % 4;
  const platforms = Object.entries(t.byPlatform)
    .sort((a, b) => b[1] - a[1] || order(a[0]) - order(b[0]) || a[0].localeCompare(b[0]))
    .map(([p, n]) => `${platformName(p)} ${formatInt(n)}`)
    .join(' · ');
  return [
    ['Perguntas no período', `${formatInt(t.questions)}${platforms ? ` (${platforms})` : ''}`],
    ['Últimos 7 dias', `${formatInt(r.weeks.thisWeek)} (7 dias antes: ${formatInt(r.weeks.lastWeek)}; ${weekChange(r.weeks.thisWeek, r.weeks.lastWeek)})`],
    ['Taxa de 👍', `${formatPercent(t.upRate)} (👍 ${formatInt(t.up)} · 👎 ${formatInt(t.down)})`],
    ['Tipos de resposta', Object.entries(t.byKind).map(([k, n]) => `${kindName(k)} ${formatInt(n)}`).join(' · ')],
    ['Avaliadas pelo juiz', `${formatInt(t.judged)} (falhas: ${formatInt(t.judgeFailed)})`],
    ['Concordância monitor × juiz', r.agreement.n === 0 ? '—' : `kappa de Cohen ${formatScore(r.agreement.kappa)} em ${formatInt(r.agreement.n)} pares`],
    ['Escaladas aos monitores', `${formatInt(t.escalated)} (em aberto: ${formatInt(r.openCases.length)})`],
  ];
}

function lectureRow(l: LectureSummary): (string | Cell)[] {
  const top = l.topQuestions.map((q) => `${q.text}${q.count > 1 ? ` (×${formatInt(q.count)})` : ''}`).join(' · ');
  return [{ text: l.title, href: l.url }, formatInt(l.questions), formatInt(l.up), formatInt(l.down), formatPercent(l.upRate), top || '—'];
}

const STYLE = `
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
header, main, footer { max-width: 1200px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 24px; border-bottom: 1px solid var(--line); }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 8px; border-top: 1px solid var(--line); }
.meta { color: var(--muted); margin: 0 0 12px; }
nav ol { display: flex; flex-wrap: wrap; gap: 4px 18px; padding: 0; margin: 8px 0 16px; list-style: none; }
a { color: var(--accent); }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 16px 0; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
.figure { margin: 20px 0 28px; }
.figure figcaption { margin-bottom: 8px; }
.chart { overflow-x: auto; }
.chart svg { display: block; max-width: none; height: auto; }
.empty { color: var(--muted); font-style: italic; }
details.data { margin-top: 6px; }
details.data summary, details summary { cursor: pointer; color: var(--accent); }
table { border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; }
tbody th { font-weight: normal; }
ol.moments > li, ol.gaps > li { margin-bottom: 12px; }
ol.moments p, ol.gaps p { margin: 0; }
ol.gaps p.unknown { color: var(--muted); font-size: 14px; }
ol.gaps p.unknown b { color: var(--ink); font-weight: 600; }
ul.questions { margin: 4px 0 0; padding-left: 20px; color: var(--ink); }
ul.questions time, .meta time { color: var(--muted); font-size: 13px; }
details.conversation { display: inline; margin-left: 6px; font-size: 13px; }
details.conversation[open] { display: block; }
ol.turns { margin: 2px 0; padding-left: 22px; list-style: none; font-size: 15px; }
ol.turns li.this q { font-weight: 600; }
.turn { color: var(--muted); font-size: 13px; }
footer { color: var(--muted); font-size: 13px; margin-top: 40px; padding-bottom: 24px; border-top: 1px solid var(--line); }
`;

/** The whole report page. */
export async function renderReportHtml(r: InsightsReport, options: ReportHtmlOptions = {}): Promise<string> {
  const day = dayFormatter(r.timeZone);
  const linkAt = (l: LectureSummary, minute: number) => (l.url ? videoLinkAt(l.url, minute * 60) : null);
  const title = `Relatório da disciplina${options.courseName ? ` — ${options.courseName}` : ''}`;
  const period = r.period.first && r.period.last ? `${longDate(r.period.first)} a ${longDate(r.period.last)}` : 'nenhuma pergunta registrada';
  const generated = new Date(r.generatedAt);
  const generatedText = new Intl.DateTimeFormat('pt-BR', { dateStyle: 'short', timeStyle: 'short', timeZone: r.timeZone }).format(generated);

  const sections = new Map<string, string>();
  sections.set('resumo', `<section id="resumo" aria-labelledby="h-resumo"><h2 id="h-resumo">Resumo</h2>
<dl class="summary">${summaryItems(r)
    .map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('')}</dl></section>`);

  sections.set('tempo', `<section id="tempo" aria-labelledby="h-tempo"><h2 id="h-tempo">Ao longo do tempo</h2>
${await figure(questionsOverTimeFigure(r))}
${await figure(qualityOverTimeFigure(r))}
${await figure(kindsOverTimeFigure(r))}
</section>`);

  const byLecture = r.agreementByLecture.map((l) => agreementRow(l.title, l.agreement));
  sections.set('avaliacao', `<section id="avaliacao" aria-labelledby="h-avaliacao"><h2 id="h-avaliacao">Avaliação das respostas</h2>
${await figure(judgeDistributionFigure(r))}
${await figure(agreementFigure(r))}
${table(['Aula citada primeiro', 'Pares', 'Acurácia', 'Kappa de Cohen'], [agreementRow('Todas as aulas', r.agreement), ...byLecture], 'Concordância entre monitores e juiz, por aula (a primeira aula citada pela resposta)')}
</section>`);

  sections.set('mapa', `<section id="mapa" aria-labelledby="h-mapa"><h2 id="h-mapa">Onde as aulas confundem</h2>
${await figure(heatmapFigure(r, linkAt))}
<h3>Os ${formatInt(r.topMoments.length)} momentos mais perguntados</h3>
${r.topMoments.length === 0 ? '<p class="empty">Nenhuma resposta do período citou trechos das aulas.</p>' : `<ol class="moments">${r.topMoments.map((m) => moment(m, day)).join('')}</ol>`}
</section>`);

  const g = r.gaps;
  const method = g.method === 'embeddings' ? 'por significado (modelo de embeddings)' : 'pelas palavras em comum';
  const gapItems = g.groups
    .slice(0, 20)
    .map((group) => {
      const reasons = [
        group.notFound > 0 ? `${formatInt(group.notFound)} sem resposta nas aulas` : '',
        group.down > 0 ? `${formatInt(group.down)} com 👎` : '',
        group.escalated > 0 ? `${formatInt(group.escalated)} escaladas` : '',
      ].filter(Boolean);
      const lectures = group.lectures.length > 0 ? ` · aulas: ${group.lectures.slice(0, 3).join(', ')}` : '';
      const words = group.unknownWords.length > 0 ? `<p class="unknown">Palavras que as aulas não usam: ${group.unknownWords.map((w) => `<b>${escapeHtml(w)}</b>`).join(', ')}</p>` : '';
      return `<li><p><strong>${escapeHtml(group.label)}</strong> — ${group.size === 1 ? '1 pergunta' : `${formatInt(group.size)} perguntas`}${escapeHtml(reasons.length ? ` (${reasons.join(', ')})` : '')}${escapeHtml(lectures)}</p>${words}${questions(group.examples, day)}</li>`;
    })
    .join('');
  sections.set('lacunas', `<section id="lacunas" aria-labelledby="h-lacunas"><h2 id="h-lacunas">Lacunas de cobertura</h2>
<p>Perguntas respondidas com "não encontrado", com 👎 ou escaladas aos monitores (${formatInt(g.questions)} no período), agrupadas ${escapeHtml(method)}; os maiores grupos primeiro${g.groups.length > 20 ? ` (20 de ${formatInt(g.groups.length)} grupos)` : ''}.</p>
${g.groups.length === 0 ? '<p class="empty">Nenhuma lacuna no período.</p>' : `<ol class="gaps">${gapItems}</ol>`}
</section>`);

  sections.set('aulas', `<section id="aulas" aria-labelledby="h-aulas"><h2 id="h-aulas">Por aula</h2>
${table(['Aula', 'Perguntas', '👍', '👎', 'Taxa de 👍', 'Mais perguntadas'], r.lectures.map(lectureRow), 'Perguntas cuja resposta citou cada aula')}
</section>`);

  const cases = r.openCases.map((c) => [c.question, caseStatusName(c.status), day(c.createdAt), c.lectureTitle ? { text: c.lectureTitle, href: c.url } : '—'] as (string | Cell)[]);
  sections.set('escaladas', `<section id="escaladas" aria-labelledby="h-escaladas"><h2 id="h-escaladas">Perguntas escaladas em aberto</h2>
${cases.length === 0 ? '<p class="empty">Nenhuma pergunta escalada aguarda um monitor.</p>' : table(['Pergunta', 'Situação', 'Desde', 'Trecho citado'], cases)}
</section>`);

  // What the staff look for first: where students get lost and what the bot cannot answer.
  const nav = [
    ['resumo', 'Resumo'],
    ['mapa', 'Onde as aulas confundem'],
    ['lacunas', 'Lacunas'],
    ['tempo', 'Ao longo do tempo'],
    ['avaliacao', 'Avaliação'],
    ['aulas', 'Por aula'],
    ['escaladas', 'Escaladas'],
  ] as const;
  return `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Período: ${escapeHtml(period)}${r.since ? ` (desde ${escapeHtml(sinceText(r.since))})` : ''} · gerado em ${escapeHtml(generatedText)} (${escapeHtml(r.timeZone)})${r.hideUrls ? ' · links ocultos' : ''}</p>
<nav aria-label="Seções"><ol>${nav.map(([id, name]) => `<li><a href="#${id}">${escapeHtml(name)}</a></li>`).join('')}</ol></nav>
</header>
<main>
${nav.map(([id]) => sections.get(id)).join('\n')}
</main>
<footer><p>Relatório gerado pelo pergunta a partir das perguntas registradas, dos votos, das anotações dos monitores e das avaliações do juiz automático. Os identificadores dos estudantes não aparecem aqui.</p></footer>
</body>
</html>
`;
}
