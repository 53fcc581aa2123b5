/**
 * Measures how responsive this process's event loop stays while something runs, two ways:
 * `perf_hooks.monitorEventLoopDelay` (libuv timer histogram) and a setInterval drift probe
 * (how late a 20 ms interval fires). The bot under test runs in the test process, so this is
 * the bot's own event loop (the fakes share it too, which only makes the numbers worse).
 *
 *   const lag = startLagProbe();
 *   ... load ...
 *   const { maxMs, p99Ms, driftMaxMs } = lag.stop();
 *
 * Also `pollUntil(check, timeoutMs, describe)`: waiting for hundreds of things at once by
 * polling, which costs the loop far less than hundreds of listeners woken on every fake event.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LagReport {
  /** Largest delay seen by monitorEventLoopDelay, ms. */
  maxMs: number;
  p99Ms: number;
  meanMs: number;
  /** Largest lateness of the 20 ms interval probe, ms. */
  driftMaxMs: number;
  samples: number;
}

export function startLagProbe(intervalMs = 20): { stop(): LagReport } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let last = performance.now();
  let driftMax = 0;
  let samples = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - intervalMs;
    if (late > driftMax) driftMax = late;
    last = now;
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
      const ms = (ns: number) => Math.round((ns / 1e6) * 10) / 10;
      return {
        maxMs: ms(histogram.max),
        p99Ms: ms(histogram.percentile(99)),
        meanMs: ms(histogram.mean),
        driftMaxMs: Math.round(driftMax * 10) / 10,
        samples,
      };
    },
  };
}

/**
 * Resolves once `check()` is true, polling every `intervalMs` (rejects after `timeoutMs`).
 * Cheaper than waking on every fake event when hundreds of waits are pending at once.
 */
export async function pollUntil(check: () => boolean, timeoutMs: number, what: () => string, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
