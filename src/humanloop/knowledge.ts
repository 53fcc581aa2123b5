/**
 * What the TAs taught the bot, in memory: the live verified answers (matched against every new
 * question, src/humanloop/verifiedMatcher.ts) and the staff notes pinned to lecture moments.
 *
 * Loaded from the store at start-up and kept current: `refresh()` reads one small key (the
 * knowledge version) and, when it moved, only the items whose revision changed; `start(ms)`
 * calls it on an interval, so a verified answer written by another process (the Slack process,
 * on another machine) is used here within that interval. A change made by this process is seen
 * at once (the service calls `refresh()` after it writes).
 *
 * Embeddings: a verified question's vector is stored with it (model id + vector), computed by the
 * process that created it; a process running another embedding model computes its own and keeps
 * it in memory. Without an embedding model, matching is lexical only.
 */
import type { Embedder } from '../embeddings/embedder.js';
import type { Logger } from '../logger.js';
import type { FeedbackStore, StaffNote, VerifiedAnswer } from '../store/types.js';
import { nextTurn } from '../bot/turns.js';
import { VerifiedMatcher, vectorFromBase64, vectorToBase64, type MatchThresholds, type VerifiedMatch } from './verifiedMatcher.js';

export interface KnowledgeOptions {
  store: FeedbackStore;
  embedder: Embedder | null;
  logger: Logger;
  thresholds: MatchThresholds;
}

export interface KnowledgeMatch {
  answer: VerifiedAnswer;
  match: VerifiedMatch;
}

/** Items upserted between two yields to the event loop while loading (a large reload stays responsive). */
const LOAD_BATCH = 200;

export class Knowledge {
  private readonly matcher: VerifiedMatcher;
  private readonly verified = new Map<string, VerifiedAnswer>();
  private readonly notes = new Map<string, StaffNote>();
  private readonly revisions = { verified: new Map<string, number>(), notes: new Map<string, number>() };
  private version = -1;
  private refreshing: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private stopped = false;

  constructor(private readonly options: KnowledgeOptions) {
    this.matcher = new VerifiedMatcher(options.thresholds);
  }

  /** Live verified answers, newest first. */
  get verifiedAnswers(): VerifiedAnswer[] {
    return [...this.verified.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  /** Live staff notes, newest first. */
  get staffNotes(): StaffNote[] {
    return [...this.notes.values()].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  }

  get thresholds(): MatchThresholds {
    return this.options.thresholds;
  }

  /** The verified answer whose question matches `question` closely enough, or null. */
  match(question: string, queryVector: ArrayLike<number> | null): KnowledgeMatch | null {
    const match = this.matcher.match(question, queryVector);
    const answer = match ? this.verified.get(match.id) : undefined;
    return match && answer ? { answer, match } : null;
  }

  /** Staff notes pinned to a moment inside any of these ranges (same video, overlapping in time). */
  notesFor(ranges: ReadonlyArray<{ videoId: string; start: number; end: number }>): StaffNote[] {
    if (this.notes.size === 0 || ranges.length === 0) return [];
    const out: StaffNote[] = [];
    for (const note of this.notes.values()) {
      if (ranges.some((r) => r.videoId === note.videoId && note.start <= r.end && r.start <= note.end)) out.push(note);
    }
    return out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  /** The question's embedding as the store keeps it, or null without an embedding model. */
  async embedQuestion(question: string): Promise<VerifiedAnswer['embedding']> {
    const embedder = this.options.embedder;
    if (!embedder) return null;
    try {
      return { model: embedder.modelId, vector: vectorToBase64(await embedder.embedQuery(question)) };
    } catch (err) {
      this.options.logger.warn({ reason: (err as Error).message }, 'human loop: could not embed a verified question (it is matched by its words only)');
      return null;
    }
  }

  /** Reloads what changed in the store since the last look. True when something changed. Never rejects. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.reload()
      .catch((err: unknown) => {
        // A refresh still running when the store closes at shutdown is not worth a warning.
        if (!this.failing && !this.stopped) {
          this.failing = true;
          this.options.logger.warn({ reason: (err as Error).message }, 'human loop: could not read the verified answers (matching uses what was loaded)');
        }
        return false;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Polls the store every `intervalMs` for other processes' changes. */
  start(intervalMs: number): void {
    if (this.timer) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.refresh().finally(tick), intervalMs);
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async reload(): Promise<boolean> {
    const { store } = this.options;
    const version = await store.loop.knowledgeVersion();
    if (version === this.version) return false;
    const index = await store.loop.knowledgeIndex();
    const changed = (local: Map<string, number>, remote: Record<string, number>) => Object.keys(remote).filter((id) => local.get(id) !== remote[id]);
    const { verified, notes } = await store.loop.loadKnowledge({ verified: changed(this.revisions.verified, index.verified), notes: changed(this.revisions.notes, index.notes) });
    let n = 0;
    for (const answer of verified) {
      if (answer.retired) {
        this.verified.delete(answer.id);
        this.matcher.remove(answer.id);
      } else {
        this.verified.set(answer.id, answer);
        this.matcher.upsert({ id: answer.id, question: answer.question, vector: await this.vectorOf(answer) });
      }
      this.revisions.verified.set(answer.id, index.verified[answer.id] ?? 0);
      if (++n % LOAD_BATCH === 0) await nextTurn();
    }
    for (const note of notes) {
      if (note.retired) this.notes.delete(note.id);
      else this.notes.set(note.id, note);
      this.revisions.notes.set(note.id, index.notes[note.id] ?? 0);
    }
    this.version = version;
    if (this.failing) {
      this.failing = false;
      this.options.logger.info('human loop: verified answers readable again');
    }
    if (verified.length + notes.length > 0) {
      this.options.logger.info({ verified: this.verified.size, notes: this.notes.size, changed: verified.length + notes.length, version }, 'human loop: verified answers loaded');
    }
    return true;
  }

  private async vectorOf(answer: VerifiedAnswer): Promise<Float32Array | null> {
    const embedder = this.options.embedder;
    if (!embedder) return null;
    if (answer.embedding?.model === embedder.modelId) {
      const vector = vectorFromBase64(answer.embedding.vector);
      if (vector.length === embedder.dimensions) return vector;
    }
    try {
      return await embedder.embedQuery(answer.question);
    } catch {
      return null;
    }
  }
}
