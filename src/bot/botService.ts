/**
 * What a chat adapter asks of the core, independent of the platform: answer a question for a
 * user (limits, lecture filter, conversation, answer, record), take a vote or a comment, take a TA
 * annotation. Every outcome carries the pt-BR text to show, so adapters only render.
 *
 * Conversations: every answer starts one (turn 1, a new id) or continues one (the answer a user
 * followed up on, or the platform thread they wrote in). A follow-up reads the earlier turns from
 * the store, keeps the most recent ones that fit CONVERSATION_MAX_TOKENS, and is refused once the
 * conversation has CONVERSATION_MAX_TURNS turns. Each turn is recorded as a normal answer record
 * plus its conversation id and turn, and as a turn of the conversation (`store.getConversation`).
 *
 * Limits: the per-minute rate limit, then the daily quota (DAILY_QUESTION_LIMIT, days in
 * COURSE_TIMEZONE; staff exempt); both counted in the store when it has shared counters, so they
 * hold across processes. A follow-up is a question like any other.
 */
import { randomUUID } from 'node:crypto';
import { InvalidQuestionError, type AnswerService, type HistoryTurn } from '../answer/answerService.js';
import { LlmError } from '../answer/llm.js';
import type { LectureChoice, LectureMatch } from '../course/lectures.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import {
  AnswerNotFoundError,
  VoteNotFoundError,
  type ConversationTurn,
  type FeedbackStore,
  type Label,
  type Platform,
  type VoteValue,
} from '../store/types.js';
import type { AnswerResult } from '../types.js';
import { approximateTokenCount } from '../windowing.js';
import { answerForDisplay } from './answerDisplay.js';
import { createLinkPolicy, type LinkPolicy } from './answerLinks.js';
import { dailyWindow } from './limitWindow.js';
import { neutralizeMentions } from './mentions.js';
import { MESSAGES } from './messages.js';
import { RateLimiter, type RateDecision } from './rateLimiter.js';
import { StoreRateLimiter } from './storeRateLimiter.js';
import { nextTurn } from './turns.js';

export type AskOutcome =
  /** `result.answer` is as shown (`displayText`); the record keeps the answer as the LLM wrote it. */
  | { status: 'answered'; result: AnswerResult; recorded: boolean }
  /** Over the per-minute rate limit (`limit: 'rate'`) or today's quota (`limit: 'daily'`). */
  | { status: 'rate-limited'; message: string; retryAfterSeconds: number; limit: 'rate' | 'daily' }
  | { status: 'invalid'; message: string }
  /** The conversation reached CONVERSATION_MAX_TURNS (or the answer followed up on is unknown). */
  | { status: 'conversation-closed'; message: string }
  /** The lecture named for the filter is not one of the course's (or names several). */
  | { status: 'unknown-lecture'; message: string }
  | { status: 'failed'; message: string };

export type FeedbackOutcome = { ok: true; message: string } | { ok: false; message: string; reason: 'not-found' | 'forbidden' | 'store' };

/** Which conversation a question continues. */
export type ConversationRef =
  /** The answer the user followed up on ("Perguntar mais", a reply to it). */
  | { answerId: string }
  /**
   * The platform thread the user wrote in (a Discord thread id, Slack `channel:thread_ts`). A
   * thread that holds no conversation yet starts one, linked to it when `linkIfNew` (a Slack
   * mention); otherwise the question is a new conversation on its own.
   */
  | { thread: string; linkIfNew?: boolean };

export interface AskInput {
  platform: Platform;
  /** Raw platform user id: used for the limits and pseudonymised before storage. */
  userId: string;
  channel: string | null;
  question: string;
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
  /** Course staff (Slack annotators): no daily quota. */
  staff?: boolean;
  /** Restrict the search to a lecture: a video id (Discord autocomplete) or what the user typed ("aula 6", a title). */
  lecture?: string | null;
  /** Read an optional "aula 6: …" lecture prefix from the question (Slack). */
  lecturePrefix?: boolean;
  /** Continue a conversation. */
  conversation?: ConversationRef;
  /** Ask the question of this answer again in every lecture (the offer after a filtered "not found"). */
  everywhereOf?: string;
}

