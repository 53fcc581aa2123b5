/** The contract between `npm start` and each chat adapter in `adapters/`. */
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { HumanLoop } from '../humanloop/service.js';
import type { FeedbackStore } from '../store/types.js';
import type { BotService } from './botService.js';

export interface AdapterDeps {
  config: Config;
  logger: Logger;
  bot: BotService;
  store: FeedbackStore;
  /**
   * The human loop (docs/human-loop.md), when it is on: the Discord adapter offers "Chamar um
   * monitor" and delivers TAs' answers; the Slack adapter posts the cases to the TAs' channel.
   */
  humanLoop?: HumanLoop;
}

export interface RunningAdapter {
  /** e.g. `discord`, `slack (socket mode)`. */
  readonly name: string;
  /** Stops taking new events, waits for the ones in flight (their votes stored), disconnects. */
  stop(): Promise<void>;
}
