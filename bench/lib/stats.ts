/** Latency sampling and summaries. Every loop is bounded by a sample count and a time budget. */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

export interface LatencyStats {
  /** Number of timed calls. */
  n: number;
  /** Wall-clock milliseconds. */
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  max: number;
  /**
   * CPU milliseconds (user + system) of the same calls: what they cost when the process has a
   * core. On a shared machine the wall-clock tail also contains the time spent waiting for one.
   */
  cpu?: { p50: number; p95: number; p99: number; mean: number };
}

/** Per-call wall-clock and CPU times, in milliseconds. */
export interface Samples {
  wall: number[];
  cpu: number[];
}

/** Nearest-rank percentile of sorted samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarizeSamples(samples: Samples): LatencyStats {
  const cpu = summarize(samples.cpu);
  return { ...summarize(samples.wall), cpu: { p50: cpu.p50, p95: cpu.p95, p99: cpu.p99, mean: cpu.mean } };
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

export function summarize(samples: readonly number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

export interface LoopLimits {
  /** Timed calls wanted. */
  count: number;
  /** Stop early once this much time has been spent (the first call always runs). */
  budgetMs: number;
  /** Untimed calls first (JIT, caches). */
  warmup?: number;
}

/**
 * A full garbage collection. Run after each loop's warm-up and before its timed calls, so that
 * what earlier work left behind (corpus generation, index builds and loads, the previous loop) is
 * not collected during this loop's timings: the bot serves questions long after its load.
 */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** Times `fn(i)` for i = 0, 1, ... within the limits. */
export function timeSync(fn: (i: number) => unknown, limits: LoopLimits): Samples {
  const warmup = limits.warmup ?? Math.min(50, limits.count);
  for (let i = 0; i < warmup; i++) fn(i);
  collectGarbage();
  const samples: Samples = { wall: [], cpu: [] };
  const deadline = performance.now() + limits.budgetMs;
  for (let i = 0; i < limits.count; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn(i);
    const t1 = performance.now();
    samples.cpu.push(cpuMs(c0));
    samples.wall.push(t1 - t0);
    if (t1 > deadline) break;
  }
  return samples;
}

export async function timeAsync(fn: (i: number) => Promise<unknown>, limits: LoopLimits): Promise<Samples> {
  const warmup = limits.warmup ?? Math.min(20, limits.count);
  for (let i = 0; i < warmup; i++) await fn(i);
  collectGarbage();
  const samples: Samples = { wall: [], cpu: [] };
  const deadline = performance.now() + limits.budgetMs;
  for (let i = 0; i < limits.count; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn(i);
    const t1 = performance.now();
    samples.cpu.push(cpuMs(c0));
    samples.wall.push(t1 - t0);
    if (t1 > deadline) break;
  }
  return samples;
}

/**
 * Times two implementations of the same call on the same inputs, interleaved (alternating which
 * goes first), so that machine noise hits both alike. Returns the samples of each.
 */
export function timePairSync(a: (i: number) => unknown, b: (i: number) => unknown, limits: LoopLimits): [Samples, Samples] {
  const warmup = limits.warmup ?? Math.min(50, limits.count);
  for (let i = 0; i < warmup; i++) {
    a(i);
    b(i);
  }
  collectGarbage();
  const sa: Samples = { wall: [], cpu: [] };
  const sb: Samples = { wall: [], cpu: [] };
  const deadline = performance.now() + limits.budgetMs;
  for (let i = 0; i < limits.count; i++) {
    const [first, firstSamples, second, secondSamples] = i % 2 === 0 ? [a, sa, b, sb] : [b, sb, a, sa];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    first(i);
    const t1 = performance.now();
    const c1 = process.cpuUsage();
    firstSamples.cpu.push((c1.user + c1.system - c0.user - c0.system) / 1000);
    firstSamples.wall.push(t1 - t0);
    const t2 = performance.now();
    second(i);
    const t3 = performance.now();
    secondSamples.cpu.push(cpuMs(c1));
    secondSamples.wall.push(t3 - t2);
    if (t3 > deadline) break;
  }
  return [sa, sb];
}

/** Milliseconds taken by `fn` (sync or async), and its result. */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** a / b, rounded; null when either side is missing. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

/**
 * The machine's CPU time counters (the first line of Linux's /proc/stat, in clock ticks), or null
 * where there are none. Two readings give the share of time the hypervisor ran something else
 * while this VM wanted its CPUs (`stealPercent`): the one slowdown of a shared VM that is visible
 * from inside it.
 */
export function cpuTimes(): number[] | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    if (!line.startsWith('cpu ')) return null;
    return line.trim().split(/\s+/).slice(1, 9).map(Number);
  } catch {
    return null;
  }
}

/** Steal time between two `cpuTimes()` readings, in % of all CPU time; null without both. */
export function stealPercent(before: number[] | null, after: number[] | null): number | null {
  if (!before || !after || before.length < 8 || after.length < 8) return null;
  const delta = after.map((v, i) => v - before[i]!);
  const total = delta.reduce((a, b) => a + b, 0);
  return total > 0 ? (100 * delta[7]!) / total : null;
}
