/**
 * What a chat adapter asks of the core, independent of the platform: answer a question for a
 * user (rate limit, answer, record), take a vote or a comment, take a TA annotation. Every
 * outcome carries the pt-BR text to show, so adapters only render.
 */
import { InvalidQuestionError, type AnswerService } from '../answer/answerService.js';
import { LlmError } from '../answer/llm.js';
import type { Logger } from '../logger.js';
import {
  AnswerNotFoundError,
  VoteNotFoundError,
  type FeedbackStore,
  type Label,
  type Platform,
  type VoteValue,
} from '../store/types.js';
import type { AnswerResult } from '../types.js';
import { answerForDisplay } from './answerDisplay.js';
import { createLinkPolicy, type LinkPolicy } from './answerLinks.js';
import { neutralizeMentions } from './mentions.js';
import { MESSAGES } from './messages.js';
import { RateLimiter } from './rateLimiter.js';
import { StoreRateLimiter } from './storeRateLimiter.js';
import { nextTurn } from './turns.js';

export type AskOutcome =
  /** `result.answer` is as shown (`displayText`); the record keeps the answer as the LLM wrote it. */
  | { status: 'answered'; result: AnswerResult; recorded: boolean }
  | { status: 'rate-limited'; message: string; retryAfterSeconds: number }
  | { status: 'invalid'; message: string }
  | { status: 'failed'; message: string };

export type FeedbackOutcome = { ok: true; message: string } | { ok: false; message: string; reason: 'not-found' | 'forbidden' | 'store' };

export interface AskInput {
  platform: Platform;
  /** Raw platform user id: used for the rate limit and pseudonymised before storage. */
  userId: string;
  channel: string | null;
  question: string;
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
}

export interface BotServiceOptions {
  /** ANSWER_LINK_DOMAINS: domains whose links stay clickable in answers, besides the course videos. */
  linkDomains?: readonly string[];
}

export class BotService {
  /** Set when the store counts across processes (Redis, Postgres); `limiter` is then its fallback. */
  private readonly sharedLimiter: StoreRateLimiter | undefined;
  private readonly links: LinkPolicy;

  constructor(
    private readonly answers: AnswerService,
    private readonly store: FeedbackStore,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
    options: BotServiceOptions = {},
  ) {
    this.sharedLimiter = store.counter ? new StoreRateLimiter(store.counter, limiter, logger) : undefined;
    this.links = createLinkPolicy({
      videoUrls: [...answers.videos.values()].map((video) => video.url),
      domains: options.linkDomains ?? [],
    });
  }

  /**
   * The rate-limit outcome `ask` would return for this user right now, without counting an
   * attempt; null when the user may ask. Lets an adapter answer an over-limit user privately
   * before it opens a public reply (`ask` still enforces the limit).
   */
  checkRateLimit(input: { platform: Platform; userId: string }): Extract<AskOutcome, { status: 'rate-limited' }> | null {
    const key = `${input.platform}:${input.userId}`;
    const decision = this.sharedLimiter ? this.sharedLimiter.peek(key) : this.limiter.peek(key);
    if (decision.allowed) return null;
    return { status: 'rate-limited', retryAfterSeconds: decision.retryAfterSeconds, message: MESSAGES.rateLimited(decision.retryAfterSeconds) };
  }

  /** Never throws: every failure becomes an outcome with a pt-BR message. */
  async ask(input: AskInput): Promise<AskOutcome> {
    const key = `${input.platform}:${input.userId}`;
    const decision = this.sharedLimiter
      ? await this.sharedLimiter.take(key, this.store.pseudonymize(input.platform, input.userId))
      : this.limiter.take(key);
    if (!decision.allowed) {
      this.logger.info({ platform: input.platform, retryAfter: decision.retryAfterSeconds }, 'question rate-limited');
      return { status: 'rate-limited', retryAfterSeconds: decision.retryAfterSeconds, message: MESSAGES.rateLimited(decision.retryAfterSeconds) };
    }
    let result: AnswerResult;
    try {
      // Under a burst, each question's synchronous work (retrieval, prompt) gets its own
      // event-loop turn, so acknowledgements and timers are not held up by the whole burst.
      await nextTurn();
      // Mentioned people's raw ids must reach neither the LLM nor the store.
      result = await this.answers.answer(neutralizeMentions(input.question), { onDelta: input.onDelta, signal: input.signal });
    } catch (err) {
      if (err instanceof InvalidQuestionError) return { status: 'invalid', message: err.userMessage };
      if (err instanceof LlmError) {
        this.logger.error({ platform: input.platform, kind: err.kind }, `answer failed: ${err.message}`);
        return { status: 'failed', message: err.userMessage };
      }
      this.logger.error({ platform: input.platform, err }, 'answer failed');
      return { status: 'failed', message: MESSAGES.failed };
    }
    let recorded = true;
    try {
      await this.store.recordAnswer(
        {
          ...result,
          segments: result.segments.map(({ corpusId, score, foundBy, videoId, title, url, start, end, text, evidence, moment }) => ({
            corpusId, score, foundBy, videoId, title, url, start, end, text,
            ...(evidence ? { evidence } : {}),
            ...(moment ? { moment } : {}),
          })),
          ...(result.notes ? { staffNotes: result.notes.map((n) => n.id) } : {}),
        },
        { platform: input.platform, channel: input.channel, rawUserId: input.userId },
      );
    } catch (err) {
      // The student still gets the answer; only its evaluation record is missing.
      recorded = false;
      this.logger.error({ answerId: result.id, err: (err as Error).message }, 'answer not recorded in the feedback store');
    }
    return { status: 'answered', result: { ...result, answer: this.displayText(result.answer) }, recorded };
  }

