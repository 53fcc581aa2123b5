/**
 * The staff report as HTML (no browser here; test/browser/report.test.ts opens it in Chromium):
 * every chart is an inline SVG figure with a caption and a data table, nothing is loaded from
 * anywhere, hostile text is escaped, --hide-urls leaves no link, heatmap bins link to their
 * minute, an empty store still gives a page. And `npm run report` as a command.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectInsights, EMPTY_SOURCE, type InsightsReport } from '../../src/insights/collect.js';
import { escapeHtml, renderReportHtml } from '../../src/insights/html.js';
import type { LectureCatalog } from '../../src/insights/lectures.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { KeyvFeedbackStore } from '../../src/store/keyvStore.js';
import type { EscalationCase } from '../../src/store/types.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { silentLogger, tempDir } from '../helpers/course.js';
import { generateActivity, SAMPLE_LECTURES, withCases, writeActivity } from '../helpers/insightsData.js';

export const HOSTILE = '<img src=x onerror="alert(1)"> <script>alert(2)</script> "aspas" & \'apóstrofo\' https://evil.example/x';
const NOW = new Date('2026-04-15T12:00:00.000Z');
const CATALOG: LectureCatalog = new Map(
  SAMPLE_LECTURES.map((l, i) => [l.id, { id: l.id, title: l.title, url: l.url, durationSec: l.minutes * 60, order: i }]),
);
const FIGURES = ['perguntas-no-tempo', 'qualidade-no-tempo', 'tipos-de-resposta', 'notas-do-juiz', 'concordancia', 'mapa-de-confusao'];

async function sampleReport(options: { hideUrls?: boolean } = {}): Promise<InsightsReport> {
  const store = (await createFeedbackStore({ url: 'memory://', salt: 'sal-relatorio', logger: silentLogger(), journalDir: null })) as KeyvFeedbackStore;
  const cases: EscalationCase[] = [];
  for (const item of generateActivity({ count: 250, end: NOW, days: 30, plant: HOSTILE })) {
    await writeActivity(store, item);
    if (item.escalation) cases.push(item.escalation);
  }
  const report = await collectInsights(withCases(store, cases), { now: NOW, timeZone: 'America/Sao_Paulo', lectures: CATALOG, embedder: null, logger: silentLogger(), ...options });
  await store.close();
  return report;
}

/** The `<figure id=…>` element's HTML. */
function figureHtml(html: string, id: string): string {
  const start = html.indexOf(`<figure id="${id}"`);
  expect(start, id).toBeGreaterThanOrEqual(0);
  return html.slice(start, html.indexOf('</figure>', start));
}

