/**
 * Answers one student question: normalise → retrieve → LLM (or extractive fallback when no
 * LLM is configured) → references. Platform-neutral: adapters render the AnswerResult.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DEFAULT_THRESHOLDS, isCovered, type CoverageThresholds } from '../retrieval/coverage.js';
import type { Retriever } from '../retrieval/retriever.js';
import { removeInvisible } from '../transcripts/common.js';
import type { AnswerKind, AnswerResult, Reference, RetrievedSegment, StaffNoteView, Video } from '../types.js';
import { LectureCatalog } from '../course/lectures.js';
import { extractiveAnswer, questionTerms } from './extractive.js';
import { LlmError, type Llm, type LlmLogger } from './llm.js';
import type { AnswerPolicy } from './policy.js';
import {
  CONDENSE_PROMPT_VERSION,
  NOT_COVERED_CLOSEST_MESSAGE,
  NOT_FOUND_MESSAGE,
  PROMPT_VERSION,
  VERIFIED_PROMPT_VERSION,
  buildCondenseMessages,
  buildMessages,
  cleanCondensed,
  isNothingToAdd,
  isNotCoveredAnswer,
  type PromptOptions,
  type PromptTurn,
} from './prompt.js';
import { buildReferences, citedReferences } from './references.js';
import { EXIT, UserError } from '../errors.js';

export const MAX_QUESTION_CHARS = 2000;

export const EXTRACTIVE_NOTICE = 'Sem modelo de linguagem configurado: resposta extraída das transcrições.';

/** Shown when a lecture-filtered search found nothing in the chosen lectures (no LLM call is made). */
export function notFoundInLectures(titles: readonly string[]): string {
  return titles.length === 1
    ? `Não encontrei isso na aula escolhida (${titles[0]}): ela não parece abordar esse assunto.`
    : `Não encontrei isso nas aulas escolhidas (${titles.join('; ')}): elas não parecem abordar esse assunto.`;
}

/**
 * Shown when the chosen lectures do not cover the question but some of their moments come close:
 * the references that follow are those moments, not an answer.
 */
export function notCoveredInLecturesClosest(titles: readonly string[]): string {
  return `${notFoundInLectures(titles)} Os momentos mais próximos ${titles.length === 1 ? 'nela' : 'nelas'} foram estes, mas eles não respondem à pergunta.`;
}

/** Notice of an answer whose search was restricted to some lectures. */
export function lectureFilterNotice(titles: readonly string[]): string {
  return `Busca restrita ${titles.length === 1 ? 'à aula' : 'às aulas'}: ${titles.join('; ')}.`;
}

/** Shown with an LLM answer that reached the length limit (LLM_MAX_TOKENS) before its end. */
export const CUT_ANSWER_NOTICE =
  'Resposta cortada: ela atingiu o tamanho máximo. Para uma resposta completa, faça uma pergunta mais específica.';

export type InvalidQuestionReason = 'empty' | 'too-long';

/** Heading of what the LLM adds to a verified answer (the verified part itself is labelled by the adapters). */
export const VERIFIED_COMPLEMENT_HEADER = 'Complemento a partir das aulas:';

/**
 * What the TAs taught the bot, as the answer service uses it (src/humanloop/knowledge.ts):
 * verified answers matched against the question, and notes pinned to lecture moments.
 */
export interface AnswerKnowledge {
  match(
    question: string,
    queryVector: ArrayLike<number> | null,
  ): { answer: { id: string; question: string; answer: string; references: Reference[]; createdAt: string }; match: { similarity: number; method: 'dense' | 'lexical' } } | null;
  notesFor(ranges: ReadonlyArray<{ videoId: string; start: number; end: number }>): StaffNoteView[];
}

/** The question cannot be answered as written; `userMessage` (pt-BR) says why. Exit 2: the input is wrong. */
export class InvalidQuestionError extends UserError {
  readonly exitCode = EXIT.invalidInput;
  override readonly name = 'InvalidQuestionError';
  readonly userMessage: string;
  constructor(readonly reason: InvalidQuestionReason) {
    super(reason === 'empty' ? 'question is empty' : `question is longer than ${MAX_QUESTION_CHARS} characters`);
    this.userMessage =
      reason === 'empty'
        ? 'Escreva uma pergunta sobre o conteúdo das aulas.'
        : `A pergunta é longa demais (máximo de ${MAX_QUESTION_CHARS} caracteres). Resuma e tente de novo.`;
  }
}

/**
 * A follow-up extended with the key terms of the previous question that it does not already
 * have ("e no keras?" after "como usar dropout?" searches "e no keras? dropout usar"): without
 * an LLM, what keeps retrieval on the conversation's subject.
 */
