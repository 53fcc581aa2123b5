/**
 * Start-up faults at the level users meet them:
 * - a truncated or corrupt index file stops `npm run ask` and `npm start` with a clear error that
 *   names the file (and says how to rebuild), exit code 1, nothing on stdout;
 * - a corrupt or missing embedding model (MODEL_CACHE_DIR) does not stop anything: `ask` and the
 *   Discord adapter answer lexical-only, with the pt-BR notice shown to the user.
 * The CLI runs are real child processes (test/helpers/lowPriority.ts); they run while the
 * in-process adapter checks do.
 */
import { cp, mkdir, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDiscord, type DiscordAdapterOptions } from '../../adapters/discord/index.js';
import { BotService } from '../../src/bot/botService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { loadTransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { currentGeneration } from '../../src/index/indexFiles.js';
import { NOTICE_NO_MODEL } from '../../src/retrieval/hybridRetriever.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { makeUser, startFakeDiscord, type FakeDiscord, type Json } from '../fakes/fakeDiscord.js';
import { cliEnv, type CliResult } from '../helpers/cli.js';
import { SAMPLE_COURSE, ingestWithModel, recordingLogger, tempDir } from '../helpers/course.js';
import { runCliLowPriority } from '../helpers/lowPriority.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const MODEL = 'tiny-e5';
const FAST_IDENTIFY: DiscordAdapterOptions['clientOptions'] = {
  ws: { buildIdentifyThrottler: () => ({ waitForIdentify: async () => undefined }) },
};

let work: string;
let goodModels: string;
let corruptModels: string;
let emptyModels: string;
let goodIndex: string;
let discord: FakeDiscord;
/** The Discord `npm start` would connect to (it must not get that far). */
let discordForStart: FakeDiscord;
const cli = new Map<string, Promise<CliResult>>();
const damaged = new Map<string, string>();

/** A copy of the good index with one of its files damaged; returns the index folder. */
async function damagedIndex(name: string, file: string, damage: (file: string) => Promise<void>): Promise<string> {
  const dir = path.join(work, name);
  await cp(goodIndex, dir, { recursive: true });
  const target = path.join((await currentGeneration(dir))!, file);
  await damage(target);
  damaged.set(name, target);
  return dir;
}

beforeAll(async () => {
  work = await tempDir('faults-startup-');
  goodModels = path.join(work, 'models');
  await writeTinyModel(goodModels, MODEL);
  // The same model with a corrupt ONNX graph, and an empty cache (no model at all).
  corruptModels = path.join(work, 'corrupt-models');
  await writeTinyModel(corruptModels, MODEL);
  await writeFile(path.join(corruptModels, MODEL, 'onnx', 'model_quantized.onnx'), 'not a protobuf: the download was cut');
  emptyModels = path.join(work, 'empty-models');
  await mkdir(emptyModels, { recursive: true });

  // A good hybrid index of the sample course, built with the model.
  const tiny = await loadTransformersEmbedder({ modelId: MODEL, localModelPath: goodModels, allowRemote: false });
  goodIndex = path.join(work, 'good-index');
  await ingestWithModel(SAMPLE_COURSE, goodIndex, tiny);
  await tiny.dispose();

  [discord, discordForStart] = await Promise.all([startFakeDiscord({ token: 'startup-token' }), startFakeDiscord({ token: 'startup-token' })]);
  const truncatedWindows = await damagedIndex('truncated-windows', 'windows.jsonl', (f) => truncate(f, 200));
  const corruptManifest = await damagedIndex('corrupt-manifest', 'manifest.json', (f) => writeFile(f, '{"formatVersion": 1, "videos": ['));

  // The CLI runs start now and are checked by the tests below.
  const base = { MODEL_CACHE_DIR: goodModels, EMBEDDING_MODEL: MODEL };
  cli.set('ask-truncated', runCliLowPriority('src/cli/ask.ts', ['O que é dropout?'], cliEnv({ ...base, INDEX_DIR: truncatedWindows }), 45_000));
  cli.set(
    'start-corrupt',
    runCliLowPriority(
      'adapters/main.ts',
      [],
      cliEnv({
        ...base,
        INDEX_DIR: corruptManifest,
        DISCORD_TOKEN: 'startup-token',
        DISCORD_APPLICATION_ID: discordForStart.applicationId,
        DISCORD_API_URL: discordForStart.apiUrl,
        STORE_URL: `sqlite://${path.join(work, 'start.sqlite')}`,
      }),
      45_000,
    ),
  );
  cli.set(
    'ask-corrupt-model',
    runCliLowPriority('src/cli/ask.ts', ['--json', 'Qual a diferença entre transfer learning e fine tuning?'], cliEnv({ MODEL_CACHE_DIR: corruptModels, EMBEDDING_MODEL: MODEL, INDEX_DIR: goodIndex }), 45_000),
  );
  for (const p of cli.values()) p.catch(() => undefined);
});

