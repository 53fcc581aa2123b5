/**
 * The Slack adapter end to end: the real Bolt App (HTTP receiver and Socket Mode), the real
 * answer core on the sample course (lexical-only), the real memory store, a fake
 * OpenAI-compatible LLM, and test/fakes/fakeSlack.ts for everything Slack (Web API,
 * response_url, Socket Mode WebSocket, request signing). All on 127.0.0.1.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSlack, type SlackAdapter } from '../../adapters/slack/index.js';
import {
  ACTION_IDS,
  SLACK_LIMITS,
  annotationValue,
  mrkdwnChunks,
  parseAnnotationValue,
  referenceLink,
  renderAnswer,
} from '../../adapters/slack/cards.js';
import { scrubSlack } from '../../adapters/slack/logging.js';
import { escapeMrkdwn, markdownToMrkdwn, slackTextToPlain, unescapeMrkdwn } from '../../adapters/slack/markdown.js';
import { formatClock } from '../../src/course/links.js';
import { LLM_USER_MESSAGES } from '../../src/answer/llm.js';
import { BotService } from '../../src/bot/botService.js';
import { CLOSEST_MOMENTS_HEADING, MESSAGES } from '../../src/bot/messages.js';
import { NOT_COVERED_CLOSEST_MESSAGE } from '../../src/answer/prompt.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { StoreUnavailableError, type FeedbackStore } from '../../src/store/types.js';
import type { AnswerResult } from '../../src/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { writeCourse } from '../helpers/course.js';
import {
  blockActions,
  postToApp,
  slashCommand,
  startFakeSlack,
  type BlockActionsPayload,
  type FakeSlack,
  type ResponseBody,
  type ResponsePost,
  type SlackBlock,
  type SlashCommandPayload,
} from '../fakes/fakeSlack.js';
import { answerResult } from '../helpers/records.js';

const SIGNING_SECRET = 'slack-signing-secret-4f1c9e2b7a';
const BOT_TOKEN = 'xoxb-1111-2222-bot-token-secret';
const APP_TOKEN = 'xapp-1-A0FAKE-3333-app-token-secret';
const OPENAI_KEY = 'sk-test-slack-9d8c7b6a';
const RATE_LIMIT = 4;
const LLM_ANSWER =
  'Aprendizado de máquina é quando o computador **aprende padrões a partir de exemplos**, sem regras escritas à mão [1]. ' +
  'O professor cita o programa de damas que melhorava jogando contra si mesmo [2].';

let slack: FakeSlack;
let llm: FakeOpenAI;
let indexDir: string;
let core: Core;
const logLines: string[] = [];

/** A store whose writes can be made to fail (a store that is down). */
function flakyStore(store: FeedbackStore): { store: FeedbackStore; setDown(down: boolean): void } {
  let down = false;
  const writes = new Set<PropertyKey>(['recordAnswer', 'vote', 'commentVote', 'annotate']);
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (down && writes.has(prop)) return Promise.reject(new StoreUnavailableError('test: store is down'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, setDown: (d) => (down = d) };
}

function testConfig(extra: Record<string, string>): Config {
  return loadConfig(
    {
      COURSE_DIR: path.resolve('examples/curso-exemplo'),
      INDEX_DIR: indexDir,
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '5000',
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'trace',
      ...extra,
    },
    path.join(indexDir, 'no-such.env'),
  );
}

interface RunningApp {
  adapter: SlackAdapter;
  store: FeedbackStore;
  setStoreDown(down: boolean): void;
  config: Config;
}

async function startApp(extra: Record<string, string>, listen?: { port: number; host: string }, answersCore: Core = core): Promise<RunningApp> {
  const config = testConfig(extra);
  // No `secrets` on purpose: the adapter itself must not write them, even at trace level.
  const logger = createLogger({ level: 'trace', format: 'json', write: (line) => logLines.push(line) });
  const flaky = flakyStore(await createFeedbackStore({ url: 'memory://', salt: 'sal-de-teste', logger }));
  const bot = new BotService(answersCore.answers, flaky.store, new RateLimiter(RATE_LIMIT), logger);
  const adapter = await startSlack({ config, logger, bot, store: flaky.store }, listen ? { listen } : {});
  return { adapter, store: flaky.store, setStoreDown: flaky.setDown, config };
}

// ---------------------------------------------------------------------------------------------
// Reading what the app sent

function sectionTexts(body: ResponseBody): string[] {
  return (body.blocks ?? []).filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');
}

function referenceText(body: ResponseBody): string {
  return sectionTexts(body).find((t) => t.startsWith('*Trechos das aulas:*')) ?? '';
}

function answerSections(body: ResponseBody): string[] {
  return sectionTexts(body).filter((t) => !t.startsWith('*Trechos das aulas:*'));
}

function actionsBlock(body: ResponseBody): SlackBlock | undefined {
  return (body.blocks ?? []).find((b) => b.type === 'actions');
}

function answerIdOf(body: ResponseBody): string {
  const button = actionsBlock(body)?.elements?.find((e) => e.action_id === ACTION_IDS.voteUp);
  const id = button?.value;
  if (typeof id !== 'string') throw new Error('no 👍 button in the answer');
  return id;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function linksIn(mrkdwn: string): Array<{ url: string; label: string }> {
  return [...mrkdwn.matchAll(/<([^|<>]+)\|([^<>]+)>/g)].map((m) => ({ url: unescapeMrkdwn(m[1] as string), label: m[2] as string }));
}

/** The second a video link opens at (YouTube `t`/`start`, Vimeo `#t=1m5s`, other `#t=65`). */
function secondOf(link: string): number {
  const url = new URL(link);
  const t = url.searchParams.get('t') ?? url.searchParams.get('start');
  if (t !== null) return Number(t);
  const vimeo = /^#t=(\d+)m(\d+)s$/.exec(url.hash);
  if (vimeo) return Number(vimeo[1]) * 60 + Number(vimeo[2]);
  const plain = /^#t=(\d+)$/.exec(url.hash);
  if (plain) return Number(plain[1]);
  throw new Error(`no time in ${link}`);
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  indexDir = await mkdtemp(path.join(tmpdir(), 'pergunta-slack-'));
  [slack, llm] = await Promise.all([startFakeSlack(), startFakeOpenAI({ defaultBehavior: { type: 'text', text: LLM_ANSWER } })]);
  // The channel the slash commands come from: the bot is in it, so public answers are posted there.
  slack.addChannel({ id: 'C0DUVIDAS', name: 'duvidas' });
  const bootConfig = loadConfig(
    { COURSE_DIR: path.resolve('examples/curso-exemplo'), OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: llm.baseURL, LLM_MAX_RETRIES: '0' },
    path.join(indexDir, 'no-such.env'),
  );
  core = await createCore(bootConfig, createLogger({ level: 'silent' }), { indexDir, buildIfMissing: true, embedder: null });
});

afterAll(async () => {
  await Promise.all([slack?.close(), llm?.close()]);
  if (indexDir) await rm(indexDir, { recursive: true, force: true });
});

describe('Slack adapter over HTTP (signed requests to /slack/events)', () => {
  let app: RunningApp;
  let eventsUrl: string;
  let asked = 0;

  beforeAll(async () => {
    app = await startApp({ SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_ANNOTATOR_IDS: 'UMONITOR1, UMONITOR2' }, { port: 0, host: '127.0.0.1' });
    eventsUrl = `http://127.0.0.1:${app.adapter.port}/slack/events`;
  });
  afterEach(async () => {
    await app.adapter.idle();
    llm.reset();
    slack.setResponseStatus(200);
    app.setStoreDown(false);
  });
  afterAll(async () => {
    await app?.adapter.stop();
  });

  const post = (payload: SlashCommandPayload | BlockActionsPayload, tamper?: 'signature' | 'no-headers' | 'stale') =>
    postToApp(eventsUrl, payload, { signingSecret: SIGNING_SECRET, ...(tamper ? { tamper } : {}) });

  /**
   * Asks through /pergunta and returns the answer: public answers are posted as messages
   * (chat.postMessage, so they have a thread), refusals and errors come through the response_url.
   */
  async function ask(text: string, userId = `U0ALUNO${++asked}`): Promise<{ body: ResponseBody; key: string }> {
    const key = `ask-${++asked}`;
    const posted = slack.channelMessages.length;
    const res = await post(slashCommand({ text, user_id: userId, response_url: slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    await slack.waitFor(() => slack.channelMessages.length > posted || slack.responsesFor(key).length > 0, `the answer to "${text}"`);
    const message = slack.channelMessages[posted];
    if (message) return { body: { response_type: 'in_channel', text: message.text, blocks: message.blocks }, key };
    return { body: slack.responsesFor(key)[0]!.body, key };
  }

  async function click(userId: string, action: Parameters<typeof blockActions>[0]['action']): Promise<ResponseBody> {
    const key = `click-${++asked}`;
    const res = await post(blockActions({ userId, action, response_url: slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const [reply] = await slack.waitForResponses(key, 1);
    return (reply as { body: ResponseBody }).body;
  }

  it('acks at once with "Procurando nas aulas…", then answers with links to the moment and feedback controls', async () => {
    llm.enqueue({ type: 'text', text: LLM_ANSWER, delayMs: 400 });
    const key = 'first-question';
    const posted = slack.channelMessages.length;
    const res = await post(slashCommand({ text: 'O que é aprendizado de máquina?', user_id: 'U0ANA', response_url: slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(400); // the ack does not wait for the LLM
    expect(res.json).toEqual({ response_type: 'ephemeral', text: MESSAGES.searching });

    // Public: posted as a message in the channel (it has a ts, so it has a thread), not through the response_url.
    await slack.waitFor(() => slack.channelMessages.length > posted, 'the answer message');
    const message = slack.channelMessages[posted]!;
    expect(message).toMatchObject({ channel: 'C0DUVIDAS', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(message.threadTs).toBeNull();
    const postCall = slack.apiCalls.find((c) => c.method === 'chat.postMessage' && c.body.channel === 'C0DUVIDAS')!;
    expect(postCall.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(postCall.body).toMatchObject({ unfurl_links: 'false', unfurl_media: 'false' });
    await app.adapter.idle();
    expect(slack.responsesFor(key)).toEqual([]);
    const body: ResponseBody = { text: message.text, blocks: message.blocks };
    expect(body.text).toContain('Aprendizado de máquina é quando o computador');
    expect(body.blocks!.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    expect(body.blocks![0]).toMatchObject({ type: 'context' });
    expect(JSON.stringify(body.blocks![0])).toContain('<@U0ANA>');
    expect(answerSections(body)[0]).toContain('*aprende padrões a partir de exemplos*'); // **bold** → *bold*

    // The answer is stored with a pseudonymous asker, and the buttons carry its id.
    const id = answerIdOf(body);
    const record = await app.store.getAnswer(id);
    expect(record).toMatchObject({ id, platform: 'slack', channel: 'C0DUVIDAS', kind: 'llm' });
    expect(record!.user).toBe(app.store.pseudonymize('slack', 'U0ANA'));
    expect(JSON.stringify(record)).not.toContain('U0ANA');

    // Each reference: `<url|Título · M:SS–M:SS>`, opening the video at the range's first second.
    const links = linksIn(referenceText(body));
    expect(links.length).toBe(record!.references.length);
    expect(links.length).toBeGreaterThan(0);
    links.forEach((link, i) => {
      const ref = record!.references[i]!;
      expect(link.url).toBe(ref.url);
      expect(link.label).toBe(`\u2068${escapeMrkdwn(ref.title)}\u2069 · ${formatClock(ref.start)}–${formatClock(ref.end)}`);
      // …at the moment inside that range where the question is answered (issue #15).
      const at = ref.at ?? ref.start;
      expect(secondOf(link.url)).toBe(Math.floor(at));
      expect(at).toBeGreaterThanOrEqual(ref.start);
      expect(at).toBeLessThan(ref.end);
      // …inside a retrieved transcript window of that video.
      expect(record!.segments.some((s) => s.videoId === ref.videoId && s.start <= at && at < s.end)).toBe(true);
    });

    // 👍/👎 with the answer id, and the annotation menu with C/P/I.
    const actions = actionsBlock(body)!;
    expect(actions.elements!.map((e) => [e.type, e.action_id, e.value])).toEqual([
      ['button', ACTION_IDS.voteUp, id],
      ['button', ACTION_IDS.voteDown, id],
      ['static_select', ACTION_IDS.annotate, undefined],
    ]);
    const menu = actions.elements![2] as { placeholder: { text: string }; options: Array<{ text: { text: string }; value: string }> };
    expect(menu.placeholder.text).toBe('Avaliar');
    expect(menu.options.map((o) => [o.text.text, o.value])).toEqual([
      ['Correta', `C:${id}`],
      ['Parcial', `P:${id}`],
      ['Incorreta', `I:${id}`],
    ]);
  });

  it('a question the lectures do not cover: "not found" with the closest moments under their own heading, no LLM call', async () => {
    const before = llm.requests.length;
    const { body } = await ask('O que é uma LSTM e por que ela lembra de sequências longas?', 'U0ANA');
    expect(answerSections(body).join('\n')).toContain(escapeMrkdwn(NOT_COVERED_CLOSEST_MESSAGE));
    const closest = sectionTexts(body).find((t) => t.startsWith(`*${CLOSEST_MOMENTS_HEADING}:*`));
    expect(closest).toBeDefined();
    expect(referenceText(body)).toBe('');
    const record = await app.store.getAnswer(answerIdOf(body));
    expect(record).toMatchObject({ kind: 'not-found' });
    expect(linksIn(closest!).length).toBe(record!.references.length);
    expect(llm.requests.length).toBe(before);
  });

  it('records one vote per user per answer, changeable, confirmed to the voter only', async () => {
    const { body } = await ask('Qual a diferença entre classificação e regressão?');
    const id = answerIdOf(body);
    const up = { type: 'button' as const, action_id: ACTION_IDS.voteUp, value: id };
    const down = { type: 'button' as const, action_id: ACTION_IDS.voteDown, value: id };

    const first = await click('U0VOTA1', up);
    expect(first).toEqual({ response_type: 'ephemeral', replace_original: false, text: MESSAGES.voteRecorded('up', null) });
    expect((await click('U0VOTA1', up)).text).toBe(MESSAGES.voteRecorded('up', 'up'));
    expect((await click('U0VOTA1', down)).text).toBe(MESSAGES.voteRecorded('down', 'up'));
    expect((await click('U0VOTA2', up)).text).toBe(MESSAGES.voteRecorded('up', null));

    const votes = await app.store.votes(id);
    expect(votes.map((v) => [v.user, v.value]).sort()).toEqual(
      [
        [app.store.pseudonymize('slack', 'U0VOTA1'), 'down'],
        [app.store.pseudonymize('slack', 'U0VOTA2'), 'up'],
      ].sort(),
    );

    // A click on an answer the store does not know.
    expect((await click('U0VOTA1', { ...up, value: '00000000-0000-4000-8000-000000000000' })).text).toBe(MESSAGES.answerNotFound);
  });

  it('lets only SLACK_ANNOTATOR_IDS annotate (the latest counts); others get a private refusal', async () => {
    const { body } = await ask('O que é aprendizado por reforço?');
    const id = answerIdOf(body);
    const choose = (label: 'C' | 'P' | 'I', text: string) => ({
      type: 'static_select' as const,
      action_id: ACTION_IDS.annotate,
      selected: { value: annotationValue(label, id), text },
    });

    const refused = await click('U0ALUNOX', choose('C', 'Correta'));
    expect(refused).toEqual({ response_type: 'ephemeral', replace_original: false, text: MESSAGES.annotationRefused });
    expect(await app.store.annotation(id)).toBeNull();

    expect((await click('UMONITOR1', choose('P', 'Parcial'))).text).toBe(MESSAGES.annotationRecorded('P'));
    expect(await app.store.annotation(id)).toMatchObject({ label: 'P', annotator: app.store.pseudonymize('slack', 'UMONITOR1') });

    expect((await click('UMONITOR2', choose('I', 'Incorreta'))).text).toBe(MESSAGES.annotationRecorded('I'));
    const latest = await app.store.annotation(id);
    expect(latest).toMatchObject({ label: 'I', annotator: app.store.pseudonymize('slack', 'UMONITOR2'), platform: 'slack' });
    expect(Date.parse(latest!.at)).not.toBeNaN();
  });

  it('answers 401 to a bad signature, missing headers or a stale timestamp, and records nothing', async () => {
    const { body } = await ask('O que é overfitting?');
    const id = answerIdOf(body);
    const answersBefore = (await app.store.listRecords()).length;
    const llmBefore = llm.requests.length;

    for (const tamper of ['signature', 'no-headers', 'stale'] as const) {
      const command = await post(slashCommand({ text: 'O que é regularização?', response_url: slack.responseUrl(`forged-q-${tamper}`) }), tamper);
      expect(command.status, `slash command, ${tamper}`).toBe(401);
      const vote = await post(
        blockActions({ userId: 'U0FORJA', action: { type: 'button', action_id: ACTION_IDS.voteUp, value: id }, response_url: slack.responseUrl(`forged-v-${tamper}`) }),
        tamper,
      );
      expect(vote.status, `vote, ${tamper}`).toBe(401);
    }
    // A genuine request after the forged ones: once it is answered, anything the forged ones
    // might have triggered would have happened too.
    await ask('O que é validação cruzada?');
    expect(slack.responses.filter((r) => r.key.startsWith('forged-'))).toEqual([]);
    expect((await app.store.listRecords()).length).toBe(answersBefore + 1);
    expect(llm.requests.length).toBe(llmBefore + 1);
    expect(await app.store.votes(id)).toEqual([]);
  });

  it('answers empty text with the usage hint in the ack, without asking anything', async () => {
    const key = 'empty';
    const res = await post(slashCommand({ text: '   ', response_url: slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ response_type: 'ephemeral', text: MESSAGES.usage });
    await app.adapter.idle();
    expect(slack.responsesFor(key)).toEqual([]);
    expect(llm.requests).toEqual([]);
  });

  it('keeps a ~10 000-character answer with <, > and & within Slack limits, escaped and complete', async () => {
    const paragraph = (n: number) =>
      `Parágrafo ${n}: se x < y && y > z então <script>alert("oi")</script> & mais texto sobre regularização L1 & L2 [1]. ` +
      'A validação cruzada divide os dados em k partes e treina k vezes, cada vez deixando uma parte de fora para medir o erro. '.repeat(3);
    const long = Array.from({ length: 22 }, (_, i) => paragraph(i + 1)).join('\n\n');
    expect(long.length).toBeGreaterThan(9_000);
    llm.enqueue({ type: 'text', text: long });

    const { body } = await ask('Como funciona a validação cruzada?');
    expect(body.blocks!.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    const parts = answerSections(body);
    expect(parts.length).toBeGreaterThan(3);
    for (const text of parts) {
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(text).not.toMatch(/[<>]/);
      expect(text.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    }
    const rebuilt = parts.map(unescapeMrkdwn).join(' ').replace(/\s+/g, ' ');
    expect(rebuilt === long.replace(/\s+/g, ' ').trim(), 'the sections rebuild the whole answer').toBe(true);
    expect(unescapeMrkdwn(body.text!).length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
    expect(body.text).not.toMatch(/[<>]/);
  });

  it('shows code untouched and a table as a monospaced block', async () => {
    llm.enqueue({
      type: 'text',
      text:
        'O método `__init__` recebe `*args` [1]:\n\n```python\n# inicializa os pesos\ndef __init__(self, *args):\n    self.w = args[0]\n```\n\n' +
        '| método | erro |\n|---|---|\n| SGD | 0,12 |\n| Adam | 0,05 |',
    });
    const { body } = await ask('Compare SGD e Adam');
    const text = answerSections(body).join('\n\n');
    expect(text).toBe(
      'O método `__init__` recebe `*args` [1]:\n\n```\n# inicializa os pesos\ndef __init__(self, *args):\n    self.w = args[0]\n```\n\n' +
        '```\nmétodo | erro\n-------+-----\nSGD    | 0,12\nAdam   | 0,05\n```',
    );
  });

  it('keeps only links to the course videos clickable: a link the LLM was tricked into writing is shown as text', async () => {
    const courseLink = 'https://www.youtube.com/watch?v=rB4d_Vn0Ks8&t=95';
    llm.enqueue({ type: 'text', text: `Veja [Aula 3 — slides oficiais](https://evil.example/login) e https://evil.example/x. O trecho certo: [aqui](${courseLink}) [1].` });
    const { body } = await ask('Onde estão os slides da aula 3?');
    expect(JSON.stringify(body)).not.toContain('evil.example/login>');
    expect(JSON.stringify(body)).not.toContain('https://evil.example');
    const [text] = answerSections(body);
    expect(text).toBe(`Veja Aula 3 — slides oficiais (\`evil.example/login\`) e \`evil.example/x\`. O trecho certo: <${escapeMrkdwn(courseLink)}|aqui> [1].`);
    // Slack does not turn anything else into a link on its own either.
    const section = (body.blocks ?? []).find((b) => b.type === 'section');
    expect(section?.text).toMatchObject({ type: 'mrkdwn', verbatim: true });
  });

  it('turns an LLM failure into the core’s pt-BR message, privately', async () => {
    llm.enqueue({ type: 'error', status: 500 });
    const key = 'llm-down';
    const before = (await app.store.listRecords()).length;
    await post(slashCommand({ text: 'O que é backpropagation?', response_url: slack.responseUrl(key) }));
    const [reply] = await slack.waitForResponses(key, 1);
    expect(reply!.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: LLM_USER_MESSAGES.unavailable });
    expect((await app.store.listRecords()).length).toBe(before);
  });

  it('with the store down: the answer still arrives (without feedback controls) and a vote fails clearly', async () => {
    const { body: stored } = await ask('O que é uma rede convolucional?');
    const id = answerIdOf(stored);

    app.setStoreDown(true);
    const { body: unstored } = await ask('O que é fine-tuning?');
    expect(answerSections(unstored)[0]).toContain('Aprendizado de máquina');
    expect(actionsBlock(unstored)).toBeUndefined();

    const reply = await click('U0VOTA3', { type: 'button', action_id: ACTION_IDS.voteDown, value: id });
    expect(reply).toEqual({ response_type: 'ephemeral', replace_original: false, text: MESSAGES.voteFailed });
  });

  it('applies the core’s per-user rate limit, answering the over-limit user in the ack', async () => {
    for (let i = 0; i < RATE_LIMIT; i++) await ask(`Pergunta número ${i + 1} sobre gradiente descendente?`, 'U0PRESSA');
    const key = 'too-many';
    const res = await post(slashCommand({ text: 'Mais uma?', user_id: 'U0PRESSA', response_url: slack.responseUrl(key) }));
    expect(res.json?.response_type).toBe('ephemeral');
    expect(res.json?.text).toMatch(/^Você fez muitas perguntas em pouco tempo\. Tente de novo em \d+ segundos?\.$/);
    await app.adapter.idle();
    expect(slack.responsesFor(key)).toEqual([]);
  });

  it('where it cannot post a message, answers through the response_url; survives that refusing too (logged, no crash)', async () => {
    slack.onApi('chat.postMessage', () => ({ body: { ok: false, error: 'not_in_channel' } }));
    try {
      const fallback = 'not-in-channel';
      await post(slashCommand({ text: 'O que é precisão e recall?', response_url: slack.responseUrl(fallback) }));
      const [answer] = await slack.waitForResponses(fallback, 1);
      expect(answer!.body).toMatchObject({ response_type: 'in_channel' });
      expect(answer!.body.blocks).toBeDefined();
      await app.adapter.idle();
      expect(logLines.some((l) => l.includes('could not post the answer as a message') && l.includes('not_in_channel'))).toBe(true);

      slack.setResponseStatus(404);
      const key = 'expired';
      await post(slashCommand({ text: 'O que é precisão e recall?', response_url: slack.responseUrl(key) }));
      const posts = await slack.waitForResponses(key, 2);
      expect(posts[0]!.body.blocks).toBeDefined();
      expect(posts[1]!.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: MESSAGES.failed });
      await app.adapter.idle();
      expect(logLines.some((l) => l.includes('slack answer could not be sent'))).toBe(true);
    } finally {
      slack.reset(); // the default chat.postMessage again, and response_urls that answer 200
    }
  });

  it('stop() waits for the question in flight (answered and stored), then closes the port', async () => {
    llm.enqueue({ type: 'text', text: LLM_ANSWER, delayMs: 300 });
    const key = 'in-flight';
    const posted = slack.channelMessages.length;
    const res = await post(slashCommand({ text: 'O que é a curva ROC?', user_id: 'U0TARDE', response_url: slack.responseUrl(key) }));
    expect(res.status).toBe(200);
    expect(app.adapter.inFlight).toBe(1);
    await app.adapter.stop();
    expect(app.adapter.inFlight).toBe(0);
    const answer = slack.channelMessages[posted]!;
    expect(await app.store.getAnswer(answerIdOf({ blocks: answer.blocks }))).toBeDefined();
    await expect(fetch(eventsUrl, { method: 'POST' })).rejects.toThrow();
  });

  it('never writes the tokens or the signing secret to the log (even at trace level)', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join('\n');
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, OPENAI_KEY]) expect(all).not.toContain(secret);
  });
});

describe('Slack adapter in Socket Mode (local WebSocket server)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    slack.reset();
    app = await startApp({ SLACK_APP_TOKEN: APP_TOKEN, SLACK_RESPONSE_TYPE: 'ephemeral' });
  });
  afterAll(async () => {
    await app?.adapter.stop();
  });

  it('connects through apps.connections.open at SLACK_API_URL with the app token', () => {
    expect(app.adapter.mode).toBe('socket');
    expect(app.adapter.port).toBeNull();
    expect(slack.openSockets).toBe(1);
    const open = slack.apiCalls.find((c) => c.method === 'apps.connections.open');
    expect(open?.headers.authorization).toBe(`Bearer ${APP_TOKEN}`);
    expect(slack.apiCalls.some((c) => c.method === 'auth.test')).toBe(true);
  });

  it('answers a slash command envelope (ack over the socket), votes and annotations (anyone may annotate)', async () => {
    const key = 'socket-q';
    const ack = await slack.sendEnvelope(
      'slash_commands',
      slashCommand({ text: 'O que é transfer learning?', user_id: 'U0SOCK', response_url: slack.responseUrl(key) }),
    );
    expect(ack.payload).toEqual({ response_type: 'ephemeral', text: MESSAGES.searching });
    const [answer] = await slack.waitForResponses(key, 1);
    expect(answer!.body.response_type).toBe('ephemeral'); // SLACK_RESPONSE_TYPE=ephemeral
    const id = answerIdOf(answer!.body);
    expect(linksIn(referenceText(answer!.body)).length).toBeGreaterThan(0);

    const voteKey = 'socket-vote';
    const voteAck = await slack.sendEnvelope(
      'interactive',
      blockActions({ userId: 'U0SOCK', action: { type: 'button', action_id: ACTION_IDS.voteUp, value: id }, response_url: slack.responseUrl(voteKey) }),
    );
    expect(voteAck.envelope_id).toBeTruthy();
    const [vote] = await slack.waitForResponses(voteKey, 1);
    expect(vote!.body).toEqual({ response_type: 'ephemeral', replace_original: false, text: MESSAGES.voteRecorded('up', null) });

    const noteKey = 'socket-note';
    await slack.sendEnvelope(
      'interactive',
      blockActions({
        userId: 'U0QUALQUER',
        action: { type: 'static_select', action_id: ACTION_IDS.annotate, selected: { value: annotationValue('C', id), text: 'Correta' } },
        response_url: slack.responseUrl(noteKey),
      }),
    );
    const [note] = await slack.waitForResponses(noteKey, 1);
    expect(note!.body.text).toBe(MESSAGES.annotationRecorded('C'));
    expect(await app.store.annotation(id)).toMatchObject({ label: 'C' });
  });

  it('acks empty text with the usage hint', async () => {
    const ack = await slack.sendEnvelope('slash_commands', slashCommand({ text: '', response_url: slack.responseUrl('socket-empty') }));
    expect(ack.payload).toEqual({ response_type: 'ephemeral', text: MESSAGES.usage });
  });

  it('stop() closes the WebSocket', async () => {
    await app.adapter.stop();
    await slack.waitForSocketClose();
    expect(slack.openSockets).toBe(0);
  });

  it('never writes the app token to the log', () => {
    expect(logLines.join('\n')).not.toContain(APP_TOKEN);
  });
});

describe('Slack adapter: answers Slack would refuse', () => {
  // A course whose manifest has what real courses have: a very long title with Markdown
  // characters, and videos behind long signed URLs full of `&` (each one becomes `&amp;`).
  const signed = (n: number, params: number) =>
    `https://cdn.cursos.example/aula-${n}.mp4?${Array.from({ length: params }, (_, i) => `X-Amz-P${i}=${'a1b2c3'.repeat(3)}`).join('&')}`;
  const LONG_TITLE = `Aula 1 — __init__ e *args* ${'com um título longuíssimo copiado da planilha '.repeat(70)}`;
  let app: RunningApp;
  let eventsUrl: string;
  let courseCore: Core;
  let courseIndex: string;

  beforeAll(async () => {
    const courseDir = await writeCourse({ aula1: ['x', 'overfitting e regularização', 4], aula2: ['y', 'overfitting e validação cruzada', 4] });
    const videos = JSON.parse(await readFile(path.join(courseDir, 'videos.json'), 'utf8')) as Array<{ title: string; url: string }>;
    videos[0]!.title = LONG_TITLE;
    videos[0]!.url = signed(1, 60); // ~1 900 characters once & is escaped: still a link
    videos[1]!.title = 'Aula 2 — validação';
    videos[1]!.url = signed(2, 150); // ~4 800 characters escaped: too long to be a link
    await writeFile(path.join(courseDir, 'videos.json'), JSON.stringify(videos));
    courseIndex = await mkdtemp(path.join(tmpdir(), 'pergunta-slack-course-'));
    const config = loadConfig(
      { COURSE_DIR: courseDir, RETRIEVAL_K: '10', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: llm.baseURL, LLM_MAX_RETRIES: '0' },
      path.join(courseIndex, 'no-such.env'),
    );
    courseCore = await createCore(config, createLogger({ level: 'silent' }), { indexDir: courseIndex, buildIfMissing: true, embedder: null });
    slack.reset();
    app = await startApp({ SLACK_SIGNING_SECRET: SIGNING_SECRET }, { port: 0, host: '127.0.0.1' }, courseCore);
    eventsUrl = `http://127.0.0.1:${app.adapter.port}/slack/events`;
  });
  afterAll(async () => {
    await app?.adapter.stop();
    if (courseIndex) await rm(courseIndex, { recursive: true, force: true });
  });

  /** Asks through /pergunta; the answer goes through the response_url (the bot may not post in the channel). */
  async function askCourse(key: string): Promise<ResponsePost[]> {
    const res = await postToApp(eventsUrl, slashCommand({ text: 'O que é overfitting?', user_id: `U0${key.toUpperCase()}`, response_url: slack.responseUrl(key) }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    await slack.waitForResponses(key, 1);
    await app.adapter.idle();
    return slack.responsesFor(key);
  }

  /** A chat.postMessage the app made: what it sent and whether Slack (the fake) took it. */
  interface PostAttempt {
    ok: boolean;
    error: string | undefined;
    body: ResponseBody;
  }

  /** Asks through /pergunta; the public answer is posted as a message (chat.postMessage). */
  async function askPosted(key: string): Promise<PostAttempt[]> {
    const before = slack.apiCalls.length;
    const res = await postToApp(eventsUrl, slashCommand({ text: 'O que é overfitting?', user_id: `U0${key.toUpperCase()}`, response_url: slack.responseUrl(key) }), {
      signingSecret: SIGNING_SECRET,
    });
    expect(res.status).toBe(200);
    const posts = () => slack.apiCalls.slice(before).filter((c) => c.method === 'chat.postMessage');
    await slack.waitFor(() => posts().some((c) => (c.answer as { ok?: boolean } | undefined)?.ok === true), 'the posted answer');
    await app.adapter.idle();
    expect(slack.responsesFor(key)).toEqual([]);
    return posts().map((c) => {
      const answer = c.answer as { ok: boolean; error?: string };
      const blocks = typeof c.body.blocks === 'string' ? (JSON.parse(c.body.blocks) as SlackBlock[]) : (c.body.blocks as SlackBlock[] | undefined);
      return { ok: answer.ok, error: answer.error, body: { text: c.body.text as string, ...(blocks ? { blocks } : {}) } };
    });
  }

  it('caps titles and URLs per line: the answer with its references is accepted', async () => {
    llm.enqueue({ type: 'text', text: 'Overfitting é decorar o treino.' });
    const [answer, ...more] = await askPosted('long-lines');
    expect(more).toEqual([]);
    expect(answer!.ok).toBe(true); // the fake checks Slack's limits and would answer invalid_blocks
    const refs = referenceText(answer!.body);
    expect(refs.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
    // The long (escaped) signed URL is still a link; the title is shortened and shown literally.
    expect(refs).toMatch(new RegExp(`<${escapeRegExp(escapeMrkdwn(signed(1, 60)))}#t=\\d+\\|\u2068Aula 1 — \u02cd\u02cdinit\u02cd\u02cd e \u2217args\u2217 com um título`));
    expect(refs).not.toContain(LONG_TITLE.slice(0, 300));
    // The one too long to be a link is named, with its time range, and says why it has no link.
    expect(refs).toMatch(/\u2068Aula 2 — validação\u2069 · \d+:\d\d–\d+:\d\d \(link longo demais para exibir aqui\)/);
    expect(refs).not.toContain('aula-2.mp4');
  });

  it('when Slack refuses the rendered answer anyway, posts the same answer and links as plain text and logs why', async () => {
    slack.rejectNext();
    llm.enqueue({ type: 'text', text: 'Overfitting é **decorar** o treino.' });
    const [refused, plain, ...more] = await askPosted('refused-posted');
    expect(refused).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(refused!.body.blocks).toBeDefined();
    expect(more).toEqual([]);
    expect(plain!.ok).toBe(true);
    expect(plain!.body.blocks).toBeUndefined();
    const text = plain!.body.text!;
    expect(text).toContain('Overfitting é *decorar* o treino.');
    expect(text).toMatch(new RegExp(`<${escapeRegExp(escapeMrkdwn(signed(1, 60)))}#t=\\d+>`));
    expect(text).toContain('Aula 2 — validação');
    expect(text).not.toContain(MESSAGES.failed);
    expect(logLines.some((l) => l.includes('slack refused the rendered answer') && l.includes('invalid_blocks'))).toBe(true);
  });

  it('in a channel the bot cannot post in, the answer goes through the command response; refused there too, it is sent as plain text', async () => {
    // e.g. a private channel the bot was not invited to: chat.postMessage answers not_in_channel.
    slack.onApi('chat.postMessage', () => ({ body: { ok: false, error: 'not_in_channel' } }));
    slack.rejectNext();
    llm.enqueue({ type: 'text', text: 'Overfitting é **decorar** o treino.' });
    const [refused, plain, ...more] = await askCourse('refused').finally(() => slack.onApi('chat.postMessage', null));
    expect(refused!.status).toBe(400);
    expect(refused!.body.blocks).toBeDefined();
    expect(more).toEqual([]);
    expect(plain!.status).toBe(200);
    expect(plain!.body.blocks).toBeUndefined();
    expect(plain!.body.response_type).toBe('in_channel');
    const text = plain!.body.text!;
    expect(text).toContain('Overfitting é *decorar* o treino.');
    expect(text).toMatch(new RegExp(`<${escapeRegExp(escapeMrkdwn(signed(1, 60)))}#t=\\d+>`));
    expect(text).toContain('Aula 2 — validação');
    expect(text).not.toContain(MESSAGES.failed);
    expect(logLines.some((l) => l.includes('slack refused the rendered answer') && l.includes('400'))).toBe(true);
  });
});

describe('Slack rendering (cards.ts, markdown.ts)', () => {
  const baseResult = (over: Partial<AnswerResult>): AnswerResult => answerResult({ id: '3f1d2c4b-0000-4000-8000-000000000001', ...over });

  it('escapes &, < and > and turns Markdown into mrkdwn', () => {
    expect(escapeMrkdwn('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(markdownToMrkdwn('## Resumo\n**forte** e __também__, ~~não~~, [aula](https://x.org/a?b=1&c=2)')).toBe(
      '*Resumo*\n*forte* e *também*, ~não~, <https://x.org/a?b=1&amp;c=2|aula>',
    );
    expect(markdownToMrkdwn('<b>[1]</b> x**y')).toBe('&lt;b&gt;[1]&lt;/b&gt; x**y');
  });

  it('leaves code and inline code untouched: no formatting inside, no language tag line', () => {
    expect(markdownToMrkdwn('Use `__init__` e `*args*` no construtor.')).toBe('Use `__init__` e `*args*` no construtor.');
    expect(markdownToMrkdwn('Veja:\n\n```python\n# comentário\ndef __init__(self, *args):\n    return a < b && b > c\n```\n\nFim.')).toBe(
      'Veja:\n\n```\n# comentário\ndef __init__(self, *args):\n    return a &lt; b &amp;&amp; b &gt; c\n```\n\nFim.',
    );
    // Indented code and ~~~ fences too.
    expect(markdownToMrkdwn('~~~\n**não é negrito**\n~~~')).toBe('```\n**não é negrito**\n```');
  });

  it('keeps the target of a link whose URL has parentheses, and turns lists and quotes into mrkdwn', () => {
    expect(markdownToMrkdwn('Veja [x](https://en.wikipedia.org/wiki/Foo_(bar)) e https://pt.wikipedia.org/wiki/Bar_(baz).')).toBe(
      'Veja <https://en.wikipedia.org/wiki/Foo_(bar)|x> e <https://pt.wikipedia.org/wiki/Bar_(baz)>.',
    );
    expect(markdownToMrkdwn('- um **dois**\n- três\n\n1. a\n2. b\n\n> citação')).toBe('• um *dois*\n• três\n\n1. a\n2. b\n\n> citação');
  });

  it('shows a Markdown table as a monospaced block', () => {
    const text = markdownToMrkdwn('Comparação:\n\n| método | erro |\n|---|---|\n| SGD | 0,12 |\n| Adam & cia | 0,05 |');
    expect(text).toBe('Comparação:\n\n```\nmétodo     | erro\n-----------+-----\nSGD        | 0,12\nAdam &amp; cia | 0,05\n```');
  });

  it('encodes a | in a reference URL so that it cannot split the Slack link', () => {
    const link = referenceLink({ videoId: 'v', title: 'Aula', start: 0, end: 60, url: 'https://cdn.example/v.mp4?sig=a|b&x=1#t=0' });
    expect(link).toBe('<https://cdn.example/v.mp4?sig=a%7Cb&amp;x=1#t=0|\u2068Aula\u2069 · 0:00–1:00>');
  });

  it('reads slash-command text as the user typed it, mentions without their ids', () => {
    expect(slackTextToPlain('e &lt;T&gt; &amp; <@U123|ana> em <#C9|geral> <https://x.org|x.org> <!here>')).toBe(
      'e <T> & @usuário em #canal x.org @here',
    );
    expect(slackTextToPlain('<@U0RAW> e <!subteam^S0RAW|@monitores>')).toBe('@usuário e @grupo');
  });

  it('formats references as <url|Título · M:SS–M:SS>, whatever the title contains', () => {
    expect(
      referenceLink({ videoId: 'v', title: 'Aula 7 | P&R <extra>', start: 988.6, end: 1367.2, url: 'https://www.youtube.com/watch?v=A&t=988' }),
    ).toBe('<https://www.youtube.com/watch?v=A&amp;t=988|\u2068Aula 7 / P&amp;R &lt;extra&gt;\u2069 · 16:28–22:47>');
  });

  it('shows titles and the question literally (no mrkdwn formatting) and isolates titles from the time range', () => {
    const link = referenceLink({ videoId: 'v', title: 'Aula 7: __init__ e *args* ~x~ `y` & <z>', start: 60, end: 125, url: 'https://youtu.be/abc?t=60' });
    expect(link).toBe('<https://youtu.be/abc?t=60|\u2068Aula 7: \u02cd\u02cdinit\u02cd\u02cd e \u2217args\u2217 \u223cx\u223c \u02cby\u02cb &amp; &lt;z&gt;\u2069 · 1:00–2:05>');
    const rtl = referenceLink({ videoId: 'v', title: 'درس \u202eالتعلم\u2069 الآلي', start: 60, end: 125, url: 'https://youtu.be/abc?t=60' });
    expect(rtl).toBe('<https://youtu.be/abc?t=60|\u2068درس التعلم الآلي\u2069 · 1:00–2:05>');
    const message = renderAnswer(baseResult({ question: 'O que faz __init__ com *args*?' }), { feedback: false, askedBy: 'U0ANA' });
    expect(message.blocks[0]).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '*Pergunta <@U0ANA>:* O que faz \u02cd\u02cdinit\u02cd\u02cd com \u2217args\u2217?' }],
    });
  });

  it('splits escaped text below the section limit without cutting an entity', () => {
    const chunks = mrkdwnChunks('&'.repeat(7_000));
    expect(chunks.every((c) => c.text.length <= SLACK_LIMITS.sectionText && /^(&amp;)+$/.test(c.text))).toBe(true);
    expect(chunks.reduce((n, c) => n + c.text.length / 5, 0)).toBe(7_000);
  });

  it('never exceeds 50 blocks: a huge answer is cut, and says so', () => {
    const huge = 'palavra '.repeat(40_000);
    const message = renderAnswer(baseResult({ answer: huge, notices: ['Aviso & nota'] }), { feedback: true });
    expect(message.blocks.length).toBe(SLACK_LIMITS.blocks);
    const sections = message.blocks.filter((b): b is Extract<typeof b, { type: 'section' }> => b.type === 'section');
    expect(sections.every((s) => (s.text?.text.length ?? 0) <= SLACK_LIMITS.sectionText)).toBe(true);
    // The cut is said in words, not only with a trailing "…".
    expect(sections.at(-1)!.text!.text.endsWith(MESSAGES.answerCut)).toBe(true);
    expect(message.blocks.at(-1)!.type).toBe('actions');
    expect(JSON.stringify(message.blocks)).toContain('Aviso &amp; nota');
  });

  it('splits a long answer with code outside the code block, or closes the block and reopens it', () => {
    const code = ['```python', ...Array.from({ length: 160 }, (_, i) => `    self.peso_${i} = pesos[${i}] * taxa  # camada ${i}`), '```'].join('\n');
    const answer = `O construtor guarda um peso por camada [1]:\n\n${code}\n\nDepois o treino ajusta os pesos [2].`;
    expect(answer.length).toBeGreaterThan(SLACK_LIMITS.sectionText * 2);
    const message = renderAnswer(baseResult({ answer }), { feedback: true });
    const sections = message.blocks.filter((b): b is Extract<typeof b, { type: 'section' }> => b.type === 'section').map((s) => s.text!.text);
    expect(sections.length).toBeGreaterThan(2);
    for (const text of sections) {
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect((text.match(/```/g) ?? []).length % 2, `unbalanced fences in:\n${text}`).toBe(0);
    }
    const codeLines = sections.join('\n').split('\n').filter((l) => l.includes('self.peso_'));
    expect(codeLines).toEqual(code.split('\n').filter((l) => l.includes('self.peso_')));
  });

  it('leaves out the feedback controls when asked to', () => {
    const message = renderAnswer(baseResult({}), { feedback: false });
    expect(message.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('parses annotation values and scrubs Slack credentials from log text', () => {
    expect(parseAnnotationValue('P:abc')).toEqual({ label: 'P', answerId: 'abc' });
    expect(parseAnnotationValue('X:abc')).toBeNull();
    expect(parseAnnotationValue(undefined)).toBeNull();
    expect(
      scrubSlack('xoxb-1-2-abc {"token":"legacy"} wss://x/link/?ticket=abc&app_id=A1 https://hooks.slack.com/commands/T1/2/xyz xapp-1-A-2', ['s3cr3t!']),
    ).toBe('xox?-[redacted] {"token":"[redacted]"} wss://x/link/?ticket=[redacted]&app_id=A1 https://hooks.slack.com/[redacted] xapp-[redacted]');
  });

  it('the fake response_url refuses what Slack refuses (400 invalid_blocks)', async () => {
    const post = (body: object) =>
      fetch(slack.responseUrl('fake-check'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    for (const bad of [
      { blocks: [section('x'.repeat(3001))] },
      { blocks: Array.from({ length: 51 }, () => section('x')) },
      { blocks: [section('')] },
      { blocks: [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'x' })) }] },
      { blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'x'.repeat(76) }, value: 'v' }] }] },
    ]) {
      const res = await post(bad);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
    }
    expect((await post({ text: 'x'.repeat(40_001) })).status).toBe(400);
    expect((await post({ blocks: [section('x'.repeat(3000))] })).status).toBe(200);
  });

  it('ships a manifest that creates the app in one step', async () => {
    const manifest = await readFile('adapters/slack/manifest.yml', 'utf8');
    expect(manifest).toMatch(/slash_commands:\n\s+- command: \/pergunta\n\s+description: \S/);
    expect(manifest).toMatch(/bot:\n\s+- commands\n\s+- chat:write\n/);
    for (const scope of ['chat:write.public', 'app_mentions:read', 'assistant:write', 'im:history']) expect(manifest).toMatch(new RegExp(`\\n\\s+- ${scope}\\n`));
    expect(manifest).toMatch(/bot_events:\n\s+- app_mention\n\s+- assistant_thread_started\n\s+- assistant_thread_context_changed\n\s+- message\.im\n/);
    expect(manifest).toMatch(/assistant_view:\n\s+assistant_description: \S/);
    expect(manifest).toMatch(/interactivity:\n\s+is_enabled: true/);
    expect(manifest).toMatch(/socket_mode_enabled: true/);
  });
});