export interface BotServiceOptions {
  /** Questions per user per day; 0 or absent: no quota. */
  dailyLimit?: number;
  /** IANA time zone whose midnight resets the quota (default America/Sao_Paulo). */
  timeZone?: string;
  /** Turns per conversation at most (default 10). */
  maxTurns?: number;
  /** Tokens (estimated) of earlier turns given to the LLM at most (default 3000). */
  maxHistoryTokens?: number;
  /** Clock of the daily quota (tests). Default: the rate limiter's. */
  now?: () => number;
  /** ANSWER_LINK_DOMAINS: domains whose links stay clickable in answers, besides the course videos. */
  linkDomains?: readonly string[];
}

/** BotService's options from the settings. */
export function botServiceOptions(
  config: Pick<Config, 'DAILY_QUESTION_LIMIT' | 'COURSE_TIMEZONE' | 'CONVERSATION_MAX_TURNS' | 'CONVERSATION_MAX_TOKENS' | 'ANSWER_LINK_DOMAINS'>,
): BotServiceOptions {
  return {
    dailyLimit: config.DAILY_QUESTION_LIMIT,
    timeZone: config.COURSE_TIMEZONE,
    maxTurns: config.CONVERSATION_MAX_TURNS,
    maxHistoryTokens: config.CONVERSATION_MAX_TOKENS,
    linkDomains: config.ANSWER_LINK_DOMAINS,
  };
}

/** What a conversation lookup found for a question. */
interface ConversationState {
  id: string;
  /** Earlier turns, oldest first (all that were read). */
  turns: ConversationTurn[];
  /** Whether the id is new (turn 1). */
  isNew: boolean;
  /** Thread to link the conversation to once answered. */
  linkThread: string | null;
  /** A notice for the answer (history not readable). */
  notice: string | null;
  /** The lecture filter the conversation had. */
  lectureFilter: string[] | null;
}

export class BotService {
  /** Set when the store counts across processes (Redis, Postgres); `limiter` is then its fallback. */
  private readonly sharedLimiter: StoreRateLimiter | undefined;
  private readonly quota: { local: RateLimiter; shared: StoreRateLimiter | undefined; timeZone: string } | undefined;
  private readonly maxTurns: number;
  private readonly maxHistoryTokens: number;
  private readonly links: LinkPolicy;

  constructor(
    private readonly answers: AnswerService,
    private readonly store: FeedbackStore,
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
    options: BotServiceOptions = {},
  ) {
    this.sharedLimiter = store.counter ? new StoreRateLimiter(store.counter, limiter, logger) : undefined;
    if (options.dailyLimit && options.dailyLimit > 0) {
      const timeZone = options.timeZone ?? 'America/Sao_Paulo';
      const local = new RateLimiter(options.dailyLimit, 0, options.now ?? limiter.now, dailyWindow(timeZone));
      const shared = store.counter ? new StoreRateLimiter(store.counter, local, logger, { keyPrefix: 'quota', label: 'daily question quota' }) : undefined;
      this.quota = { local, shared, timeZone };
    }
    this.maxTurns = options.maxTurns ?? 10;
    this.maxHistoryTokens = options.maxHistoryTokens ?? 3000;
    this.links = createLinkPolicy({
      videoUrls: [...answers.videos.values()].map((video) => video.url),
      domains: options.linkDomains ?? [],
    });
  }

  /**
   * The limit outcome `ask` would return for this user right now, without counting an attempt;
   * null when the user may ask. Lets an adapter answer an over-limit user privately before it
   * opens a public reply (`ask` still enforces the limits).
   */
  checkRateLimit(input: { platform: Platform; userId: string; staff?: boolean }): Extract<AskOutcome, { status: 'rate-limited' }> | null {
    const key = `${input.platform}:${input.userId}`;
    const decision = this.sharedLimiter ? this.sharedLimiter.peek(key) : this.limiter.peek(key);
    if (!decision.allowed) return this.rateLimited(decision);
    if (this.quota && !input.staff) {
      const daily = this.quota.shared ? this.quota.shared.peek(key) : this.quota.local.peek(key);
      if (!daily.allowed) return this.quotaReached(daily);
    }
    return null;
  }

