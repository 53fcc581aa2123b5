/**
 * Export of the evaluation records: JSONL (one full record per answer), CSV (one row per
 * answer, RFC 4180) and the pt-BR Markdown report of the evaluation-record note. Pure
 * functions, no I/O. Records are numbered 1, 2, 3… in the order given (the CLI passes them
 * oldest first).
 *
 * `hideUrls` replaces every link with `oculto`, for reports shared outside the course: segment
 * and reference URLs, links inside every text (question, answer, titles, transcript, notices,
 * comments, judge texts; see hideUrls.ts for what counts as a link), and a video id that is part
 * of its video's URL (a YouTube or Vimeo id is the video). Raw user ids are never in a record
 * (the store keeps pseudonyms only), and no secret is ever part of one.
 */
import { formatClock, formatHms } from '../course/links.js';
import { HIDDEN_URL, hideUrlsInText } from './hideUrls.js';
import { escapeBlock, escapeHtml, escapeInline, opensFence } from './markdownText.js';
import { isNotCoveredAnswer } from '../answer/prompt.js';
import type { AppliedPolicy, CaseStatus, FullRecord, JudgeRecord, JudgeScore, Label, Platform, VoteValue } from '../store/types.js';
import type { AnswerKind, Moment, SegmentEvidence, Timings } from '../types.js';

// ---------------------------------------------------------------------------------------------
// --since (shared by the export and evaluate commands)

