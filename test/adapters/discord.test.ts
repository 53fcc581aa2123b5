/**
 * The Discord adapter end to end: the real discord.js Client against a fake Discord
 * (test/fakes/fakeDiscord.ts) and a fake OpenAI-compatible LLM, with the real answer core on
 * the sample course (lexical-only) and the real feedback store (memory://).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapter, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { commandDefinitions, DiscordRegistrationError, registerCommands } from '../../adapters/discord/register.js';
import { DISCORD_LIMITS, embedLength, referenceLine, renderAnswer } from '../../adapters/discord/cards.js';
import { commands } from '../../adapters/discord/commands/index.js';
import * as commentComponent from '../../adapters/discord/components/comment.js';
import * as voteComponent from '../../adapters/discord/components/vote.js';
import { customIds } from '../../adapters/discord/customIds.js';
import { DEFAULT_EDIT_INTERVAL_MS } from '../../adapters/discord/streaming.js';
import { LLM_USER_MESSAGES } from '../../src/answer/llm.js';
import { formatClock } from '../../src/course/links.js';
import { BotService } from '../../src/bot/botService.js';
import { CLOSEST_MOMENTS_HEADING, MESSAGES } from '../../src/bot/messages.js';
import { NOT_COVERED_CLOSEST_MESSAGE } from '../../src/answer/prompt.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import type { AnswerResult, Reference } from '../../src/types.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type FakeInteraction, type Json, type RestCall } from '../fakes/fakeDiscord.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { answerResult as newAnswerResult } from '../helpers/records.js';

const TOKEN = 'discord-bot-TOKEN-secret-4f3e2d1c0b';
const OPENAI_KEY = 'sk-test-discord-9a8b7c6d';
const EDIT_INTERVAL_MS = 250;
/** No 5-second wait between identifies of the several clients a test run starts. */
const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};

const OVERFITTING_ANSWER =
  'Overfitting é quando o modelo decora os dados de treino, inclusive o ruído, e por isso vai muito bem no treino ' +
  'mas mal em dados novos [1]. Para perceber, compare o erro de treino com o erro de validação: se o primeiro cai e o ' +
  'segundo sobe, o modelo está sobreajustando [2]. Regularização e validação cruzada ajudam a evitar isso [1][2].';

let discord: FakeDiscord;
let llm: FakeOpenAI;
let indexDir: string;
let config: Config;
let core: Core;
let store: FeedbackStore;
let adapter: DiscordAdapter;
const logLines: string[] = [];
let logger: Logger;

function makeConfig(env: Record<string, string>): Config {
  return loadConfig(
    {
      OPENAI_API_KEY: OPENAI_KEY,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_MODEL: 'fake-model',
      LLM_MAX_RETRIES: '0',
      LLM_TIMEOUT_MS: '5000',
      // The long-answer cases stream ~10 000 characters from a fake that ignores max_tokens: a
      // bound that lets them through whole (the default would cut them, as it should).
      LLM_MAX_TOKENS: '4000',
      STORE_URL: 'memory://',
      ...env,
    },
    path.join(indexDir, 'no-such.env'),
  );
}

beforeAll(async () => {
  [discord, llm] = await Promise.all([startFakeDiscord({ token: TOKEN }), startFakeOpenAI()]);
  indexDir = await mkdtemp(path.join(tmpdir(), 'pergunta-discord-'));
  config = makeConfig({ DISCORD_TOKEN: TOKEN, DISCORD_APPLICATION_ID: discord.applicationId, DISCORD_API_URL: discord.apiUrl });
  // No secret scrubbing here on purpose: the test checks that nothing secret is logged at all.
  logger = createLogger({ level: 'debug', format: 'json', write: (line) => logLines.push(line) });
  core = await createCore(config, createLogger({ level: 'silent' }), { indexDir, buildIfMissing: true, embedder: null });
  store = await createFeedbackStore({ url: 'memory://', salt: 'salt-for-tests', logger });
  const bot = new BotService(core.answers, store, new RateLimiter(3), logger);
  adapter = await startDiscord({ config, logger, bot, store }, { editIntervalMs: EDIT_INTERVAL_MS, clientOptions: FAST_IDENTIFY });
});

