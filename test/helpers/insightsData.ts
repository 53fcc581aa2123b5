/**
 * Generated course activity for the staff insights: answered questions citing moments of the
 * sample course's lectures (some moments far more asked about than others), votes, TA labels,
 * judge verdicts, conversations (#16 fields) and escalation cases (#17), spread over weeks.
 * Seeded: the same options give the same records. Used by the insights tests, the report's
 * screenshot and `bench/report.ts` (which streams 100,000 of them into a store).
 *
 *   for (const item of generateActivity({ count: 500, end: new Date() })) await writeActivity(store, item);
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../../bench/lib/prng.js';
import { videoLinkAt } from '../../src/course/links.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';
import type { KeyvFeedbackStore } from '../../src/store/keyvStore.js';
import type { AnnotationRecord, AnswerRecord, CONVERSATION_FIELDS, EscalationCase, JudgeRecord, Label, Platform, StoredSegment, VoteRecord } from '../../src/store/types.js';

export interface GeneratedLecture {
  id: string;
  title: string;
  url: string;
  minutes: number;
  /** Minutes students ask about most, with what they ask there. */
  hot: { minute: number; questions: string[] }[];
}

const SAMPLE_VIDEOS = JSON.parse(readFileSync(path.resolve('examples/curso-exemplo/videos.json'), 'utf8')) as { id: string; title: string; url: string }[];

const HOT: Record<string, { minute: number; questions: string[] }[]> = {
  aula01: [{ minute: 3, questions: ['O que é aprendizado de máquina?', 'aprendizado de maquina é o que exatamente?', 'Qual a diferença entre IA e aprendizado de máquina?'] }],
  aula02: [
    { minute: 12, questions: ['Como funciona o gradiente descendente?', 'o gradiente descendente funciona como?', 'Por que a taxa de aprendizado não pode ser grande?'] },
    { minute: 21, questions: ['O que é a função de custo na regressão linear?', 'Para que serve o erro quadrático médio?'] },
  ],
  aula03: [{ minute: 8, questions: ['O que é overfitting?', 'overfitting é o que?', 'Como a regularização evita overfitting?', 'O que é validação cruzada k-fold?'] }],
  aula04: [{ minute: 15, questions: ['Como funciona o backpropagation?', 'backpropagation usa a regra da cadeia como?', 'O que é a derivada da função de ativação?'] }],
  aula05: [{ minute: 6, questions: ['O que é uma convolução?', 'Para que serve o pooling?'] }],
  aula06: [{ minute: 10, questions: ['Qual a diferença entre transfer learning e fine tuning?', 'O que é fine-tuning?'] }],
  aula07: [{ minute: 4, questions: ['O que é precisão e recall?', 'Como ler a curva ROC?', 'O que é F1?'] }],
};

/** The sample course's lectures with invented lengths and hot moments. */
export const SAMPLE_LECTURES: GeneratedLecture[] = SAMPLE_VIDEOS.map((v, i) => ({
  id: v.id,
  title: v.title,
  url: v.url,
  minutes: 25 + ((i * 7) % 15),
  hot: HOT[v.id] ?? [],
}));

/** Subjects the lectures do not cover: answered "not found", voted 👎 or escalated. */
export const GAP_SUBJECTS: string[][] = [
  ['Como instalar o CUDA no Windows?', 'como instalo o cuda no windows', 'Instalação do CUDA no Windows dá erro, o que faço?'],
  ['Quando é a prova final?', 'quando vai ser a prova final?', 'Qual a data da prova final?'],
  ['O que é um transformer com atenção?', 'como funciona a atenção em transformers?'],
  ['Como usar o PyTorch Lightning?', 'pytorch lightning como usar'],
];

const FILLER = 'então galera o modelo aprende os pesos a partir dos dados de treino e depois a gente avalia no conjunto de validação né'.split(' ');

export interface ActivityOptions {
  count: number;
  /** The last record's time; records spread over `days` before it. */
  end: Date;
  days?: number;
  seed?: number;
  lectures?: GeneratedLecture[];
  /** Characters of transcript text per retrieved segment (real windows hold ~2,000). */
  segmentChars?: number;
  /** Share of questions that are turns of a conversation (#16 fields). */
  conversationShare?: number;
  /** Share of gap questions escalated to the TAs (#17 cases). */
  escalationShare?: number;
  /** A question text to plant once (hostile input tests). */
  plant?: string;
}

