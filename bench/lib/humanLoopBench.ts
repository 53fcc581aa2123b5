/**
 * What users feel of the human loop (docs/human-loop.md), for the "What users feel" table:
 *
 * - From the TA's "Enviar" to the student's Discord reply: `npm start` processes (fresh
 *   `node --import tsx adapters/main.ts`) against the fake Slack (HTTP mode) and the fake Discord.
 *   Cases are written to the store before the bot starts (through the core, as a student's
 *   "Chamar um monitor" writes them); once their cards are posted, each case's answer modal is
 *   submitted to the bot as Slack does (a signed view_submission), one after the other, and the
 *   time runs from sending that request to the fake Discord receiving the reply (channel message)
 *   that carries the answer. In one process (SQLite store) the write wakes the Discord worker at
 *   once; across processes (a Slack process and a Discord process sharing Redis) the Discord side
 *   finds the work when it polls (OUTBOX_POLL_SECONDS), so the goal is that interval + 2 s.
 * - Matching a question against 10,000 verified answers: the in-memory matcher
 *   (src/humanloop/verifiedMatcher.ts) with 10,000 generated questions in the course's words and
 *   384-dimensional unit vectors (E5-small's size; random vectors, HNSW's hardest case), timing
 *   one `match()` per question, lexical and dense together, as an answer does.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { CASE_VIEW_IDS, INPUTS } from '../../adapters/slack/caseCard.js';
import { Knowledge } from '../../src/humanloop/knowledge.js';
import { HumanLoop } from '../../src/humanloop/service.js';
import { VerifiedMatcher } from '../../src/humanloop/verifiedMatcher.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { startFakeSlack, postToApp, viewSubmission, type FakeSlack } from '../../test/fakes/fakeSlack.js';
import type { FakeDiscord } from '../../test/fakes/fakeDiscord.js';
import { freePort, startRedisServer } from '../../test/helpers/redisServer.js';
import { newAnswer } from '../../test/helpers/records.js';
import type { Vocabulary } from './corpus.js';
import { gaussian, mulberry32 } from './prng.js';
import { summarize, type LatencyStats } from './stats.js';
import type { Maybe } from './types.js';

export interface TaToStudent {
  cases: number;
  /** Sending the TA's submission → the Discord reply arriving at the fake, ms. */
  latency: LatencyStats;
  pollSeconds: number;
}

export interface MatchingResult {
  verified: number;
  dimensions: number;
  queries: number;
  /** One `match()` (lexical + dense), ms. */
  match: LatencyStats;
  /** Loading the 10,000 into the matcher, ms (no goal: once at start-up, in the background). */
  buildMs: number;
}

export interface HumanLoopBenchResult {
  oneProcess: Maybe<TaToStudent>;
  twoProcesses: Maybe<TaToStudent>;
  matching: Maybe<MatchingResult>;
}

export const LOOP_GOALS = { oneProcessP95Ms: 2000, acrossProcessesExtraMs: 2000, matchP95Ms: 5 } as const;

const CHANNEL = 'C0MONITORES';
const SIGNING_SECRET = 'bench-loop-signing-secret';
const MAIN = fileURLToPath(new URL('../../adapters/main.ts', import.meta.url));
const silent = createLogger({ level: 'silent' });

interface Bot {
  output(): string;
  stop(): Promise<void>;
}