afterAll(async () => {
  await adapter?.stop();
  await store?.close();
  await discord?.close();
  await llm?.close();
  if (indexDir) await rm(indexDir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ helpers

/** Waits until the bot answered the interaction and finished everything it started for it. */
async function settled(ix: FakeInteraction, on: DiscordAdapter = adapter): Promise<FakeInteraction> {
  await ix.waitFor(() => ix.callback);
  await on.whenIdle();
  return ix;
}

function ask(question: string, user = makeUser(), fake: FakeDiscord = discord): FakeInteraction {
  return fake.slashCommand({ name: 'pergunta', options: { texto: question }, user });
}

function buttons(body: Json | undefined): Json[] {
  const rows = (body?.components ?? []) as Json[];
  return rows.flatMap((row) => (row.components ?? []) as Json[]);
}

function voteIds(body: Json | undefined): string[] {
  return buttons(body)
    .map((b) => b.custom_id)
    .filter((id): id is string => typeof id === 'string' && id.startsWith('vote:'));
}

function embeds(body: Json | undefined): Json[] {
  return (body?.embeds ?? []) as Json[];
}

/** The answer id in the 👍 button of the final reply. */
function answerIdOf(ix: FakeInteraction): string {
  const id = voteIds(ix.original)[0]?.split(':')[2];
  if (!id) throw new Error(`no vote buttons in ${JSON.stringify(ix.original)}`);
  return id;
}

/** A fresh answered question (quick LLM reply); returns the interaction and the answer id. */
async function answered(question = 'O que é overfitting?', user = makeUser()): Promise<{ ix: FakeInteraction; answerId: string }> {
  llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER });
  const ix = await settled(ask(question, user));
  return { ix, answerId: answerIdOf(ix) };
}

/** Every Discord limit the adapter must respect, checked independently of the fake. */
function expectWithinLimits(body: Json): void {
  if (typeof body.content === 'string') expect(body.content.length).toBeLessThanOrEqual(DISCORD_LIMITS.content);
  const list = embeds(body);
  expect(list.length).toBeLessThanOrEqual(10);
  let total = 0;
  for (const e of list) {
    const description = String(e.description ?? '');
    expect(description.length).toBeLessThanOrEqual(DISCORD_LIMITS.embedDescription);
    expect(String(e.title ?? '').length).toBeLessThanOrEqual(DISCORD_LIMITS.embedTitle);
    const fields = (e.fields ?? []) as Json[];
    expect(fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.embedFields);
    for (const f of fields) {
      expect(String(f.value).length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
      expect(String(f.value).length).toBeGreaterThan(0);
      expect(String(f.name).length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
    }
    total += embedLength(e as Parameters<typeof embedLength>[0]);
  }
  expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
  const rows = (body.components ?? []) as Json[];
  expect(rows.length).toBeLessThanOrEqual(5);
  for (const row of rows) {
    const items = (row.components ?? []) as Json[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThanOrEqual(DISCORD_LIMITS.buttonsPerRow);
    for (const b of items) {
      if (b.label !== undefined) expect(String(b.label).length).toBeLessThanOrEqual(DISCORD_LIMITS.buttonLabel);
      if (b.custom_id !== undefined) expect(String(b.custom_id).length).toBeLessThanOrEqual(DISCORD_LIMITS.customId);
      if (b.url !== undefined) expect(String(b.url).length).toBeLessThanOrEqual(DISCORD_LIMITS.linkUrl);
    }
  }
}

/** The second at which a video link opens (YouTube `t=`, Vimeo `#t=XmYs`). */
function secondOf(url: string): number {
  const u = new URL(url);
  const t = u.searchParams.get('t');
  if (t !== null) return Number(t);
  const m = /^#t=(\d+)m(\d+)s$/.exec(u.hash);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  throw new Error(`no time in ${url}`);
}

const videosById = () => core.index.videos;

/** Every reference field value of a rendered answer (reply and continuations), one per line. */
function referenceText(rendered: ReturnType<typeof renderAnswer>): string {
  return [rendered.message, ...rendered.continuations]
    .flatMap((m) => m.embeds.flatMap((e) => e.fields ?? []))
    .map((f) => f.value)
    .join('\n');
}

/** Lines that open or close a fenced code block. */
function fenceCount(text: string): number {
  return text.split('\n').filter((line) => /^[ \t>]*(`{3,}|~{3,})/.test(line)).length;
}

/** An answer as the core returns it, for the pure rendering functions. */
function answerResult(over: Partial<AnswerResult>): AnswerResult {
  return newAnswerResult({ id: '5d7a2a52-3c1e-4c7e-9a43-1f8c0f2f9a10', promptVersion: 'x', ...over });
}

// ------------------------------------------------------------------ tests

describe('Discord adapter: /pergunta', () => {
  it('defers at once, streams with throttled edits and ends with the answer, its links and 👍/👎', async () => {
    // ~40 chunks, 20 ms apart: the answer takes ~0.8 s to stream.
    llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER, chunkDelayMs: 20 });
    const user = makeUser('estudante');
    const ix = await settled(ask('O que é overfitting?', user));

    // Deferred (public) within the request, before the LLM was even called.
    const callback = ix.callback!;
    expect(callback.type).toBe(5);
    expect(ix.ephemeral).toBe(false);
    expect(callback.at - ix.dispatchedAt).toBeLessThan(1000);
    const llmRequest = llm.requests.find((r) => r.messages.some((m) => m.content.includes('O que é overfitting?')) && r.receivedAt >= ix.dispatchedAt);
    expect(llmRequest).toBeDefined();
    expect(callback.at).toBeLessThanOrEqual(llmRequest!.receivedAt);

    // Streaming previews, no closer together than the interval; the final embed is the last edit.
    const edits = ix.edits;
    expect(edits.length).toBeGreaterThanOrEqual(3);
    const previews = edits.slice(0, -1);
    for (const p of previews) {
      expect(voteIds(p.body)).toEqual([]);
      expect(String(embeds(p.body)[0]?.description)).toMatch(/▌$/);
    }
    // Arrival times at the fake: allow for event-loop jitter on a busy machine (unthrottled edits
    // arrive a few ms apart).
    for (let i = 1; i < previews.length; i++) {
      expect(previews[i]!.at - previews[i - 1]!.at).toBeGreaterThanOrEqual(EDIT_INTERVAL_MS * 0.6);
    }
    // The first preview is not throttled: it carries the LLM's first word, sent as it came.
    expect(embeds(previews[0]!.body)[0]?.description).toBe('Overfitting ▌');
    const final = edits[edits.length - 1]!.body;
    expect(final).toEqual(expect.objectContaining({ allowed_mentions: expect.objectContaining({ parse: [] }) }));

    // The embed: question, answer, references linking to the exact second.
    const [embed] = embeds(final);
    expect(embed?.title).toBe('O que é overfitting?');
    expect(embed?.description).toBe(OVERFITTING_ANSWER);
    const answerId = answerIdOf(ix);
    const record = await store.getAnswer(answerId);
    expect(record).toBeDefined();
    expect(record!.platform).toBe('discord');
    expect(record!.user).toBe(store.pseudonymize('discord', user.id));
    expect(record!.user).not.toContain(user.id);
    expect(record!.channel).toBe(discord.channelId);
    const refs: Reference[] = record!.references;
    expect(refs.length).toBeGreaterThan(0);
    const field = ((embed?.fields ?? []) as Json[]).find((f) => f.name === 'Referências');
    for (const ref of refs) {
      expect(String(field?.value)).toContain(`](${ref.url}) · ${formatClock(ref.start)}–${formatClock(ref.end)}`);
    }

    // Link buttons: at most 5, each opening its video at the reference's first second.
    const links = buttons(final).filter((b) => b.style === 5);
    expect(links.length).toBe(Math.min(5, refs.length));
    links.forEach((b, i) => {
      const ref = refs[i]!;
      const url = String(b.url);
      expect(url).toBe(ref.url);
      // At the moment inside the reference's range where the question is answered (issue #15).
      const at = ref.at ?? ref.start;
      expect(at).toBeGreaterThanOrEqual(ref.start);
      expect(at).toBeLessThan(ref.end);
      expect(secondOf(url)).toBe(Math.floor(at));
      const base = videosById().get(ref.videoId)!.url;
      expect(url.startsWith(base.split('?')[0]!)).toBe(true);
      expect(String(b.label)).toContain(formatClock(at));
    });

    // 👍/👎 carry the answer id.
    expect(voteIds(final)).toEqual([`vote:up:${answerId}`, `vote:down:${answerId}`]);
    expect(ix.original?.flags).toBe(0); // not "thinking" anymore
  });

  it('shows a table the LLM still writes as a monospaced block (Discord does not render tables)', async () => {
    llm.enqueue({ type: 'text', text: 'Comparando os dois [1]:\n\n| método | erro |\n|---|---|\n| SGD | 0,12 |\n| Adam | 0,05 |\n\nUse `__init__` [2].' });
    const ix = await settled(ask('Compare SGD e Adam'));
    const description = String(embeds(ix.original)[0]?.description);
    expect(description).toBe('Comparando os dois [1]:\n\n```\nmétodo | erro\n-------+-----\nSGD    | 0,12\nAdam   | 0,05\n```\n\nUse `__init__` [2].');
    // The record keeps the answer as the LLM wrote it.
    expect((await store.getAnswer(answerIdOf(ix)))!.answer).toContain('| SGD | 0,12 |');
  });

  it('keeps only links to the course videos clickable: a link the LLM was tricked into writing is shown as text', async () => {
    const courseLink = 'https://www.youtube.com/watch?v=rB4d_Vn0Ks8&t=95';
    llm.enqueue({
      type: 'text',
      text: `Veja [Aula 3 — slides oficiais](https://evil.example/login) e https://evil.example/x. O trecho certo: [aqui](${courseLink}) [1].`,
      chunkSize: 5,
      chunkDelayMs: 20,
    });
    const ix = await settled(ask('Onde estão os slides da aula 3?'));
    // Not in the final answer, nor in any streaming preview.
    expect(ix.edits.length).toBeGreaterThan(1);
    for (const edit of ix.edits) expect(JSON.stringify(edit.body)).not.toContain('https://evil.example');
    const description = String(embeds(ix.original)[0]?.description);
    expect(description).toBe(`Veja Aula 3 — slides oficiais (\`evil.example/login\`) e \`evil.example/x\`. O trecho certo: [aqui](${courseLink}) [1].`);
  });

  it('a question the lectures do not cover: "not found" with the closest moments under their own heading, no LLM call', async () => {
    const before = llm.requests.length;
    const ix = await settled(ask('O que é uma LSTM e por que ela lembra de sequências longas?'));
    const final = ix.edits[ix.edits.length - 1]!.body;
    const [embed] = embeds(final);
    expect(embed?.description).toBe(NOT_COVERED_CLOSEST_MESSAGE);
    const fields = (embed?.fields ?? []) as Json[];
    expect(fields.map((f) => f.name)).toEqual([CLOSEST_MOMENTS_HEADING]);
    const record = await store.getAnswer(answerIdOf(ix));
    expect(record).toMatchObject({ kind: 'not-found' });
    expect(record!.references.length).toBeGreaterThan(0);
    for (const ref of record!.references) expect(String(fields[0]!.value)).toContain(`](${ref.url})`);
    expect(llm.requests.length).toBe(before);
  });

  it('👍 is stored and confirmed privately; a later 👎 replaces it', async () => {
    const { ix, answerId } = await answered();
    const voter = makeUser('votante');

    const up = await settled(discord.clickButton({ customId: `vote:up:${answerId}`, message: ix.original, user: voter }));
    expect(up.ephemeral).toBe(true);
    expect(up.original?.content).toBe(MESSAGES.voteRecorded('up', null));
    let votes = await store.votes(answerId);
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ value: 'up', platform: 'discord', user: store.pseudonymize('discord', voter.id) });

    const again = await settled(discord.clickButton({ customId: `vote:up:${answerId}`, message: ix.original, user: voter }));
    expect(again.original?.content).toBe(MESSAGES.voteRecorded('up', 'up'));

    const down = await settled(discord.clickButton({ customId: `vote:down:${answerId}`, message: ix.original, user: voter }));
    expect(down.ephemeral).toBe(true);
    expect(down.original?.content).toBe(MESSAGES.voteRecorded('down', 'up'));
    votes = await store.votes(answerId);
    expect(votes).toHaveLength(1);
    expect(votes[0]?.value).toBe('down');
  });

  it('👎 is stored at once; the optional comment goes through a modal and is stored with the vote', async () => {
    const { ix, answerId } = await answered();
    const voter = makeUser('critica');

    const down = await settled(discord.clickButton({ customId: `vote:down:${answerId}`, message: ix.original, user: voter }));
    expect(down.original?.content).toBe(MESSAGES.voteRecorded('down', null));
    // Stored before (and whether or not) the user comments.
    expect((await store.votes(answerId))[0]).toMatchObject({ value: 'down', comment: null });
    const commentButton = buttons(down.original).find((b) => b.custom_id === `comment:${answerId}`);
    expect(commentButton?.label).toBe('Deixar comentário');

    const open = await settled(discord.clickButton({ customId: `comment:${answerId}`, message: down.original, user: voter }));
    expect(open.callback?.type).toBe(9);
    const modal = open.modal!;
    expect(modal.custom_id).toBe(`comment:${answerId}`);
    const label = (modal.components as Json[])[0]!;
    expect(label.label).toBe(MESSAGES.commentPrompt);
    expect(label.component).toMatchObject({ type: 4, custom_id: 'comentario', required: false, max_length: 500 });

    const submit = await settled(
      discord.submitModal({ customId: `comment:${answerId}`, fields: { comentario: 'Faltou explicar a curva de validação.' }, user: voter }),
    );
    expect(submit.ephemeral).toBe(true);
    expect(submit.original?.content).toBe(MESSAGES.commentRecorded);
    const votes = await store.votes(answerId);
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ value: 'down', comment: 'Faltou explicar a curva de validação.' });

    // An empty submission keeps the vote and says so.
    const empty = await settled(discord.submitModal({ customId: `comment:${answerId}`, fields: { comentario: '   ' }, user: voter }));
    expect(empty.original?.content).toBe(MESSAGES.voteRecorded('down', 'down'));
  });

  it('over the rate limit: a private message saying when to try again, no public reply, no LLM call', async () => {
    const user = makeUser('apressado');
    for (let i = 0; i < 3; i++) {
      const ix = await settled(ask(`Pergunta ${i} sobre regularização L1 e L2`, user));
      expect(ix.callback?.type).toBe(5);
    }
    const llmCalls = llm.requests.length;
    const limited = await settled(ask('Mais uma sobre regularização', user));
    expect(limited.callback?.type).toBe(4);
    expect(limited.ephemeral).toBe(true);
    expect(String(limited.original?.content)).toMatch(/^⏳ Você fez muitas perguntas em pouco tempo\. Tente de novo em \d+ segundos?\.$/);
    expect(limited.edits).toHaveLength(0);
    expect(llm.requests.length).toBe(llmCalls);
    // Another user is not affected.
    const other = await settled(ask('O que é regularização?'));
    expect(other.callback?.type).toBe(5);
  });

  it('simultaneous questions over the limit: exactly the allowed ones are answered, the others are told privately', async () => {
    const user = makeUser('rajada');
    // Sent together: some pass the pre-defer check and are only refused inside BotService.ask,
    // after a public defer (the reply is then deleted and the refusal sent privately).
    const burst = Array.from({ length: 5 }, (_, i) => ask(`Rajada ${i}: o que é dropout?`, user));
    await Promise.all(burst.map((ix) => ix.waitFor(() => ix.callback)));
    await adapter.whenIdle();
    const answeredCount = burst.filter((ix) => voteIds(ix.original).length === 2).length;
    expect(answeredCount).toBe(3);
    for (const ix of burst.filter((i) => voteIds(i.original).length === 0)) {
      const privately =
        ix.callback?.type === 4 ? ix.ephemeral && ix.original?.content : ix.deleted && ix.followUps.length === 1 && (Number(ix.followUps[0]!.flags) & 64) === 64 && ix.followUps[0]!.content;
      expect(String(privately)).toMatch(/^⏳ Você fez muitas perguntas em pouco tempo/);
    }
  });

  it('an LLM failure ends with the deferred reply edited to a pt-BR error (also after a partial stream)', async () => {
    llm.enqueue({ type: 'error', status: 500 });
    const failed = await settled(ask('O que é validação cruzada?'));
    const last = failed.edits.at(-1)!.body;
    expect(last.content).toBe(`⚠️ ${LLM_USER_MESSAGES.unavailable}`);
    expect(last.embeds).toEqual([]);
    expect(last.components).toEqual([]);
    expect(failed.original?.flags).toBe(0);

    // The stream breaks off after a preview was shown: the preview is replaced by the error.
    llm.enqueue({ type: 'cut', afterChunks: 4, chunkDelayMs: 120, text: 'A validação cruzada divide os dados em k partes e treina k vezes' });
    const cut = await settled(ask('Como funciona a validação cruzada k-fold?'));
    expect(cut.edits.length).toBeGreaterThanOrEqual(2);
    expect(String(embeds(cut.edits[0]!.body)[0]?.description)).toMatch(/^A\b.*▌$/);
    expect(cut.edits.at(-1)!.body.content).toMatch(/^⚠️ O serviço de respostas/);
    expect(cut.original?.embeds).toEqual([]);
  });

  it('Discord refusing the rendered answer (50035) gets the same answer and links as plain text instead of an error', async () => {
    const refusal = { status: 400, body: { message: 'Invalid Form Body', code: 50035 } };
    const isFinal = (call: RestCall) => voteIds(call.body as Json).length > 0 && embeds(call.body as Json).length > 0;
    discord.failNext({ method: 'PATCH', path: '/messages/@original', match: isFinal, ...refusal });
    llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER });
    const refused = await settled(ask('O que é overfitting?'));
    const plain = [refused.original!, ...refused.followUps];
    expect(embeds(refused.original)).toEqual([]);
    expect(String(refused.original?.content)).toContain(OVERFITTING_ANSWER);
    expect(voteIds(refused.original)).toHaveLength(2); // still votable
    const record = await store.getAnswer(answerIdOf(refused));
    const text = plain.map((m) => String(m.content)).join('\n');
    for (const ref of record!.references) expect(text).toContain(`· ${formatClock(ref.start)}–${formatClock(ref.end)} — <${ref.url}>`);
    for (const m of plain) expectWithinLimits(m);
    expect(logLines.some((l) => l.includes('discord: the rendered answer was refused') && l.includes('50035'))).toBe(true);

    // Refused again as plain text: then, and only then, the error message.
    discord.failNext({ method: 'PATCH', path: '/messages/@original', match: (call) => voteIds(call.body as Json).length > 0, times: 2, ...refusal });
    llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER });
    const twice = await settled(ask('O que é overfitting?'));
    expect(twice.original?.content).toBe(`⚠️ ${MESSAGES.failed}`);
  });

  it('a refused continuation arrives as plain text; the answer around it is kept', async () => {
    discord.failNext({ method: 'POST', path: /^\/webhooks\/\d+\/[^/]+$/, match: (call) => embeds(call.body as Json).length > 0, status: 400, body: { message: 'Invalid Form Body', code: 50035 } });
    const long = `${OVERFITTING_ANSWER}\n\n`.repeat(30);
    llm.enqueue({ type: 'text', text: long, chunkSize: 2000 });
    const partial = await settled(ask('Explique overfitting com muitos detalhes'));
    expect(voteIds(partial.original)).toHaveLength(2);
    expect(String(embeds(partial.original)[0]?.description)).toMatch(/^Overfitting é quando/);
    const [plainPart, ...others] = partial.followUps;
    expect(embeds(plainPart)).toEqual([]);
    const squash = (t: string) => t.replace(/\s+/g, ' ').trim();
    expect(squash(long)).toContain(squash(String(plainPart!.content)));
    expect(others.some((m) => embeds(m).length > 0)).toBe(true); // the next continuation is sent as usual
    for (const m of partial.followUps) expectWithinLimits(m);
  });

  it('stale buttons, unknown buttons and unknown commands get a private explanation', async () => {
    const stale = await settled(discord.clickButton({ customId: 'vote:up:2b1f0c9e-0000-4000-8000-000000000000' }));
    expect(stale.ephemeral).toBe(true);
    expect(String(stale.original?.content)).toContain(MESSAGES.answerNotFound);

    const foreign = await settled(discord.clickButton({ customId: 'algo:antigo' }));
    expect(foreign.callback?.type).toBe(4);
    expect(foreign.ephemeral).toBe(true);
    expect(String(foreign.original?.content)).toContain(MESSAGES.answerNotFound);

    const staleModal = await settled(discord.submitModal({ customId: 'comment:2b1f0c9e-0000-4000-8000-000000000000', fields: { comentario: 'x' } }));
    expect(staleModal.ephemeral).toBe(true);
    expect(String(staleModal.original?.content)).toContain(MESSAGES.answerNotFound);

    const unknown = await settled(discord.slashCommand({ name: 'outra', options: {} }));
    expect(unknown.callback?.type).toBe(4);
    expect(unknown.ephemeral).toBe(true);
    expect(String(unknown.original?.content)).toContain(MESSAGES.unknownCommand);
  });

  it('a modal carrying a vote custom_id is not a vote: private explanation, nothing stored', async () => {
    const { answerId } = await answered('O que é validação cruzada?');
    const user = makeUser();
    const forged = await settled(discord.submitModal({ customId: `vote:down:${answerId}`, fields: { comentario: 'x' }, user }));
    expect(forged.ephemeral).toBe(true);
    expect(String(forged.original?.content)).toContain(MESSAGES.answerNotFound);
    expect(await store.votes(answerId)).toEqual([]);
  });

  it('a ~10 000-character answer is split cleanly within every Discord limit', async () => {
    const paragraph = (i: number) =>
      `Parágrafo ${i}: o overfitting aparece quando o modelo se ajusta demais aos dados de treino [1]. ` +
      'A regularização penaliza pesos grandes e a validação cruzada estima o erro em dados novos [2]. '.repeat(3);
    const long = Array.from({ length: 28 }, (_, i) => paragraph(i + 1)).join('\n\n');
    expect(long.length).toBeGreaterThan(9000);
    llm.enqueue({ type: 'text', text: long, chunkSize: 400 });
    const ix = await settled(ask('Explique overfitting em detalhes'));

    for (const body of ix.messageBodies) expectWithinLimits(body);
    for (const call of discord.requests.filter((r) => r.interactionId === ix.id)) expect(call.status).toBeLessThan(300);

    const final = ix.original!;
    expect(voteIds(final)).toHaveLength(2);
    expect(ix.followUps.length).toBeGreaterThanOrEqual(1);
    expect(ix.followUps.length).toBeLessThanOrEqual(3);
    const parts = [final, ...ix.followUps].map((m) => String(embeds(m)[0]?.description));
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    expect(squash(parts.join(' '))).toBe(squash(long));
    expect(embeds(final)[0]?.footer).toMatchObject({ text: expect.stringContaining('continua') });
  });

  it('mentions in the question or the answer stay inert: allowed_mentions is empty on every message', async () => {
    llm.enqueue({ type: 'text', text: '@everyone Overfitting é decorar o treino <@&123456789012345678> [1].' });
    const question = '@everyone <@&123456789012345678> <@222222222222222222> o que é overfitting?';
    const ix = await settled(ask(question));
    // The question is shown as answered and stored: mentioned ids replaced by neutral tokens.
    expect(embeds(ix.original)[0]?.title).toBe('@everyone @cargo @usuário o que é overfitting?');
    expect(ix.original?.content).toBe('');

    // Every message the bot sent in this whole run (replies, edits, follow-ups, confirmations).
    const messageCalls = discord.requests.filter(
      (r) =>
        (r.method === 'PATCH' && r.path.startsWith('/webhooks/')) ||
        (r.method === 'POST' && /^\/webhooks\/\d+\/[^/]+$/.test(r.path)) ||
        (r.path.endsWith('/callback') && [4, 7].includes(Number((r.body as Json).type))),
    );
    expect(messageCalls.length).toBeGreaterThan(20);
    for (const call of messageCalls) {
      const body = (call.path.endsWith('/callback') ? (call.body as Json).data : call.body) as Json;
      expect(body.allowed_mentions, `${call.method} ${call.path}`).toEqual({ parse: [], replied_user: false });
    }
  });
});

