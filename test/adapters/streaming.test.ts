/**
 * ThrottledEditor with fake timers: the first text goes out at once, later edits at most one
 * per interval, never two in flight, and finish() is always the last edit.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledEditor } from '../../adapters/discord/streaming.js';
import { recordingLogger } from '../helpers/course.js';

const INTERVAL = 1000;

/** An edit function whose calls are recorded and resolved by the test (or at once). */
function editRecorder(opts: { manual?: boolean } = {}) {
  const sent: string[] = [];
  const pending: Array<() => void> = [];
  const edit = (payload: string): Promise<void> => {
    sent.push(payload);
    if (!opts.manual) return Promise.resolve();
    return new Promise<void>((resolve) => pending.push(resolve));
  };
  return { sent, pending, edit };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ThrottledEditor', () => {
  it('sends the first text at once, then at most one edit per interval, with the latest text', async () => {
    const { sent, edit } = editRecorder();
    const editor = new ThrottledEditor(edit, INTERVAL, recordingLogger().logger);

    editor.update(() => 'Overfitting');
    expect(sent).toEqual(['Overfitting']);

    // A burst right after: nothing more until the interval since the first edit is over.
    await vi.advanceTimersByTimeAsync(10);
    editor.update(() => 'Overfitting é');
    editor.update(() => 'Overfitting é quando');
    await vi.advanceTimersByTimeAsync(INTERVAL - 20);
    expect(sent).toEqual(['Overfitting']);
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toEqual(['Overfitting', 'Overfitting é quando']);
    expect(editor.edits).toBe(2);

    // Nothing new asked for: no edit.
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(sent).toHaveLength(2);

    // Asked for long after the previous edit: sent without waiting.
    editor.update(() => 'Overfitting é quando o modelo');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.at(-1)).toBe('Overfitting é quando o modelo');

    editor.update(() => 'rascunho que não chega a sair');
    await editor.finish('final');
    expect(sent).toEqual(['Overfitting', 'Overfitting é quando', 'Overfitting é quando o modelo', 'final']);
    // Updates after finish() are ignored.
    editor.update(() => 'tarde demais');
    await vi.advanceTimersByTimeAsync(5 * INTERVAL);
    expect(sent.at(-1)).toBe('final');
  });

  it('never has two edits in flight, and finish() waits for the one in flight and goes last', async () => {
    const { sent, pending, edit } = editRecorder({ manual: true });
    const editor = new ThrottledEditor(edit, INTERVAL, recordingLogger().logger);

    editor.update(() => 'a');
    expect(sent).toEqual(['a']);
    editor.update(() => 'a b');
    // The first edit is still in flight after the interval: the next one waits for it.
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    expect(sent).toEqual(['a']);
    pending.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    // The interval since the first edit's start has passed: the latest text goes at once.
    expect(sent).toEqual(['a', 'a b']);

    editor.update(() => 'a b c');
    let finished = false;
    const finishing = editor.finish('final').then(() => (finished = true));
    await vi.advanceTimersByTimeAsync(3 * INTERVAL);
    // 'a b' is still in flight: the final edit waits, and the pending 'a b c' is dropped.
    expect(sent).toEqual(['a', 'a b']);
    expect(finished).toBe(false);
    pending.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual(['a', 'a b', 'final']);
    pending.shift()!();
    await finishing;
    expect(finished).toBe(true);
  });

  it('logs a failed intermediate edit and goes on; the final edit’s error is thrown', async () => {
    const log = recordingLogger();
    let calls = 0;
    const editor = new ThrottledEditor<string>(
      (payload) => {
        calls++;
        if (payload === 'sync') throw new Error('thrown synchronously');
        return payload === 'final' ? Promise.reject(new Error('final refused')) : Promise.reject(new Error('edit refused'));
      },
      INTERVAL,
      log.logger,
    );
    // A synchronous throw in the edit never reaches the caller of update().
    expect(() => editor.update(() => 'sync')).not.toThrow();
    await vi.advanceTimersByTimeAsync(INTERVAL);
    editor.update(() => 'second');
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(2);
    await expect(editor.finish('final')).rejects.toThrow('final refused');
    expect(log.lines.filter((l) => l.includes('streaming edit failed'))).toHaveLength(2);
  });
});