afterAll(async () => {
  await Promise.allSettled(cli.values());
  await Promise.all([discord?.close(), discordForStart?.close()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a corrupt or missing embedding model falls back to keyword search, with a notice', () => {
  it('npm run ask with a corrupt model in MODEL_CACHE_DIR: answers lexical-only, says so, exit 0', async () => {
    const res = await cli.get('ask-corrupt-model')!;
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { retriever: string; embeddingModel: string | null; notices: string[]; segments: Array<{ videoId: string }> };
    expect(out.retriever).toBe('bm25');
    expect(out.embeddingModel).toBeNull();
    expect(out.notices).toContain(NOTICE_NO_MODEL);
    expect(out.segments[0]!.videoId).toBe('aula06');
    expect(res.stderr).toContain(`aviso: ${NOTICE_NO_MODEL}`);
    expect(res.stderr).toMatch(/embedding model unavailable, using lexical-only retrieval/);
  });

  it.each([
    ['corrupt', () => corruptModels],
    ['missing', () => emptyModels],
  ])('the Discord adapter with a %s model answers, the notice in the reply’s footer', async (_what, modelDir) => {
    const log = recordingLogger();
    const config = loadConfig(
      {
        COURSE_DIR: SAMPLE_COURSE,
        INDEX_DIR: goodIndex,
        MODEL_CACHE_DIR: modelDir(),
        EMBEDDING_MODEL: MODEL,
        EMBEDDING_OFFLINE: 'true',
        RATE_LIMIT_PER_MINUTE: '100',
        DISCORD_TOKEN: 'startup-token',
        DISCORD_APPLICATION_ID: discord.applicationId,
        DISCORD_API_URL: discord.apiUrl,
      },
      path.join(work, 'no.env'),
    );
    // The real start-up path: createCore loads (tries to load) the model itself.
    const core = await createCore(config, log.logger);
    expect(core.embedder).toBeNull();
    expect(log.lines.some((l) => l.includes('embedding model unavailable, using lexical-only retrieval'))).toBe(true);
    const store = await createFeedbackStore({ url: 'memory://', salt: 'startup-salt', logger: log.logger });
    const adapter = await startDiscord(
      { config, logger: log.logger, bot: new BotService(core.answers, store, new RateLimiter(100), log.logger), store },
      { clientOptions: FAST_IDENTIFY },
    );
    try {
      const ix = discord.slashCommand({ name: 'pergunta', options: { texto: 'Qual a diferença entre transfer learning e fine tuning?' }, user: makeUser() });
      await ix.waitFor(() => ix.original && Number(ix.original.flags) === 0 && ix.edits.length > 0, 15_000);
      await adapter.whenIdle();
      const embed = ((ix.original?.embeds ?? []) as Json[])[0];
      expect(String(embed?.description)).toContain('Resposta extraída das transcrições');
      expect((embed?.footer as Json | undefined)?.text).toContain(NOTICE_NO_MODEL);
    } finally {
      await adapter.stop();
      await store.close();
    }
  });
});

describe('a damaged index stops start-up with an error naming the file', () => {
  it('npm run ask, windows.jsonl truncated → exit 1, the file named, how to fix it', async () => {
    const res = await cli.get('ask-truncated')!;
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain(`index file ${damaged.get('truncated-windows')!} is unusable`);
    expect(res.stderr).toMatch(/truncated or modified/);
    expect(res.stderr).toContain('npm run ingest');
    // A clear message, not a stack trace.
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  it('npm start (Discord configured), manifest.json corrupt → exit 1 before connecting, the file named', async () => {
    const res = await cli.get('start-corrupt')!;
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`index file ${damaged.get('corrupt-manifest')!} is unusable`);
    expect(res.stderr).toContain('npm run ingest');
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stderr).not.toContain('startup-token');
    // It stopped before logging in to Discord.
    expect(discordForStart.identifies).toHaveLength(0);
    expect(discordForStart.requests).toHaveLength(0);
  });
});
