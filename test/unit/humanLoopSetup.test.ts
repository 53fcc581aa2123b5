/**
 * How `npm start` sets up the human loop (src/humanloop/setup.ts): on or off, and why, in one log
 * line, for each combination of the TAs' channel setting, the adapters in this process and a
 * one-process or shared store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { setupHumanLoop, type LoopSetup } from '../../src/humanloop/setup.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { recordingLogger } from '../helpers/course.js';

const setups: LoopSetup[] = [];
const stores: FeedbackStore[] = [];
afterEach(async () => {
  for (const s of setups.splice(0)) await s.stop();
  for (const s of stores.splice(0)) await s.close();
});

async function setup(env: Record<string, string>, adapters: { discord: boolean; slack: boolean }, shared: boolean) {
  const log = recordingLogger();
  const memory = await createFeedbackStore({ url: 'memory://', salt: 'sal-setup', logger: log.logger });
  stores.push(memory);
  // A shared store (Redis, Postgres) is one with cross-process counters.
  const store = shared ? (Object.assign(Object.create(memory) as FeedbackStore, { counter: { hit: async () => ({ recorded: true, hits: [] }), hits: async () => [] } })) : memory;
  const result = await setupHumanLoop({ config: loadConfig(env, '/nonexistent/.env'), logger: log.logger, store, embedder: null, videos: new Map(), adapters });
  setups.push(result);
  const lines = log.lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg.startsWith('human loop'));
  return { result, lines };
}

const CHANNEL = { SLACK_ESCALATION_CHANNEL: 'C0MONITORES' };

describe('human loop set-up', () => {
  it('is off without SLACK_ESCALATION_CHANNEL, and says why; verified answers are still used', async () => {
    const { result, lines } = await setup({}, { discord: true, slack: true }, false);
    expect(result.mode).toBe('off');
    expect(result.loop).toBeNull();
    expect(result.knowledge).not.toBeNull();
    expect(lines.map((l) => l.msg)).toEqual(['human loop off: SLACK_ESCALATION_CHANNEL is not set: no "Chamar um monitor" button (see docs/human-loop.md)']);
  });

  it('is on with both adapters in one process', async () => {
    const { result, lines } = await setup(CHANNEL, { discord: true, slack: true }, false);
    expect(result.loop).not.toBeNull();
    expect(lines[0]!.msg).toBe('human loop on: students ask from Discord, TAs answer in Slack channel C0MONITORES');
  });

  it('Discord alone: off on a one-process store (nothing could post the cases), on with a shared one', async () => {
    const alone = await setup(CHANNEL, { discord: true, slack: false }, false);
    expect(alone.result.mode).toBe('off');
    expect(alone.lines[0]!.msg).toMatch(/^human loop off: the TAs' queue lives in Slack, and with a one-process store \(memory\)/);
    const shared = await setup(CHANNEL, { discord: true, slack: false }, true);
    expect(shared.result.mode).toBe('on');
    expect(shared.lines[0]!.msg).toMatch(/^human loop on: cases wait in the store's outbox for the Slack process/);
  });

  it('Slack alone: the queue lives in Slack alone on a one-process store, or waits for a Discord process on a shared one', async () => {
    const alone = await setup(CHANNEL, { discord: false, slack: true }, false);
    expect(alone.result.mode).toBe('on');
    expect(alone.lines[0]!.msg).toMatch(/^human loop on: the queue lives in Slack alone .* TAs forward Slack answers to C0MONITORES/);
    const shared = await setup(CHANNEL, { discord: false, slack: true }, true);
    expect(shared.lines[0]!.msg).toMatch(/a Discord process sharing .* delivers their answers to students/);
  });

  it('VERIFIED_ANSWERS=false: answers do not reuse them (the queue still works)', async () => {
    const { result } = await setup({ ...CHANNEL, VERIFIED_ANSWERS: 'false' }, { discord: true, slack: true }, false);
    expect(result.knowledge).toBeNull();
    expect(result.loop).not.toBeNull();
  });
});
