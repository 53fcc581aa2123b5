/** The contract between `npm start` and each chat adapter in `adapters/`. */
import type { Config } from '../config.js';
import { EXIT, UserError } from '../errors.js';
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

/**
 * An adapter could not start for a reason its message explains and the admin can fix (a token
 * the platform refuses, a port already taken): `npm start` prints it as one line, exit 1.
 */
export class AdapterStartError extends UserError {
  readonly exitCode = EXIT.failure;
  override readonly name = 'AdapterStartError';
}
