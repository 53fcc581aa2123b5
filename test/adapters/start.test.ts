/**
 * `npm start` as a real child process: both adapters against the fakes, a question answered on
 * Discord and on Slack (Socket Mode), a vote, the live report for TAs behind its token, then
 * SIGTERM — the process stops cleanly and the vote is in the SQLite store afterwards. Without an
 * index it refuses to start. A token the platform refuses, or a PORT already taken, ends in one
 * clear line and exit 1, without a stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type Json } from '../fakes/fakeDiscord.js';
import { slashCommand, startFakeSlack, type FakeSlack } from '../fakes/fakeSlack.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { silentLogger, tempDir, SAMPLE_COURSE } from '../helpers/course.js';

const TSX = path.resolve('node_modules/.bin/tsx');
const DASHBOARD_TOKEN = 'painel-start-test-token-0123456789';

let discord: FakeDiscord;
let slack: FakeSlack;
beforeAll(async () => {
  [discord, slack] = await Promise.all([startFakeDiscord({ token: 'start-test-token' }), startFakeSlack()]);
});
afterAll(async () => {
  await discord?.close();
  await slack?.close();
});

function waitForOutput(child: ChildProcess, pattern: RegExp, output: { text: string }, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}\n${output.text}`)), timeoutMs);
    const check = () => {
      if (pattern.test(output.text)) {
        clearTimeout(timer);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    check();
  });
}

describe('npm start', () => {
  it('with no adapter configured, exits pointing to .env.example and npm run ask', async () => {
    const res = await runCli('adapters/main.ts', [], cliEnv());
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('.env.example');
    expect(res.stderr).toContain('npm run ask');
  });

  it('refuses to start without an index (a mistyped INDEX_DIR): says how to ingest, builds nothing, never logs in', { timeout: 60_000 }, async () => {
    const work = await tempDir('start-');
    const mistyped = path.join(work, 'indx');
    const requestsBefore = discord.requests.length;
    const identifiesBefore = discord.identifies.length;
    const res = await runCli(
      'adapters/main.ts',
      [],
      cliEnv({
        INDEX_DIR: mistyped,
        MODEL_CACHE_DIR: path.join(work, 'models'),
        STORE_URL: `sqlite://${path.join(work, 'store.sqlite')}`,
        DISCORD_TOKEN: discord.token,
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiUrl,
      }),
      process.cwd(),
      45_000,
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no index in ${mistyped}: run \`npm run ingest -- --source <course folder> --index ${mistyped}\``);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    expect(res.stderr).not.toContain('building it from');
    await expect(readdir(mistyped)).rejects.toThrow(/ENOENT/);
    expect(discord.requests.length).toBe(requestsBefore);
    expect(discord.identifies.length).toBe(identifiesBefore);
  });

  it('runs Discord and Slack in one process, logs what it loaded, and stops on SIGTERM with the votes stored', { timeout: 90_000 }, async () => {
    const work = await tempDir('start-');
    const storeFile = path.join(work, 'store.sqlite');
    const indexDir = path.join(work, 'index');
    const ingest = await runCli('src/cli/ingest.ts', ['--source', SAMPLE_COURSE, '--index', indexDir], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') }));
    expect(ingest.code, ingest.stderr).toBe(0);
    const env = cliEnv({
      INDEX_DIR: indexDir,
      COURSE_DIR: SAMPLE_COURSE,
      MODEL_CACHE_DIR: path.join(work, 'models'),
      STORE_URL: `sqlite://${storeFile}`,
      USER_ID_SALT: 'start-test-salt',
      DISCORD_TOKEN: discord.token,
      DISCORD_APPLICATION_ID: discord.applicationId,
      DISCORD_API_URL: discord.apiUrl,
      SLACK_BOT_TOKEN: 'xoxb-start-test',
      SLACK_APP_TOKEN: 'xapp-start-test',
      SLACK_API_URL: slack.apiUrl,
      DASHBOARD_TOKEN: DASHBOARD_TOKEN,
      DASHBOARD_PORT: String(await freePort()),
      DIGEST_CRON: '0 8 * * 1',
      SLACK_DIGEST_CHANNEL: 'C0MONITORES',
    });
    const child = spawn(TSX, [path.resolve('adapters/main.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = { text: '' };
    child.stderr.on('data', (d: Buffer) => (output.text += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const student = makeUser('aluna');
    try {
      await waitForOutput(child, /pergunta is running/, output);
      const running = output.text.split('\n').find((l) => l.includes('pergunta is running'))!;
      const info = JSON.parse(running) as Record<string, unknown>;
      expect(info).toMatchObject({ videos: 7, retriever: 'bm25', llm: 'none (extractive answers)' });
      expect(String(info.store)).toContain('sqlite');
      expect((info.adapters as string[]).join(' ')).toMatch(/discord/);
      expect((info.adapters as string[]).join(' ')).toMatch(/slack/);

      // Discord: a question, then a 👍.
      const ix = discord.slashCommand({ name: 'pergunta', options: { texto: 'O que é dropout?' }, user: student });
      const final = await discord.waitFor(() => {
        const body = ix.original;
        const ids = ((body?.components ?? []) as Json[]).flatMap((r) => (r.components ?? []) as Json[]).map((b) => String(b.custom_id ?? ''));
        return ids.find((id) => id.startsWith('vote:up:'));
      }, 20_000);
      const click = discord.clickButton({ customId: final, message: ix.original, user: student });
      await click.waitFor(() => click.original?.content);

      // Slack (Socket Mode): a question answered, posted in the channel as a message.
      await slack.waitForSocket(20_000);
      const responseUrl = slack.responseUrl('start');
      const ack = await slack.sendEnvelope('slash_commands', slashCommand({ text: 'o que é overfitting', response_url: responseUrl }));
      expect(ack.envelope_id).toBeTruthy();
      const answer = await slack.waitForReply('start', 'C0DUVIDAS', 20_000);
      expect(answer.response_type).toBe('in_channel');

      // The live page for TAs, on since DASHBOARD_TOKEN is set, and the digest's schedule.
      expect(info.livePage).toBe(`http://127.0.0.1:${env.DASHBOARD_PORT}/painel`);
      expect(info.weeklyDigest).toBe('0 8 * * 1 (America/Sao_Paulo)');
      expect(output.text).toMatch(/"msg":"weekly digest scheduled"/);
      const refused = await fetch(String(info.livePage));
      expect(refused.status).toBe(401);
      const page = await fetch(String(info.livePage), { headers: { authorization: `Bearer ${DASHBOARD_TOKEN}` } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<dt>Perguntas no período<\/dt><dd>2 \(Discord 1 · Slack 1\)/);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output.text).toContain('SIGTERM received');
      expect(output.text).toMatch(/"msg":"stopped"/);
      expect(output.text).not.toContain('start-test-token');
      expect(output.text).not.toContain('xoxb-start-test');
      expect(output.text).not.toContain('xapp-start-test');
      expect(output.text).not.toContain(DASHBOARD_TOKEN);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }

    const store = await createFeedbackStore({ url: `sqlite://${storeFile}`, salt: 'start-test-salt', logger: silentLogger() });
    try {
      const records = await store.listRecords();
      expect(records.map((r) => r.platform).sort()).toEqual(['discord', 'slack']);
      const discordRecord = records.find((r) => r.platform === 'discord')!;
      expect(discordRecord.votes.up).toBe(1);
      expect(discordRecord.user).toBe(store.pseudonymize('discord', student.id));
    } finally {
      await store.close();
    }
  });
});

/** A port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('npm start: a mistake in the settings ends in one clear line, no stack, exit 1', () => {
  let work: string;
  let base: Record<string, string>;
  beforeAll(async () => {
    work = await tempDir('start-mistakes-');
    const indexDir = path.join(work, 'index');
    const ingest = await runCli('src/cli/ingest.ts', ['--source', SAMPLE_COURSE, '--index', indexDir], cliEnv({ MODEL_CACHE_DIR: path.join(work, 'models') }));
    expect(ingest.code, ingest.stderr).toBe(0);
    base = { INDEX_DIR: indexDir, MODEL_CACHE_DIR: path.join(work, 'models'), STORE_URL: `sqlite://${path.join(work, 'store.sqlite')}` };
  }, 60_000);

  /** `npm start`'s entry with `env`; checks the common shape of a mistake and returns the line that explains it. */
  async function startFails(env: Record<string, string>, explains: RegExp): Promise<string> {
    const res = await runCli('adapters/main.ts', [], cliEnv({ ...base, ...env }), process.cwd(), 45_000);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).not.toMatch(/^\s+at /m);
    expect(res.stdout).toBe('');
    const lines = res.stderr.split('\n').filter((l) => explains.test(l));
    expect(lines, res.stderr).toHaveLength(1);
    const line = lines[0]!;
    expect(JSON.parse(line)).toMatchObject({ level: 50 });
    return line;
  }

  it('a Discord token that Discord refuses (401 on /gateway/bot)', { timeout: 60_000 }, async () => {
    const line = await startFails(
      { DISCORD_TOKEN: 'not-the-token', DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl },
      /DISCORD_TOKEN/,
    );
    expect(line).toContain('Discord refused DISCORD_TOKEN');
    expect(line).not.toContain('not-the-token');
  });

  it('a Discord token that the gateway refuses at IDENTIFY (close code 4004)', { timeout: 60_000 }, async () => {
    const gateway = await startFakeDiscord({ token: 'rest-only-token', identifyToken: 'another-token' });
    try {
      const line = await startFails(
        { DISCORD_TOKEN: 'rest-only-token', DISCORD_APPLICATION_ID: gateway.applicationId, DISCORD_API_URL: gateway.apiUrl },
        /DISCORD_TOKEN/,
      );
      expect(line).toContain('Discord refused DISCORD_TOKEN');
      expect(gateway.identifies.length).toBeGreaterThan(0);
    } finally {
      await gateway.close();
    }
  });

  it('a Slack bot token that Slack refuses (auth.test: invalid_auth)', { timeout: 60_000 }, async () => {
    const refusing = await startFakeSlack();
    refusing.onApi('auth.test', () => ({ body: { ok: false, error: 'invalid_auth' } }));
    try {
      const line = await startFails(
        { SLACK_BOT_TOKEN: 'xoxb-refused', SLACK_SIGNING_SECRET: 'segredo', SLACK_API_URL: refusing.apiUrl, PORT: String(await freePort()) },
        /SLACK_BOT_TOKEN/,
      );
      expect(line).toContain('Slack refused SLACK_BOT_TOKEN');
      expect(line).toContain('invalid_auth');
    } finally {
      await refusing.close();
    }
  });

  it('PORT already in use (Slack HTTP mode: EADDRINUSE)', { timeout: 60_000 }, async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const line = await startFails({ SLACK_BOT_TOKEN: 'xoxb-port', SLACK_SIGNING_SECRET: 'segredo', SLACK_API_URL: slack.apiUrl, PORT: String(port) }, /PORT/);
      expect(line).toContain(`PORT ${port} is already in use`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
