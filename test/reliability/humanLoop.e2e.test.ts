/**
 * The human loop end to end, as the "done when" says, with `npm start` (adapters/main.ts)
 * as real child processes against the fake Discord and the fake Slack:
 *
 *   a student's 👎 → "Chamar um monitor" → card in Slack → a TA claims and answers → the student
 *   gets it in Discord once, even when the bot is killed (SIGKILL) between the TA's answer and the
 *   Discord delivery and started again → the same question from another student is answered with
 *   the verified answer → the export shows the case and its timings.
 *
 * Once with one process (SQLite), once with a Slack process and a Discord process sharing Redis
 * (skipped without redis-server, a failure under REQUIRE_SERVICES=1). Only one Discord process is
 * connected at a time: the fake, like Discord, sends every interaction to each connected session.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customIds } from '../../adapters/discord/customIds.js';
import { CASE_ACTION_IDS, CASE_VIEW_IDS, INPUTS } from '../../adapters/slack/caseCard.js';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { LOOP_MESSAGES } from '../../src/humanloop/messages.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type FakeUser, type Json } from '../fakes/fakeDiscord.js';
import { blockActions, postToApp, startFakeSlack, viewSubmission, type FakeSlack, type PostedMessage } from '../fakes/fakeSlack.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { startScript, type RunningScript } from '../helpers/processes.js';
import { freePort, startRedisServer, type RedisServer } from '../helpers/redisServer.js';
import { describeWith } from '../helpers/services.js';

const SLOW = 240_000;
const SIGNING_SECRET = 'e2e-loop-signing-secret';
const CHANNEL = 'C0MONITORES';
const TA = 'U0MONITORA';
const QUESTION = 'O que é overfitting?';
const TA_ANSWER = 'Overfitting é quando o modelo decora o treino e erra em dados novos. Veja a aula 3: https://youtu.be/Q7mKx2Lp9aE?t=259';

let discord: FakeDiscord;
let slack: FakeSlack;
/** How long the fake Discord takes to answer a channel message create (to kill the bot meanwhile). */
let channelPostDelayMs = 0;
let work: string;
let indexDir: string;
const bots: RunningScript[] = [];

beforeAll(async () => {
  [discord, slack] = await Promise.all([
    startFakeDiscord({ token: 'e2e-loop-token', restLatencyMs: (c) => (c.method === 'POST' && /^\/channels\/\d+\/messages$/.test(c.path) ? channelPostDelayMs : 0) }),
    startFakeSlack(),
  ]);
  slack.addChannel({ id: CHANNEL, name: 'monitores', isPrivate: true });
  work = await tempDir('loop-e2e-');
  indexDir = path.join(work, 'index');
  await runIngest(loadConfig({}, path.join(work, 'no.env')), silentLogger(), SAMPLE_COURSE, indexDir, null);
}, SLOW);
afterAll(async () => {
  for (const bot of bots) await bot.stop('SIGKILL');
  await discord?.close();
  await slack?.close();
});

function botEnv(extra: Record<string, string>): Record<string, string> {
  return cliEnv({
    INDEX_DIR: indexDir,
    MODEL_CACHE_DIR: path.join(work, 'models'),
    USER_ID_SALT: 'e2e-loop-salt',
    SLACK_ESCALATION_CHANNEL: CHANNEL,
    SLACK_ANNOTATOR_IDS: TA,
    OUTBOX_POLL_SECONDS: '0.5',
    LOG_LEVEL: 'info',
    ...extra,
  });
}
const discordEnv = () => ({ DISCORD_TOKEN: discord.token, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl });
const slackEnv = (port: number) => ({ SLACK_BOT_TOKEN: 'xoxb-e2e-loop', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl, PORT: String(port) });

async function startBot(env: Record<string, string>): Promise<RunningScript> {
  const bot = startScript('adapters/main.ts', env, { direct: true });
  bots.push(bot);
  await bot.waitForOutput(/pergunta is running/, 120_000);
  return bot;
}

async function killed(bot: RunningScript): Promise<void> {
  await bot.stop('SIGKILL');
  bots.splice(bots.indexOf(bot), 1);
}

// ------------------------------------------------------------------------------------------- Discord side

const customIdsOf = (message: Json | undefined): string[] =>
  ((message?.components ?? []) as Json[]).flatMap((row) => (row.components ?? []) as Json[]).map((b) => String(b.custom_id ?? ''));

async function ask(student: FakeUser, question = QUESTION): Promise<{ ix: FakeInteraction; answerId: string }> {
  const ix = discord.slashCommand({ name: 'pergunta', options: { texto: question }, user: student });
  const up = await ix.waitFor(() => customIdsOf(ix.original).find((id) => id.startsWith('vote:up:')), 30_000);
  return { ix, answerId: up.split(':')[2]! };
}