  /** Autocomplete of the lecture filter: the course's lectures matching what was typed (at most 25). */
  lectureChoices(typed: string): LectureChoice[] {
    return this.answers.lectures.choices(typed);
  }

  /** The conversation a platform thread holds, or null (also when the store cannot say). */
  async threadConversation(platform: Platform, thread: string): Promise<string | null> {
    try {
      return await this.store.threadConversation(platform, thread);
    } catch (err) {
      this.logger.warn({ platform, err: (err as Error).message }, 'could not read which conversation a thread holds');
      return null;
    }
  }

  /** Records that a platform thread holds a conversation (a thread the bot started on an answer). Never throws. */
  async linkThread(platform: Platform, thread: string, conversationId: string): Promise<boolean> {
    try {
      await this.store.linkThread({ platform, thread, conversationId });
      return true;
    } catch (err) {
      this.logger.error({ platform, conversationId, err: (err as Error).message }, 'thread not linked to its conversation: mentions in it will start new conversations');
      return false;
    }
  }

  /** Never throws: every failure becomes an outcome with a pt-BR message. */
  async ask(input: AskInput): Promise<AskOutcome> {
    let question = input.question;
    let lectureFilter: string[] | null = null;
    let conversationRef = input.conversation;
    let withHistory = true;
    try {
      if (input.everywhereOf !== undefined) {
        const original = await this.store.getAnswer(input.everywhereOf);
        if (!original) return { status: 'invalid', message: MESSAGES.answerNotFound };
        question = original.question;
        // The same question as the next turn of its conversation, in every lecture.
        if (original.conversationId) conversationRef = { answerId: original.id };
        withHistory = false;
      }
    } catch (err) {
      this.logger.error({ platform: input.platform, err: (err as Error).message }, 'could not read the answer to search again');
      return { status: 'failed', message: MESSAGES.failed };
    }

    // The lecture filter: named explicitly (Discord's option) or as a prefix of the text (Slack).
    const lectures = this.answers.lectures;
    let match: LectureMatch | null = null;
    let reference = '';
    if (input.lecture != null && input.lecture.trim() !== '') {
      reference = input.lecture.trim();
      match = lectures.match(reference);
    } else if (input.lecturePrefix) {
      const split = lectures.splitPrefix(question);
      if (split) {
        reference = split.reference;
        match = split.match;
        question = split.question;
      }
    }
    if (match && !match.ok) {
      // Shown back as typed, but a mention in it names someone: neutral tokens, like questions.
      const shown = neutralizeMentions(reference).slice(0, 100);
      const message =
        match.reason === 'ambiguous'
          ? MESSAGES.ambiguousLecture(shown, match.candidates.slice(0, 10).map((l) => l.title))
          : MESSAGES.unknownLecture(shown, lectures.lectures.slice(0, 25).map((l) => l.title));
      this.logger.info({ platform: input.platform, reason: match.reason }, 'question refused: unknown lecture');
      return { status: 'unknown-lecture', message };
    }
    if (match?.ok) lectureFilter = match.lectures.map((l) => l.videoId);

    const conversation = await this.resolveConversation(input.platform, conversationRef);
    if ('status' in conversation) return conversation;
    if (!lectureFilter && conversation.lectureFilter && input.everywhereOf === undefined) lectureFilter = conversation.lectureFilter;

    const limited = await this.takeLimits(input);
    if (limited) return limited;

    const { history, dropped } = withHistory ? this.historyFor(conversation.turns) : { history: [], dropped: 0 };
    let result: AnswerResult;
    try {
      // Under a burst, each question's synchronous work (retrieval, prompt) gets its own
      // event-loop turn, so acknowledgements and timers are not held up by the whole burst.
      await nextTurn();
      // Mentioned people's raw ids must reach neither the LLM nor the store.
      result = await this.answers.answer(neutralizeMentions(question), {
        onDelta: input.onDelta,
        signal: input.signal,
        ...(lectureFilter ? { lectureFilter } : {}),
        ...(history.length > 0 ? { history } : {}),
      });
    } catch (err) {
      if (err instanceof InvalidQuestionError) return { status: 'invalid', message: err.userMessage };
      if (err instanceof LlmError) {
        this.logger.error({ platform: input.platform, kind: err.kind }, `answer failed: ${err.message}`);
        return { status: 'failed', message: err.userMessage };
      }
      this.logger.error({ platform: input.platform, err }, 'answer failed');
      return { status: 'failed', message: MESSAGES.failed };
    }
    if (conversation.notice) result.notices.push(conversation.notice);
    if (dropped > 0) result.notices.push(MESSAGES.historyTrimmed(history.length));

    result.conversationId = conversation.id;
    result.turn = await this.turnNumber(conversation);
    const recorded = await this.record(result, input);
    if (conversation.linkThread) await this.linkThread(input.platform, conversation.linkThread, conversation.id);
    return { status: 'answered', result: { ...result, answer: this.displayText(result.answer) }, recorded };
  }

