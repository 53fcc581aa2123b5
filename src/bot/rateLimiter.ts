/**
 * Per-user sliding-window rate limit, shared by every adapter (one implementation in the core).
 * In memory: with several bot processes each enforces its own limit. With a networked store,
 * BotService counts in the store instead (src/bot/storeRateLimiter.ts) and keeps this one as
 * the fallback for when the store does not answer.
 */
export interface RateDecision {
  allowed: boolean;
  /** When not allowed: seconds until the user may ask again. */
  retryAfterSeconds: number;
}

export class RateLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs = 60_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Records an attempt for `key` if allowed. */
  take(key: string): RateDecision {
    const now = this.now();
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
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
    return this.decide((this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs), now);
  }

  private decide(recent: number[], now: number): RateDecision {
    if (recent.length < this.limit) return { allowed: true, retryAfterSeconds: 0 };
    const retryAfterMs = recent[0]! + this.windowMs - now;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
  }

  private prune(now: number): void {
    for (const [key, times] of this.hits) {
      if (times.every((t) => now - t >= this.windowMs)) this.hits.delete(key);
    }
  }
}