export function withPreviousTerms(question: string, history: readonly HistoryTurn[]): string {
  const previous = history.at(-1);
  if (!previous) return question;
  const own = new Set(questionTerms(question));
  const extra = questionTerms(previous.retrievalQuery ?? previous.question).filter((t, i, all) => !own.has(t) && all.indexOf(t) === i);
  return extra.length > 0 ? `${question} ${extra.join(' ')}` : question;
}

/**
 * NFC; zero-width, bidi and other format characters removed (except the joiners inside emoji
 * sequences such as 👩‍💻), and unpaired surrogates; line breaks/tabs become spaces, other
 * control characters are removed; whitespace collapsed; trimmed.
 */
export function normalizeQuestion(raw: string): string {
  return removeInvisible(raw.normalize('NFC'))
    .replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ')
    .replace(/\p{Cc}+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export interface AnswerServiceOptions {
  retriever: Retriever;
  /** Course videos by id (titles and base URLs of the references). */
  videos: ReadonlyMap<string, Video>;
  /** null: no LLM configured, answers are extractive. */
  llm: Llm | null;
  /** Excerpts retrieved per question. */
  k: number;
  /**
   * Segments whose fused score is below this are dropped before answering (if all are,
   * the answer is 'not-found'). Fused scores are reciprocal-rank-fusion values, so this is
   * only meaningful relative to the retriever's configuration. Default: keep everything.
   */
  minScore?: number;
  /**
   * When the retriever's coverage estimate is below these, the answer is "not found" (with the
   * closest moments as links) and no LLM is called. Default `DEFAULT_THRESHOLDS`.
   */
  coverage?: CoverageThresholds;
  /** The course's answer policy (guardrails against solving graded work); null or absent: none. */
  policy?: AnswerPolicy | null;
  logger?: LlmLogger;
}

/** Closest moments shown with a "not found" answer, at most. */
export const MAX_CLOSEST_MOMENTS = 3;

/** A previous turn of the conversation a follow-up continues. */
export interface HistoryTurn extends PromptTurn {
  /** What retrieval searched for that turn. */
  retrievalQuery?: string;
}

export interface AnswerOptions {
  /** Overrides the service's `k` for this question. */
  k?: number;
  /**
   * Receives the answer text as it is produced. The pieces always concatenate to
   * `result.answer`: LLM answers are streamed; extractive and not-found answers arrive as one piece.
   */
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
  /** Search only these videos (the lecture filter); unknown ids are ignored. */
  lectureFilter?: readonly string[];
  /**
   * Earlier turns of the conversation this question continues, oldest first, already capped.
   * With an LLM the question is first rewritten into a standalone one for retrieval (one extra,
   * non-streamed call) and the answer prompt gets these turns; without one, retrieval searches the
   * question plus the previous question's key terms.
   */
  history?: readonly HistoryTurn[];
}

export type AnswerStreamEvent = { type: 'delta'; text: string } | { type: 'done'; result: AnswerResult };

function elapsed(since: number): number {
  return Math.round(performance.now() - since);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/**
 * The segments to offer as "closest moments" with a not-found answer: those that contain some
 * of the question's content words, most covering first (retrieval order on ties), at most
 * MAX_CLOSEST_MOMENTS.
 */
export function closestMoments(segments: readonly RetrievedSegment[]): RetrievedSegment[] {
  return segments
    .map((seg, rank) => ({ seg, rank }))
    .filter(({ seg }) => (seg.evidence?.matched.length ?? 0) > 0)
    .sort((a, b) => (b.seg.evidence?.coverage ?? 0) - (a.seg.evidence?.coverage ?? 0) || a.rank - b.rank)
    .slice(0, MAX_CLOSEST_MOMENTS)
    .map(({ seg }) => seg);
}

export class AnswerService {
  private readonly retriever: Retriever;
  /** Course videos by id: their URLs are the links an answer may keep (src/bot/answerLinks.ts). */
  readonly videos: ReadonlyMap<string, Video>;
  private readonly llm: Llm | null;
  private readonly k: number;
  private readonly minScore: number | undefined;
  private readonly thresholds: CoverageThresholds;
  private readonly logger: LlmLogger | undefined;
  /** The answer policy in force, or null. */
  readonly policy: AnswerPolicy | null;
  /** The course's lectures, for the lecture filter. */
  readonly lectures: LectureCatalog;
  private knowledge: AnswerKnowledge | null = null;

  constructor(opts: AnswerServiceOptions) {
    this.retriever = opts.retriever;
    this.videos = opts.videos;
    this.llm = opts.llm;
    this.k = opts.k;
    this.minScore = opts.minScore;
    this.thresholds = opts.coverage ?? DEFAULT_THRESHOLDS;
    this.policy = opts.policy ?? null;
    this.logger = opts.logger;
    this.lectures = new LectureCatalog(opts.videos.values());
  }

  /** Whether follow-ups are rewritten by an LLM (one extra call each). */
  get condensesWithLlm(): boolean {
    return this.llm !== null;
  }

  /**
   * Uses the TAs' verified answers and notes from now on (null: stops). Set by `npm start` when the
   * human loop's store is open (docs/human-loop.md).
   */
  useKnowledge(knowledge: AnswerKnowledge | null): void {
    this.knowledge = knowledge;
  }

  /**
   * Answers `question`. Throws `InvalidQuestionError` for an empty or too long question,
   * `LlmError` when the LLM fails (show its `userMessage`), the signal's reason when aborted,
   * and whatever the retriever throws.
   */
  async answer(question: string, opts: AnswerOptions = {}): Promise<AnswerResult> {
    const t0 = performance.now();
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const q = normalizeQuestion(question);
    if (q === '') throw new InvalidQuestionError('empty');
    if ([...q].length > MAX_QUESTION_CHARS) throw new InvalidQuestionError('too-long');
    opts.signal?.throwIfAborted();

    const k = opts.k ?? this.k;
    const history = opts.history ?? [];
    const filter = (opts.lectureFilter ?? []).filter((id) => this.videos.has(id));
    const lectureFilter = filter.length > 0 ? filter : null;
    const filterTitles = (lectureFilter ?? []).map((id) => this.videos.get(id)?.title ?? id);

    // A follow-up is searched as a standalone question.
    let retrievalQuery = q;
    let condenseMs: number | undefined;
    let condensed = false;
    if (history.length > 0) {
      const tCondense = performance.now();
      const rewritten = await this.standaloneQuestion(q, history, opts.signal, id);
      if (this.llm) condenseMs = elapsed(tCondense);
      condensed = rewritten.byLlm;
      retrievalQuery = rewritten.query;
      opts.signal?.throwIfAborted();
    }

    const tRetrieve = performance.now();
    const search = await this.retriever.search(retrievalQuery, k, lectureFilter ? { videoIds: new Set(lectureFilter) } : {});
    const retrieveMs = elapsed(tRetrieve);
    opts.signal?.throwIfAborted();

    let segments: RetrievedSegment[] = search.segments.slice(0, k);
    if (this.minScore !== undefined) {
      const min = this.minScore;
      segments = segments.filter((s) => s.score >= min);
    }
    // A window that shares none of the question's content words and that dense retrieval did
    // not find is noise: it reached the ranking through framing words ("funciona", "serve").
    segments = segments.filter((s) => !s.evidence || s.evidence.matched.length > 0 || s.foundBy.dense !== undefined);
    const covered = !search.coverage || isCovered(search.coverage, this.thresholds);
    const notices = [...search.notices];
    if (lectureFilter) notices.push(lectureFilterNotice(filterTitles));

    let answer: string;
    let kind: AnswerKind;
    let references: AnswerResult['references'];
    let promptVersion = PROMPT_VERSION;
    const tGenerate = performance.now();
    let promptCarriedPolicy = false;
    // Before the "not covered" decision: a TA may have answered what the lectures do not cover.
    // A follow-up is matched as it was searched (its standalone rewrite), not as "e isso?".
    const verified = this.knowledge?.match(retrievalQuery, search.queryVector ?? null) ?? null;
    if (verified) {
      // Excerpts that do not cover the question would only invite the LLM to pad the TA's answer.
      let truncated: boolean;
      let askedLlm: boolean;
      ({ answer, references, truncated, askedLlm } = await this.answerVerified(id, q, verified.answer, covered ? segments : [], opts, {
        history,
        standaloneQuestion: condensed ? retrievalQuery : null,
        policy: this.policy,
      }));
      promptCarriedPolicy = askedLlm && this.policy !== null;
      // The complement stops short; the TA's answer before it is whole.
      if (truncated) notices.push(CUT_ANSWER_NOTICE);
      kind = 'verified';
      promptVersion = VERIFIED_PROMPT_VERSION;
    } else if (segments.length === 0) {
      answer = lectureFilter ? notFoundInLectures(filterTitles) : NOT_FOUND_MESSAGE;
      kind = 'not-found';
      references = [];
      opts.onDelta?.(answer);
    } else if (!covered) {
      // Not covered: no LLM call; the moments that share something with the question are links.
      const closest = closestMoments(segments);
      references = buildReferences(closest, this.videos).map((r) => ({ ...r, closest: true }));
      answer = lectureFilter
        ? references.length > 0
          ? notCoveredInLecturesClosest(filterTitles)
          : notFoundInLectures(filterTitles)
        : references.length > 0
          ? NOT_COVERED_CLOSEST_MESSAGE
          : NOT_FOUND_MESSAGE;
      kind = 'not-found';
      opts.onDelta?.(answer);
    } else if (this.llm) {
      // Only the retrieved videos' titles: copying every title would grow with the course.
      const titles = new Map(segments.map((seg) => [seg.videoId, this.videos.get(seg.videoId)?.title ?? seg.title]));
      promptCarriedPolicy = this.policy !== null;
      try {
        const reply = await this.llm.complete(
          buildMessages(q, segments, titles, { history, standaloneQuestion: condensed ? retrievalQuery : null, policy: this.policy }),
          { ...(opts.onDelta ? { onDelta: opts.onDelta } : {}), ...(opts.signal ? { signal: opts.signal } : {}) },
        );
        answer = reply.text;
        if (reply.truncated) {
          // The text so far is still an answer; the notice tells the student it stops short.
          notices.push(CUT_ANSWER_NOTICE);
          this.logger?.warn(
            { id, model: this.llm.model, maxTokens: this.llm.maxTokens, answerChars: answer.length },
            'answer cut at the length limit (LLM_MAX_TOKENS)',
          );
        }
      } catch (err) {
        if (err instanceof LlmError) {
          this.logger?.warn(
            { id, kind: err.kind, status: err.status, attempts: err.attempts, err: err.message },
            'answer failed: LLM error',
          );
        }
        throw err;
      }
      if (isNotCoveredAnswer(answer)) {
        kind = 'not-found';
        // Links to excerpts the model judged irrelevant would be noise, unless it cited some.
        references = citedReferences(answer, segments, this.videos, { fallback: 'none' });
      } else {
        kind = 'llm';
        references = citedReferences(answer, segments, this.videos);
      }
    } else {
      answer = extractiveAnswer(retrievalQuery, segments, this.videos);
      kind = 'extractive';
      references = citedReferences(answer, segments, this.videos);
      notices.push(EXTRACTIVE_NOTICE);
      opts.onDelta?.(answer);
    }
    const generateMs = elapsed(tGenerate);
    const notes = this.knowledge?.notesFor(references) ?? [];

    const result: AnswerResult = {
      id,
      question: q,
      answer,
      kind,
      references,
      segments,
      retriever: search.retriever,
      embeddingModel: search.embeddingModel,
      model: this.llm?.model ?? 'extractive',
      promptVersion: condensed ? `${promptVersion}+${CONDENSE_PROMPT_VERSION}` : promptVersion,
      notices,
      timings: {
        ...(condenseMs !== undefined ? { condenseMs } : {}),
        ...(search.embedMs !== undefined ? { embedMs: Math.round(search.embedMs) } : {}),
        retrieveMs,
        generateMs,
        totalMs: elapsed(t0),
      },
      createdAt,
      retrievalQuery: retrievalQuery !== q ? retrievalQuery : null,
      lectureFilter,
      policy: this.policy && promptCarriedPolicy ? { version: this.policy.version, mode: this.policy.mode, text: this.policy.text } : null,
      conversationId: null,
      turn: null,
      ...(search.coverage ? { coverage: search.coverage } : {}),
      ...(verified
        ? { verified: { id: verified.answer.id, similarity: verified.match.similarity, method: verified.match.method, question: verified.answer.question, at: verified.answer.createdAt } }
        : {}),
      ...(notes.length > 0 ? { notes } : {}),
    };
    this.logger?.info(
      {
        id,
        kind,
        model: result.model,
        retriever: result.retriever,
        segments: segments.length,
        references: references.length,
        answerChars: answer.length,
        ...(search.coverage
          ? { coverage: { lexical: round3(search.coverage.lexical), dense: search.coverage.dense === null ? null : round3(search.coverage.dense), covered } }
          : {}),
        timings: result.timings,
      },
      'answered',
    );
    return result;
  }

  /**
   * A follow-up as a standalone question for retrieval. With an LLM: the condense prompt (one
   * short call; if it fails or returns nothing usable, the follow-up plus the previous question's
   * key terms, logged). Without one: those key terms appended to the follow-up.
   */
  private async standaloneQuestion(
    question: string,
    history: readonly HistoryTurn[],
    signal: AbortSignal | undefined,
    id: string,
  ): Promise<{ query: string; byLlm: boolean }> {
    if (this.llm) {
      try {
        const output = await this.llm.complete(buildCondenseMessages(question, history), signal ? { signal } : {});
        const clean = cleanCondensed(output.text);
        if (clean) return { query: clean, byLlm: true };
        this.logger?.warn({ id }, 'follow-up not rewritten: the LLM returned no usable question; searching with the previous question\'s terms');
      } catch (err) {
        if (signal?.aborted) throw err;
        if (!(err instanceof LlmError)) throw err;
        this.logger?.warn({ id, kind: err.kind, err: err.message }, 'follow-up not rewritten: the LLM failed; searching with the previous question\'s terms');
      }
    }
    return { query: withPreviousTerms(question, history), byLlm: false };
  }

  /**
   * A question that matched a verified answer: the verified text goes out first (its own delta, at
   * once); with an LLM and excerpts, the LLM is asked for a complement that must not contradict it
   * (VERIFIED_RULES), added under VERIFIED_COMPLEMENT_HEADER when it has one. The complement is
   * not streamed: it arrives whole, so what the student sees always concatenates to the answer,
   * and an LLM failure leaves the verified answer alone instead of failing the question.
   * References: the TA's own lecture links, then the excerpts the complement cites.
   */
  private async answerVerified(
    id: string,
    question: string,
    verified: { answer: string; references: Reference[] },
    segments: RetrievedSegment[],
    opts: AnswerOptions,
    prompt: Omit<PromptOptions, 'verified'> = {},
  ): Promise<{ answer: string; references: Reference[]; truncated: boolean; askedLlm: boolean }> {
    const base = verified.answer.trim();
    opts.onDelta?.(base);
    let complement = '';
    let truncated = false;
    let cited: Reference[] = [];
    let askedLlm = false;
    if (this.llm && segments.length > 0) {
      const titles = new Map(segments.map((seg) => [seg.videoId, this.videos.get(seg.videoId)?.title ?? seg.title]));
      try {
        askedLlm = true;
        const reply = await this.llm.complete(buildMessages(question, segments, titles, { ...prompt, verified: { answer: base } }), opts.signal ? { signal: opts.signal } : {});
        const text = reply.text;
        if (!isNothingToAdd(text) && !isNotCoveredAnswer(text)) {
          complement = text.trim();
          truncated = reply.truncated;
          cited = citedReferences(complement, segments, this.videos, { fallback: 'none' });
        }
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        this.logger?.warn({ id, err: (err as Error).message }, 'verified answer given without a complement: LLM error');
      }
    }
    const tail = complement ? `\n\n**${VERIFIED_COMPLEMENT_HEADER}** ${complement}` : '';
    if (tail) opts.onDelta?.(tail);
    const seen = new Set<string>();
    const references = [...verified.references, ...cited].filter((r) => {
      const key = `${r.videoId}@${r.start}-${r.end}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return { answer: base + tail, references, truncated, askedLlm };
  }

  /**
   * Same as `answer`, as a stream of events: `delta` pieces of the answer text (which
   * concatenate to the final answer), then one `done` with the full result. Errors are
   * thrown from the iteration. Leaving the loop early aborts the LLM request.
   */
  async *answerStream(
    question: string,
    opts: Omit<AnswerOptions, 'onDelta'> = {},
  ): AsyncGenerator<AnswerStreamEvent, void, undefined> {
    const ac = new AbortController();
    const outer = opts.signal;
    const onOuterAbort = () => ac.abort(outer?.reason);
    if (outer?.aborted) ac.abort(outer.reason);
    else outer?.addEventListener('abort', onOuterAbort, { once: true });

    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let outcome: { ok: true; result: AnswerResult } | { ok: false; error: unknown } | undefined;
    const run = this.answer(question, {
      ...opts,
      signal: ac.signal,
      onDelta: (text) => {
        queue.push(text);
        wake?.();
      },
    }).then(
      (result) => {
        outcome = { ok: true, result };
      },
      (error: unknown) => {
        outcome = { ok: false, error };
      },
    );
    void run.finally(() => wake?.());

    try {
      for (;;) {
        while (queue.length > 0) yield { type: 'delta', text: queue.shift() as string };
        if (outcome) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      while (queue.length > 0) yield { type: 'delta', text: queue.shift() as string };
      if (!outcome.ok) throw outcome.error;
      yield { type: 'done', result: outcome.result };
    } finally {
      outer?.removeEventListener('abort', onOuterAbort);
      if (!outcome) {
        ac.abort(new DOMException('The answer stream was closed early', 'AbortError'));
        await run; // never rejects: errors are captured in `outcome`
      }
    }
  }
}

