/**
 * Edits of one reply while an answer streams in. The first edit goes out as soon as there is
 * something to show: the student is waiting, and the defer before it is not an edit of the
 * text. Later edits are throttled to at most one per `intervalMs` (measured from the start of
 * the previous edit), because Discord rate-limits edits of one message. Never two edits in
 * flight, only the latest text sent, and the final edit always last.
 */
import type { Logger } from '../../src/bot/index.js';
import { describeError } from './errors.js';

export const DEFAULT_EDIT_INTERVAL_MS = 1000;

export class ThrottledEditor<P> {
  private render: (() => P) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  /** Start of the previous edit; undefined until the first one, which is not throttled. */
  private lastEditAt: number | undefined;
  private closed = false;
  /** Intermediate edits sent so far. */
  edits = 0;

  constructor(
    private readonly edit: (payload: P) => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  /** Asks for an edit with the payload `render()` will build when the edit is due. */
  update(render: () => P): void {
    if (this.closed) return;
    this.render = render;
    this.schedule();
  }

  /** Cancels pending edits and waits for the one in flight; later updates are ignored. */
  async close(): Promise<void> {
    this.closed = true;
    this.render = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** Closes, then sends `payload` as the last edit (its error, if any, is thrown). */
  async finish(payload: P): Promise<void> {
    await this.close();
    await this.edit(payload);
  }

  private schedule(): void {
    if (this.timer || this.current || this.closed) return;
    if (this.lastEditAt === undefined) {
      this.flush();
      return;
    }
    const wait = Math.max(0, this.lastEditAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const render = this.render;
    if (this.closed || !render) return;
    this.render = undefined;
    this.lastEditAt = Date.now();
    this.edits++;
    // Called from the caller's stream callback for the first edit: a synchronous throw becomes
    // a logged failed edit, never an exception in the caller.
    this.current = new Promise<unknown>((resolve) => resolve(this.edit(render())))
      .then(
        () => undefined,
        (err: unknown) => this.logger.warn({ err: describeError(err) }, 'discord: streaming edit failed'),
      )
      .finally(() => {
        this.current = undefined;
        if (this.render) this.schedule();
      });
  }
}
