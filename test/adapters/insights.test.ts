/**
 * The staff insights end to end: a SQLite store filled by the real adapters (discord.js against
 * the fake Discord, Bolt in Socket Mode against the fake Slack: questions, 👎, a TA's "I")
 * plus generated records; then `npm run report` writes the HTML from it and `npm run digest`
 * posts a valid Block Kit digest to the fake Slack's chat.postMessage. Also the digest's
 * rendering against Slack's limits, hostile text, escalations, and its schedule.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord } from '../../adapters/discord/index.js';
import { renderDigest } from '../../adapters/slack/digest/blocks.js';
import { digestTarget } from '../../adapters/slack/digest/post.js';
import { scheduleDigest } from '../../adapters/slack/digest/schedule.js';
import { startSlack } from '../../adapters/slack/index.js';
import { ACTION_IDS, annotationValue } from '../../adapters/slack/cards.js';
import { BotService } from '../../src/bot/botService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { buildDigest, type Digest } from '../../src/insights/digest.js';
import { catalogFromIndex } from '../../src/insights/lectures.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { KeyvFeedbackStore } from '../../src/store/keyvStore.js';
import type { EscalationCase } from '../../src/store/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type Json } from '../fakes/fakeDiscord.js';
import { blockActions, slashCommand, startFakeSlack, type FakeSlack, type ResponseBody } from '../fakes/fakeSlack.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { recordingLogger, silentLogger, tempDir } from '../helpers/course.js';
import { generateActivity, withCases, writeActivity } from '../helpers/insightsData.js';
import { blockKitProblems, type Block } from '../helpers/slackBlocks.js';

const DISCORD_TOKEN = 'discord-insights-TOKEN-1a2b3c4d';
const SLACK_BOT_TOKEN = 'xoxb-insights-bot-token-5e6f';
const SLACK_APP_TOKEN = 'xapp-insights-app-token-7a8b';
const SALT = 'sal-dos-insights-de-teste';
const CHANNEL = 'C0MONITORES';
const HOSTILE = '<!channel> <@U0ALGUEM> & <https://evil.example|clique aqui> *negrito*';

let work: string;
let storeFile: string;
let indexDir: string;
let discord: FakeDiscord;
let slack: FakeSlack;
let core: Core;
let config: Config;
const asked: string[] = [];
let studentId = '';

function env(extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv({
    STORE_URL: `sqlite://${storeFile}`,
    USER_ID_SALT: SALT,
    INDEX_DIR: indexDir,
    MODEL_CACHE_DIR: path.join(work, 'models'),
    SLACK_BOT_TOKEN,
    SLACK_APP_TOKEN,
    SLACK_API_URL: slack.apiUrl,
    SLACK_DIGEST_CHANNEL: CHANNEL,
    ...extra,
  });
}

function answerIdOf(ix: FakeInteraction): string {
  const rows = (ix.original?.components ?? []) as Json[];
  const id = rows
    .flatMap((r) => (r.components ?? []) as Json[])
    .map((b) => String(b.custom_id ?? ''))
    .find((c) => c.startsWith('vote:up:'));
  if (!id) throw new Error('no vote buttons');
  return id.split(':')[2]!;
}

function slackAnswerId(body: ResponseBody): string {
  const actions = (body.blocks ?? []).find((b) => b.type === 'actions');
  const id = actions?.elements?.find((e) => e.action_id === ACTION_IDS.voteUp)?.value;
  if (typeof id !== 'string') throw new Error('no 👍 button');
  return id;
}

beforeAll(async () => {
  work = await tempDir('insights-e2e-');
  storeFile = path.join(work, 'store.sqlite');
  indexDir = path.join(work, 'index');
  [discord, slack] = await Promise.all([startFakeDiscord({ token: DISCORD_TOKEN }), startFakeSlack()]);
  config = loadConfig(
    {
      COURSE_DIR: path.resolve('examples/curso-exemplo'),
      INDEX_DIR: indexDir,
      STORE_URL: `sqlite://${storeFile}`,
      USER_ID_SALT: SALT,
      DISCORD_TOKEN,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN,
      SLACK_APP_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      SLACK_DIGEST_CHANNEL: CHANNEL,
    },
    path.join(work, 'no.env'),
  );
  core = await createCore(config, silentLogger(), { indexDir, buildIfMissing: true, embedder: null });

  // The bot at work: a store filled through the real adapters.
  const logger = silentLogger();
  const store = await createFeedbackStore({ url: config.STORE_URL, salt: SALT, logger, journalDir: null });
  const bot = new BotService(core.answers, store, new RateLimiter(100), logger);
  const discordAdapter = await startDiscord(
    { config, logger, bot, store },
    { clientOptions: { ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) } } },
  );
  const slackAdapter = await startSlack({ config, logger, bot, store });
  try {
    const student = makeUser('estudante');
    studentId = String(student.id);
    for (const question of ['O que é overfitting?', 'Como funciona o backpropagation?', HOSTILE]) {
      const ix = discord.slashCommand({ name: 'pergunta', options: { texto: question }, user: student });
      await ix.waitFor(() => ((ix.original?.components as Json[] | undefined)?.length ? ix.original : undefined), 20_000);
      await discordAdapter.whenIdle();
      asked.push(question);
      if (question !== 'Como funciona o backpropagation?') {
        const click = discord.clickButton({ customId: `vote:down:${answerIdOf(ix)}`, message: ix.original, user: student });
        await click.waitFor(() => click.callback);
        await discordAdapter.whenIdle();
      }
    }
    const posted = slack.channelMessages.length;
    await slack.sendEnvelope('slash_commands', slashCommand({ text: 'O que é transfer learning?', user_id: 'U0MONITOR', response_url: slack.responseUrl('ta-q') }));
    // A public answer is posted as a message (it has a thread); others come through the response_url.
    await slack.waitFor(() => slack.channelMessages.length > posted || slack.responsesFor('ta-q').length > 0, 'the TA’s answer', 20_000);
    await slackAdapter.idle();
    const message = slack.channelMessages[posted];
    const answer = message ? { body: { text: message.text, blocks: message.blocks } } : slack.responsesFor('ta-q')[0];
    asked.push('O que é transfer learning?');
    await slack.sendEnvelope(
      'interactive',
      blockActions({
        userId: 'U0MONITOR',
        action: { type: 'static_select', action_id: ACTION_IDS.annotate, selected: { value: annotationValue('I', slackAnswerId(answer!.body)), text: 'Incorreta' } },
        response_url: slack.responseUrl('ta-note'),
      }),
    );
    await slack.waitForResponses('ta-note', 1);
    await slackAdapter.idle();
  } finally {
    await discordAdapter.stop();
    await slackAdapter.stop();
    await slack.waitForSocketClose();
    await store.close();
  }

  // …plus weeks of generated activity in the same store.
  const generated = (await createFeedbackStore({ url: config.STORE_URL, salt: SALT, logger, journalDir: null })) as KeyvFeedbackStore;
  for (const item of generateActivity({ count: 150, end: new Date(Date.now() - 60_000), days: 20 })) await writeActivity(generated, item);
  await generated.close();
}, 120_000);

afterAll(async () => {
  await discord?.close();
  await slack?.close();
  await core?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm run report on a store the adapters filled', () => {
  it('writes the report with the adapters’ questions, the generated ones and the index’s lectures', async () => {
    const out = path.join(work, 'relatorio.html');
    const res = await runCli('src/cli/report.ts', ['--out', out], env(), process.cwd(), 90_000);
    expect(res.code, res.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/<dt>Perguntas no período<\/dt><dd>154 \(Discord \d+ · Slack \d+/);
    // The lectures come from the index (all 7, with their lengths), not only from what was cited.
    for (const title of ['Aula 1 — O que é aprendizado de máquina', 'Aula 7 — Avaliação de modelos: precisão, recall, F1 e curva ROC']) expect(html).toContain(title);
    expect(html).not.toContain('<!channel>');
    expect(html).not.toContain('<@U0ALGUEM>');
    const done = res.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'report written');
    expect(done).toMatchObject({ records: 154 });
    // The asking student's raw Discord id is nowhere in the report.
    expect(html).not.toContain(studentId);
  });
});

describe('the weekly digest', () => {
  let digest: Digest;
  beforeAll(async () => {
    const store = await createFeedbackStore({ url: config.STORE_URL, salt: SALT, logger: silentLogger(), journalDir: null });
    const cases: EscalationCase[] = [
      { id: 'c1', answerId: null, question: 'Quando sai a nota da prova? <!here>', status: 'open', createdAt: new Date(Date.now() - 3600_000).toISOString() },
      { id: 'c2', answerId: null, question: 'Pode revisar minha resposta?', status: 'claimed', createdAt: new Date(Date.now() - 7200_000).toISOString() },
      { id: 'c3', answerId: null, question: 'Já respondida', status: 'closed', createdAt: new Date().toISOString() },
    ];
    digest = await buildDigest(withCases(store, cases), { now: new Date(), timeZone: 'America/Sao_Paulo', lectures: catalogFromIndex(core.index), embedder: null, logger: silentLogger() });
    await store.close();
  });

  it('has the week against the last, 5 moments with links, the largest gaps and the open escalations', () => {
    expect(digest.data.thisWeek + digest.data.lastWeek).toBeGreaterThan(asked.length);
    expect(digest.summary).toMatch(/^\d+ perguntas nos últimos 7 dias \(\d+ nos 7 dias anteriores; [^)]+\)/);
    const [moments, gaps, cases] = digest.sections;
    expect(moments!.items).toHaveLength(5);
    for (const item of moments!.items) expect(item.url).toMatch(/^https?:\/\//);
    expect(gaps!.items.length).toBeGreaterThan(0);
    // A gap of questions answered "not found" names the words no lecture uses.
    expect(gaps!.items.some((i) => /palavras que as aulas não usam: [^·]*cuda/.test(i.detail))).toBe(true);
    expect(cases!.heading).toBe('Perguntas escaladas aguardando um monitor');
    expect(cases!.items.map((i) => i.title)).toEqual(['Pode revisar minha resposta?', 'Quando sai a nota da prova? <!here>']);
  });

  it('renders as Block Kit within Slack’s limits, with every student text escaped', () => {
    const message = renderDigest(digest);
    expect(blockKitProblems(message.blocks as Block[])).toEqual([]);
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text', text: 'Resumo semanal do pergunta' } });
    const text = JSON.stringify(message);
    expect(text).toContain('&lt;!here&gt;');
    expect(text).not.toContain('<!here>');
    expect(message.text.length).toBeLessThanOrEqual(400);
  });

  it('stays within the limits whatever the texts (long, hostile, many cases)', () => {
    const long = `${HOSTILE} ${'&<>'.repeat(2000)}`;
    const item = { title: long, url: `https://youtu.be/x?t=1&a=${'<'.repeat(50)}`, detail: long, quotes: [long, long, long] };
    const huge: Digest = {
      ...digest,
      title: long,
      period: long,
      summary: long,
      sections: Array.from({ length: 10 }, () => ({ heading: long, items: Array.from({ length: 10 }, () => item), empty: long, more: long })),
      footer: long,
      fallback: long,
    };
    const message = renderDigest(huge);
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(blockKitProblems(message.blocks as Block[]), JSON.stringify(message.blocks).slice(0, 3000)).toEqual([]);
  });

  it('posts to SLACK_DIGEST_CHANNEL through chat.postMessage (npm run digest)', async () => {
    slack.reset();
    slack.onApi('chat.postMessage', (call) => ({ body: { ok: true, channel: call.body.channel, ts: '1700000000.000100' } }));
    const res = await runCli('adapters/slack/digest/command.ts', ['--lexical'], env(), process.cwd(), 90_000);
    expect(res.code, res.stderr).toBe(0);
    const posts = slack.apiCalls.filter((c) => c.method === 'chat.postMessage');
    expect(posts).toHaveLength(1);
    const body = posts[0]!.body;
    expect(body.channel).toBe(CHANNEL);
    expect(posts[0]!.headers.authorization).toBe(`Bearer ${SLACK_BOT_TOKEN}`);
    const blocks = (typeof body.blocks === 'string' ? JSON.parse(body.blocks) : body.blocks) as Block[];
    expect(blockKitProblems(blocks)).toEqual([]);
    expect(blocks[0]).toMatchObject({ type: 'header' });
    expect(JSON.stringify(blocks)).toContain('perguntas nos últimos 7 dias');
    expect(JSON.stringify(blocks)).toMatch(/<https:\/\/[^|]+[?&#]t=\d+[^|]*\|/);
    expect(String(body.text)).toMatch(/^Resumo semanal do pergunta: \d+ perguntas/);
    expect(res.stderr).toContain('weekly digest posted');
    expect(res.stderr).not.toContain(SLACK_BOT_TOKEN);
  });

  it('says what to do when Slack refuses, and refuses to run without a channel', async () => {
    slack.onApi('chat.postMessage', () => ({ body: { ok: false, error: 'not_in_channel' } }));
    const refused = await runCli('adapters/slack/digest/command.ts', ['--lexical'], env(), process.cwd(), 90_000);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`the bot is not a member of ${CHANNEL}: invite it there (/invite @Pergunta)`);
    const noChannel = await runCli('adapters/slack/digest/command.ts', [], env({ SLACK_DIGEST_CHANNEL: '' }));
    expect(noChannel.code).toBe(2);
    expect(noChannel.stderr).toContain('SLACK_DIGEST_CHANNEL (or SLACK_ESCALATION_CHANNEL, or --channel) must be set');
  });

  it('--dry-run prints the message and posts nothing', async () => {
    slack.reset();
    const res = await runCli('adapters/slack/digest/command.ts', ['--dry-run', '--lexical'], env({ SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: '' }), process.cwd(), 90_000);
    expect(res.code, res.stderr).toBe(0);
    const message = JSON.parse(res.stdout) as { text: string; blocks: Block[] };
    expect(blockKitProblems(message.blocks)).toEqual([]);
    expect(slack.apiCalls.some((c) => c.method === 'chat.postMessage')).toBe(false);
  });

  it('runs on DIGEST_CRON in the course time zone; a failed run is logged and the schedule goes on', async () => {
    const scheduled = loadConfig({ ...env(), DIGEST_CRON: '0 8 * * 1', COURSE_TIMEZONE: 'America/Sao_Paulo' }, path.join(work, 'no.env'));
    const { logger, lines } = recordingLogger();
    let builds = 0;
    const schedule = scheduleDigest({
      config: scheduled,
      logger,
      build: async (now) => {
        builds++;
        if (builds === 1) throw new Error('store unavailable');
        return { ...digest, data: { ...digest.data }, fallback: `resumo de ${now.toISOString()}` };
      },
    })!;
    const next = schedule.nextRun()!;
    // Mondays at 08:00 in São Paulo (UTC−3 all year): 11:00 UTC.
    expect(next.getUTCDay()).toBe(1);
    expect(next.getUTCHours()).toBe(11);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    slack.reset();
    slack.onApi('chat.postMessage', (call) => ({ body: { ok: true, channel: call.body.channel, ts: '1.2' } }));
    await schedule.runNow();
    expect(lines.join('\n')).toContain('weekly digest not posted; the next one runs as scheduled');
    await schedule.runNow();
    expect(slack.apiCalls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
    expect(lines.join('\n')).toContain('weekly digest scheduled');
    await schedule.stop();
    expect(scheduleDigest({ config: loadConfig(env(), path.join(work, 'no.env')), logger, build: async () => digest })).toBeNull();
  });

  it('refuses a DIGEST_CRON that is not a cron pattern, or without Slack settings', () => {
    expect(() => loadConfig({ DIGEST_CRON: 'toda segunda', SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_DIGEST_CHANNEL: CHANNEL }, path.join(work, 'no.env'))).toThrow(/DIGEST_CRON: not a cron pattern/);
    expect(() => loadConfig({ DIGEST_CRON: '0 8 * * 1' }, path.join(work, 'no.env'))).toThrow(/SLACK_DIGEST_CHANNEL is required when DIGEST_CRON is set/);
    expect(() => loadConfig({ COURSE_TIMEZONE: 'America/Recife_X' }, path.join(work, 'no.env'))).toThrow(/COURSE_TIMEZONE: not a time zone/);
    expect(existsSync(path.join(work, 'no.env'))).toBe(false);
  });

  it('posts to the human loop\'s TA channel when no digest channel is set', () => {
    const escalation = 'C0ESCALA1';
    const config = loadConfig({ DIGEST_CRON: '0 8 * * 1', SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_ESCALATION_CHANNEL: escalation }, path.join(work, 'no.env'));
    expect(digestTarget(config).channel).toBe(escalation);
    expect(digestTarget({ ...config, SLACK_DIGEST_CHANNEL: CHANNEL }).channel).toBe(CHANNEL);
    expect(digestTarget(config, 'C0OUTRO12').channel).toBe('C0OUTRO12');
  });
});
