/**
 * The real answer core on the sample course (BM25 only, extractive answers: no model, no LLM),
 * for tests that drive BotService end to end without a chat platform.
 *
 *   const sample = await startSampleCore();
 *   const bot = sample.bot(store, { limit: 3 });
 *   await sample.close();
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { BotService, type BotServiceOptions } from '../../src/bot/botService.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { loadConfig } from '../../src/config.js';
import { createCore, type Core } from '../../src/core.js';
import type { Logger } from '../../src/logger.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from './course.js';

export interface SampleCore {
  core: Core;
  /** A BotService on this core and `store` (rate limit `limit` per minute, default 1000; `options`: quota, conversations). */
  bot(store: FeedbackStore, opts?: { limit?: number; logger?: Logger; now?: () => number; options?: BotServiceOptions }): BotService;
  close(): Promise<void>;
}

export async function startSampleCore(): Promise<SampleCore> {
  const work = await tempDir('sample-core-');
  const config = loadConfig({ COURSE_DIR: SAMPLE_COURSE }, path.join(work, 'no.env'));
  const core = await createCore(config, silentLogger(), { indexDir: path.join(work, 'index'), buildIfMissing: true, embedder: null });
  return {
    core,
    bot: (store, opts = {}) =>
      new BotService(core.answers, store, new RateLimiter(opts.limit ?? 1000, 60_000, opts.now ?? Date.now), opts.logger ?? silentLogger(), opts.options),
    async close() {
      await core.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