type ConversationField = (typeof CONVERSATION_FIELDS)[number];

export interface Activity {
  /** Without the conversation fields unless in a conversation, like records written before them (read back as null). */
  answer: Omit<AnswerRecord, ConversationField> & Partial<Pick<AnswerRecord, ConversationField>>;
  votes: VoteRecord[];
  annotation: AnnotationRecord | null;
  judge: JudgeRecord | null;
  escalation: EscalationCase | null;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function transcript(random: () => number, chars: number): string {
  let text = '';
  while (text.length < chars) text += `${pick(random, FILLER)} `;
  return text.slice(0, chars).trim();
}

function score(raw: number): { raw: number; normalized: number; criteria: string; supportingEvidence: string } {
  return { raw, normalized: raw / 3, criteria: 'A resposta trata do que foi perguntado.', supportingEvidence: 'Cita o trecho da aula.' };
}

/** Deterministic activity, oldest first. */
export function* generateActivity(options: ActivityOptions): Generator<Activity> {
  const random = mulberry32(options.seed ?? 18);
  const lectures = options.lectures ?? SAMPLE_LECTURES;
  const days = options.days ?? 42;
  const spanMs = days * 86_400_000;
  const startMs = options.end.getTime() - spanMs;
  const segmentChars = options.segmentChars ?? 400;
  const conversationShare = options.conversationShare ?? 0.2;
  const escalationShare = options.escalationShare ?? 0.3;
  let conversation: { id: string; turn: number } | null = null;

  for (let i = 0; i < options.count; i++) {
    // Later weeks are busier (exams), and time only moves forward.
    const atMs = startMs + Math.floor(spanMs * Math.sqrt((i + random()) / options.count));
    const createdAt = new Date(Math.min(atMs, options.end.getTime() - 1)).toISOString();
    const id = `ans-${options.seed ?? 18}-${i}`;
    const platform: Platform = random() < 0.7 ? 'discord' : random() < 0.9 ? 'slack' : 'cli';
    const gap = random() < 0.12;
    const lecture = pick(random, lectures);
    const hot = lecture.hot.length > 0 && random() < 0.65 ? pick(random, lecture.hot) : null;
    let question: string;
    if (options.plant && i === Math.floor(options.count / 2)) question = options.plant;
    else if (gap) question = pick(random, pick(random, GAP_SUBJECTS));
    else if (hot) question = pick(random, hot.questions);
    else question = `Na ${lecture.title.split(' — ')[0]}, o que o professor quis dizer no minuto ${Math.floor(random() * lecture.minutes)}?`;

    const minute = hot ? hot.minute : Math.floor(random() * lecture.minutes);
    const start = Math.max(0, minute * 60 + Math.floor(random() * 40) - 20);
    const end = Math.min(lecture.minutes * 60, start + 150);
    const notFound = gap && random() < 0.6;
    const verified = !gap && random() < 0.05;
    const kind = notFound ? 'not-found' : verified ? 'verified' : random() < 0.8 ? 'llm' : 'extractive';
    const segments: StoredSegment[] = Array.from({ length: 5 }, (_, s) => {
      const segStart = Math.max(0, start + (s - 2) * 110);
      return {
        corpusId: i * 5 + s,
        score: 0.03 - s * 0.002,
        foundBy: { lexical: { rank: s + 1, score: 7 - s } },
        videoId: lecture.id,
        title: lecture.title,
        url: videoLinkAt(lecture.url, segStart),
        start: segStart,
        end: segStart + 150,
        text: '',
      };
    });
    // As answers record them since #15: each window's moment (with the words said there) and the
    // question's coverage, whose unknown words a gap question has. No draw from `random` here, so
    // the same seed still gives the same activity as before.
    for (const segment of segments) {
      segment.text = transcript(random, segmentChars);
      segment.moment = { at: segment.start + 30, excerpt: segment.text.slice(0, 160) };
    }
    const terms = [...new Set(analyze(question))];
    const coverage = notFound
      ? { lexical: 0, matched: [], unknown: terms, contentWords: terms.length, dense: null }
      : { lexical: 0.8, matched: terms, unknown: [], contentWords: terms.length, dense: null };

    if (conversation && conversation.turn < 4 && random() < 0.5) conversation = { id: conversation.id, turn: conversation.turn + 1 };
    else conversation = random() < conversationShare ? { id: `conv-${i}`, turn: 1 } : null;

    const answer: Activity['answer'] = {
      id,
      question,
      answer: notFound ? 'Não encontrei nada sobre isso nas transcrições: parece que as aulas não abordam esse assunto.' : `Segundo a aula, ${transcript(random, 200)} [1].`,
      kind: kind as AnswerRecord['kind'],
      retriever: 'bm25',
      embeddingModel: null,
      model: kind === 'llm' ? 'gpt-4o-mini' : 'extractive',
      promptVersion: '2026-11-26.1',
      segments: notFound ? [] : segments,
      references: notFound ? [] : [{ videoId: lecture.id, title: lecture.title, start, end, url: videoLinkAt(lecture.url, start) }],
      notices: [],
      timings: { retrieveMs: 3, generateMs: 900, totalMs: 910 },
      coverage,
      platform,
      channel: platform === 'cli' ? null : 'C-curso',
      user: `${platform}:${(i % 97).toString(16).padStart(16, '0')}`,
      createdAt,
      ...(conversation ? { conversationId: conversation.id, turn: conversation.turn } : {}),
    };

    const votes: VoteRecord[] = [];
    const voters = random() < 0.5 ? 1 + Math.floor(random() * 3) : 0;
    for (let v = 0; v < voters; v++) {
      const down = gap ? random() < 0.8 : hot ? random() < 0.3 : random() < 0.15;
      votes.push({ answerId: id, user: `discord:${(v + 1).toString(16).padStart(16, '0')}`, value: down ? 'down' : 'up', comment: down && random() < 0.3 ? 'não ajudou' : null, platform: 'discord', at: createdAt });
    }
    const correctness: Label = gap ? 'I' : random() < 0.7 ? 'C' : random() < 0.6 ? 'P' : 'I';
    const annotation: AnnotationRecord | null =
      random() < 0.25 ? { answerId: id, label: correctness, annotator: 'slack:00000000000000aa', platform: 'slack', at: createdAt } : null;
    const agree = random() < 0.75;
    const automated: Label = agree ? correctness : pick(random, ['C', 'P', 'I'] as const);
    const ar = automated === 'C' ? 3 : automated === 'P' ? 2 : random() < 0.5 ? 1 : 0;
    const judge: JudgeRecord | null =
      random() < 0.6
        ? {
            answerId: id,
            status: random() < 0.03 ? 'failed' : 'ok',
            error: null,
            judgeModel: 'gpt-4o',
            promptVersion: 'juiz-2026-11-26.1',
            at: createdAt,
            answerRelevance: notFound ? null : score(ar),
            contextRelevance: segments.slice(0, notFound ? 0 : 5).map((s, k) => ({ ...score(k === 0 ? ar : Math.floor(random() * 4)), corpusId: s.corpusId })),
            groundedness: notFound ? [] : [{ ...score(Math.min(3, ar + (random() < 0.5 ? 1 : 0))), sentence: 'Segundo a aula…' }],
            groundednessMean: notFound ? null : Math.min(1, (ar + (random() < 0.5 ? 1 : 0)) / 3),
            label: automated,
            abstained: notFound,
            reasoning: `Criteria: … Supporting Evidence: … Score: ${ar}`,
          }
        : null;
    const down = votes.some((v) => v.value === 'down');
    const escalation: EscalationCase | null =
      (notFound || down) && random() < escalationShare
        ? { id: `case-${i}`, answerId: id, question, status: pick(random, ['open', 'open', 'claimed', 'answered', 'closed']), createdAt, platform }
        : null;
    yield { answer, votes, annotation, judge, escalation };
  }
}

/** Writes one item of activity as the store keeps it (the answer as given, conversation fields included). */
export async function writeActivity(store: KeyvFeedbackStore, item: Activity): Promise<void> {
  // Stored as given: an answer outside a conversation lacks its fields, as older records do.
  await store.putAnswer(item.answer as AnswerRecord);
  for (const vote of item.votes) await store.applyVote(vote);
  if (item.annotation) await store.applyAnnotation(item.annotation);
  if (item.judge) await store.saveJudge(item.judge);
}

/** A source of insights with these escalation cases (generated, where a test needs many). */
export function withCases<T extends object>(store: T, cases: readonly EscalationCase[]): T & { escalations(): AsyncIterable<EscalationCase> } {
  return Object.assign(store, {
    async *escalations() {
      yield* cases;
    },
  });
}