/** 👎, then "Chamar um monitor" from the confirmation, then the details form. */
async function callTa(student: FakeUser, ix: FakeInteraction, answerId: string): Promise<void> {
  const down = discord.clickButton({ customId: `vote:down:${answerId}`, message: ix.original!, user: student });
  const escalateId = await down.waitFor(() => customIdsOf(down.edits.at(-1)?.body).find((id) => id.startsWith('escalate:')), 15_000);
  expect(escalateId).toBe(customIds.escalate(answerId, String(ix.original!.id)));
  const open = discord.clickButton({ customId: escalateId, message: String(ix.original!.id), user: student });
  await open.waitFor(() => open.modal, 15_000);
  const submit = discord.submitModal({ customId: escalateId, fields: { detalhes: 'Não entendi por que o erro de validação sobe.' }, user: student });
  const confirmation = await submit.waitFor(() => submit.edits.at(-1)?.body.content, 15_000);
  expect(confirmation).toBe(LOOP_MESSAGES.escalated(false));
}

const deliveriesTo = (student: FakeUser) => discord.channelMessages.filter((m) => m.body.content === `<@${student.id}>`);

// ------------------------------------------------------------------------------------------- Slack side

async function cardFor(question: string): Promise<PostedMessage> {
  return slack.waitForMessage((m) => m.channel === CHANNEL && m.threadTs === null && m.text.includes(question), 30_000);
}

async function tapButton(port: number, actionId: string, caseId: string, card: PostedMessage): Promise<void> {
  const res = await postToApp(
    `http://127.0.0.1:${port}/slack/events`,
    blockActions({ userId: TA, userName: 'ana', action: { type: 'button', action_id: actionId, value: caseId }, response_url: slack.responseUrl(), channelId: CHANNEL, messageTs: card.ts, triggerId: slack.newTriggerId() }),
    { signingSecret: SIGNING_SECRET },
  );
  expect(res.status).toBe(200);
}

/** Responder → the modal → the TA's answer submitted ("Enviar"). */
async function answerCase(port: number, caseId: string, card: PostedMessage): Promise<void> {
  const opened = slack.openedViews.length;
  await tapButton(port, CASE_ACTION_IDS.answer, caseId, card);
  await expect.poll(() => slack.openedViews.length, { timeout: 15_000 }).toBeGreaterThan(opened);
  const modal = slack.openedViews.at(-1)!.view as { callback_id: string; private_metadata: string };
  expect(modal.callback_id).toBe(CASE_VIEW_IDS.answer);
  const res = await postToApp(
    `http://127.0.0.1:${port}/slack/events`,
    viewSubmission({
      userId: TA,
      userName: 'ana',
      callbackId: CASE_VIEW_IDS.answer,
      privateMetadata: modal.private_metadata,
      values: {
        [INPUTS.answer.block]: { [INPUTS.answer.action]: { type: 'plain_text_input', value: TA_ANSWER } },
        [INPUTS.label.block]: { [INPUTS.label.action]: { type: 'radio_buttons', selected_option: { value: 'P' } } },
        [INPUTS.pin.block]: { [INPUTS.pin.action]: { type: 'checkboxes', selected_options: [] } },
      },
    }),
    { signingSecret: SIGNING_SECRET },
  );
  expect(res.status).toBe(200);
}

const caseIdOf = (card: PostedMessage): string => String(card.blocks.find((b) => b.type === 'actions')!.elements![0]!.value);
const currentCard = (card: PostedMessage): string => JSON.stringify(slack.channelMessages.find((m) => m.ts === card.ts)!.blocks);

// ------------------------------------------------------------------------------------------- export

interface ExportedLine {
  id: string;
  kind: string;
  verified: { id: string } | null;
  case: { status: string; firstActionMs: number | null; resolvedMs: number | null; verifiedHits: number; resolution: { text: string; by: string } | null; deliveries: Array<{ status: string; via: string }> } | null;
}

async function exportJsonl(storeUrl: string): Promise<ExportedLine[]> {
  const res = await runCli('src/cli/export.ts', ['--format', 'jsonl'], cliEnv({ STORE_URL: storeUrl, USER_ID_SALT: 'e2e-loop-salt', STORE_JOURNAL_DIR: path.join(work, 'journal-export') }));
  expect(res.code, res.stderr).toBe(0);
  return res.stdout.trim().split('\n').map((l) => JSON.parse(l) as ExportedLine);
}

