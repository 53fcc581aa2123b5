/**
 * The question rate limit across bot processes, as one suite for every networked store: two
 * BotServices, each with its own store instance on the same server (as two `npm start`
 * processes behind one Redis or Postgres), on the real answer core of the sample course.
 * test/unit/rateLimit.test.ts runs it on Redis, test/stores/postgres.test.ts on Postgres.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AskOutcome, BotService } from '../../src/bot/botService.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FeedbackStore } from '../../src/store/types.js';
import { recordingLogger, silentLogger, tempDir } from './course.js';
import { startSampleCore, type SampleCore } from './sampleBot.js';

export interface SharedServer {
  /** STORE_URL of the server. */
  readonly url: string;
  /** Every key of the store's shared counters. */
  counterKeys(): Promise<string[]>;
  /** Crashes the server / starts it again (same data). */
  kill(): Promise<void>;
  start(): Promise<void>;
}

const LIMIT = 3;
const QUESTION = 'O que é regularização?';

export function rateLimitAcrossProcesses(name: string, server: () => SharedServer): void {
  describe(`rate limit across two bot processes: ${name}`, () => {
    let sample: SampleCore;
    const stores: FeedbackStore[] = [];
    let now = Date.UTC(2026, 2, 2, 12, 0, 0);
    const clock = () => now;

    let journal: string;

    beforeAll(async () => {
      sample = await startSampleCore();
      journal = await tempDir('rate-limit-journal-');
    });
    afterAll(async () => {
      for (const s of stores.splice(0)) await s.close();
      await sample?.close();
      await rm(journal, { recursive: true, force: true });
    });

    async function twoProcesses(logger = silentLogger()): Promise<[BotService, BotService]> {
      const open = async () => {
        const store = await createFeedbackStore({ url: server().url, salt: 'sal-do-limite', logger, operationTimeoutMs: 3_000, connectTimeoutMs: 2_000, journalDir: journal });
        stores.push(store);
        return store;
      };
      return [sample.bot(await open(), { limit: LIMIT, now: clock, logger }), sample.bot(await open(), { limit: LIMIT, now: clock, logger })];
    }
    const ask = (bot: BotService, userId: string) => bot.ask({ platform: 'discord', userId, channel: null, question: QUESTION });
    const statuses = (outcomes: AskOutcome[]) => outcomes.map((o) => o.status);

    it('counts one user’s questions in the store: the limit holds across both processes, as a sliding window', async () => {
      const [a, b] = await twoProcesses();
      const t0 = now;
      const asked: AskOutcome[] = [];
      asked.push(await ask(a, 'aluna-1'));
      now = t0 + 10_000;
      asked.push(await ask(a, 'aluna-1'));
      now = t0 + 20_000;
      asked.push(await ask(b, 'aluna-1'));
      expect(statuses(asked)).toEqual(['answered', 'answered', 'answered']);

      // Process b has seen one question from her, but the store has three in the last minute.
      now = t0 + 25_000;
      const refused = await ask(b, 'aluna-1');
      expect(refused).toMatchObject({ status: 'rate-limited', retryAfterSeconds: 35 });
      expect(refused.status === 'rate-limited' && refused.message).toBe('Você fez muitas perguntas em pouco tempo. Tente de novo em 35 segundos.');
      // The refusal is not counted, and b now knows before asking the store.
      expect(b.checkRateLimit({ platform: 'discord', userId: 'aluna-1' })).toMatchObject({ status: 'rate-limited', retryAfterSeconds: 35 });
      expect((await ask(a, 'aluna-1')).status).toBe('rate-limited');
      // Someone else is not affected.
      expect((await ask(b, 'aluno-2')).status).toBe('answered');

      // Sliding window: once the first question is a minute old, one more fits (through either process).
      now = t0 + 60_000;
      expect(b.checkRateLimit({ platform: 'discord', userId: 'aluna-1' })).toBeNull();
      expect((await ask(b, 'aluna-1')).status).toBe('answered');
      expect((await ask(a, 'aluna-1')).status).toBe('rate-limited');
      now = t0 + 120_000;
    });

    it('lets exactly the limit through when one user sends ten questions at once through both processes', async () => {
      const [a, b] = await twoProcesses();
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(i % 2 ? a : b, 'aluna-rajada')));
      expect(outcomes.filter((o) => o.status === 'answered')).toHaveLength(LIMIT);
      expect(outcomes.filter((o) => o.status === 'rate-limited')).toHaveLength(10 - LIMIT);
      now += 120_000;
    });

    it('counts the daily quota in the store too: it holds across both processes until the course’s midnight', async () => {
      const store = async () => {
        const opened = await createFeedbackStore({ url: server().url, salt: 'sal-do-limite', logger: silentLogger(), operationTimeoutMs: 3_000, connectTimeoutMs: 2_000, journalDir: journal });
        stores.push(opened);
        return opened;
      };
      const options = { dailyLimit: 2, timeZone: 'America/Sao_Paulo' };
      const day = Date.UTC(2026, 3, 6, 15, 0, 0); // 12:00 in São Paulo
      now = day;
      const a = sample.bot(await store(), { limit: 100, now: clock, options });
      const b = sample.bot(await store(), { limit: 100, now: clock, options });
      expect((await ask(a, 'aluna-cota')).status).toBe('answered');
      now += 3_600_000;
      expect((await ask(b, 'aluna-cota')).status).toBe('answered');
      now += 3_600_000;
      const refused = await ask(a, 'aluna-cota');
      expect(refused).toMatchObject({ status: 'rate-limited', limit: 'daily' });
      expect(refused.status === 'rate-limited' && refused.message).toMatch(/^Você já fez 2 perguntas hoje, o limite diário\. Sua cota renova à meia-noite de 07\/04 \(Horário Padrão de Brasília\), daqui a 10 h\.$/);
      expect((await server().counterKeys()).some((k) => k.endsWith(`quota:${stores.at(-1)!.pseudonymize('discord', 'aluna-cota')}`))).toBe(true);
      // The next day in São Paulo (03:00 UTC), through the other process.
      now = Date.UTC(2026, 3, 7, 3, 0, 1);
      expect((await ask(b, 'aluna-cota')).status).toBe('answered');
      now += 120_000;
    });

    it('keys the counters by pseudonym, never by the raw platform id', async () => {
      const [a] = await twoProcesses();
      await ask(a, '998877665544332211');
      const keys = await server().counterKeys();
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.join('\n')).not.toContain('998877665544332211');
      expect(keys).toContain(`rate:${stores.at(-2)!.pseudonymize('discord', '998877665544332211')}`);
      now += 120_000;
    });

    it('falls back to counting in this process when the store is down (logged once), and counts in the store again when it is back', async () => {
      const log = recordingLogger();
      const [a, b] = await twoProcesses(log.logger);
      await server().kill();
      try {
        const down: AskOutcome[] = [];
        for (let i = 0; i < LIMIT + 1; i++) down.push(await ask(a, 'aluna-queda'));
        // Questions are still answered, each process limiting on its own count.
        expect(statuses(down)).toEqual(['answered', 'answered', 'answered', 'rate-limited']);
        expect((await ask(b, 'aluna-queda')).status).toBe('answered');
        const fallbacks = log.lines.filter((l) => l.includes('rate limit counted in this process only'));
        expect(fallbacks).toHaveLength(2); // once per process
      } finally {
        await server().start();
      }
      // The store is asked again after a while, and counts from then on.
      now += 31_000;
      expect((await ask(b, 'aluna-volta')).status).toBe('answered');
      expect(log.lines.some((l) => l.includes('rate limit counted in the feedback store again'))).toBe(true);
      expect((await server().counterKeys()).some((k) => k.endsWith(stores.at(-1)!.pseudonymize('discord', 'aluna-volta')))).toBe(true);
      now += 120_000;
    });
  });
}
