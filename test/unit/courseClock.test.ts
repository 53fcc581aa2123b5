/**
 * Days in the course's time zone (the daily quota's reset): ordinary days, days of 23 and 25
 * hours, and a midnight skipped by daylight saving (Brazil until 2019), plus the pt-BR wording.
 */
import { describe, expect, it } from 'vitest';
import { describeDay, startOfDay, startOfNextDay } from '../../src/bot/courseClock.js';
import { dailyWindow } from '../../src/bot/limitWindow.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';

const at = (iso: string) => Date.parse(iso);
const iso = (t: number) => new Date(t).toISOString();

describe('course clock', () => {
  it('finds the start of the day and of the next day in São Paulo', () => {
    expect(iso(startOfDay(at('2026-03-12T23:00:00Z'), 'America/Sao_Paulo'))).toBe('2026-03-12T03:00:00.000Z');
    expect(iso(startOfNextDay(at('2026-03-12T23:00:00Z'), 'America/Sao_Paulo'))).toBe('2026-03-13T03:00:00.000Z');
    // 02:59:59 UTC is still the 12th there; 03:00 is the 13th.
    expect(iso(startOfNextDay(at('2026-03-13T02:59:59Z'), 'America/Sao_Paulo'))).toBe('2026-03-13T03:00:00.000Z');
    expect(iso(startOfNextDay(at('2026-03-13T03:00:00Z'), 'America/Sao_Paulo'))).toBe('2026-03-14T03:00:00.000Z');
  });

  it('handles a midnight skipped by daylight saving, and days of 23 and 25 hours', () => {
    // 2018-11-04: Brazil's clocks jumped from 00:00 to 01:00 (-02:00): the day began at 03:00 UTC.
    expect(iso(startOfDay(at('2018-11-04T12:00:00Z'), 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
    expect(iso(startOfNextDay(at('2018-11-03T12:00:00Z'), 'America/Sao_Paulo'))).toBe('2018-11-04T03:00:00.000Z');
    expect(iso(startOfNextDay(at('2018-11-04T12:00:00Z'), 'America/Sao_Paulo'))).toBe('2018-11-05T02:00:00.000Z');
    // 2019-02-17: back from 00:00 to 23:00: the 16th lasted 25 hours.
    expect(iso(startOfDay(at('2019-02-17T12:00:00Z'), 'America/Sao_Paulo'))).toBe('2019-02-17T03:00:00.000Z');
    // New York, 2026-03-08: a 23-hour day.
    expect(iso(startOfDay(at('2026-03-08T12:00:00Z'), 'America/New_York'))).toBe('2026-03-08T05:00:00.000Z');
    expect(iso(startOfNextDay(at('2026-03-08T12:00:00Z'), 'America/New_York'))).toBe('2026-03-09T04:00:00.000Z');
    expect(iso(startOfDay(at('2026-03-08T12:00:00Z'), 'Asia/Kolkata'))).toBe('2026-03-07T18:30:00.000Z');
  });

  it('names the day and the zone in pt-BR', () => {
    expect(describeDay(at('2026-03-13T03:00:00Z'), 'America/Sao_Paulo')).toEqual({ date: '13/03', zoneName: 'Horário Padrão de Brasília' });
    expect(describeDay(at('2026-03-13T03:00:00Z'), 'America/Manaus').date).toBe('12/03');
  });

  it('a daily window in the in-memory limiter: counted since midnight, free again at the next one', () => {
    let now = at('2026-03-12T12:00:00Z');
    const limiter = new RateLimiter(2, 0, () => now, dailyWindow('America/Sao_Paulo'));
    expect(limiter.take('u').allowed).toBe(true);
    expect(limiter.take('u').allowed).toBe(true);
    now = at('2026-03-13T02:00:00Z'); // 23:00 in São Paulo, still the 12th
    expect(limiter.take('u')).toEqual({ allowed: false, retryAfterSeconds: 3600 });
    now = at('2026-03-13T03:00:00Z');
    expect(limiter.take('u').allowed).toBe(true);
  });
});
