/**
 * A per-user limit counted in a networked store (Redis, Postgres), so that it holds across every
 * bot process that shares the store: with two processes, a user who asked `limit` times in the
 * last minute (the rate limit) or today (the daily quota) through one is refused by the other.
 *
 * Semantics are the in-memory RateLimiter's (its window: a sliding minute, or the course's day;
 * a refused attempt is not counted), on the store's HitCounter. Keys are `<name>:<pseudonym>`
 * (`rate:…`, `quota:…`): no raw platform id leaves the process.
 *
 * `peek` must answer synchronously (adapters check it before they open a public reply), so it
 * answers from what this process knows: its own attempts (the in-memory limiter, which mirrors
 * them) and the last refusal or full window the store reported for that user. A user who reached
 * the limit through another process is refused by `take`, which the adapters already handle.
 *
 * When the store does not answer within `deadlineMs`, the in-memory limiter decides (logged once,
 * and once more when the store counts again); the store is tried again after `retryStoreAfterMs`,
 * so a store that hangs costs one slow question per interval, not every question.
 */
import type { Logger } from '../logger.js';
import type { HitCounter } from '../store/hitCounter.js';
import type { LimitWindow } from './limitWindow.js';
import type { RateDecision, RateLimiter } from './rateLimiter.js';

export interface StoreRateLimiterOptions {
  /** Longest wait for the store before the in-memory limiter decides, ms. */
  deadlineMs?: number;
  /** After a failure, the in-memory limiter decides alone for this long, ms. */
  retryStoreAfterMs?: number;
  /** Prefix of the store keys, default `rate`. */
  keyPrefix?: string;
  /** What the log lines call this limit, default `rate limit`. */
  label?: string;
}

export class StoreRateLimiter {
  private readonly window: LimitWindow;
  private readonly deadlineMs: number;
  private readonly retryStoreAfterMs: number;
  /** Users the store reported at the limit, and until when (ms). */
  private readonly blockedUntil = new Map<string, number>();
  private degradedUntil = 0;
  private degraded = false;
  private readonly keyPrefix: string;
  private readonly label: string;

  constructor(
    private readonly counter: HitCounter,
    /** The in-memory limiter: its limit and window are used, and it decides when the store cannot. */
    private readonly local: RateLimiter,
    private readonly logger: Logger,
    options: StoreRateLimiterOptions = {},
  ) {
    this.window = local.window;
    this.deadlineMs = options.deadlineMs ?? 2_000;
    this.retryStoreAfterMs = options.retryStoreAfterMs ?? 30_000;
    this.keyPrefix = options.keyPrefix ?? 'rate';
    this.label = options.label ?? 'rate limit';
  }

  /** What this process knows without asking the store (see the file comment). */
  peek(localKey: string): RateDecision {
    const now = this.local.now();
    const until = this.blockedUntil.get(localKey);
    if (until !== undefined) {
      if (until > now) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
      this.blockedUntil.delete(localKey);
    }
    return this.local.peek(localKey);
  }

  /**
   * Counts an attempt for the user if allowed. `localKey` names the user in this process's
   * memory; `sharedKey` in the store (built from a pseudonym).
   */
  async take(localKey: string, sharedKey: string): Promise<RateDecision> {
    const now = this.local.now();
    if (now < this.degradedUntil) return this.local.take(localKey);
    let result: Awaited<ReturnType<HitCounter['hit']>>;
    try {
      result = await this.withDeadline(
        this.counter.hit(`${this.keyPrefix}:${sharedKey}`, { now, since: this.window.since(now), limit: this.local.limit, ttlMs: this.window.ttlMs }),
      );
    } catch (err) {
      this.degradedUntil = now + this.retryStoreAfterMs;
      if (!this.degraded) {
        this.degraded = true;
        this.logger.warn(
          { reason: (err as Error).message },
          `${this.label} counted in this process only: the feedback store does not answer (each bot process keeps its own count until it does)`,
        );
      }
      return this.local.take(localKey);
    }
    if (this.degraded) {
      this.degraded = false;
      this.logger.info(`${this.label} counted in the feedback store again`);
    }
    const oldest = result.hits[0] ?? now;
    if (!result.recorded) {
      const until = this.window.retryAt(oldest, now);
      this.remember(localKey, until, now);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
    }
    // Mirrored in memory: the fallback starts from this process's real count, and peek sees it.
    this.local.take(localKey);
    if (result.hits.length >= this.local.limit) this.remember(localKey, this.window.retryAt(oldest, now), now);
    return { allowed: true, retryAfterSeconds: 0 };
  }

  private remember(localKey: string, until: number, now: number): void {
    this.blockedUntil.set(localKey, until);
    if (this.blockedUntil.size > 10_000) {
      for (const [key, t] of this.blockedUntil) if (t <= now) this.blockedUntil.delete(key);
    }
  }

  private withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.deadlineMs} ms`)), this.deadlineMs);
    });
    // A late failure of the abandoned call must not become an unhandled rejection.
    work.catch(() => undefined);
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }
}
