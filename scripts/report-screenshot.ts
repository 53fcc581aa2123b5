/**
 * `npm run docs:screenshot`: the report's picture in the docs (docs/images/relatorio.png), made
 * from the sample course. Its 42 labelled questions (and a few the lectures do not cover) are
 * asked through the real answer core over six weeks, more often around mid-term; votes, TA
 * labels, judge verdicts and escalation cases are drawn from a seeded generator, so the picture
 * is the same on every run. The report is then opened in headless Chromium and its top (summary,
 * confusion heatmap) saved. Needs chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 *
 *   npm run docs:screenshot [-- --out docs/images/relatorio.png --html .tmp/relatorio-exemplo.html]
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer from 'puppeteer-core';
import { mulberry32 } from '../bench/lib/prng.js';
import { createProgram, runProgram } from '../src/cli/harness.js';
import { loadConfig } from '../src/config.js';
import { createCore } from '../src/core.js';
import { collectInsights } from '../src/insights/collect.js';
import { renderReportHtml } from '../src/insights/html.js';
import { catalogFromIndex } from '../src/insights/lectures.js';
import { createLogger } from '../src/logger.js';
import { createFeedbackStore } from '../src/store/createStore.js';
import type { KeyvFeedbackStore } from '../src/store/keyvStore.js';
import type { EscalationCase, Label } from '../src/store/types.js';
import { CHROMIUM_FLAGS } from '../test/helpers/browser.js';
import { withCases } from '../test/helpers/insightsData.js';
import { chromiumPath } from '../test/helpers/services.js';

const program = createProgram('docs:screenshot', 'Make the report screenshot of the docs from the sample course.')
  .option('--out <file>', 'PNG to write', 'docs/images/relatorio.png')
  .option('--html <file>', 'where to keep the report it shows', '.tmp/relatorio-exemplo.html');

const COURSE = path.resolve('examples/curso-exemplo');
const NOW = new Date('2026-05-04T12:00:00-03:00');
const UNCOVERED = ['Como instalar o CUDA no Windows?', 'Quando é a prova final?', 'Vai cair transformers na prova?', 'como instalo o cuda no windows'];

await runProgram(program, async () => {
  const opts = program.opts<{ out: string; html: string }>();
  const work = await mkdtemp(path.join(tmpdir(), 'pergunta-screenshot-'));
  const quiet = createLogger({ level: 'silent' });
  try {
    const config = loadConfig({ COURSE_DIR: COURSE }, path.join(work, 'no.env'));
    const core = await createCore(config, quiet, { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
    const store = (await createFeedbackStore({ url: 'memory://', salt: 'sal-do-exemplo', logger: quiet, journalDir: null })) as KeyvFeedbackStore;
    const questions = (JSON.parse(await readFile(path.join(COURSE, 'questions.json'), 'utf8')) as { q: string }[]).map((q) => q.q);
    const random = mulberry32(2026);
    const cases: EscalationCase[] = [];
    const days = 42;
    for (let i = 0; i < 520; i++) {
      // Busier towards mid-term, and some questions far more than others.
      const day = Math.floor(days * Math.sqrt(random()));
      const at = new Date(NOW.getTime() - (days - day) * 86_400_000 + Math.floor(random() * 36_000_000));
      const uncovered = random() < 0.08;
      const question = uncovered ? UNCOVERED[Math.floor(random() * UNCOVERED.length)]! : questions[Math.floor(questions.length * random() ** 2)]!;
      const result = await core.answers.answer(question);
      const platform = random() < 0.75 ? 'discord' : 'slack';
      const record = await store.recordAnswer({ ...result, createdAt: at.toISOString() }, { platform, channel: 'C-curso', rawUserId: `estudante-${i % 61}` });
      const down = uncovered ? random() < 0.7 : random() < 0.18;
      if (random() < 0.55 || uncovered) {
        await store.applyVote({ answerId: record.id, user: `${platform}:${(i % 61).toString(16).padStart(16, '0')}`, value: down ? 'down' : 'up', comment: null, platform, at: at.toISOString() });
      }
      const label: Label = uncovered || down ? (random() < 0.6 ? 'I' : 'P') : random() < 0.85 ? 'C' : 'P';
      if (random() < 0.3) await store.applyAnnotation({ answerId: record.id, label, annotator: 'slack:00000000000000aa', platform: 'slack', at: at.toISOString() });
      if (random() < 0.7) {
        const automated: Label = random() < 0.8 ? label : (['C', 'P', 'I'] as const)[Math.floor(random() * 3)]!;
        const raw = automated === 'C' ? 3 : automated === 'P' ? 2 : Math.floor(random() * 2);
        const score = (n: number) => ({ raw: n, normalized: n / 3, criteria: '', supportingEvidence: '' });
        await store.saveJudge({
          answerId: record.id,
          status: 'ok',
          error: null,
          judgeModel: 'gpt-4o',
          promptVersion: 'juiz-2026-11-26.1',
          at: at.toISOString(),
          answerRelevance: score(raw),
          contextRelevance: record.segments.map((s, k) => ({ ...score(k === 0 ? raw : Math.floor(random() * 4)), corpusId: s.corpusId })),
          groundedness: [{ ...score(Math.min(3, raw + 1)), sentence: '' }],
          groundednessMean: Math.min(1, (raw + 1) / 3),
          label: automated,
          abstained: false,
          reasoning: '',
        });
      }
      if ((uncovered || down) && random() < 0.35) {
        cases.push({ id: `caso-${i}`, answerId: record.id, question, status: random() < 0.6 ? 'open' : 'answered', createdAt: at.toISOString(), platform });
      }
    }
    const report = await collectInsights(withCases(store, cases), {
      now: NOW,
      timeZone: 'America/Sao_Paulo',
      lectures: catalogFromIndex(core.index),
      embedder: null,
      logger: quiet,
    });
    const html = await renderReportHtml(report, { courseName: 'Aprendizado de Máquina (exemplo)' });
    await mkdir(path.dirname(path.resolve(opts.html)), { recursive: true });
    await writeFile(opts.html, html);
    await store.close();
    await core.close();

    const browser = await puppeteer.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${path.join(work, 'profile')}`],
    });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1100, height: 800, deviceScaleFactor: 1 });
      await page.goto(pathToFileURL(path.resolve(opts.html)).href, { waitUntil: 'load' });
      const bottom = (await page.evaluate(`document.querySelector('#mapa-de-confusao .chart').getBoundingClientRect().bottom + window.scrollY`)) as number;
      await mkdir(path.dirname(path.resolve(opts.out)), { recursive: true });
      await page.screenshot({ path: opts.out as `${string}.png`, clip: { x: 0, y: 0, width: 1100, height: Math.ceil(bottom) + 16 } });
    } finally {
      await browser.close();
    }
    process.stderr.write(`wrote ${opts.out} (report kept in ${opts.html})\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
