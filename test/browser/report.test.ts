/**
 * The staff report in a real browser (headless Chromium, test/helpers/browser.ts): `npm run
 * report` writes it from a SQLite store of generated records (with a student's hostile
 * question); opened from disk, it makes no request and logs no error, runs no injected script,
 * shows every chart with its caption and data table, and each heatmap bin links to its lecture
 * at the right second (clicking one asks the browser for exactly that URL). Screenshots are
 * written under .tmp/ for people to look at. Skipped, with one line naming the package, where
 * chromium is not installed; a failure under REQUIRE_SERVICES=1 (CI).
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { KeyvFeedbackStore } from '../../src/store/keyvStore.js';
import type { Page } from 'puppeteer-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { silentLogger, tempDir } from '../helpers/course.js';
import { generateActivity, writeActivity } from '../helpers/insightsData.js';
import { describeWith } from '../helpers/services.js';

const HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script> e <a href="javascript:alert(3)">clique</a>';
const FIGURES = ['perguntas-no-tempo', 'qualidade-no-tempo', 'tipos-de-resposta', 'notas-do-juiz', 'concordancia', 'mapa-de-confusao'];
const SHOTS = path.resolve('.tmp');

/**
 * Runs `fn` (source text of a function) in the page with `arg`. The tests are type-checked without
 * the DOM's types (the project is Node code), so what runs in the browser is written as text.
 */
function inPage<T>(page: Page, fn: string, arg: unknown = null): Promise<T> {
  return page.evaluate(`(${fn})(${JSON.stringify(arg)})`) as Promise<T>;
}