async function startBot(env: Record<string, string>, cwd: string): Promise<Bot> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    process.removeListener('exit', killOnExit);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start was not ready within 120 s:\n${out.slice(-2000)}`)), 120_000);
      const onData = (d: Buffer) => {
        out += d.toString('utf8');
        if (/pergunta is running/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited (code ${String(code)}):\n${out.slice(-2000)}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { output: () => out, stop };
}

/** Cases waiting for a TA, written to the store as the students' requests would write them. */
async function seedCases(storeUrl: string, salt: string, discord: FakeDiscord, n: number): Promise<Array<{ caseId: string; student: string }>> {
  const store = await createFeedbackStore({ url: storeUrl, salt, logger: silent, journalDir: null });
  const knowledge = new Knowledge({ store, embedder: null, logger: silent, thresholds: { dense: 0.93, lexical: 0.85 } });
  const loop = new HumanLoop({ store, logger: silent, videos: new Map(), knowledge, settings: { showNames: false, reminderHours: 24, pollMs: 60_000 } });
  const out: Array<{ caseId: string; student: string }> = [];
  try {
    for (let i = 0; i < n; i++) {
      const student = String(400000000000000000n + BigInt(i) + BigInt(Date.now() % 1_000_000) * 1000n);
      const answer = newAnswer({ question: `Pergunta de número ${i} sobre a aula ${i % 7}?` });
      await store.recordAnswer(answer, { platform: 'discord', channel: discord.channelId, rawUserId: student });
      const outcome = await loop.escalate({
        platform: 'discord',
        userId: student,
        answerId: answer.id,
        address: { platform: 'discord', userId: student, channelId: discord.channelId, messageId: null, guildId: discord.guildId, ephemeral: false },
      });
      if (outcome.status !== 'created') throw new Error(`seeding a case: ${outcome.status}`);
      out.push({ caseId: outcome.caseId, student });
    }
  } finally {
    await loop.stop();
    await store.close();
  }
  return out;
}

async function measure(
  slack: FakeSlack,
  discord: FakeDiscord,
  slackPort: number,
  cases: Array<{ caseId: string; student: string }>,
  pollSeconds: number,
  output: () => string,
): Promise<TaToStudent> {
  // Every card posted first: the TA answers from the card.
  const deadline = Date.now() + 60_000;
  while (slack.channelMessages.filter((m) => m.channel === CHANNEL && m.threadTs === null).length < cases.length) {
    if (Date.now() > deadline) throw new Error(`cards not posted: ${slack.channelMessages.length} of ${cases.length}\n${output().slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const samples: number[] = [];
  for (const { caseId, student } of cases) {
    const sentAt = Date.now();
    const res = await postToApp(
      `http://127.0.0.1:${slackPort}/slack/events`,
      viewSubmission({
        userId: 'U0MONITORA',
        userName: 'ana',
        callbackId: CASE_VIEW_IDS.answer,
        privateMetadata: JSON.stringify({ id: caseId, channel: CHANNEL }),
        values: { [INPUTS.answer.block]: { [INPUTS.answer.action]: { type: 'plain_text_input', value: `Resposta do monitor para o caso ${caseId.slice(0, 8)}.` } } },
      }),
      { signingSecret: SIGNING_SECRET },
    );
    if (res.status !== 200) throw new Error(`the TA's submission got HTTP ${res.status}`);
    const message = await discord.waitForChannelMessage((m) => m.body.content === `<@${student}>`, pollSeconds * 1000 + 30_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${output().slice(-1500)}`);
    });
    samples.push(message.at - sentAt);
  }
  return { cases: samples.length, latency: summarize(samples), pollSeconds };
}

export interface LoopBenchOptions {
  discord: FakeDiscord;
  dir: string;
  indexDir: string;
  /** Settings every bot process gets (model, course, log format…). */
  baseEnv: Record<string, string>;
  vocabulary: Vocabulary;
  seed: number;
  log: (msg: string) => void;
  cases?: number;
  crossProcessCases?: number;
  pollSeconds?: number;
  verified?: number;
}

export async function benchHumanLoop(o: LoopBenchOptions): Promise<HumanLoopBenchResult> {
  const failed = (what: string) => (err: unknown) => {
    o.log(`${what} failed: ${(err as Error).message}`);
    return { skipped: `failed: ${(err as Error).message.split('\n')[0]}` };
  };
  const slack = await startFakeSlack();
  slack.addChannel({ id: CHANNEL, name: 'monitores', isPrivate: true });
  const pollSeconds = o.pollSeconds ?? 2;
  const env = (extra: Record<string, string>): Record<string, string> => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...o.baseEnv,
    INDEX_DIR: o.indexDir,
    SLACK_ESCALATION_CHANNEL: CHANNEL,
    OUTBOX_POLL_SECONDS: String(pollSeconds),
    ...extra,
  });
  const discordEnv = { DISCORD_TOKEN: o.discord.token, DISCORD_APPLICATION_ID: o.discord.applicationId, DISCORD_API_URL: o.discord.apiUrl };
  const slackEnv = (port: number) => ({ SLACK_BOT_TOKEN: 'xoxb-bench-loop', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl, PORT: String(port) });
  try {
    o.log('what users feel: the TA\'s answer to the student, one process');
    const oneProcess = await (async (): Promise<TaToStudent> => {
      const storeUrl = `sqlite://${path.join(o.dir, `loop-${randomUUID()}.sqlite`)}`;
      const cases = await seedCases(storeUrl, o.baseEnv.USER_ID_SALT ?? 'bench-salt', o.discord, o.cases ?? 20);
      const port = await freePort();
      const bot = await startBot(env({ STORE_URL: storeUrl, ...discordEnv, ...slackEnv(port) }), o.dir);
      try {
        return await measure(slack, o.discord, port, cases, pollSeconds, bot.output);
      } finally {
        await bot.stop();
        slack.reset();
      }
    })().catch(failed('one process'));

    o.log('what users feel: the TA\'s answer to the student, a Slack process and a Discord process sharing Redis');
    const twoProcesses = await (async (): Promise<TaToStudent> => {
      const redis = await startRedisServer().catch((err: unknown) => {
        throw new Error(`redis-server unavailable (${(err as Error).message.split('\n')[0]})`);
      });
      try {
        const cases = await seedCases(redis.url, o.baseEnv.USER_ID_SALT ?? 'bench-salt', o.discord, o.crossProcessCases ?? 10);
        const port = await freePort();
        const journal = path.join(o.dir, `journal-${randomUUID()}`);
        const slackBot = await startBot(env({ STORE_URL: redis.url, STORE_JOURNAL_DIR: journal, ...slackEnv(port) }), o.dir);
        const discordBot = await startBot(env({ STORE_URL: redis.url, STORE_JOURNAL_DIR: journal, ...discordEnv }), o.dir).catch(async (err: unknown) => {
          await slackBot.stop();
          throw err;
        });
        try {
          return await measure(slack, o.discord, port, cases, pollSeconds, () => `${slackBot.output()}\n${discordBot.output()}`);
        } finally {
          await Promise.all([slackBot.stop(), discordBot.stop()]);
          slack.reset();
        }
      } finally {
        await redis.stop();
      }
    })().catch(failed('two processes'));

    o.log(`what users feel: matching a question against ${(o.verified ?? 10_000).toLocaleString('en')} verified answers`);
    const matching = await benchMatching(o.verified ?? 10_000, o.vocabulary, o.seed);
    return { oneProcess, twoProcesses, matching };
  } finally {
    await slack.close();
  }
}

