/**
 * How `npm start` sets up the human loop, from the settings and which adapters run in this process:
 *
 * - Verified answers (VERIFIED_ANSWERS, default on) are loaded from the store and used by every
 *   answer, whatever else runs: they are the store's, not a platform's.
 * - The queue needs SLACK_ESCALATION_CHANNEL. Then:
 *   - Slack and Discord here: on (students ask from Discord, TAs answer in Slack).
 *   - Discord here, Slack elsewhere: on only with a shared store (Redis, Postgres): the cases wait in
 *     the store's outbox for the Slack process; with SQLite nothing could ever post them, so off.
 *   - Slack here, Discord elsewhere: on; with a shared store the Discord process delivers, with
 *     SQLite the queue lives in Slack alone (TAs forward Slack answers).
 * One log line says which, so an admin sees at once why there is (or is not) a button.
 */
import type { Config } from '../config.js';
import type { Embedder } from '../embeddings/embedder.js';
import type { Logger } from '../logger.js';
import type { FeedbackStore } from '../store/types.js';
import type { Video } from '../types.js';
import { Knowledge } from './knowledge.js';
import { HumanLoop } from './service.js';

export interface LoopSetup {
  /** Loaded verified answers and notes (null with VERIFIED_ANSWERS=false). */
  knowledge: Knowledge | null;
  /** The queue, when on. */
  loop: HumanLoop | null;
  /** What the log line said. */
  mode: 'off' | 'on';
  reason: string;
  stop(): Promise<void>;
}

export async function setupHumanLoop(input: {
  config: Config;
  logger: Logger;
  store: FeedbackStore;
  embedder: Embedder | null;
  videos: ReadonlyMap<string, Video>;
  adapters: { discord: boolean; slack: boolean };
}): Promise<LoopSetup> {
  const { config, logger, store, adapters } = input;
  const pollMs = Math.round(config.OUTBOX_POLL_SECONDS * 1000);
  const thresholds = { dense: config.VERIFIED_MIN_SIMILARITY, lexical: config.VERIFIED_MIN_LEXICAL_SIMILARITY };
  // Knowledge is needed by the queue (new verified answers) even when answers do not use it.
  const knowledge = new Knowledge({ store, embedder: input.embedder, logger, thresholds });
  await knowledge.refresh();
  knowledge.start(pollMs);
  const shared = store.counter !== undefined;
  const channel = config.SLACK_ESCALATION_CHANNEL;
  let reason: string;
  let on = false;
  if (!channel) {
    reason = 'SLACK_ESCALATION_CHANNEL is not set: no "Chamar um monitor" button (see docs/human-loop.md)';
  } else if (!adapters.slack && !shared) {
    reason = `the TAs' queue lives in Slack, and with a one-process store (${store.description}) only a Slack adapter in this process could post it: run Slack here too, or share Redis/Postgres with a Slack process`;
  } else {
    on = true;
    if (adapters.slack && adapters.discord) reason = `students ask from Discord, TAs answer in Slack channel ${channel}`;
    else if (adapters.discord) reason = `cases wait in the store's outbox for the Slack process sharing ${store.description}, which posts them to ${channel}; this process delivers the TAs' answers to Discord (polling every ${config.OUTBOX_POLL_SECONDS} s)`;
    else if (shared) reason = `TAs answer in Slack channel ${channel}; a Discord process sharing ${store.description} delivers their answers to students`;
    else reason = `the queue lives in Slack alone (no Discord here, and ${store.description} is not shared): TAs forward Slack answers to ${channel}`;
  }
  const loop = on
    ? new HumanLoop({
        store,
        logger,
        videos: input.videos,
        knowledge,
        settings: { showNames: config.ESCALATION_SHOW_NAMES, reminderHours: config.ESCALATION_REMINDER_HOURS, pollMs },
      })
    : null;
  logger.info(
    { verifiedAnswers: config.VERIFIED_ANSWERS ? knowledge.verifiedAnswers.length : 'off', notes: knowledge.staffNotes.length },
    `human loop ${on ? 'on' : 'off'}: ${reason}`,
  );
  return {
    knowledge: config.VERIFIED_ANSWERS ? knowledge : null,
    loop,
    mode: on ? 'on' : 'off',
    reason,
    async stop() {
      await loop?.stop();
      knowledge.stop();
    },
  };
}