describeWith('chromium')('the report in headless Chromium', () => {
  let work: string;
  let browser: TestBrowser;
  const reports: Record<'full' | 'hidden', string> = { full: '', hidden: '' };

  beforeAll(async () => {
    work = await tempDir('report-browser-');
    const storeFile = path.join(work, 'store.sqlite');
    const store = (await createFeedbackStore({ url: `sqlite://${storeFile}`, salt: 'sal-navegador', logger: silentLogger(), journalDir: null })) as KeyvFeedbackStore;
    for (const item of generateActivity({ count: 400, end: new Date(), days: 35, plant: HOSTILE })) await writeActivity(store, item);
    // The hostile question also among the most asked of a lecture, so it is listed for sure.
    for (const item of generateActivity({ count: 6, end: new Date(), days: 1, seed: 7 })) {
      item.answer.question = HOSTILE;
      await writeActivity(store, item);
    }
    await store.close();
    const env = cliEnv({ STORE_URL: `sqlite://${storeFile}`, USER_ID_SALT: 'sal-navegador', INDEX_DIR: path.join(work, 'sem-indice'), MODEL_CACHE_DIR: path.join(work, 'models') });
    for (const [name, extra] of [
      ['full', []],
      ['hidden', ['--hide-urls']],
    ] as const) {
      reports[name] = path.join(work, `relatorio-${name}.html`);
      const res = await runCli('src/cli/report.ts', ['--out', reports[name], ...extra], env, process.cwd(), 90_000);
      expect(res.code, res.stderr).toBe(0);
    }
    browser = await launchBrowser();
    await mkdir(SHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('opens from disk with no request, no console error and no script run', async () => {
    const { page, requests, errors, dialogs } = await browser.open(reports.full);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    expect(dialogs).toEqual([]);
    const found = await inPage<{ scripts: number; images: number; javascriptLinks: number; text: string; lang: string }>(
      page,
      `() => ({
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        javascriptLinks: [...document.querySelectorAll('a')].filter((a) => (a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? '').startsWith('javascript:')).length,
        text: document.body.innerText,
        lang: document.documentElement.lang,
      })`,
    );
    expect(found).toMatchObject({ scripts: 0, images: 0, javascriptLinks: 0, lang: 'pt-BR' });
    // The hostile question is shown as the text it is.
    expect(found.text).toContain('<img src=x onerror="alert(1)">');
    await page.screenshot({ path: path.join(SHOTS, 'relatorio.png'), fullPage: true });
    const heatmap = await page.$('#mapa-de-confusao');
    await heatmap!.screenshot({ path: path.join(SHOTS, 'relatorio-mapa.png') });
    await page.close();
  });

  it('shows every chart with its caption and a data table', async () => {
    const { page } = await browser.open(reports.full);
    for (const id of FIGURES) {
      const figure = await inPage<{ caption: string; svg: { width: number; height: number } | null; tableVisible: boolean; headers: string[]; rows: number }>(
        page,
        `(figureId) => {
          const el = document.getElementById(figureId);
          const svg = el.querySelector('svg');
          const box = svg ? svg.getBoundingClientRect() : null;
          const details = el.querySelector('details');
          details.open = true;
          const table = details.querySelector('table');
          return {
            caption: (el.querySelector('figcaption')?.textContent ?? '').trim(),
            svg: box ? { width: box.width, height: box.height } : null,
            tableVisible: table.getBoundingClientRect().height > 0,
            headers: [...table.querySelectorAll('thead th')].map((th) => th.textContent),
            rows: table.querySelectorAll('tbody tr').length,
          };
        }`,
        id,
      );
      expect(figure.caption.length, id).toBeGreaterThan(20);
      expect(figure.svg?.width, id).toBeGreaterThan(100);
      expect(figure.svg?.height, id).toBeGreaterThan(50);
      expect(figure.tableVisible, id).toBe(true);
      expect(figure.headers.length, id).toBeGreaterThan(1);
      expect(figure.rows, id).toBeGreaterThan(0);
    }
    await page.close();
  });

  it('links every heatmap bin to its lecture at the start of its minute, and a click asks for exactly that', async () => {
    const { page, requests } = await browser.open(reports.full);
    const links = await inPage<{ href: string; label: string }[]>(
      page,
      `() => [...document.querySelectorAll('#mapa-de-confusao svg a')].map((a) => ({
        href: a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? '',
        label: a.querySelector('path')?.getAttribute('aria-label') ?? '',
      }))`,
    );
    // Bins carry a description; the 👎 / I / escalation marks on them link to the same minute.
    const bins = links.filter((l) => l.label.includes('minuto'));
    const marks = links.filter((l) => !l.label.includes('minuto'));
    expect(bins.length).toBeGreaterThan(100);
    expect(marks.length).toBeGreaterThan(0);
    const binHrefs = new Set(bins.map((b) => b.href));
    for (const mark of marks) expect(binHrefs.has(mark.href)).toBe(true);
    const rows = await inPage<number>(page, `() => document.querySelectorAll('#mapa-de-confusao tbody tr').length`);
    expect(rows).toBeGreaterThan(0);
    for (const { href, label } of bins) {
      const minute = Number(/minuto (\d+):00–/.exec(label)?.[1]);
      expect(Number.isInteger(minute), label).toBe(true);
      const second = minute * 60;
      const url = new URL(href);
      if (url.hostname.endsWith('vimeo.com')) expect(url.hash).toBe(`#t=${minute}m0s`);
      else if (/youtu/.test(url.hostname)) expect(url.searchParams.get('t')).toBe(String(second));
      else expect(url.hash).toBe(`#t=${second}`);
    }
    // A real click on the busiest bin (marks and all): the browser asks for that video at that second.
    const target = await inPage<{ href: string; x: number; y: number }>(
      page,
      `() => {
        const links = [...document.querySelectorAll('#mapa-de-confusao svg a')].filter((a) => (a.querySelector('path')?.getAttribute('aria-label') ?? '').includes('minuto'));
        const count = (a) => Number(/: (\\d+) perguntas/.exec(a.querySelector('path').getAttribute('aria-label'))?.[1] ?? 0);
        const busiest = links.reduce((best, a) => (count(a) > count(best) ? a : best), links[0]);
        busiest.scrollIntoView({ block: 'center', inline: 'center' });
        const box = busiest.getBoundingClientRect();
        return { href: busiest.getAttribute('href') ?? busiest.getAttribute('xlink:href'), x: box.x + box.width / 2, y: box.y + box.height / 2 };
      }`,
    );
    await page.mouse.click(target.x, target.y);
    for (let i = 0; i < 50 && requests.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(requests[0]).toBe(new URL(target.href).href);
    await page.close();
  });

  it('with --hide-urls has no link to anything outside the page', async () => {
    const { page, requests, errors } = await browser.open(reports.hidden);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    const links = await inPage<string[]>(
      page,
      `() => [...document.querySelectorAll('a')].map((a) => a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? '').filter((h) => !h.startsWith('#'))`,
    );
    expect(links).toEqual([]);
    expect(await inPage<string>(page, '() => document.body.innerText')).not.toMatch(/https?:\/\//);
    await page.close();
  });
});
