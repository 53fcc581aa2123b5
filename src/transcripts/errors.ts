import { EXIT, UserError } from '../errors.js';

/**
 * Error raised for a transcript file that cannot be read or parsed.
 *
 * The message is meant for course admins (logs, CLI) and always names the file,
 * and the 1-based line when the problem can be pinned to one:
 *
 *     transcripts/aula03.srt:42: timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)
 */
export class TranscriptError extends UserError {
  /** Exit 1: the file needs fixing, not the command line. */
  readonly exitCode = EXIT.failure;
  /** File name as given by the caller (usually the path relative to the course folder). */
  readonly file: string;
  /** 1-based line number, when the problem is on a specific line. */
  readonly line?: number;
  /** What is wrong, without the `file:line: ` prefix. */
  readonly reason: string;

  constructor(file: string, line: number | undefined, reason: string, options?: { cause?: unknown }) {
    super(`${file}${line !== undefined ? `:${line}` : ''}: ${reason}`, options);
    this.name = 'TranscriptError';
    this.file = file;
    if (line !== undefined) this.line = line;
    this.reason = reason;
  }
}
