/**
 * Coverage gaps: the questions the bot could not serve (answered "not found", voted 👎 or
 * escalated to the TAs), grouped by what they ask, largest group first, so that the staff see
 * which subjects the lectures (or the bot) miss.
 *
 * Questions with the same analysed terms (same words up to order, accents, case and stop words)
 * are merged first. The rest are grouped greedily, most asked first: a question joins the group
 * whose leader it resembles most, if it resembles it enough, or leads a new group.
 * - With the embedding model (when it loads): cosine similarity of the questions' vectors to
 *   each group's mean vector.
 * - Without it: Jaccard similarity of the questions' analysed terms (src/lexical/portugueseAnalyzer.ts)
 *   to the leader's, the candidate groups found through the terms they share.
 */
import type { Embedder } from '../embeddings/embedder.js';
import type { Logger } from '../logger.js';
import { questionSignature, type GapGroup, type GapQuestion, type ListedQuestion } from './aggregate.js';
import { analyze } from '../lexical/portugueseAnalyzer.js';

export interface GapOptions {
  /** The embedding model, or null for lexical grouping. */
  embedder: Embedder | null;
  /** A question's conversation (other turns), for its listing. */
  conversationOf?: (conversationId: string) => ListedQuestion['conversation'];
  /** Lecture id → title. */
  lectureTitle?: (lectureId: string) => string;
  /** Cosine similarity (embeddings) from which a question joins a group. E5's unrelated questions sit near 0.8. */
  cosineThreshold?: number;
  /** Jaccard similarity of analysed terms from which a question joins a group. */
  jaccardThreshold?: number;
  /** More distinct questions than this are grouped lexically (embedding them would take minutes). */
  embedLimit?: number;
  /** Examples shown per group. */
  examples?: number;
  logger?: Logger;
}

export interface GapReport {
  method: 'embeddings' | 'lexical';
  /** Gap questions considered. */
  questions: number;
  groups: GapGroup[];
}

export const DEFAULT_COSINE_THRESHOLD = 0.88;
export const DEFAULT_JACCARD_THRESHOLD = 0.5;
export const DEFAULT_EMBED_LIMIT = 3000;
/** Words no lecture uses, shown per group. */
const UNKNOWN_WORDS_PER_GROUP = 5;

interface Distinct {
  signature: string;
  terms: string[];
  members: GapQuestion[];
  /** The latest wording. */
  text: string;
}

function distinctQuestions(questions: readonly GapQuestion[]): Distinct[] {
  const bySignature = new Map<string, Distinct>();
  for (const q of questions) {
    const signature = questionSignature(q.text);
    const found = bySignature.get(signature);
    if (found) {
      found.members.push(q);
      if (q.atMs > found.members[0]!.atMs) found.text = q.text;
    } else {
      bySignature.set(signature, { signature, terms: [...new Set(analyze(q.text))], members: [q], text: q.text });
    }
  }
  // Most asked first (they lead their groups), then the most recent.
  const latest = (d: Distinct) => Math.max(...d.members.map((m) => m.atMs));
  return [...bySignature.values()].sort((a, b) => b.members.length - a.members.length || latest(b) - latest(a) || a.signature.localeCompare(b.signature));
}

function norm(v: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < v.length; d++) sum += v[d]! * v[d]!;
  return Math.sqrt(sum) || 1;
}

function lexicalGroups(items: readonly Distinct[], threshold: number): Distinct[][] {
  const groups: { leader: Set<string>; items: Distinct[] }[] = [];
  const byTerm = new Map<string, number[]>();
  for (const item of items) {
    let best = -1;
    let bestScore = 0;
    const candidates = new Set<number>();
    for (const term of item.terms) for (const g of byTerm.get(term) ?? []) candidates.add(g);
    for (const g of candidates) {
      const leader = groups[g]!.leader;
      let shared = 0;
      for (const term of item.terms) if (leader.has(term)) shared++;
      const score = shared / (leader.size + item.terms.length - shared);
      if (score > bestScore) {
        bestScore = score;
        best = g;
      }
    }
    if (best >= 0 && bestScore >= threshold) {
      groups[best]!.items.push(item);
    } else {
      const index = groups.length;
      groups.push({ leader: new Set(item.terms), items: [item] });
      for (const term of item.terms) {
        const list = byTerm.get(term);
        if (list) list.push(index);
        else byTerm.set(term, [index]);
      }
    }
  }
  return groups.map((g) => g.items);
}

