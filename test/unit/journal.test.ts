/**
 * The local journal (src/store/journal.ts, src/store/journaledStore.ts) on a store whose backend
 * the test switches off and on: a Map behind keyv that throws while "down", so every backend
 * call fails the way a dead Redis or Postgres does (StoreUnavailableError), with no server.
 * The end-to-end outage tests on real servers are in test/helpers/journalSuite.ts.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Keyv } from 'keyv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JournaledFeedbackStore } from '../../src/store/journaledStore.js';
import { KeyvFeedbackStore, STORE_NAMESPACE } from '../../src/store/keyvStore.js';
import { AnswerNotFoundError, VoteNotFoundError } from '../../src/store/types.js';
import { recordingLogger, tempDir } from '../helpers/course.js';
import { newAnswer } from '../helpers/records.js';

/** A Map that fails every call while `down` (as a backend that does not answer). */
class SwitchableMap extends Map<string, unknown> {
  down = false;
  override get(key: string): unknown {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return super.get(key);
  }
  override set(key: string, value: unknown): this {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return super.set(key, value);
  }
  override entries(): MapIterator<[string, unknown]> {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    return super.entries();
  }
}

let root: string;
let dir: string;
let data: SwitchableMap;
const opened: JournaledFeedbackStore[] = [];

async function open(log = recordingLogger()) {
  const inner = await KeyvFeedbackStore.open(new Keyv({ store: data, namespace: STORE_NAMESPACE, throwOnErrors: true }), {
    description: 'switchable',
    salt: 'sal-do-diario-unitario',
    logger: log.logger,
    operationTimeoutMs: 1_000,
  });
  const store = await JournaledFeedbackStore.open(inner, { dir, logger: log.logger, replayIntervalMs: 60_000 });
  opened.push(store);
  return store;
}

const files = () => (existsSync(dir) ? readdirSync(dir).map((f) => path.join(dir, f)) : []);
const lines = () => files().flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
const ctx = (rawUserId: string) => ({ platform: 'discord' as const, channel: null, rawUserId });

beforeEach(async () => {
  root = await tempDir('journal-unit-');
  dir = path.join(root, 'store');
  data = new SwitchableMap();
});
afterEach(async () => {
  data.down = false;
  for (const s of opened.splice(0)) await s.close();
  await rm(root, { recursive: true, force: true });
});

