/** The contract between `npm start` and each chat adapter in `adapters/`. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { FeedbackStore } from '../store/types.js';
import type { BotService } from './botService.js';

export interface AdapterDeps {
  config: Config;
  logger: Logger;
  bot: BotService;
  store: FeedbackStore;
}

export interface RunningAdapter {
  /** e.g. `discord`, `slack (socket mode)`. */
  readonly name: string;
  /** Stops taking new events, waits for the ones in flight (their votes stored), disconnects. */
  stop(): Promise<void>;
}
