/**
 * The local journal of the feedback store (src/store/journaledStore.ts) against a real server
 * that the test stops and starts: answers and votes given while the store is down are stored once
 * it is back, by the same process or by the next one (after a clean stop, and after a SIGKILL).
 * test/reliability/faults.journal.test.ts runs it on Redis, test/stores/postgres.test.ts on Postgres.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MESSAGES } from '../../src/bot/messages.js';
import { toJsonl } from '../../src/evaluation/exportRecords.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore, FullRecord } from '../../src/store/types.js';
import { cliEnv } from './cli.js';
import { recordingLogger, tempDir } from './course.js';
import { startSampleCore, type SampleCore } from './sampleBot.js';

export interface StoppableServer {
  /** STORE_URL of the server. */
  readonly url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

const SALT = 'sal-do-diario';

/** Every file under `dir` (the journal folder of one store), as text. */
function journalText(dir: string): { files: string[]; text: string } {
  if (!existsSync(dir)) return { files: [], text: '' };
  const files: string[] = [];
  let text = '';
  for (const sub of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!sub.isFile()) continue;
    const file = path.join(sub.parentPath, sub.name);
    files.push(file);
    text += readFileSync(file, 'utf8');
  }
  return { files, text };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms (${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function journalSuite(name: string, server: () => StoppableServer): void {
  describe(`feedback store journal: ${name}`, () => {
    let sample: SampleCore;
    let work: string;
    const open: FeedbackStore[] = [];
    const openStore = async (journalDir: string, logger = recordingLogger().logger) => {
      const store = await createFeedbackStore({ url: server().url, salt: SALT, logger, journalDir, journalReplayMs: 200, operationTimeoutMs: 2_000, connectTimeoutMs: 1_000 });
      open.push(store);
      return store;
    };

    beforeAll(async () => {
      sample = await startSampleCore();
      work = await tempDir('journal-');
    });
    // A test that failed halfway must not leave the next one without a server.
    beforeEach(() => server().start());
    afterAll(async () => {
      for (const s of open.splice(0)) await s.close().catch(() => undefined);
      await sample?.close();
      await rm(work, { recursive: true, force: true });
    });

    it('stores the 20 answers given while the store was down, with every vote, comment and annotation, once it is back', async () => {
      const journalDir = path.join(work, 'twenty');
      const log = recordingLogger();
      const store = await openStore(journalDir, log.logger);
      const bot = sample.bot(store, { logger: log.logger });
      const before = await bot.ask({ platform: 'discord', userId: '111111111111111111', channel: 'c', question: 'O que é dropout?' });
      expect(before).toMatchObject({ status: 'answered', recorded: true });
      const beforeId = before.status === 'answered' ? before.result.id : '';
      expect((await bot.vote({ platform: 'discord', userId: '222222222222222222', answerId: beforeId, value: 'up' })).ok).toBe(true);

      await server().kill();
      const asked = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          bot.ask({ platform: i % 2 ? 'slack' : 'discord', userId: `RAW-ASKER-${i}`, channel: 'c', question: `O que é regularização? (${i})` }),
        ),
      );
      // Every student got the answer, with vote buttons (recorded: kept in the journal).
      for (const outcome of asked) expect(outcome).toMatchObject({ status: 'answered', recorded: true });
      const ids = asked.map((o) => (o.status === 'answered' ? o.result.id : ''));

      // Votes on the journaled answers get the normal confirmations, as does a vote on an answer
      // the store already had.
      for (const [i, id] of ids.entries()) {
        expect(await bot.vote({ platform: 'discord', userId: 'RAW-VOTER-A', answerId: id, value: 'up' })).toEqual({ ok: true, message: MESSAGES.voteRecorded('up', null) });
        expect((await bot.vote({ platform: 'slack', userId: 'RAW-VOTER-B', answerId: id, value: i % 3 ? 'up' : 'down' })).ok).toBe(true);
      }
      expect(await bot.vote({ platform: 'discord', userId: 'RAW-VOTER-A', answerId: ids[0]!, value: 'down' })).toEqual({ ok: true, message: MESSAGES.voteRecorded('down', 'up') });
      expect(await bot.comment({ platform: 'slack', userId: 'RAW-VOTER-B', answerId: ids[0]!, comment: 'faltou um exemplo' })).toEqual({ ok: true, message: MESSAGES.commentRecorded });
      expect(await bot.comment({ platform: 'slack', userId: 'RAW-NEVER-VOTED', answerId: ids[1]!, comment: 'x' })).toMatchObject({ ok: false, reason: 'not-found' });
      expect((await bot.annotate({ platform: 'slack', userId: 'RAW-TA', answerId: ids[2]!, label: 'P', allowed: true })).ok).toBe(true);
      expect((await bot.vote({ platform: 'slack', userId: 'RAW-VOTER-B', answerId: beforeId, value: 'down' })).ok).toBe(true);

      // On disk meanwhile: pseudonyms, never the raw ids; the store itself refuses to list.
      const { files, text } = journalText(journalDir);
      expect(files.length).toBeGreaterThan(0);
      // 20 answers and their 20 conversation turns, 40 votes, a vote change, a comment, an annotation, a vote.
      expect(text.split('\n').filter(Boolean)).toHaveLength(20 + 20 + 40 + 1 + 1 + 1 + 1);
      expect(text).not.toMatch(/RAW-|111111111111111111|222222222222222222/);
      expect(text).toContain(store.pseudonymize('discord', 'RAW-VOTER-A'));
      await expect(store.listRecords()).rejects.toThrow(/unavailable/);
      expect(log.lines.filter((l) => l.includes('answer kept in the local journal'))).toHaveLength(20);

      await server().start();
      // The journal's files first: read before them, the records could predate the last replayed
      // entry while the files are already gone by the time they are looked at.
      const records = await until('journal replayed', async () => {
        if (journalText(journalDir).files.length > 0) return undefined;
        const all = await store.listRecords();
        return all.length === 21 ? all : undefined;
      });
      expect(new Set(records.map((r) => r.id)).size).toBe(21);
      const byId = new Map(records.map((r) => [r.id, r] as [string, FullRecord]));
      for (const [i, id] of ids.entries()) {
        const r = byId.get(id)!;
        expect(r.question).toBe(`O que é regularização? (${i})`);
        expect(r.user).toBe(store.pseudonymize(i % 2 ? 'slack' : 'discord', `RAW-ASKER-${i}`));
        expect(r.votes.items).toHaveLength(2);
      }
      expect(byId.get(ids[0]!)!.votes).toMatchObject({ up: 0, down: 2 });
      expect(byId.get(ids[0]!)!.votes.items.find((v) => v.user === store.pseudonymize('slack', 'RAW-VOTER-B'))?.comment).toBe('faltou um exemplo');
      expect(byId.get(ids[2]!)!.annotation).toMatchObject({ label: 'P', annotator: store.pseudonymize('slack', 'RAW-TA') });
      expect(byId.get(beforeId)!.votes).toMatchObject({ up: 1, down: 1 });
      // The export has them all, once.
      expect(toJsonl(records).trim().split('\n')).toHaveLength(21);
      // Every journal line was replayed (in one go or a few, as the server came back), none dropped.
      const replays = log.lines.filter((l) => l.includes('now stored')).map((l) => JSON.parse(l) as { replayed: number; dropped: number });
      expect(replays.reduce((n, r) => n + r.replayed, 0)).toBe(84);
      // The conversations of the journaled answers are there too: a follow-up will see them.
      for (const id of ids.slice(0, 3)) {
        const conversationId = byId.get(id)!.conversationId!;
        expect((await store.getConversation(conversationId))?.turns.map((t) => [t.turn, t.answerId])).toEqual([[1, id]]);
      }
      expect(replays.reduce((n, r) => n + r.dropped, 0)).toBe(0);
      // Back to normal: votes go straight to the store.
      expect((await bot.vote({ platform: 'discord', userId: 'RAW-VOTER-C', answerId: ids[3]!, value: 'up' })).ok).toBe(true);
      expect(await store.votes(ids[3]!)).toHaveLength(3);
      expect(journalText(journalDir).files).toEqual([]);
    });

    it('a journal left by a process that stopped while the store was down is replayed by the next one at start-up; a torn last line is skipped with a log line', async () => {
      const journalDir = path.join(work, 'restart');
      const first = await openStore(journalDir);
      const bot = sample.bot(first);
      await server().kill();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const outcome = await bot.ask({ platform: 'discord', userId: `RAW-R-${i}`, channel: null, question: `Pergunta antes de parar ${i}?` });
        if (outcome.status !== 'answered') throw new Error(`not answered: ${outcome.status}`);
        ids.push(outcome.result.id);
        expect((await bot.vote({ platform: 'slack', userId: 'RAW-R-VOTER', answerId: outcome.result.id, value: 'down', comment: 'incompleta' })).ok).toBe(true);
      }
      await first.close(); // a clean stop while the store is still down: the journal stays
      const { files, text } = journalText(journalDir);
      expect(files.length).toBeGreaterThan(0);
      expect(text.split('\n').filter(Boolean)).toHaveLength(15); // 5 answers, their 5 turns, 5 votes
      // A crash in the middle of a line leaves it torn.
      await appendFile(files.sort().at(-1)!, '{"v":1,"type":"vote","vote":{"answerId":"');

      await server().start();
      const log = recordingLogger();
      const second = await openStore(journalDir, log.logger);
      // Replayed before the store is handed over.
      const records = (await second.listRecords()).filter((r) => ids.includes(r.id));
      expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
      for (const r of records) expect(r.votes.items).toMatchObject([{ value: 'down', comment: 'incompleta', user: second.pseudonymize('slack', 'RAW-R-VOTER') }]);
      expect(log.lines.some((l) => l.includes('adopted the unreplayed writes'))).toBe(true);
      expect(log.lines.some((l) => l.includes('torn last line'))).toBe(true);
      expect(journalText(journalDir).files).toEqual([]);
    });

    it('a bot process killed (SIGKILL) while the store was down loses nothing it confirmed: the next process stores it', async () => {
      const journalDir = path.join(work, 'crash');
      // node itself (not the tsx wrapper, which runs node as its own child): SIGKILL must hit the bot.
      const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('test/helpers/journalChild.ts')], {
        env: cliEnv({ STORE_URL: server().url, USER_ID_SALT: SALT, JOURNAL_DIR: journalDir, ANSWERS: '4' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        await until('child ready', async () => (stdout.includes('ready\n') ? true : child.exitCode !== null ? Promise.reject(new Error(stderr)) : undefined), 60_000);
        await server().kill();
        child.stdin.write('go\n');
        const line = await until('child journaled', async () => /journaled (.+)\n/.exec(stdout)?.[1], 60_000);
        const ids = line.split(',');
        child.kill('SIGKILL');
        await until('child gone', async () => (child.signalCode !== null ? true : undefined));
        expect(journalText(journalDir).text).not.toContain('U-RAW-');

        await server().start();
        const store = await openStore(journalDir);
        const records = (await store.listRecords()).filter((r) => ids.includes(r.id));
        expect(records).toHaveLength(4);
        for (const r of records) expect(r.votes.up).toBe(1);
        expect(journalText(journalDir).files).toEqual([]);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (!stdout.includes('journaled')) console.error(stderr);
      }
    });
  });
}