describe('Discord adapter: private answers, store failures, shutdown', () => {
  it('DISCORD_EPHEMERAL=true answers privately; an unrecorded answer has no vote buttons; stop() waits for work in flight', async () => {
    const fake = await startFakeDiscord({ token: TOKEN });
    let storeDown = false;
    const flaky = new Proxy(store, {
      get(target, prop) {
        if (prop === 'recordAnswer' && storeDown) return () => Promise.reject(new Error('store down'));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const privateConfig = makeConfig({ DISCORD_TOKEN: TOKEN, DISCORD_APPLICATION_ID: fake.applicationId, DISCORD_API_URL: fake.apiUrl, DISCORD_EPHEMERAL: 'true' });
    const bot = new BotService(core.answers, flaky, new RateLimiter(10), logger);
    const second = await startDiscord({ config: privateConfig, logger, bot, store: flaky }, { editIntervalMs: EDIT_INTERVAL_MS, clientOptions: FAST_IDENTIFY });
    try {
      const long = 'Overfitting é decorar o treino [1]. '.repeat(160);
      llm.enqueue({ type: 'text', text: long, chunkSize: 1000 });
      const ix = await settled(ask('O que é overfitting?', makeUser(), fake), second);
      expect(ix.ephemeral).toBe(true);
      expect(voteIds(ix.original)).toHaveLength(2);
      expect(ix.followUps.length).toBeGreaterThanOrEqual(1);
      for (const f of ix.followUps) expect(Number(f.flags) & 64).toBe(64);

      storeDown = true;
      llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER });
      const unrecorded = await settled(ask('O que é overfitting?', makeUser(), fake), second);
      expect(embeds(unrecorded.original)[0]?.description).toBe(OVERFITTING_ANSWER);
      expect(voteIds(unrecorded.original)).toEqual([]);
      expect(buttons(unrecorded.original).some((b) => b.style === 5)).toBe(true);
      storeDown = false;

      // A slow answer in flight when stop() is called is still delivered before stop() resolves.
      llm.enqueue({ type: 'text', text: OVERFITTING_ANSWER, delayMs: 400 });
      const slow = ask('O que é overfitting?', makeUser(), fake);
      await slow.waitFor(() => slow.callback);
      await second.stop();
      expect(voteIds(slow.original)).toHaveLength(2);
    } finally {
      await second.stop();
      await fake.close();
    }
  });
});

describe('Discord command registration', () => {
  const settings = () => ({
    DISCORD_TOKEN: TOKEN,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_GUILD_ID: undefined as string | undefined,
  });

  it('registers /pergunta in the guild when DISCORD_GUILD_ID is set, globally otherwise', async () => {
    const guild = await registerCommands({ ...settings(), DISCORD_GUILD_ID: discord.guildId }, logger);
    expect(guild).toEqual({ scope: 'guild', guildId: discord.guildId, commands: ['pergunta'] });
    const guildPut = discord.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(guildPut.path).toBe(`/applications/${discord.applicationId}/guilds/${discord.guildId}/commands`);
    expect(guildPut.authorized).toBe(true);
    const body = guildPut.body as Json[];
    expect(body).toHaveLength(1);
    expect(body[0]).toMatchObject({
      name: 'pergunta',
      type: 1,
      contexts: [0, 1],
      options: [
        { name: 'texto', type: 3, required: true, min_length: 1, max_length: 2000 },
        { name: 'aula', type: 3, required: false, max_length: 100, autocomplete: true },
      ],
    });
    expect(String(body[0]!.description)).toMatch(/aulas/);
    expect(discord.commands.guild(discord.guildId).map((c) => c.name)).toEqual(['pergunta']);

    const global = await registerCommands(settings(), logger);
    expect(global.scope).toBe('global');
    const globalPut = discord.requests.filter((r) => r.method === 'PUT').at(-1)!;
    expect(globalPut.path).toBe(`/applications/${discord.applicationId}/commands`);
    expect(globalPut.body).toEqual(body);
    expect(discord.commands.global.map((c) => c.name)).toEqual(['pergunta']);
  });

  it('fails with a clear message when credentials are missing or refused', async () => {
    await expect(registerCommands({ ...settings(), DISCORD_TOKEN: undefined }, logger)).rejects.toThrow(/DISCORD_TOKEN must be set/);
    await expect(registerCommands({ ...settings(), DISCORD_APPLICATION_ID: undefined }, logger)).rejects.toThrow(DiscordRegistrationError);
    await expect(registerCommands({ ...settings(), DISCORD_TOKEN: 'wrong-token' }, logger)).rejects.toThrow(/rejected DISCORD_TOKEN \(401\)/);
    await expect(registerCommands({ ...settings(), DISCORD_GUILD_ID: '999999999999999999' }, logger)).rejects.toThrow(/applications\.commands/);
  });
});

describe('Discord commands and components', () => {
  it('registers the data of every command module, keyed by its name', () => {
    expect([...commands.keys()]).toEqual(['pergunta']);
    expect(commandDefinitions().map((definition) => definition.name)).toEqual(['pergunta']);
  });

  it('keeps the custom_id formats of buttons already posted in chat', () => {
    const id = '2b1f0c9e-0000-4000-8000-000000000000';
    expect(customIds.vote('up', id)).toBe(`vote:up:${id}`);
    expect(customIds.vote('down', id)).toBe(`vote:down:${id}`);
    expect(customIds.comment(id)).toBe(`comment:${id}`);
    expect(voteComponent.parse(`vote:up:${id}`)).toEqual({ value: 'up', answerId: id });
    expect(voteComponent.parse(`vote:down:${id}`)).toEqual({ value: 'down', answerId: id });
    expect(commentComponent.parse(`comment:${id}`)).toEqual({ answerId: id });
  });

  it("each component recognises only its own custom_ids", () => {
    const id = 'abc_DEF-123';
    expect(voteComponent.parse(`comment:${id}`)).toBeNull();
    expect(commentComponent.parse(`vote:up:${id}`)).toBeNull();
    for (const bad of ['algo:antigo', 'vote:sideways:x', 'vote:up', `vote:up:${id}:extra`, 'vote:UP:x', `vote:up:${'a'.repeat(81)}`, 'vote:up:../x']) {
      expect(voteComponent.parse(bad), bad).toBeNull();
    }
    for (const bad of ['comment:', `comment:${id}:x`, 'comment:../../x', 'Comment:abc']) {
      expect(commentComponent.parse(bad), bad).toBeNull();
    }
  });
});

describe('Discord rendering limits', () => {
  it('keeps huge answers, many references and long titles within every limit', () => {
    const refs: Reference[] = Array.from({ length: 40 }, (_, i) => ({
      videoId: `v${i}`,
      title: `Aula ${i} — ${'um título bem comprido [com colchetes] (e parênteses) '.repeat(4)}`,
      start: 60 * i + 5.7,
      end: 60 * i + 95,
      url: `https://www.youtube.com/watch?v=abc${i}&t=${60 * i + 5}`,
    }));
    const result: AnswerResult = {
      id: '5d7a2a52-3c1e-4c7e-9a43-1f8c0f2f9a10',
      question: 'Q'.repeat(400),
      answer: 'Frase de teste com algumas palavras. '.repeat(1200),
      kind: 'llm',
      references: refs,
      segments: [],
      retriever: 'bm25',
      embeddingModel: null,
      model: 'fake-model',
      promptVersion: 'x',
      notices: ['Busca só lexical.', 'Outro aviso.'],
      timings: { retrieveMs: 1, generateMs: 1, totalMs: 2 },
      createdAt: new Date().toISOString(),
      retrievalQuery: null,
      lectureFilter: null,
      policy: null,
      conversationId: null,
      turn: null,
    };
    const rendered = renderAnswer(result, { votes: true });
    for (const m of [rendered.message, ...rendered.continuations]) expectWithinLimits(m as unknown as Json);
    expect(rendered.continuations).toHaveLength(3);
    // The cut is said in words, not only with a trailing "…".
    expect(String(rendered.continuations.at(-1)!.embeds[0]!.description).endsWith(`\n\n${MESSAGES.answerCut}`)).toBe(true);
    expect(buttons(rendered.message as unknown as Json).filter((b) => b.style === 5)).toHaveLength(5);
    // Every reference is visible somewhere (none folded into "…e mais N trechos").
    const visible = referenceText(rendered);
    for (const ref of refs) expect(visible).toContain(`](${ref.url}) · ${formatClock(ref.start)}–${formatClock(ref.end)}`);
  });

  it('shows every reference the answer cites: titles are shortened first, then references continue in more messages', () => {
    const longTitle = (i: number) => `Aula ${i} — ${'um título de aula realmente muito comprido '.repeat(5)}`;
    const cited = (n: number, url: (i: number) => string): AnswerResult => {
      const references: Reference[] = Array.from({ length: n }, (_, i) => ({
        videoId: `v${i}`,
        title: longTitle(i + 1),
        start: 60 * i,
        end: 60 * i + 90,
        url: url(i),
        excerpts: [i + 1],
      }));
      return answerResult({ answer: references.map((_, i) => `Ponto ${i + 1} [${i + 1}].`).join(' '), references });
    };

    // 30 cited references with long titles: all fit in the reply once titles are shortened.
    const short = renderAnswer(cited(30, (i) => `https://www.youtube.com/watch?v=vid${i}&t=${60 * i}`), { votes: true });
    expect(short.continuations).toEqual([]);
    const shortText = referenceText(short);
    for (let n = 1; n <= 30; n++) expect(shortText).toContain(`• [${n}] [`);
    expect(shortText).not.toMatch(/e mais \d+ trecho/);
    expect(shortText).not.toContain(longTitle(1)); // shortened…
    expect(shortText).toContain('Aula 1 — um título'); // …not dropped

    // 50 references whose (signed) URLs are long: they cannot fit in one message, so they continue.
    const signed = (i: number) => `https://cdn.cursos.example/videos/aula-${i}.mp4?X-Amz-Signature=${'ab12'.repeat(100)}&n=${i}#t=${60 * i}`;
    const long = renderAnswer(cited(50, signed), { votes: true });
    const messages = [long.message, ...long.continuations];
    for (const m of messages) expectWithinLimits(m as unknown as Json);
    expect(long.continuations.length).toBeGreaterThan(0);
    const longText = referenceText(long);
    for (let n = 1; n <= 50; n++) expect(longText).toContain(`• [${n}] [`);
    for (let i = 0; i < 50; i++) expect(longText).toContain(`](${signed(i)})`);
    // The reply says that the list goes on.
    expect(String(long.message.embeds[0]!.fields!.at(-1)!.value)).toMatch(/e mais \d+ trechos nas mensagens seguintes\.$/);
  });

  it('splits a long answer with code outside the code block, or closes the block and reopens it with its language', () => {
    const code = ['```python', ...Array.from({ length: 200 }, (_, i) => `    self.peso_${i} = pesos[${i}] * taxa  # camada ${i}`), '```'].join('\n');
    const answer = `O construtor guarda um peso por camada [1]:\n\n${code}\n\nDepois o treino ajusta os pesos [2].`;
    expect(answer.length).toBeGreaterThan(DISCORD_LIMITS.embedDescription * 2);
    const rendered = renderAnswer(answerResult({ answer }), { votes: true });
    const messages = [rendered.message, ...rendered.continuations];
    for (const m of messages) expectWithinLimits(m as unknown as Json);
    const parts = messages.map((m) => String(m.embeds[0]!.description));
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) expect(fenceCount(part) % 2, `unbalanced fences in:\n${part}`).toBe(0);
    for (const part of parts.slice(1)) if (part.includes('self.peso_')) expect(part.split('\n')[0]).toBe('```python');
    const codeLines = parts.join('\n').split('\n').filter((l) => l.includes('self.peso_'));
    expect(codeLines).toEqual(code.split('\n').filter((l) => l.includes('self.peso_')));
  });

  it('escapes Markdown in video titles and the question, and isolates titles from the text around them', () => {
    const ref: Reference = { videoId: 'v', title: 'Aula 7: __init__ e *args* [extra] ~~x~~ `y` ||z||', start: 60, end: 125, url: 'https://youtu.be/abc?t=60', excerpts: [2] };
    expect(referenceLine(ref)).toBe(
      '• [2] [\u2068Aula 7: \\_\\_init\\_\\_ e \\*args\\* \\[extra\\] \\~\\~x\\~\\~ \\`y\\` \\|\\|z\\|\\|\u2069](https://youtu.be/abc?t=60) · 1:00–2:05',
    );
    // Right-to-left text (and bidi controls smuggled into a title) cannot reorder the time range.
    const rtl: Reference = { videoId: 'v', title: 'درس \u202eالتعلم\u2069 الآلي', start: 60, end: 125, url: 'https://youtu.be/abc?t=60' };
    expect(referenceLine(rtl)).toBe('• [\u2068درس التعلم الآلي\u2069](https://youtu.be/abc?t=60) · 1:00–2:05');
    const rendered = renderAnswer(answerResult({ question: 'O que faz __init__ com *args*?', references: [ref, rtl] }), { votes: true });
    expect(rendered.message.embeds[0]!.title).toBe('O que faz \\_\\_init\\_\\_ com \\*args\\*?');
    const labels = buttons(rendered.message as unknown as Json).filter((b) => b.style === 5).map((b) => b.label);
    expect(labels).toEqual(['▶ 1:00 · \u2068Aula 7: __init__ e *args* [extra] ~~x~~ `y` ||z||\u2069', '▶ 1:00 · \u2068درس التعلم الآلي\u2069']);
  });

  it('a reference whose URL is too long for Discord keeps its title and time and says why it has no link', () => {
    const url = `https://cdn.cursos.example/aula.mp4?sig=${'x'.repeat(600)}#t=60`;
    const ref: Reference = { videoId: 'v', title: 'Aula longa', start: 60, end: 90, url, excerpts: [1] };
    expect(referenceLine(ref)).toBe(`• [1] \u2068Aula longa\u2069 · 1:00–1:30 (${MESSAGES.linkTooLong})`);
    const rendered = renderAnswer(answerResult({ references: [ref] }), { votes: true });
    expectWithinLimits(rendered.message as unknown as Json);
    expect(buttons(rendered.message as unknown as Json).filter((b) => b.style === 5)).toEqual([]);
  });

  it('streams at most one edit per second by default', () => {
    expect(DEFAULT_EDIT_INTERVAL_MS).toBe(1000);
  });
});

describe('Discord logging', () => {
  it('never logs the bot token or interaction tokens', () => {
    expect(logLines.length).toBeGreaterThan(10);
    const all = logLines.join('\n');
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(OPENAI_KEY);
    for (const ix of discord.interactions.values()) expect(all).not.toContain(ix.token);
    expect(all).toContain('discord: connected');
  });
});