/** `n` verified questions in the course's words with random unit vectors; one `match()` timed per query. */
export async function benchMatching(n: number, vocabulary: Vocabulary, seed: number, dimensions = 384, queries = 300): Promise<MatchingResult> {
  const random = mulberry32(seed);
  const normal = gaussian(random);
  const unit = () => {
    const v = new Float32Array(dimensions);
    let norm = 0;
    for (let i = 0; i < dimensions; i++) {
      v[i] = normal();
      norm += v[i]! * v[i]!;
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dimensions; i++) v[i]! /= norm;
    return v;
  };
  const words = vocabulary.contentWords;
  const question = () => `Como ${Array.from({ length: 3 + Math.floor(random() * 5) }, () => words[Math.floor(random() * words.length)]).join(' ')}?`;
  const items = Array.from({ length: n }, (_, i) => ({ id: `v${i}`, question: question(), vector: unit() }));
  const t0 = performance.now();
  const matcher = new VerifiedMatcher({ dense: 0.93, lexical: 0.85 });
  for (let i = 0; i < items.length; i++) {
    matcher.upsert(items[i]!);
    // As the bot loads them: the event loop gets a turn between batches.
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  const buildMs = performance.now() - t0;
  const samples: number[] = [];
  for (let q = 0; q < queries; q++) {
    // Half the questions repeat a verified one (a near vector), half are new.
    const repeat = q % 2 === 0 ? items[Math.floor(random() * items.length)]! : null;
    const text = repeat ? repeat.question : question();
    const vector = repeat ? Float32Array.from(repeat.vector!, (x) => x + (random() - 0.5) * 0.002) : unit();
    const start = performance.now();
    matcher.match(text, vector);
    samples.push(performance.now() - start);
  }
  return { verified: n, dimensions, queries, match: summarize(samples), buildMs };
}
