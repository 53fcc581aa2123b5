/**
 * watchLauncher (src/cli/launcher.ts) with a made-up process table: which process it watches and
 * when it calls back. The real thing (npm start, kill -9 of npm) is in test/adapters/production.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchLauncher, type LauncherWatchOptions } from '../../src/cli/launcher.js';

/** npm (100) → sh (200) → the bot; `table` maps pid → [parent, command]. */
function processes(table: Record<number, [number, string]>, myParent: number) {
  const state = { table, myParent };
  const options: LauncherWatchOptions = {
    env: { npm_lifecycle_event: 'start' },
    intervalMs: 1_000,
    ppid: () => state.myParent,
    parentOf: (pid) => state.table[pid]?.[0] ?? null,
    commandOf: (pid) => state.table[pid]?.[1] ?? null,
  };
  return { state, options };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('watchLauncher', () => {
  it('npm → sh → bot: notices when npm dies and the shell is reparented', () => {
    const { state, options } = processes({ 100: [50, 'npm start'], 200: [100, 'sh'] }, 200);
    const gone = vi.fn();
    watchLauncher(gone, options);
    vi.advanceTimersByTime(5_000);
    expect(gone).not.toHaveBeenCalled();
    state.table[200] = [1, 'sh']; // npm killed: init adopts the shell, which keeps waiting for the bot
    vi.advanceTimersByTime(1_000);
    expect(gone).toHaveBeenCalledOnce();
    expect(gone.mock.calls[0]![0]).toMatch(/npm \(pid 100\)/);
    vi.advanceTimersByTime(5_000);
    expect(gone).toHaveBeenCalledOnce();
  });

  it('npm → bot (the shell exec’d): notices when its own parent changes', () => {
    const { state, options } = processes({ 100: [50, 'npm start'] }, 100);
    const gone = vi.fn();
    watchLauncher(gone, options);
    vi.advanceTimersByTime(3_000);
    expect(gone).not.toHaveBeenCalled();
    state.myParent = 1;
    vi.advanceTimersByTime(1_000);
    expect(gone).toHaveBeenCalledWith(expect.stringMatching(/pid 100\) is gone/));
  });

  it('does nothing when not launched by npm (node dist/adapters/main.js, nohup), or already orphaned', () => {
    const { state, options } = processes({ 300: [1, 'bash'] }, 300);
    const gone = vi.fn();
    watchLauncher(gone, { ...options, env: {} });
    state.myParent = 1; // the shell that ran `nohup node …` exited: the bot must keep running
    vi.advanceTimersByTime(10_000);
    expect(gone).not.toHaveBeenCalled();

    watchLauncher(gone, options); // parent is already init
    vi.advanceTimersByTime(10_000);
    expect(gone).not.toHaveBeenCalled();
  });

  it('stops watching when told to', () => {
    const { state, options } = processes({ 100: [50, 'npm start'], 200: [100, 'dash'] }, 200);
    const gone = vi.fn();
    const stop = watchLauncher(gone, options);
    stop();
    state.table[200] = [1, 'dash'];
    vi.advanceTimersByTime(10_000);
    expect(gone).not.toHaveBeenCalled();
  });
});
