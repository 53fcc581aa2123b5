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
import { extractiveAnswer } from './extractive.js';
import { LlmError, type Llm, type LlmLogger } from './llm.js';
import { NOT_COVERED_CLOSEST_MESSAGE, NOT_FOUND_MESSAGE, PROMPT_VERSION, VERIFIED_PROMPT_VERSION, buildMessages, isNothingToAdd, isNotCoveredAnswer } from './prompt.js';
import { buildReferences, citedReferences } from './references.js';
import { EXIT, UserError } from '../errors.js';

export const MAX_QUESTION_CHARS = 2000;

export const EXTRACTIVE_NOTICE = 'Sem modelo de linguagem configurado: resposta extraída das transcrições.';

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
  logger?: LlmLogger;
}

/** Closest moments shown with a "not found" answer, at most. */
export const MAX_CLOSEST_MOMENTS = 3;

export interface AnswerOptions {
  /** Overrides the service's `k` for this question. */
  k?: number;
  /**
   * Receives the answer text as it is produced. The pieces always concatenate to
   * `result.answer`: LLM answers are streamed; extractive and not-found answers arrive as one piece.
   */
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
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
  private knowledge: AnswerKnowledge | null = null;

  constructor(opts: AnswerServiceOptions) {
    this.retriever = opts.retriever;
    this.videos = opts.videos;
    this.llm = opts.llm;
    this.k = opts.k;
    this.minScore = opts.minScore;
    this.thresholds = opts.coverage ?? DEFAULT_THRESHOLDS;
    this.logger = opts.logger;
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
    const tRetrieve = performance.now();
    const search = await this.retriever.search(q, k);
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

    let answer: string;
    let kind: AnswerKind;
    let references: AnswerResult['references'];
    let promptVersion = PROMPT_VERSION;
    const tGenerate = performance.now();
    // Before the "not covered" decision: a TA may have answered what the lectures do not cover.
    const verified = this.knowledge?.match(q, search.queryVector ?? null) ?? null;
    if (verified) {
      // Excerpts that do not cover the question would only invite the LLM to pad the TA's answer.
      let truncated: boolean;
      ({ answer, references, truncated } = await this.answerVerified(id, q, verified.answer, covered ? segments : [], opts));
      // The complement stops short; the TA's answer before it is whole.
      if (truncated) notices.push(CUT_ANSWER_NOTICE);
      kind = 'verified';
      promptVersion = VERIFIED_PROMPT_VERSION;
    } else if (segments.length === 0) {
      answer = NOT_FOUND_MESSAGE;
      kind = 'not-found';
      references = [];
      opts.onDelta?.(answer);
    } else if (!covered) {
      // Not covered: no LLM call; the moments that share something with the question are links.
      const closest = closestMoments(segments);
      references = buildReferences(closest, this.videos).map((r) => ({ ...r, closest: true }));
      answer = references.length > 0 ? NOT_COVERED_CLOSEST_MESSAGE : NOT_FOUND_MESSAGE;
      kind = 'not-found';
      opts.onDelta?.(answer);
    } else if (this.llm) {
      // Only the retrieved videos' titles: copying every title would grow with the course.
      const titles = new Map(segments.map((seg) => [seg.videoId, this.videos.get(seg.videoId)?.title ?? seg.title]));
      try {
        const reply = await this.llm.complete(
          buildMessages(q, segments, titles),
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
      answer = extractiveAnswer(q, segments, this.videos);
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
      promptVersion,
      notices,
      timings: {
        ...(search.embedMs !== undefined ? { embedMs: Math.round(search.embedMs) } : {}),
        retrieveMs,
        generateMs,
        totalMs: elapsed(t0),
      },
      createdAt,
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
  ): Promise<{ answer: string; references: Reference[]; truncated: boolean }> {
    const base = verified.answer.trim();
    opts.onDelta?.(base);
    let complement = '';
    let truncated = false;
    let cited: Reference[] = [];
    if (this.llm && segments.length > 0) {
      const titles = new Map(segments.map((seg) => [seg.videoId, this.videos.get(seg.videoId)?.title ?? seg.title]));
      try {
        const reply = await this.llm.complete(buildMessages(question, segments, titles, { verified: { answer: base } }), opts.signal ? { signal: opts.signal } : {});
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
    return { answer: base + tail, references, truncated };
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
      ...(opts.k !== undefined ? { k: opts.k } : {}),
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

