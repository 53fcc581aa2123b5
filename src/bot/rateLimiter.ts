/**
 * Per-user limit in memory, shared by every adapter (one implementation in the core): the
 * sliding-window rate limit by default, or any LimitWindow (the daily quota). With several bot
 * processes each enforces its own count. With a networked store, BotService counts in the store
 * instead (src/bot/storeRateLimiter.ts) and keeps this one as the fallback for when the store
 * does not answer.
 */
import { slidingWindow, type LimitWindow } from './limitWindow.js';

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: seconds until the user may ask again. */
  retryAfterSeconds: number;
}

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();
  /** Where the counting window lies: the last `windowMs` unless another window is given. */
  readonly window: LimitWindow;

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    readonly now: () => number = Date.now,
    window?: LimitWindow,
  ) {
    this.window = window ?? slidingWindow(windowMs);
  }

  /** Records an attempt for `key` if allowed. */
  take(key: string): RateDecision {
    const now = this.now();
    const since = this.window.since(now);
    const recent = (this.hits.get(key) ?? []).filter((t) => t >= since);
    const decision = this.decide(recent, now);
    if (!decision.allowed) {
      this.hits.set(key, recent);
      return decision;
    }
    recent.push(now);
    this.hits.set(key, recent);
    if (this.hits.size > 10_000) this.prune(now);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  /** What `take(key)` would decide now, without recording an attempt. */
  peek(key: string): RateDecision {
    const now = this.now();
    const since = this.window.since(now);
    return this.decide((this.hits.get(key) ?? []).filter((t) => t >= since), now);
  }

  private decide(recent: number[], now: number): RateDecision {
    if (recent.length < this.limit) return { allowed: true, retryAfterSeconds: 0 };
    const retryAfterMs = this.window.retryAt(recent[0]!, now) - now;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
  }

  private prune(now: number): void {
    const since = this.window.since(now);
    for (const [key, times] of this.hits) {
      if (times.every((t) => t < since)) this.hits.delete(key);
    }
  }
}