describe('the report page', () => {
  let report: InsightsReport;
  let html: string;
  beforeAll(async () => {
    report = await sampleReport();
    html = await renderReportHtml(report);
  });

  it('is one pt-BR page with a strict Content-Security-Policy, no script and nothing to load', () => {
    expect(html).toMatch(/^<!doctype html>\n<html lang="pt-BR">/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(img|link|iframe|object|embed|video|audio|source)\b/i);
    expect(html).not.toMatch(/\ssrc=/i);
    // url(#…) in the SVG points inside the page (clip paths); any other url( would load something.
    expect(html).not.toMatch(/url\((?!#)/i);
    expect(html).not.toMatch(/@import/i);
  });

  it('draws every chart as inline SVG with a caption and its data as a table', () => {
    for (const id of FIGURES) {
      const figure = figureHtml(html, id);
      expect(figure, id).toMatch(/<figcaption><strong>[^<]+\.<\/strong> [^<]+<\/figcaption>/);
      expect(figure, id).toContain('<svg');
      expect(figure, id).toMatch(/<details class="data"><summary>Dados do gráfico \(tabela\)<\/summary>\s*<table>/);
      expect(figure, id).toMatch(/<tbody><tr>/);
    }
  });

  it('escapes what students typed and what the manifest says, in text and in the charts', async () => {
    const hostileCatalog: LectureCatalog = new Map([['aula1', { id: 'aula1', title: `Aula 1 ${HOSTILE}`, url: 'javascript:alert(3)', durationSec: 300, order: 0 }]]);
    const store = (await createFeedbackStore({ url: 'memory://', salt: 'sal-hostil', logger: silentLogger(), journalDir: null })) as KeyvFeedbackStore;
    for (const item of generateActivity({ count: 6, end: NOW, days: 2, lectures: [{ id: 'aula1', title: `Aula 1 ${HOSTILE}`, url: 'javascript:alert(3)', minutes: 5, hot: [{ minute: 1, questions: [HOSTILE] }] }] })) {
      item.answer.question = HOSTILE;
      item.votes.push({ answerId: item.answer.id, user: 'discord:ff', value: 'down', comment: HOSTILE, platform: 'discord', at: item.answer.createdAt });
      await writeActivity(store, item);
    }
    const hostile = await collectInsights(store, { now: NOW, timeZone: 'America/Sao_Paulo', lectures: hostileCatalog, embedder: null, logger: silentLogger() });
    await store.close();
    const page = await renderReportHtml(hostile);
    expect(hostile.topMoments[0]!.questions[0]!.text).toBe(HOSTILE.replace(/\s+/g, ' '));
    expect(page).not.toContain('<img src=x');
    expect(page).not.toMatch(/<script/i);
    expect(page).not.toContain('javascript:');
    expect(page.split(escapeHtml('<img src=x onerror="alert(1)">')).length).toBeGreaterThan(5);
    // Inside the SVG (axis labels and bin descriptions), Vega escapes it.
    expect(figureHtml(page, 'mapa-de-confusao')).toContain('&lt;img src=x');
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
  });

  it('links each heatmap bin to its lecture at the start of its minute', () => {
    const heatmap = figureHtml(html, 'mapa-de-confusao');
    const links = [...heatmap.matchAll(/<a xlink:href="([^"]+)"><path aria-label="([^"]+)"/g)];
    const bins = report.lectures.reduce((n, l) => n + l.bins.length, 0);
    expect(links).toHaveLength(bins);
    for (const [, href, label] of links) {
      const minute = Number(/minuto (\d+):00–/.exec(label!)?.[1]);
      const lecture = report.lectures.find((l) => label!.startsWith(l.title.slice(0, 40)))!;
      const url = href!.replace(/&amp;/g, '&');
      const second = minute * 60;
      if (/vimeo\.com/.test(url)) expect(url).toBe(`${lecture.url!.split('#')[0]}#t=${Math.floor(second / 60)}m0s`);
      else if (/youtu/.test(url)) expect(new URL(url).searchParams.get('t')).toBe(String(second));
      else expect(url.endsWith(`#t=${second}`)).toBe(true);
    }
  });

  it('lists the top moments, the coverage gaps, each lecture and the open escalations', () => {
    expect(html).toMatch(/<h3>Os 10 momentos mais perguntados<\/h3>\s*<ol class="moments">/);
    expect((html.match(/<ol class="moments">([\s\S]*?)<\/ol>\s*<\/section>/)?.[1] ?? '').match(/<li><p><strong>/g)).toHaveLength(10);
    expect(html).toMatch(/<ol class="gaps"><li><p><strong>/);
    expect(html).toContain('agrupadas pelas palavras em comum');
    // The words the gap questions use and no lecture does (the answers' coverage), under their group.
    const cuda = report.gaps.groups.find((g) => /cuda/i.test(g.label))!;
    expect(cuda.unknownWords).toEqual(expect.arrayContaining(['cuda', 'windows']));
    expect(html).toMatch(/<p class="unknown">Palavras que as aulas não usam: (<b>[^<]+<\/b>, )*<b>cuda<\/b>/);
    for (const lecture of SAMPLE_LECTURES) expect(html).toContain(escapeHtml(lecture.title));
    expect(report.openCases.length).toBeGreaterThan(0);
    expect(html).toContain(escapeHtml(report.openCases[0]!.question));
    expect(html).toContain('conversa de ');
  });

  it('with --hide-urls has no link and no URL at all', async () => {
    const hidden = await renderReportHtml(await sampleReport({ hideUrls: true }));
    // The SVG namespace declarations name URIs but load nothing.
    const text = hidden.replace(/xmlns(:xlink)?="http:\/\/www\.w3\.org\/[^"]+"/g, '');
    expect(text).not.toMatch(/https?:\/\//);
    // Only the table of contents' anchors inside the page.
    expect(text).not.toMatch(/\shref="(?!#)/);
    expect(text).not.toContain('xlink:href');
    expect(text).toContain('links ocultos');
    expect(figureHtml(hidden, 'mapa-de-confusao')).toContain('<path aria-label=');
  });

  it('leaves the process as it found it: Vega-Lite’s Set patch never outlives a chart (discord.js breaks on it)', async () => {
    expect(html).toContain('<svg');
    expect(Object.getOwnPropertyDescriptor(Set.prototype, 'toJSON')).toBeUndefined();
    await expect(import('@vladfrangu/async_event_emitter')).resolves.toBeDefined();
  });

  it('still makes a page from an empty store', async () => {
    const empty = await collectInsights(EMPTY_SOURCE, { now: NOW, timeZone: 'America/Sao_Paulo', lectures: CATALOG, embedder: null, logger: silentLogger() });
    const page = await renderReportHtml(empty);
    expect(page).toContain('nenhuma pergunta registrada');
    expect(page).toContain('Sem dados para desenhar no período.');
    for (const id of FIGURES) expect(figureHtml(page, id)).toContain('<details class="data">');
    // The lectures' timelines exist even before anyone asks.
    expect(figureHtml(page, 'mapa-de-confusao')).toContain('<svg');
  });
});

describe('npm run report', () => {
  let work: string;
  let storeFile: string;
  beforeAll(async () => {
    work = await tempDir('report-cli-');
    storeFile = path.join(work, 'store.sqlite');
    const store = (await createFeedbackStore({ url: `sqlite://${storeFile}`, salt: 'sal-cli', logger: silentLogger(), journalDir: null })) as KeyvFeedbackStore;
    for (const item of generateActivity({ count: 120, end: new Date(), days: 20, plant: HOSTILE })) await writeActivity(store, item);
    await store.close();
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) =>
    cliEnv({ STORE_URL: `sqlite://${storeFile}`, USER_ID_SALT: 'sal-cli', INDEX_DIR: path.join(work, 'no-index'), MODEL_CACHE_DIR: path.join(work, 'models'), ...extra });

  it('writes the HTML file and says so on stderr', async () => {
    const out = path.join(work, 'relatorio.html');
    const res = await runCli('src/cli/report.ts', ['--out', out, '--since', '2020-01-01'], env());
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('');
    const html = await readFile(out, 'utf8');
    expect(html).toContain('<figure id="mapa-de-confusao"');
    expect(html).toContain('desde 01/01/2020');
    const done = res.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'report written');
    expect(done).toMatchObject({ out, records: 120, gapMethod: 'lexical' });
  });

  it('refuses a bad --since with exit 2, and writes nothing', async () => {
    const out = path.join(work, 'nao.html');
    const res = await runCli('src/cli/report.ts', ['--out', out, '--since', '2026-02-30'], env());
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('--since: data inválida "2026-02-30"');
    expect(existsSync(out)).toBe(false);
  });

  it('without a store file writes an empty report and creates no store', async () => {
    const out = path.join(work, 'vazio.html');
    const missing = path.join(work, 'missing', 'store.sqlite');
    const res = await runCli('src/cli/report.ts', ['--out', out], env({ STORE_URL: `sqlite://${missing}` }));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('the feedback store file does not exist yet');
    expect(await readFile(out, 'utf8')).toContain('nenhuma pergunta registrada');
    expect(existsSync(missing)).toBe(false);
  });
});
