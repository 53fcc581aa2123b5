/**
 * Opening the feedback store for the insights (report, digest), which only read: a SQLite
 * file that does not exist yet means nothing was recorded, and reading must not create it
 * (nor its salt), as `npm run export` does not.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { createFeedbackStore, sqlitePathOf } from '../store/createStore.js';
import type { FeedbackStore } from '../store/types.js';
import { EMPTY_SOURCE, insightsSource, type InsightsSource } from './collect.js';

export interface ReadableStore {
  source: InsightsSource;
  close(): Promise<void>;
}

export async function openStoreForInsights(config: Config, logger: Logger): Promise<ReadableStore> {
  const url = config.STORE_URL;
  if (/^sqlite:/i.test(url) && !existsSync(sqlitePathOf(url))) {
    logger.warn({ file: sqlitePathOf(url) }, 'the feedback store file does not exist yet: nothing has been recorded');
    return { source: EMPTY_SOURCE, close: async () => undefined };
  }
  const store: FeedbackStore = await createFeedbackStore({ url, salt: config.USER_ID_SALT, logger, journalDir: config.STORE_JOURNAL_DIR ?? null });
  return { source: insightsSource(store), close: () => store.close() };
}