/** Parses `--since`: `YYYY-MM-DD` (local midnight) or an ISO 8601 date-time; undefined when invalid. */
export function parseSince(value: string): Date | undefined {
  const v = value.trim();
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (dateOnly) {
    const [y, m, d] = [Number(dateOnly[1]), Number(dateOnly[2]), Number(dateOnly[3])];
    const date = new Date(y, m - 1, d);
    return date.getFullYear() === y && date.getMonth() === m - 1 && date.getDate() === d ? date : undefined;
  }
  const dateTime = /^(\d{4})-(\d{2})-(\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(v);
  if (!dateTime) return undefined;
  // Date.parse rolls 2026-02-30 over to March: check the calendar date first.
  const [y, m, d] = [Number(dateTime[1]), Number(dateTime[2]), Number(dateTime[3])];
  if (new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d || m < 1 || m > 12) return undefined;
  const ms = Date.parse(v.replace(' ', 'T'));
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

/** pt-BR hint shown with an invalid `--since`. */
export const SINCE_HELP = 'use AAAA-MM-DD ou data e hora ISO 8601, por exemplo 2026-03-01 ou 2026-03-01T08:00:00-03:00';

export interface ExportOptions {
  hideUrls?: boolean;
}

export { HIDDEN_URL, hideUrlsInText };

export interface ExportSegment {
  corpusId: number;
  score: number;
  videoId: string;
  title: string;
  url: string;
  start: number;
  end: number;
  startHms: string;
  endHms: string;
  foundBy: FullRecord['segments'][number]['foundBy'];
  text: string;
  /** Coverage, matched words and similarity, when the answer recorded them. */
  evidence?: SegmentEvidence;
  /** The moment linked to, when the answer recorded one (its excerpt hidden like the text). */
  moment?: Moment;
}

/** The human-loop case of an answer (a student asked a TA): no delivery address, TAs by pseudonym. */
export interface ExportCase {
  id: string;
  /** The conversation the escalated answer belongs to (#16), when it has one. */
  conversationId?: string;
  status: CaseStatus;
  createdAt: string;
  origin: Platform;
  /** How many people asked for help on this answer, and what they added. */
  requesters: number;
  details: string[];
  /** Request → first TA action (claim, answer, endorsement, close), ms; null while none. */
  firstActionMs: number | null;
  /** Request → answer, endorsement or close, ms; null while open. */
  resolvedMs: number | null;
  /** answered | endorsed | closed, by whom (pseudonym), when; the TA's answer or the closing reason. */
  resolution: { kind: 'answered' | 'endorsed' | 'closed'; by: string; at: string; text: string | null; references: ExportRecord['references']; botLabel: Label | null } | null;
  endorsed: boolean;
  /** The students' 👍/👎 on the TA's answer. */
  ratings: { up: number; down: number };
  /** The verified answer the case made, and how many later answers it served. */
  verifiedAnswerId: string | null;
  verifiedHits: number;
  deliveries: Array<{ status: string; via: string | null }>;
}

export interface ExportJudge extends Omit<JudgeRecord, 'answerId'> {
  /** Mean normalised context relevance over the retrieved segments, or null. */
  contextRelevanceMean: number | null;
}

/** One JSONL line. */
export interface ExportRecord {
  number: number;
  id: string;
  createdAt: string;
  platform: Platform;
  channel: string | null;
  /** Pseudonymous id of the asker (`discord:3f9a…`). */
  user: string;
  question: string;
  answer: string;
  kind: AnswerKind;
  /** The answer says the lectures do not cover the question. */
  abstained: boolean;
  retriever: string;
  embeddingModel: string | null;
  model: string;
  promptVersion: string;
  segments: ExportSegment[];
  references: { videoId: string; title: string; start: number; end: number; url: string }[];
  notices: string[];
  timings: Timings;
  votes: { up: number; down: number; items: { user: string; value: VoteValue; comment: string | null; platform: Platform; at: string }[] };
  annotation: Label | null;
  annotationInfo: { annotator: string; platform: Platform; at: string } | null;
  judge: ExportJudge | null;
  /** Kind `verified`: the TA-verified answer that answered it, and how closely it matched. */
  verified: { id: string; similarity: number; method: 'dense' | 'lexical' } | null;
  /** Staff notes shown with the answer. */
  staffNotes: string[];
  /** The case, when a student asked a TA about this answer. */
  case: ExportCase | null;
  /** The conversation the answer is a turn of, and its 1-based turn; null in records from before conversations. */
  conversationId: string | null;
  turn: number | null;
  /** Video ids the question was restricted to (lecture filter); null when it searched every lecture. */
  lectureFilter: string[] | null;
  /** The answer policy applied (mode, version and the policy text); null when none was. */
  policy: AppliedPolicy | null;
  /** What retrieval searched when it was not the question itself (a follow-up made standalone); null otherwise. */
  retrievalQuery: string | null;
}

function hideText(text: string, opts: ExportOptions): string {
  return opts.hideUrls ? hideUrlsInText(text) : text;
}

function hideUrl(url: string, opts: ExportOptions): string {
  return opts.hideUrls ? HIDDEN_URL : url;
}

/** A video id that appears in its own URL identifies the video (`watch?v=<id>`, `vimeo.com/<id>`). */
function hideVideoId(videoId: string, url: string, opts: ExportOptions): string {
  return opts.hideUrls && videoId !== '' && url.includes(videoId) ? HIDDEN_URL : videoId;
}

/**
 * A video id of the lecture filter, hidden like `hideVideoId` by the URL of a segment or
 * reference of that video; without one in the record (nothing found there), the id may be the
 * video itself (a YouTube id), so it is hidden.
 */
function hideFilterVideoId(videoId: string, record: FullRecord, opts: ExportOptions): string {
  if (!opts.hideUrls) return videoId;
  const url = [...record.segments, ...record.references].find((s) => s.videoId === videoId)?.url;
  return url === undefined ? HIDDEN_URL : hideVideoId(videoId, url, opts);
}

function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

export function isAbstention(record: { kind: AnswerKind; answer: string }): boolean {
  return record.kind === 'not-found' || isNotCoveredAnswer(record.answer);
}

function exportJudge(judge: JudgeRecord | null, opts: ExportOptions): ExportJudge | null {
  if (!judge) return null;
  const score = <T extends JudgeScore>(s: T): T => ({
    ...s,
    criteria: hideText(s.criteria, opts),
    supportingEvidence: hideText(s.supportingEvidence, opts),
  });
  const { answerId: _answerId, ...rest } = judge;
  return {
    ...rest,
    error: judge.error === null ? null : hideText(judge.error, opts),
    answerRelevance: judge.answerRelevance ? score(judge.answerRelevance) : null,
    contextRelevance: judge.contextRelevance.map(score),
    ...(judge.answerCorrectness !== undefined ? { answerCorrectness: judge.answerCorrectness ? score(judge.answerCorrectness) : null } : {}),
    groundedness: judge.groundedness.map((g) => ({ ...score(g), sentence: hideText(g.sentence, opts) })),
    reasoning: hideText(judge.reasoning, opts),
    contextRelevanceMean: mean(judge.contextRelevance.map((c) => c.normalized)),
  };
}

function exportCase(record: FullRecord, opts: ExportOptions): ExportCase | null {
  const c = record.case;
  if (!c) return null;
  const ratings = Object.values(c.ratings);
  const res = c.resolution;
  return {
    id: c.id,
    // The conversation it came from (#16), only when it has one.
    ...(c.conversationId ? { conversationId: c.conversationId } : {}),
    status: c.status,
    createdAt: c.createdAt,
    origin: c.origin,
    requesters: c.requesters.length,
    details: c.requesters.map((r) => r.details).filter((d): d is string => d !== null).map((d) => hideText(d, opts)),
    firstActionMs: c.timings.firstActionMs,
    resolvedMs: c.timings.resolvedMs,
    resolution: res
      ? {
          kind: res.kind,
          by: res.by.user,
          at: res.by.at,
          text: res.text === null ? null : hideText(res.text, opts),
          references: res.references.map((r) => ({ videoId: r.videoId, title: r.title, start: r.start, end: r.end, url: hideUrl(r.url, opts) })),
          botLabel: res.botLabel,
        }
      : null,
    endorsed: res?.kind === 'endorsed',
    ratings: { up: ratings.filter((v) => v === 'up').length, down: ratings.filter((v) => v === 'down').length },
    verifiedAnswerId: res?.verifiedId ?? null,
    verifiedHits: record.verifiedHits,
    deliveries: c.requesters.map((r) => ({ status: r.delivery.status, via: r.delivery.via })),
  };
}

/** The JSONL object of one record (`number` is its 1-based position in the export). */
export function toExportRecord(record: FullRecord, number: number, opts: ExportOptions = {}): ExportRecord {
  return {
    number,
    id: record.id,
    createdAt: record.createdAt,
    platform: record.platform,
    channel: record.channel,
    user: record.user,
    question: hideText(record.question, opts),
    answer: hideText(record.answer, opts),
    kind: record.kind,
    abstained: isAbstention(record),
    retriever: record.retriever,
    embeddingModel: record.embeddingModel,
    model: record.model,
    promptVersion: record.promptVersion,
    segments: record.segments.map((s) => ({
      corpusId: s.corpusId,
      score: s.score,
      videoId: hideVideoId(s.videoId, s.url, opts),
      title: hideText(s.title, opts),
      url: hideUrl(s.url, opts),
      start: s.start,
      end: s.end,
      startHms: formatHms(s.start),
      endHms: formatHms(s.end),
      foundBy: s.foundBy,
      text: hideText(s.text, opts),
      ...(s.evidence ? { evidence: s.evidence } : {}),
      ...(s.moment ? { moment: { at: s.moment.at, excerpt: hideText(s.moment.excerpt, opts) } } : {}),
    })),
    references: record.references.map((r) => ({
      videoId: hideVideoId(r.videoId, r.url, opts),
      title: hideText(r.title, opts),
      start: r.start,
      end: r.end,
      url: hideUrl(r.url, opts),
    })),
    notices: record.notices.map((n) => hideText(n, opts)),
    timings: { ...record.timings },
    votes: {
      up: record.votes.up,
      down: record.votes.down,
      items: record.votes.items.map((v) => ({
        user: v.user,
        value: v.value,
        comment: v.comment === null ? null : hideText(v.comment, opts),
        platform: v.platform,
        at: v.at,
      })),
    },
    annotation: record.annotation?.label ?? null,
    annotationInfo: record.annotation
      ? { annotator: record.annotation.annotator, platform: record.annotation.platform, at: record.annotation.at }
      : null,
    judge: exportJudge(record.judge, opts),
    verified: record.verified ? { id: record.verified.id, similarity: record.verified.similarity, method: record.verified.method } : null,
    staffNotes: [...(record.staffNotes ?? [])],
    case: exportCase(record, opts),
    conversationId: record.conversationId ?? null,
    turn: record.turn ?? null,
    lectureFilter: record.lectureFilter ? record.lectureFilter.map((id) => hideFilterVideoId(id, record, opts)) : null,
    policy: record.policy ? { version: record.policy.version, mode: record.policy.mode, text: record.policy.text === null ? null : hideText(record.policy.text, opts) } : null,
    retrievalQuery: record.retrievalQuery == null ? null : hideText(record.retrievalQuery, opts),
  };
}

// ---------------------------------------------------------------------------------------------
// JSONL

export function jsonlLine(record: FullRecord, number: number, opts: ExportOptions = {}): string {
  return `${JSON.stringify(toExportRecord(record, number, opts))}\n`;
}

export function toJsonl(records: readonly FullRecord[], opts: ExportOptions = {}): string {
  return records.map((r, i) => jsonlLine(r, i + 1, opts)).join('');
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: comma separated, CRLF between records, fields with a comma, quote, CR or LF
// enclosed in double quotes, quotes doubled)

export const CSV_COLUMNS = [
  'number',
  'id',
  'createdAt',
  'platform',
  'channel',
  'user',
  'question',
  'answer',
  'kind',
  'abstained',
  'retriever',
  'embeddingModel',
  'model',
  'promptVersion',
  'segmentCorpusIds',
  'segmentScores',
  'references',
  'votesUp',
  'votesDown',
  'voteComments',
  'annotation',
  'annotator',
  'annotatedAt',
  'judgeStatus',
  'judgeError',
  'answerRelevance',
  'answerRelevanceRaw',
  'contextRelevance',
  'groundedness',
  'automatedLabel',
  'judgeReasoning',
  'judgeModel',
  'judgePromptVersion',
  'embedMs',
  'retrieveMs',
  'generateMs',
  'totalMs',
  'answerCorrectness',
  'verifiedAnswerId',
  'caseStatus',
  'caseRequesters',
  'caseTaAnswer',
  'caseAnsweredBy',
  'caseFirstActionMs',
  'caseResolvedMs',
  'caseEndorsed',
  'caseBotLabel',
  'caseRatingsUp',
  'caseRatingsDown',
  'verifiedHits',
  // Added with conversations (issue #16), after the older columns (and the human loop's) so their positions hold.
  'conversationId',
  'turn',
  'lectureFilter',
  'policyMode',
  'policyVersion',
  'retrievalQuery',
  'condenseMs',
] as const;

type CsvColumn = (typeof CSV_COLUMNS)[number];

/** Quotes a field when it holds a comma, a double quote, CR or LF. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * Free text typed by students or produced by a model, made safe for spreadsheets: a cell that
 * starts with `=`, `+`, `-`, `@`, tab or CR would be read as a formula, so it gets a leading `'`.
 */
export function spreadsheetText(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function fixed(value: number | null | undefined, digits: number): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '' : value.toFixed(digits);
}

function csvCells(record: FullRecord, number: number, opts: ExportOptions): Record<CsvColumn, string | number | boolean | null> {
  const r = toExportRecord(record, number, opts);
  const j = r.judge;
  return {
    number: r.number,
    id: r.id,
    createdAt: r.createdAt,
    platform: r.platform,
    channel: r.channel,
    user: r.user,
    question: spreadsheetText(r.question),
    answer: spreadsheetText(r.answer),
    kind: r.kind,
    abstained: r.abstained,
    retriever: r.retriever,
    embeddingModel: r.embeddingModel,
    model: r.model,
    promptVersion: r.promptVersion,
    segmentCorpusIds: r.segments.map((s) => s.corpusId).join(';'),
    segmentScores: r.segments.map((s) => s.score.toFixed(4)).join(';'),
    references: spreadsheetText(r.references.map((ref) => `${ref.title} (${formatClock(ref.start)}–${formatClock(ref.end)}) ${ref.url}`).join('\n')),
    votesUp: r.votes.up,
    votesDown: r.votes.down,
    voteComments: spreadsheetText(
      r.votes.items
        .filter((v) => v.comment !== null)
        .map((v) => `${v.value === 'up' ? '👍' : '👎'} ${v.comment ?? ''}`)
        .join('\n'),
    ),
    annotation: r.annotation,
    annotator: r.annotationInfo?.annotator ?? null,
    annotatedAt: r.annotationInfo?.at ?? null,
    judgeStatus: j?.status ?? null,
    judgeError: j?.error ? spreadsheetText(j.error) : null,
    answerRelevance: fixed(j?.answerRelevance?.normalized, 2),
    answerRelevanceRaw: j?.answerRelevance?.raw ?? null,
    contextRelevance: fixed(j?.contextRelevanceMean, 2),
    groundedness: fixed(j?.groundednessMean, 2),
    automatedLabel: j?.label ?? null,
    judgeReasoning: j ? spreadsheetText(j.reasoning) : null,
    judgeModel: j?.judgeModel ?? null,
    judgePromptVersion: j?.promptVersion ?? null,
    embedMs: r.timings.embedMs ?? null,
    retrieveMs: r.timings.retrieveMs,
    generateMs: r.timings.generateMs,
    totalMs: r.timings.totalMs,
    answerCorrectness: fixed(j?.answerCorrectness?.normalized, 2),
    verifiedAnswerId: r.verified?.id ?? null,
    caseStatus: r.case?.status ?? null,
    caseRequesters: r.case?.requesters ?? null,
    caseTaAnswer: r.case?.resolution?.text ? spreadsheetText(r.case.resolution.text) : null,
    caseAnsweredBy: r.case?.resolution?.by ?? null,
    caseFirstActionMs: r.case?.firstActionMs ?? null,
    caseResolvedMs: r.case?.resolvedMs ?? null,
    caseEndorsed: r.case ? r.case.endorsed : null,
    caseBotLabel: r.case?.resolution?.botLabel ?? null,
    caseRatingsUp: r.case?.ratings.up ?? null,
    caseRatingsDown: r.case?.ratings.down ?? null,
    verifiedHits: r.case ? r.case.verifiedHits : null,
    conversationId: r.conversationId,
    turn: r.turn,
    lectureFilter: r.lectureFilter?.join(';') ?? null,
    policyMode: r.policy?.mode ?? null,
    policyVersion: r.policy?.version ?? null,
    retrievalQuery: r.retrievalQuery === null ? null : spreadsheetText(r.retrievalQuery),
    condenseMs: r.timings.condenseMs ?? null,
  };
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(',')}\r\n`;
}

export function csvRow(record: FullRecord, number: number, opts: ExportOptions = {}): string {
  const cells = csvCells(record, number, opts);
  return `${CSV_COLUMNS.map((c) => csvField(cells[c])).join(',')}\r\n`;
}

export function toCsv(records: readonly FullRecord[], opts: ExportOptions = {}): string {
  return csvHeader() + records.map((r, i) => csvRow(r, i + 1, opts)).join('');
}

// ---------------------------------------------------------------------------------------------
// Markdown (pt-BR report; layout of the evaluation-record note)

const RETRIEVER_NAMES: Record<string, string> = { e5: 'E5', bm25: 'BM25', dense: 'busca densa', lexical: 'BM25' };

/** `e5+bm25` → `E5 + BM25`, `bm25` → `BM25`; unknown parts are kept as they are. */
export function retrieverLabel(retriever: string): string {
  const parts = retriever
    .split('+')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return 'recuperador desconhecido';
  return parts.map((p) => RETRIEVER_NAMES[p.toLowerCase()] ?? p).join(' + ');
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Student or LLM text on one line of the report, escaped (markdownText.ts). */
function mdText(text: string): string {
  return escapeInline(oneLine(text));
}

function mdLinkText(text: string): string {
  return text.replace(/([[\]\\])/g, '\\$1');
}

function mdUrl(url: string): string {
  return url.replace(/[\s()<>]/g, (c) => encodeURIComponent(c));
}

const dash = '—';

function answerHeading(record: FullRecord): string {
  if (record.kind === 'extractive') return 'Resposta extrativa (sem LLM)';
  if (record.kind === 'verified') return 'Resposta verificada por monitor (reutilizada)';
  if (record.kind === 'not-found' && record.segments.length === 0) return 'Resposta padrão (nenhum trecho encontrado)';
  return 'Resposta gerada pelo LLM';
}

function timingsText(t: Timings): string {
  const parts: string[] = [];
  if (t.condenseMs !== undefined) parts.push(`reescrita da pergunta ${t.condenseMs} ms`);
  if (t.embedMs !== undefined) parts.push(`embedding ${t.embedMs} ms`);
  parts.push(`recuperação ${t.retrieveMs} ms`, `geração ${t.generateMs} ms`, `total ${t.totalMs} ms`);
  return parts.join(', ');
}

/** One question's block, without the trailing `---`. */
export function markdownBlock(record: FullRecord, number: number, opts: ExportOptions = {}): string {
  const r = toExportRecord(record, number, opts);
  const out: string[] = [];
  out.push(`**Pergunta ${number}**: ${mdText(r.question)}`, '');
  if (r.retrievalQuery !== null) out.push(`**Pergunta usada na busca**: ${mdText(r.retrievalQuery)}`, '');
  if (r.lectureFilter !== null) out.push(`**Aulas consultadas**: ${r.lectureFilter.map(mdText).join(', ')}`, '');

  const heading = `**Segmentos recuperados pelo ${retrieverLabel(r.retriever)}**:`;
  if (r.segments.length === 0) {
    out.push(`${heading} nenhum`, '');
  } else {
    out.push(heading);
    r.segments.forEach((s, i) => {
      if (i > 0) out.push('');
      out.push(
        `- *Corpus ID:* ${s.corpusId}`,
        `- *Score:* ${s.score.toFixed(4)}`,
        `- *URL:* ${escapeHtml(s.url)}`,
        `- *Início:* ${s.startHms}`,
        `- *Fim:* ${s.endHms}`,
        `- *Transcrição:* ${mdText(s.text)}`,
      );
    });
    out.push('');
  }

  // A fence would not open after the label: such an answer starts on a line of its own.
  const answer = r.answer.trim();
  if (opensFence(answer.split('\n')[0] ?? '')) out.push(`**${answerHeading(record)}**:`, '', escapeBlock(answer), '');
  else out.push(`**${answerHeading(record)}**: ${escapeBlock(answer, { firstLineInline: true })}`, '');

  if (r.references.length === 0) {
    out.push('**Referências**: nenhuma', '');
  } else {
    out.push('**Referências**:');
    for (const ref of r.references) {
      const label = `${ref.title} (${formatClock(ref.start)}–${formatClock(ref.end)})`;
      out.push(opts.hideUrls ? `- ${mdText(label)}: ${HIDDEN_URL}` : `- [${mdLinkText(escapeHtml(oneLine(label)))}](${mdUrl(ref.url)})`);
    }
    out.push('');
  }

  out.push(`**Anotação manual**: ${r.annotation ?? dash}`, '');

  const j = r.judge;
  let ar: string;
  if (!j) ar = `${dash} (ainda não avaliada)`;
  else if (j.status === 'failed') ar = `${dash} (a avaliação automática falhou: ${mdText(j.error ?? 'motivo desconhecido')})`;
  else if (j.abstained) ar = `${dash} (abstenção: a resposta diz que as aulas não abordam o assunto)`;
  else ar = j.answerRelevance ? j.answerRelevance.normalized.toFixed(2) : dash;
  out.push(`**Answer Relevance (AR)**: ${ar}`, '');
  out.push(`**Anotação automatizada**: ${j?.status === 'ok' && j.label ? j.label : dash}`, '');
  out.push(`**Raciocínio (AR CoT)**: ${j?.status === 'ok' && j.reasoning ? mdText(j.reasoning) : dash}`, '');

  // Further fields of the record (votes, other judge scores, what generated the answer).
  out.push(r.votes.up + r.votes.down === 0 ? '**Votos**: nenhum' : `**Votos**: 👍 ${r.votes.up} · 👎 ${r.votes.down}`);
  for (const v of r.votes.items) {
    if (v.comment !== null) out.push(`- ${v.value === 'up' ? '👍' : '👎'} “${mdText(v.comment)}”`);
  }
  out.push('');
  if (r.verified) out.push(`**Resposta verificada usada**: ${r.verified.id} (similaridade ${r.verified.similarity.toFixed(2)}, ${r.verified.method === 'dense' ? 'embeddings' : 'palavras'})`, '');
  if (r.case) out.push(...caseLines(r.case), '');
  if (j?.status === 'ok') {
    out.push(
      `**Relevância do contexto**: ${j.contextRelevanceMean === null ? dash : j.contextRelevanceMean.toFixed(2)} · ` +
        `**Fundamentação (groundedness)**: ${j.groundednessMean === null ? dash : j.groundednessMean.toFixed(2)} · ` +
        `**Juiz**: ${j.judgeModel} (${j.promptVersion})`,
      '',
    );
  }
  const embedding = r.embeddingModel ? ` (${r.embeddingModel})` : '';
  const policy = r.policy ? ` · **Política de respostas**: ${POLICY_MODE_NAMES[r.policy.mode] ?? mdText(r.policy.mode)} (versão ${mdText(r.policy.version)})` : '';
  out.push(
    `**Modelo**: ${r.model} · **Versão do prompt**: ${r.promptVersion} · **Recuperação**: ${r.retriever}${embedding}${policy} · **Tempos**: ${timingsText(r.timings)}`,
  );
  return out.join('\n');
}

const POLICY_MODE_NAMES: Record<string, string> = { guide: 'orientar sem resolver trabalhos avaliados' };

/** One entry of the Markdown report: a record, its number in the export and, for a conversation's turn, where it sits. */
export interface MarkdownEntry {
  record: FullRecord;
  /** Its position in the export (the JSONL/CSV `number`). */
  number: number;
  /**
   * Set when the export holds two or more turns of its conversation: the n-th such conversation,
   * how many of its turns the export holds, and whether this entry is the first shown.
   */
  conversation: { number: number; turns: number; first: boolean } | null;
}

/**
 * The report's order: records in export order, except that the turns of one conversation are
 * shown together, in turn order, where its first exported turn is. Each keeps its export number.
 */
export function markdownEntries(records: readonly FullRecord[]): MarkdownEntry[] {
  const byConversation = new Map<string, { record: FullRecord; number: number }[]>();
  records.forEach((record, i) => {
    if (!record.conversationId) return;
    const turns = byConversation.get(record.conversationId);
    if (turns) turns.push({ record, number: i + 1 });
    else byConversation.set(record.conversationId, [{ record, number: i + 1 }]);
  });
  const entries: MarkdownEntry[] = [];
  let conversations = 0;
  records.forEach((record, i) => {
    const turns = record.conversationId ? byConversation.get(record.conversationId) : undefined;
    if (!turns || turns.length < 2) {
      entries.push({ record, number: i + 1, conversation: null });
      return;
    }
    if (turns[0]!.record !== record) return; // shown with the conversation's first turn
    const number = ++conversations;
    const ordered = [...turns].sort((a, b) => (a.record.turn ?? 0) - (b.record.turn ?? 0) || a.number - b.number);
    ordered.forEach((turn, j) => entries.push({ ...turn, conversation: { number, turns: turns.length, first: j === 0 } }));
  });
  return entries;
}

/**
 * The Markdown of one entry, separator included: a conversation's first turn is preceded by a
 * "Conversa <n>" heading, and each of its turns by its turn number.
 */
export function markdownEntry(entry: MarkdownEntry, index: number, opts: ExportOptions = {}): string {
  const head: string[] = [];
  const { conversation, record } = entry;
  if (conversation) {
    if (conversation.first) {
      head.push(`## Conversa ${conversation.number} (${conversation.turns} ${conversation.turns === 1 ? 'turno' : 'turnos'})`, '');
    }
    head.push(`_Turno ${record.turn ?? '?'} da conversa ${conversation.number}_`, '');
  }
  return `${index > 0 ? '\n' : ''}${head.join('\n')}${head.length > 0 ? '\n' : ''}${markdownBlock(record, entry.number, opts)}\n\n---\n`;
}