  /**
   * Answer text (Markdown) as the chat platforms show it: tables as code blocks, and links to
   * anything but the course videos and the allowed domains as plain text (see
   * src/bot/answerDisplay.ts). Also for text still streaming in.
   */
  displayText(answer: string): string {
    return answerForDisplay(answer, this.links);
  }

  async vote(input: { platform: Platform; userId: string; answerId: string; value: VoteValue; comment?: string | null }): Promise<FeedbackOutcome> {
    try {
      const comment = typeof input.comment === 'string' ? neutralizeMentions(input.comment) : input.comment;
      const { previous } = await this.withRetry(() =>
        this.store.vote({ answerId: input.answerId, platform: input.platform, rawUserId: input.userId, value: input.value, comment }),
      );
      return { ok: true, message: MESSAGES.voteRecorded(input.value, previous) };
    } catch (err) {
      return this.feedbackFailure(err, 'vote');
    }
  }

  async comment(input: { platform: Platform; userId: string; answerId: string; comment: string }): Promise<FeedbackOutcome> {
    const comment = neutralizeMentions(input.comment).replace(/\p{Cc}+/gu, ' ').trim().slice(0, 1000);
    if (comment === '') return { ok: true, message: MESSAGES.voteRecorded('down', 'down') };
    try {
      await this.withRetry(() => this.store.commentVote({ answerId: input.answerId, platform: input.platform, rawUserId: input.userId, comment }));
      return { ok: true, message: MESSAGES.commentRecorded };
    } catch (err) {
      return this.feedbackFailure(err, 'comment');
    }
  }

  /** `allowed` is the adapter's permission decision (e.g. SLACK_ANNOTATOR_IDS). */
  async annotate(input: { platform: Platform; userId: string; answerId: string; label: Label; allowed: boolean }): Promise<FeedbackOutcome> {
    if (!input.allowed) {
      this.logger.info({ platform: input.platform }, 'annotation refused: user is not an annotator');
      return { ok: false, reason: 'forbidden', message: MESSAGES.annotationRefused };
    }
    try {
      await this.withRetry(() => this.store.annotate({ answerId: input.answerId, platform: input.platform, rawUserId: input.userId, label: input.label }));
      return { ok: true, message: MESSAGES.annotationRecorded(input.label) };
    } catch (err) {
      return this.feedbackFailure(err, 'annotation');
    }
  }

  /** Store writes are retried a few times (a networked store may blip); not-found is final. */
  private async withRetry<T>(operation: () => Promise<T>, attempts = 3): Promise<T> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await operation();
      } catch (err) {
        if (err instanceof AnswerNotFoundError || err instanceof VoteNotFoundError) throw err;
        lastError = err;
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
    throw lastError;
  }

  private feedbackFailure(err: unknown, what: string): FeedbackOutcome {
    if (err instanceof VoteNotFoundError) {
      return { ok: false, reason: 'not-found', message: MESSAGES.commentWithoutVote };
    }
    if (err instanceof AnswerNotFoundError) {
      this.logger.info({ answerId: err.answerId }, `${what} for an unknown answer`);
      return { ok: false, reason: 'not-found', message: MESSAGES.answerNotFound };
    }
    this.logger.error({ err: (err as Error).message }, `${what} not recorded`);
    return { ok: false, reason: 'store', message: MESSAGES.voteFailed };
  }
}