describe('journaled feedback store', () => {
  it('writes nothing to disk while the store answers', async () => {
    const store = await open();
    const a = newAnswer();
    await store.recordAnswer(a, ctx('RAW-1'));
    await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-2', value: 'up' });
    expect(existsSync(dir)).toBe(false);
    expect(store.pendingEntries).toBe(0);
  });

  it('keeps what the store could not take, replays it in order when it is back, and deletes the journal only then', async () => {
    const store = await open();
    const stored = newAnswer();
    await store.recordAnswer(stored, ctx('RAW-ASKER'));
    data.down = true;
    const a = newAnswer();
    expect((await store.recordAnswer(a, ctx('RAW-ASKER'))).user).toBe(store.pseudonymize('discord', 'RAW-ASKER'));
    expect(await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'up' })).toMatchObject({ previous: null });
    expect(await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'down', comment: 'faltou' })).toMatchObject({ previous: 'up' });
    expect(await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'up' })).toMatchObject({ previous: 'down', vote: { comment: 'faltou' } });
    await store.commentVote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', comment: 'agora sim' });
    await expect(store.commentVote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-OTHER', comment: 'x' })).rejects.toBeInstanceOf(VoteNotFoundError);
    await store.annotate({ answerId: a.id, platform: 'slack', rawUserId: 'RAW-TA', label: 'I' });
    await store.vote({ answerId: stored.id, platform: 'slack', rawUserId: 'RAW-W', value: 'down' });
    expect(store.pendingEntries).toBe(7);
    expect(lines()).toHaveLength(7);
    expect(lines().join('\n')).not.toContain('RAW-');

    // Still down: a replay changes nothing and deletes nothing.
    await store.replay();
    expect(lines()).toHaveLength(7);

    data.down = false;
    await store.replay();
    expect(existsSync(dir)).toBe(false);
    expect(store.pendingEntries).toBe(0);
    const records = await store.listRecords();
    expect(records).toHaveLength(2);
    const first = records.find((r) => r.id === stored.id);
    const second = records.find((r) => r.id === a.id);
    expect(first?.votes.items).toMatchObject([{ value: 'down', user: store.pseudonymize('slack', 'RAW-W') }]);
    expect(second?.votes.items).toMatchObject([{ value: 'up', comment: 'agora sim' }]);
    expect(second?.annotation).toMatchObject({ label: 'I' });
  });

  it('replays idempotently: an answer already stored is not written again, an older vote does not replace a newer one', async () => {
    const log = recordingLogger();
    const store = await open(log);
    data.down = true;
    const a = newAnswer();
    await store.recordAnswer(a, ctx('RAW-ASKER'));
    await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'up' });
    const journal = lines();
    // As if the first replay stopped after the store took everything but before the file was deleted.
    data.down = false;
    await store.replay();
    await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'down' });
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'otherhost-1-1-0.jsonl'), `${journal.join('\n')}\n`);
    const longAgo = new Date(Date.now() - 10 * 60_000);
    utimesSync(path.join(dir, 'otherhost-1-1-0.jsonl'), longAgo, longAgo); // not touched for long: its owner is gone
    await store.replay();
    const records = await store.listRecords();
    expect(records).toHaveLength(1);
    expect(records[0]?.votes.items).toMatchObject([{ value: 'down' }]);
    expect(files()).toEqual([]);
    expect(log.lines.some((l) => l.includes('adopted the unreplayed writes'))).toBe(true);
  });

  it('skips a torn last line and a damaged line with a log line; drops a write for an unknown answer with a log line', async () => {
    const log = recordingLogger();
    const store = await open(log);
    data.down = true;
    const a = newAnswer();
    await store.recordAnswer(a, ctx('RAW-ASKER'));
    await store.vote({ answerId: 'nunca-existiu', platform: 'discord', rawUserId: 'RAW-V', value: 'up' });
    await store.vote({ answerId: a.id, platform: 'discord', rawUserId: 'RAW-V', value: 'up' });
    const [file] = files();
    const text = readFileSync(file!, 'utf8').split('\n');
    writeFileSync(file!, `${text[0]}\n{isto não é json\n${text[1]}\n${text[2]}\n{"v":1,"type":"vo`);
    data.down = false;
    await store.replay();
    const [record] = await store.listRecords();
    expect(record?.id).toBe(a.id);
    expect(record?.votes.up).toBe(1);
    expect(log.lines.some((l) => l.includes('torn last line'))).toBe(true);
    expect(log.lines.some((l) => l.includes('not valid JSON') && l.includes('"line":2'))).toBe(true);
    expect(log.lines.some((l) => l.includes('dropped a write for an answer the store does not have'))).toBe(true);
    expect(files()).toEqual([]);
  });

  it('reports the write as failed (the error of the store, logged) when the journal cannot be written either', async () => {
    const log = recordingLogger();
    writeFileSync(path.join(root, 'blocker'), 'a file where the journal folder would go');
    dir = path.join(root, 'blocker', 'store');
    const store = await open(log);
    data.down = true;
    await expect(store.recordAnswer(newAnswer(), ctx('RAW'))).rejects.toThrow(/^feedback store unavailable: switchable: .* failed: connect ECONNREFUSED/);
    expect(store.pendingEntries).toBe(0);
    expect(log.lines.some((l) => l.includes('journal: could not write'))).toBe(true);
  });

  it('answers AnswerNotFoundError as before when the store is up and the answer unknown', async () => {
    const store = await open();
    await expect(store.vote({ answerId: 'desconhecida', platform: 'discord', rawUserId: 'RAW', value: 'up' })).rejects.toBeInstanceOf(AnswerNotFoundError);
    expect(existsSync(dir)).toBe(false);
  });
});