const CASE_WORDS: Record<CaseStatus, string> = { open: 'aberto', claimed: 'assumido', answered: 'respondido', endorsed: 'resposta do bot confirmada', closed: 'encerrado' };

function duration(ms: number | null): string {
  if (ms === null) return dash;
  const minutes = Math.round(ms / 60_000);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function caseLines(c: ExportCase): string[] {
  const lines = [
    `**Pedido de ajuda aos monitores**: ${CASE_WORDS[c.status]} · ${c.requesters} ${c.requesters === 1 ? 'pessoa pediu' : 'pessoas pediram'} · primeira ação em ${duration(c.firstActionMs)} · resolvido em ${duration(c.resolvedMs)}`,
  ];
  for (const d of c.details) lines.push(`- detalhe: “${mdText(d)}”`);
  const res = c.resolution;
  if (res?.kind === 'answered') lines.push(`- resposta do monitor (${res.by}): ${mdText(res.text ?? '')}${res.botLabel ? ` · veredito sobre o bot: ${res.botLabel}` : ''}`);
  if (res?.kind === 'closed') lines.push(`- encerrado (${res.by}): ${mdText(res.text ?? '')}`);
  if (res?.kind === 'endorsed') lines.push(`- resposta do bot confirmada por ${res.by}`);
  if (c.ratings.up + c.ratings.down > 0) lines.push(`- avaliação dos estudantes: 👍 ${c.ratings.up} · 👎 ${c.ratings.down}`);
  if (c.verifiedAnswerId) lines.push(`- resposta verificada ${c.verifiedAnswerId}: usada em ${c.verifiedHits} ${c.verifiedHits === 1 ? 'resposta' : 'respostas'} depois`);
  return lines;
}

export function toMarkdown(records: readonly FullRecord[], opts: ExportOptions = {}): string {
  if (records.length === 0) return '_Nenhuma resposta registrada no período._\n';
  return markdownEntries(records)
    .map((entry, i) => markdownEntry(entry, i, opts))
    .join('');
}
