/**
 * Works through the cases that owe one platform (`target`) something: posting or updating a
 * Slack card, a reminder, delivering a TA's answer to a student.
 *
 * Every `pollMs`, and at once when this process itself wrote work (`kick()`), it lists the cases
 * in the target's outbox index and, for each one whose lease it can take
 * (`outbox:<target>:<caseId>`, renewed while it works), runs the case's tasks. So each task runs
 * in one process at a time; a process that dies mid-task leaves the lease to expire after
 * `leaseMs`, and the task (still in the case record) is done again, by it after a restart or by
 * another process. Deliveries are made idempotent by the platform side (Discord's message
 * nonce), so "done again" never shows twice.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { FeedbackStore, OutboxTarget } from '../store/types.js';

export interface OutboxWorkerOptions {
  target: OutboxTarget;
  store: FeedbackStore;
  logger: Logger;
  pollMs: number;
  leaseMs: number;
  /** Runs the target's tasks of one case (the caller holds its lease). */
  work(caseId: string): Promise<void>;
  /** Runs at the start of each pass (the Slack side looks for overdue cases to remind). */
  beforePass?(): Promise<void>;
}

export class OutboxWorker {
  private readonly owner = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private failing = false;

  constructor(private readonly options: OutboxWorkerOptions) {}

  get target(): OutboxTarget {
    return this.options.target;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.kick();
  }

  /** Runs a pass now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass().finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.kick();
        return;
      }
      this.timer = setTimeout(() => this.kick(), this.options.pollMs);
      this.timer.unref();
    });
  }

  /** Resolves once no pass is running; no new pass starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.running) await this.running;
  }

  /** Resolves when the pass in progress, and any it asked for, are done (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async pass(): Promise<void> {
    const { store, target, logger } = this.options;
    try {
      await this.options.beforePass?.();
      const ids = await store.loop.pendingCases(target);
      for (const id of ids) {
        if (this.stopped) break;
        await this.withLease(id);
      }
      if (this.failing) {
        this.failing = false;
        logger.info({ target }, 'human loop: outbox reachable again');
      }
    } catch (err) {
      if (!this.failing) {
        this.failing = true;
        logger.warn({ target, reason: (err as Error).message }, 'human loop: outbox pass failed (tried again at the next poll)');
      }
    }
  }

  private async withLease(caseId: string): Promise<void> {
    const { store, target, leaseMs, logger } = this.options;
    const key = `outbox:${target}:${caseId}`;
    if (!(await store.leases.acquire(key, this.owner, leaseMs))) return;
    const renew = setInterval(() => void store.leases.acquire(key, this.owner, leaseMs).catch(() => undefined), Math.max(50, Math.floor(leaseMs / 3)));
    renew.unref();
    try {
      await this.options.work(caseId);
    } catch (err) {
      logger.warn({ target, caseId, reason: (err as Error).message }, 'human loop: case work failed (tried again at the next poll)');
    } finally {
      clearInterval(renew);
      await store.leases.release(key, this.owner).catch(() => undefined);
    }
  }
}