async function embeddingGroups(items: readonly Distinct[], embedder: Embedder, threshold: number): Promise<Distinct[][]> {
  // The same prefix on both sides: questions are compared with questions.
  const vectors = await embedder.embedPassages(items.map((i) => i.text));
  const groups: { sum: Float32Array; norm: number; items: Distinct[] }[] = [];
  items.forEach((item, i) => {
    const v = vectors[i]!;
    let best = -1;
    let bestScore = -Infinity;
    for (const [g, group] of groups.entries()) {
      let dot = 0;
      for (let d = 0; d < v.length; d++) dot += v[d]! * group.sum[d]!;
      const score = dot / group.norm;
      if (score > bestScore) {
        bestScore = score;
        best = g;
      }
    }
    const group = best >= 0 && bestScore >= threshold ? groups[best] : undefined;
    if (group) {
      for (let d = 0; d < v.length; d++) group.sum[d]! += v[d]!;
      group.norm = norm(group.sum);
      group.items.push(item);
    } else {
      groups.push({ sum: Float32Array.from(v), norm: norm(v), items: [item] });
    }
  });
  return groups.map((g) => g.items);
}

function toGroup(items: readonly Distinct[], options: GapOptions): GapGroup {
  const members = items.flatMap((i) => i.members);
  const recent = [...members].sort((a, b) => b.atMs - a.atMs);
  const examples: ListedQuestion[] = [];
  const seen = new Set<string>();
  for (const m of recent) {
    if (examples.length >= (options.examples ?? 5)) break;
    // One example per wording and per conversation.
    const keys = [`q:${questionSignature(m.text)}`, ...(m.conversationId ? [`c:${m.conversationId}`] : [])];
    if (keys.some((k) => seen.has(k))) continue;
    for (const k of keys) seen.add(k);
    examples.push({
      id: m.id,
      text: m.text,
      at: new Date(m.atMs).toISOString(),
      conversation: m.conversationId ? (options.conversationOf?.(m.conversationId) ?? null) : null,
    });
  }
  const wordCounts = new Map<string, number>();
  for (const m of members) for (const w of m.unknownWords ?? []) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  const lectureCounts = new Map<string, number>();
  for (const m of members) if (m.lectureId) lectureCounts.set(m.lectureId, (lectureCounts.get(m.lectureId) ?? 0) + 1);
  return {
    size: members.length,
    label: items[0]!.text,
    examples,
    notFound: members.filter((m) => m.notFound).length,
    down: members.filter((m) => m.down).length,
    escalated: members.filter((m) => m.escalated).length,
    lectures: [...lectureCounts.entries()].sort((a, b) => b[1] - a[1]).map(([id]) => options.lectureTitle?.(id) ?? id),
    unknownWords: [...wordCounts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, UNKNOWN_WORDS_PER_GROUP)
      .map(([w]) => w),
  };
}

/** The gap questions grouped by similarity, largest group first. */
export async function groupGaps(questions: readonly GapQuestion[], options: GapOptions): Promise<GapReport> {
  const items = distinctQuestions(questions);
  let method: GapReport['method'] = 'lexical';
  let groups: Distinct[][] | undefined;
  const limit = options.embedLimit ?? DEFAULT_EMBED_LIMIT;
  if (options.embedder && items.length > 0) {
    if (items.length > limit) {
      options.logger?.info({ questions: items.length, limit }, 'coverage gaps: too many distinct questions to embed, grouped by their words');
    } else {
      try {
        groups = await embeddingGroups(items, options.embedder, options.cosineThreshold ?? DEFAULT_COSINE_THRESHOLD);
        method = 'embeddings';
      } catch (err) {
        options.logger?.warn({ reason: (err as Error).message }, 'coverage gaps: the embedding model failed, grouped by their words');
      }
    }
  }
  groups ??= lexicalGroups(items, options.jaccardThreshold ?? DEFAULT_JACCARD_THRESHOLD);
  const out = groups.map((g) => toGroup(g, options)).sort((a, b) => b.size - a.size || a.label.localeCompare(b.label));
  return { method, questions: questions.length, groups: out };
}