/** The whole loop; `restart` kills the process(es) delivering to Discord between the answer and the delivery. */
async function theLoop(opts: {
  storeUrl: string;
  /** Processes: `both` one process with both adapters; `split` a Slack one and a Discord one. */
  layout: 'both' | 'split';
}): Promise<void> {
  discord.reset();
  slack.reset();
  const slackPort = await freePort();
  const env = (extra: Record<string, string>) => botEnv({ STORE_URL: opts.storeUrl, STORE_JOURNAL_DIR: path.join(work, `journal-${slackPort}`), ...extra });
  const discordBotEnv = opts.layout === 'both' ? env({ ...discordEnv(), ...slackEnv(slackPort) }) : env(discordEnv());
  let discordBot = await startBot(discordBotEnv);
  const slackBot = opts.layout === 'both' ? discordBot : await startBot(env(slackEnv(slackPort)));
  expect(discordBot.output()).toMatch(/human loop on: /);

  // A student asks, is not helped, and calls a TA.
  const student = makeUser('estudante');
  const { ix, answerId } = await ask(student);
  await callTa(student, ix, answerId);

  // The card reaches the TAs' channel; a TA claims it.
  const card = await cardFor(QUESTION);
  const caseId = caseIdOf(card);
  expect(JSON.stringify(card.blocks)).toContain('Não entendi por que o erro de validação sobe.');
  expect(JSON.stringify(card.blocks)).not.toContain(student.id);
  await tapButton(slackPort, CASE_ACTION_IDS.claim, caseId, card);
  await expect.poll(() => currentCard(card), { timeout: 15_000 }).toContain('Assumido por ana');

  // The TA answers; the Discord side is killed before the delivery is recorded.
  if (opts.layout === 'both') {
    // One process: Discord takes a few seconds to answer the delivery's create, and the process is
    // killed while it waits. Discord still carries the create out (the fake creates the message once
    // the delay is over), but the process never learns it, so the delivery is not recorded; the
    // restarted process sends it again, and the nonce is what keeps a second copy from appearing.
    channelPostDelayMs = 4_000;
    const sent = discord.requests.length;
    try {
      await answerCase(slackPort, caseId, card);
      await discord.waitFor(() => discord.requests.slice(sent).some((c) => c.method === 'POST' && /^\/channels\/\d+\/messages$/.test(c.path)), 30_000);
      await killed(discordBot);
    } finally {
      channelPostDelayMs = 0;
    }
  } else {
    await killed(discordBot);
    await answerCase(slackPort, caseId, card);
    await expect.poll(() => currentCard(card), { timeout: 15_000 }).toContain('Respondido por ana');
  }
  discordBot = await startBot(discordBotEnv);
  await expect.poll(() => deliveriesTo(student).length, { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(() => currentCard(card), { timeout: 30_000 }).toContain('entregue no canal');
  // Waited past a few polling intervals: still once.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const delivered = deliveriesTo(student);
  expect(delivered).toHaveLength(1);
  expect(delivered[0]!.mentions).toEqual([student.id]);
  expect((delivered[0]!.body.embeds as Json[])[0]).toMatchObject({ author: { name: '✅ Resposta do monitor' }, description: TA_ANSWER });
  expect(currentCard(card)).toContain('Respondido por ana');
  if (opts.layout === 'both') {
    // The create was sent twice (before the kill, and by the restarted process) with one nonce.
    const creates = discord.requests.filter((c) => c.method === 'POST' && (c.body as Json | undefined)?.content === `<@${student.id}>`);
    expect(creates.length).toBeGreaterThanOrEqual(2);
    expect(new Set(creates.map((c) => (c.body as Json).nonce)).size).toBe(1);
  }

  // Another student asks the same question: answered with the verified answer.
  const other = makeUser('colega');
  const again = discord.slashCommand({ name: 'pergunta', options: { texto: 'o que é overfitting' }, user: other });
  const verified = await again.waitFor(() => {
    const embed = ((again.original?.embeds ?? []) as Json[])[0];
    return customIdsOf(again.original).some((id) => id.startsWith('vote:')) ? embed : undefined;
  }, 30_000);
  expect(verified.author).toEqual({ name: '✅ Resposta verificada por monitor' });
  expect(String(verified.description)).toContain('Overfitting é quando o modelo decora o treino');

  // Stop cleanly; the export shows the case and its timings, and the verified answer's use.
  await discordBot.stop('SIGTERM');
  bots.splice(bots.indexOf(discordBot), 1);
  if (slackBot !== discordBot) {
    await slackBot.stop('SIGTERM');
    bots.splice(bots.indexOf(slackBot), 1);
  }
  const lines = await exportJsonl(opts.storeUrl);
  const escalated = lines.find((l) => l.id === answerId)!;
  expect(escalated.case).toMatchObject({ status: 'answered', verifiedHits: 1, resolution: { text: TA_ANSWER }, deliveries: [{ status: 'delivered', via: 'channel' }] });
  expect(escalated.case!.firstActionMs).toBeGreaterThan(0);
  expect(escalated.case!.resolvedMs).toBeGreaterThanOrEqual(escalated.case!.firstActionMs!);
  expect(escalated.case!.resolution!.by).toMatch(/^slack:[0-9a-f]{16}$/);
  const reused = lines.find((l) => l.kind === 'verified')!;
  expect(reused.verified).not.toBeNull();
  const text = JSON.stringify(lines);
  for (const raw of [student.id, other.id, TA]) expect(text).not.toContain(raw);
}

describe('the human loop, end to end', () => {
  it('one process (SQLite): escalation → card → claim → answer → killed before the delivery is recorded → restarted → delivered once → verified answer → export', { timeout: SLOW }, async () => {
    await theLoop({ storeUrl: `sqlite://${path.join(work, 'one-process.sqlite')}`, layout: 'both' });
  });
});

describeWith('redis')('the human loop across processes (Redis)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('a Slack process and a Discord process: the case crosses through the store, the Discord process is down when the TA answers and delivers once on return', { timeout: SLOW }, async () => {
    await theLoop({ storeUrl: redis.url, layout: 'split' });
  });
});
