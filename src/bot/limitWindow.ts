/**
 * How a limit's counting window is placed in time: the last minute (the rate limit) or the
 * current day in the course's time zone (the daily quota). Both the in-memory limiter
 * (rateLimiter.ts) and the one counted in the store (storeRateLimiter.ts) take one.
 */
import { startOfDay, startOfNextDay } from './courseClock.js';

export interface LimitWindow {
  /** Hits at or after this time count. */
  since(now: number): number;
  /** When a user at the limit may act again, given the oldest hit that counts. */
  retryAt(oldestHit: number, now: number): number;
  /** How long the store keeps a user's hits after the last one. */
  ttlMs: number;
}

/** The last `ms` milliseconds (the rate limit). */
export function slidingWindow(ms: number): LimitWindow {
  return { since: (now) => now - ms + 1, retryAt: (oldest) => oldest + ms, ttlMs: ms };
}

/**
 * The current day in `timeZone` (the daily quota): hits since today's midnight count, and a user
 * at the limit may ask again at the next midnight. Kept two days in the store (a day may last 25
 * hours; older hits are dropped by `since` anyway).
 */
export function dailyWindow(timeZone: string): LimitWindow {
  return {
    since: (now) => startOfDay(now, timeZone),
    retryAt: (_oldest, now) => startOfNextDay(now, timeZone),
    ttlMs: 2 * 24 * 3600_000,
  };
}