  /** The conversation a question continues (or a new one), its earlier turns, or why it cannot go on. */
  private async resolveConversation(platform: Platform, ref: ConversationRef | undefined): Promise<ConversationState | Extract<AskOutcome, { status: 'conversation-closed' | 'failed' }>> {
    const fresh = (linkThread: string | null = null): ConversationState => ({ id: randomUUID(), turns: [], isNew: true, linkThread, notice: null, lectureFilter: null });
    if (!ref) return fresh();
    let id: string | null;
    try {
      if ('answerId' in ref) {
        const answer = await this.store.getAnswer(ref.answerId);
        if (!answer) return { status: 'conversation-closed', message: MESSAGES.followUpNotFound };
        if (!answer.conversationId) {
          // An answer from before conversations: it becomes the context of a new one.
          const state = fresh();
          state.turns = [
            {
              conversationId: state.id, turn: 0, answerId: answer.id, question: answer.question, retrievalQuery: answer.question, answer: answer.answer,
              kind: answer.kind, segments: [], lectureFilter: null, platform: answer.platform, user: answer.user, at: answer.createdAt,
            },
          ];
          return state;
        }
        id = answer.conversationId;
      } else {
        id = await this.store.threadConversation(platform, ref.thread);
        if (!id) return fresh(ref.linkIfNew ? ref.thread : null);
      }
    } catch (err) {
      this.logger.warn({ platform, err: (err as Error).message }, 'conversation not readable: answering the question on its own');
      return { ...fresh(), notice: MESSAGES.historyUnavailable };
    }
    try {
      const conversation = await this.store.getConversation(id);
      const turns = conversation?.turns ?? [];
      const last = turns.at(-1)?.turn ?? 0;
      if (Math.max(turns.length, last) >= this.maxTurns) {
        this.logger.info({ platform, conversationId: id, turns: turns.length }, 'follow-up refused: the conversation is at its turn limit');
        return { status: 'conversation-closed', message: MESSAGES.conversationTooLong(this.maxTurns) };
      }
      return { id, turns, isNew: false, linkThread: null, notice: null, lectureFilter: turns.at(-1)?.lectureFilter ?? null };
    } catch (err) {
      this.logger.warn({ platform, conversationId: id, err: (err as Error).message }, 'conversation turns not readable: answering the follow-up on its own');
      return { id, turns: [], isNew: false, linkThread: null, notice: MESSAGES.historyUnavailable, lectureFilter: null };
    }
  }

