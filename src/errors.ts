/**
 * Errors a person can act on from the message alone, and the exit codes every command uses.
 *
 * The command-line harness (`src/cli/harness.ts`) prints a `UserError`'s message without a stack
 * and exits with its `exitCode`; anything else is a bug and keeps its stack. It decides by
 * `instanceof UserError`, never by the error's name: a `ReferenceError` must not pass for a
 * mistake in the user's input.
 */

/** Exit codes of every command (`npm run …`, `npx pergunta …`, `npm start`). */
export const EXIT = {
  ok: 0,
  /** The command was understood but could not do its work (missing index, store down, broken data). */
  failure: 1,
  /** The command line or the settings are wrong: fix the invocation, not the data. */
  invalidInput: 2,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * An error whose message tells the person running the command what to do. Subclasses say which
 * exit code they mean: 2 when the invocation itself is wrong (arguments, settings), 1 when the
 * invocation is fine but something it needs is not (index, store, course files, remote service).
 */
export abstract class UserError extends Error {
  abstract readonly exitCode: typeof EXIT.failure | typeof EXIT.invalidInput;
}

/** A command-line argument or option the command cannot use (exit 2), like commander's own usage errors. */
export class UsageError extends UserError {
  override readonly name = 'UsageError';
  readonly exitCode = EXIT.invalidInput;
}

/** Whether `err` is a write to a pipe whose reader has gone (`… | head`). */
export function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === 'EPIPE';
}