  /** The most recent turns whose question and (prompt-sized) answer fit the token budget. */
  private historyFor(turns: readonly ConversationTurn[]): { history: HistoryTurn[]; dropped: number } {
    const history: HistoryTurn[] = [];
    let tokens = 0;
    for (let i = turns.length - 1; i >= 0; i--) {
      const t = turns[i]!;
      const cost = approximateTokenCount(`${t.question}\n${t.answer.slice(0, 1200)}`);
      if (history.length > 0 && tokens + cost > this.maxHistoryTokens) break;
      tokens += cost;
      history.unshift({ question: t.question, answer: t.answer, retrievalQuery: t.retrievalQuery });
    }
    return { history, dropped: turns.length - history.length };
  }

  /** The rate limit, then the daily quota (staff exempt); null when the user may ask. */
  private async takeLimits(input: AskInput): Promise<Extract<AskOutcome, { status: 'rate-limited' }> | null> {
    const key = `${input.platform}:${input.userId}`;
    const pseudonym = () => this.store.pseudonymize(input.platform, input.userId);
    const decision = this.sharedLimiter ? await this.sharedLimiter.take(key, pseudonym()) : this.limiter.take(key);
    if (!decision.allowed) {
      this.logger.info({ platform: input.platform, retryAfter: decision.retryAfterSeconds }, 'question rate-limited');
      return this.rateLimited(decision);
    }
    if (this.quota && !input.staff) {
      const daily = this.quota.shared ? await this.quota.shared.take(key, pseudonym()) : this.quota.local.take(key);
      if (!daily.allowed) {
        this.logger.info({ platform: input.platform, retryAfter: daily.retryAfterSeconds }, 'question refused: daily quota reached');
        return this.quotaReached(daily);
      }
    }
    return null;
  }

  private rateLimited(decision: RateDecision): Extract<AskOutcome, { status: 'rate-limited' }> {
    return { status: 'rate-limited', limit: 'rate', retryAfterSeconds: decision.retryAfterSeconds, message: MESSAGES.rateLimited(decision.retryAfterSeconds) };
  }

  private quotaReached(decision: RateDecision): Extract<AskOutcome, { status: 'rate-limited' }> {
    const quota = this.quota!;
    const now = quota.local.now();
    const resetsAt = quota.local.window.retryAt(now, now);
    return {
      status: 'rate-limited',
      limit: 'daily',
      retryAfterSeconds: decision.retryAfterSeconds,
      message: MESSAGES.dailyQuotaReached(quota.local.limit, resetsAt, quota.timeZone, now),
    };
  }

  /** Turn 1 for a new conversation; the store's next number for a follow-up (known turns + 1 if it cannot say). */
  private async turnNumber(conversation: ConversationState): Promise<number> {
    if (conversation.isNew) return 1;
    try {
      return await this.store.nextTurnNumber(conversation.id);
    } catch (err) {
      this.logger.warn({ conversationId: conversation.id, err: (err as Error).message }, 'turn number not from the store: counted from the turns read');
      return (conversation.turns.at(-1)?.turn ?? 0) + 1;
    }
  }

  /** Stores the answer record and the conversation turn; false when the record could not be kept. */
  private async record(result: AnswerResult, input: AskInput): Promise<boolean> {
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
    if (result.conversationId === null || result.turn === null) return recorded;
    const cited = result.references.length > 0 ? result.segments.filter((s) => result.references.some((r) => r.videoId === s.videoId && s.start < r.end && s.end > r.start)) : result.segments;
    try {
      await this.store.saveTurn({
        conversationId: result.conversationId,
        turn: result.turn,
        answerId: result.id,
        question: result.question,
        retrievalQuery: result.retrievalQuery ?? result.question,
        answer: result.answer,
        kind: result.kind,
        segments: cited.map(({ corpusId, videoId, title, start, end, url, text }) => ({ corpusId, videoId, title, start, end, url, text })),
        lectureFilter: result.lectureFilter,
        platform: input.platform,
        user: this.store.pseudonymize(input.platform, input.userId),
        at: result.createdAt,
      });
    } catch (err) {
      this.logger.error({ answerId: result.id, conversationId: result.conversationId, err: (err as Error).message }, 'conversation turn not stored: a follow-up will not see it');
    }
    return recorded;
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
