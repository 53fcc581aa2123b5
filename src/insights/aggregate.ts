/**
 * The one aggregation behind the staff report (`npm run report`, the live page) and the weekly
 * Slack digest: records stream through `add()` one at a time and only counters, small samples
 * and the questions the report lists are kept, so a store of 100,000 answers never sits in
 * memory. `finish()` returns plain data (`Insights`) that the renderers turn into HTML or Block
 * Kit; coverage gaps are grouped afterwards (src/insights/gaps.ts), since grouping needs every
 * gap question at once.
 *
 * Escalation cases (#17) are given first (`addCase`), so each record knows whether it was
 * escalated as it streams by. A record is counted in the week comparison whatever `since` says;
 * everything else counts only records created from `since` on.
 */
import { videoLinkAt } from '../course/links.js';
import { agreement, type Agreement, type LabelPair } from '../evaluation/agreement.js';
import { hideUrlsInText } from '../evaluation/exportRecords.js';
import { analyze } from '../lexical/portugueseAnalyzer.js';
import type { EscalationCase, Label } from '../store/types.js';
import { CourseCalendar, daysBetween, weekOf, weeksBetween } from './calendar.js';
import type { LectureCatalog } from './lectures.js';
import { questionText, type InsightRecord } from './records.js';

const DAY_MS = 86_400_000;
/** Case statuses that still wait for a TA. */
export const OPEN_CASE_STATUSES: ReadonlySet<string> = new Set(['open', 'claimed']);
/** The answer kinds every report shows, even at zero ('verified' comes with #17). */
export const KNOWN_KINDS = ['llm', 'extractive', 'not-found', 'verified'] as const;
export const KNOWN_PLATFORMS = ['discord', 'slack', 'cli'] as const;
/** Up to this many days the time series are per day, beyond it per week. */
const DAILY_UP_TO_DAYS = 62;
/** Questions kept per heatmap bin (the most recent). */
const SAMPLES_PER_BIN = 5;
export const TOP_MOMENTS = 10;
/** Minutes either side of a top moment that belong to it. */
export const MOMENT_NEIGHBOURS = 2;
const TOP_QUESTIONS_PER_LECTURE = 5;

export interface AggregateOptions {
  now: Date;
  /** Only records created from this instant on (the week comparison ignores it). */
  since?: Date;
  timeZone: string;
  /** The course's lectures (titles, links, lengths); null: only what the records cite. */
  lectures: LectureCatalog | null;
  /** Replace every URL with nothing (links) or `oculto` (inside texts). */
  hideUrls?: boolean;
}

/** A question as the report lists it, with the other turns of its conversation (#16). */
export interface ListedQuestion {
  id: string;
  text: string;
  /** ISO time. */
  at: string;
  conversation: { id: string; turns: { id: string; turn: number | null; text: string; at: string }[] } | null;
}

export interface HeatBin {
  minute: number;
  /** Questions whose answer cited this minute. */
  count: number;
  /** Of those, answers with a 👎. */
  down: number;
  /** Of those, answers a TA labelled I (incorrect). */
  incorrect: number;
  /** Of those, questions escalated to the TAs. */
  escalated: number;
}

export interface LectureSummary {
  id: string;
  title: string;
  /** Link to the video, null with hideUrls. */
  url: string | null;
  /** Minutes on the timeline (from the transcript, or the last minute cited). */
  minutes: number;
  questions: number;
  up: number;
  down: number;
  upRate: number | null;
  topQuestions: { text: string; count: number }[];
  /** Every minute of the timeline, cited or not. */
  bins: HeatBin[];
}

export interface Moment extends HeatBin {
  lectureId: string;
  title: string;
  /** The video at the start of the minute; null with hideUrls. */
  url: string | null;
  questions: ListedQuestion[];
}

/** A question for the coverage gaps: answered "not found", voted 👎 or escalated. */
export interface GapQuestion {
  id: string;
  text: string;
  atMs: number;
  notFound: boolean;
  down: boolean;
  escalated: boolean;
  lectureId: string | null;
  conversationId: string | null;
  turn: number | null;
  /** The question's words no lecture uses (from the answer's coverage estimate). */
  unknownWords: string[];
}

export interface GapGroup {
  size: number;
  /** The group's most typical question. */
  label: string;
  examples: ListedQuestion[];
  notFound: number;
  down: number;
  escalated: number;
  lectures: string[];
  /** Words the group's questions use and no lecture does, most frequent first: what is missing. */
  unknownWords: string[];
}

export interface OpenCase {
  id: string;
  question: string;
  status: string;
  createdAt: string;
  lectureTitle: string | null;
  /** The cited moment of the escalated answer, null without one or with hideUrls. */
  url: string | null;
}

export interface Insights {
  generatedAt: string;
  since: string | null;
  timeZone: string;
  hideUrls: boolean;
  totals: {
    questions: number;
    byPlatform: Record<string, number>;
    byKind: Record<string, number>;
    up: number;
    down: number;
    upRate: number | null;
    judged: number;
    judgeFailed: number;
    abstained: number;
    escalated: number;
    manualLabels: Record<Label, number>;
  };
  /** The last 7 days against the 7 before them, ending at `generatedAt`. */
  weeks: { thisWeek: number; lastWeek: number };
  /** First and last day with questions (course time zone), null when there are none. */
  period: { first: string | null; last: string | null };
  granularity: 'day' | 'week';
  questionsOverTime: { period: string; platform: string; count: number }[];
  qualityOverTime: {
    week: string;
    votes: number;
    upRate: number | null;
    judged: number;
    answerRelevance: number | null;
    contextRelevance: number | null;
    groundedness: number | null;
  }[];
  kindsOverTime: { week: string; kind: string; count: number }[];
  judgeDistribution: {
    /** Answers per raw score 0, 1, 2, 3. */
    answerRelevance: number[];
    /** Answers per tenth of the mean score (0–0.1, …, 0.9–1). */
    contextRelevance: number[];
    groundedness: number[];
  };
  agreement: Agreement;
  agreementByLecture: { lectureId: string; title: string; agreement: Agreement }[];
  lectures: LectureSummary[];
  topMoments: Moment[];
  gapQuestions: GapQuestion[];
  openCases: OpenCase[];
}

interface Sample {
  id: string;
  text: string;
  atMs: number;
  conversationId: string | null;
  turn: number | null;
}

interface Bin {
  count: number;
  down: number;
  incorrect: number;
  escalated: number;
  samples: Sample[];
}

interface DayStats {
  platforms: Map<string, number>;
  kinds: Map<string, number>;
  up: number;
  down: number;
  ar: [number, number];
  cr: [number, number];
  g: [number, number];
}

interface LectureStats {
  questions: number;
  up: number;
  down: number;
  lastCitedSec: number;
  title: string;
  url: string;
  /** Question signature → how often, and its latest wording. */
  asked: Map<string, { count: number; text: string; atMs: number }>;
  bins: Map<number, Bin>;
}

function increment<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

function meanOf([sum, n]: [number, number]): number | null {
  return n === 0 ? null : sum / n;
}

function addTo(acc: [number, number], value: number | null): void {
  if (value === null) return;
  acc[0] += value;
  acc[1]++;
}

function tenth(value: number): number {
  return Math.min(9, Math.max(0, Math.floor(value * 10)));
}

const signatures = new Map<string, string>();
const SIGNATURE_CACHE_LIMIT = 50_000;

/** Questions that differ only in word order, accents, case or stop words ask the same thing. */
export function questionSignature(text: string): string {
  // Students repeat questions word for word: analysing each wording once saves most of the work.
  let signature = signatures.get(text);
  if (signature === undefined) {
    const terms = [...new Set(analyze(text))].sort();
    signature = terms.length > 0 ? terms.join(' ') : text.toLowerCase().trim();
    if (signatures.size >= SIGNATURE_CACHE_LIMIT) signatures.clear();
    signatures.set(text, signature);
  }
  return signature;
}

/** Keeps the `limit` most recent samples. */
function keepRecent(samples: Sample[], sample: Sample, limit: number): void {
  if (samples.length < limit) {
    samples.push(sample);
    return;
  }
  let oldest = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i]!.atMs < samples[oldest]!.atMs) oldest = i;
  if (sample.atMs > samples[oldest]!.atMs) samples[oldest] = sample;
}

export class InsightsAggregator {
  private readonly calendar: CourseCalendar;
  private readonly sinceMs: number;
  private readonly nowMs: number;
  private readonly casesByAnswer = new Map<string, EscalationCase>();
  private readonly cases: EscalationCase[] = [];
  /** Case id → the lecture moment its answer cited. */
  private readonly caseMoments = new Map<string, { lectureId: string; start: number }>();
  private readonly answersSeen = new Set<string>();
  private readonly days = new Map<string, DayStats>();
  private readonly lectures = new Map<string, LectureStats>();
  private readonly conversations = new Map<string, Sample[]>();
  private readonly gapQuestions: GapQuestion[] = [];
  private readonly pairs: LabelPair[] = [];
  private readonly pairsByLecture = new Map<string, LabelPair[]>();
  private readonly distribution = { answerRelevance: [0, 0, 0, 0], contextRelevance: new Array<number>(10).fill(0), groundedness: new Array<number>(10).fill(0) };
  private readonly totals = {
    questions: 0,
    byPlatform: new Map<string, number>(),
    byKind: new Map<string, number>(),
    up: 0,
    down: 0,
    judged: 0,
    judgeFailed: 0,
    abstained: 0,
    escalated: 0,
    manualLabels: { C: 0, P: 0, I: 0 } as Record<Label, number>,
  };
  private readonly weeks = { thisWeek: 0, lastWeek: 0 };

  constructor(private readonly options: AggregateOptions) {
    this.calendar = new CourseCalendar(options.timeZone);
    this.sinceMs = options.since?.getTime() ?? -Infinity;
    this.nowMs = options.now.getTime();
  }

  /** An escalation case; give them all before the records. */
  addCase(escalation: EscalationCase): void {
    this.cases.push(escalation);
    if (escalation.answerId) this.casesByAnswer.set(escalation.answerId, escalation);
  }

  /** The case opened from an answer, for `toInsightRecord`. */
  caseFor(answerId: string): EscalationCase | undefined {
    return this.casesByAnswer.get(answerId);
  }

  add(record: InsightRecord): void {
    const at = record.createdAtMs;
    if (!Number.isFinite(at)) return;
    if (at >= this.nowMs - 7 * DAY_MS && at < this.nowMs) this.weeks.thisWeek++;
    else if (at >= this.nowMs - 14 * DAY_MS && at < this.nowMs - 7 * DAY_MS) this.weeks.lastWeek++;
    if (at < this.sinceMs) return;
    this.answersSeen.add(record.id);

    const t = this.totals;
    t.questions++;
    increment(t.byPlatform, record.platform);
    increment(t.byKind, record.kind);
    t.up += record.up;
    t.down += record.down;
    if (record.judge) t.judged++;
    if (record.judgeFailed) t.judgeFailed++;
    if (record.abstained) t.abstained++;
    if (record.escalation) t.escalated++;
    if (record.manualLabel) t.manualLabels[record.manualLabel]++;

    const day = this.calendar.day(at);
    let stats = this.days.get(day);
    if (!stats) {
      stats = { platforms: new Map(), kinds: new Map(), up: 0, down: 0, ar: [0, 0], cr: [0, 0], g: [0, 0] };
      this.days.set(day, stats);
    }
    increment(stats.platforms, record.platform);
    increment(stats.kinds, record.kind);
    stats.up += record.up;
    stats.down += record.down;

    const judge = record.judge;
    if (judge && !judge.abstained) {
      addTo(stats.ar, judge.answerRelevance);
      addTo(stats.cr, judge.contextRelevance);
      addTo(stats.g, judge.groundedness);
      if (judge.answerRelevanceRaw !== null) this.distribution.answerRelevance[Math.min(3, Math.max(0, Math.round(judge.answerRelevanceRaw)))]!++;
      if (judge.contextRelevance !== null) this.distribution.contextRelevance[tenth(judge.contextRelevance)]!++;
      if (judge.groundedness !== null) this.distribution.groundedness[tenth(judge.groundedness)]!++;
    }

    const primary = record.citations[0]?.videoId ?? null;
    if (record.manualLabel && judge?.label) {
      const pair = { manual: record.manualLabel, automated: judge.label };
      this.pairs.push(pair);
      const key = primary ?? '';
      const list = this.pairsByLecture.get(key);
      if (list) list.push(pair);
      else this.pairsByLecture.set(key, [pair]);
    }

    const sample: Sample = { id: record.id, text: record.question, atMs: at, conversationId: record.conversationId, turn: record.turn };
    if (record.conversationId) {
      const turns = this.conversations.get(record.conversationId);
      if (turns) turns.push(sample);
      else this.conversations.set(record.conversationId, [sample]);
    }

    this.addCitations(record, sample);
    if (record.escalation && primary) {
      const esc = this.casesByAnswer.get(record.id);
      if (esc) this.caseMoments.set(esc.id, { lectureId: primary, start: record.citations[0]!.start });
    }

    if (record.abstained || record.down > 0 || record.escalation) {
      this.gapQuestions.push({
        id: record.id,
        text: record.question,
        atMs: at,
        notFound: record.abstained,
        down: record.down > 0,
        escalated: record.escalation !== null,
        lectureId: primary,
        conversationId: record.conversationId,
        turn: record.turn,
        unknownWords: record.unknownWords,
      });
    }
  }

  private addCitations(record: InsightRecord, sample: Sample): void {
    const seenLectures = new Set<string>();
    const seenBins = new Set<string>();
    const signature = record.citations.length > 0 ? questionSignature(record.question) : '';
    for (const c of record.citations) {
      let lecture = this.lectures.get(c.videoId);
      if (!lecture) {
        lecture = { questions: 0, up: 0, down: 0, lastCitedSec: 0, title: c.title, url: c.url, asked: new Map(), bins: new Map() };
        this.lectures.set(c.videoId, lecture);
      }
      lecture.lastCitedSec = Math.max(lecture.lastCitedSec, c.end);
      if (!seenLectures.has(c.videoId)) {
        seenLectures.add(c.videoId);
        lecture.questions++;
        lecture.up += record.up;
        lecture.down += record.down;
        const asked = lecture.asked.get(signature);
        if (!asked) lecture.asked.set(signature, { count: 1, text: record.question, atMs: sample.atMs });
        else {
          asked.count++;
          if (sample.atMs > asked.atMs) Object.assign(asked, { text: record.question, atMs: sample.atMs });
        }
      }
      const first = Math.floor(c.start / 60);
      const last = Math.max(first, Math.ceil(c.end / 60) - 1);
      for (let minute = first; minute <= last; minute++) {
        const key = `${c.videoId}\n${minute}`;
        if (seenBins.has(key)) continue;
        seenBins.add(key);
        let bin = lecture.bins.get(minute);
        if (!bin) {
          bin = { count: 0, down: 0, incorrect: 0, escalated: 0, samples: [] };
          lecture.bins.set(minute, bin);
        }
        bin.count++;
        if (record.down > 0) bin.down++;
        if (record.manualLabel === 'I') bin.incorrect++;
        if (record.escalation) bin.escalated++;
        keepRecent(bin.samples, sample, SAMPLES_PER_BIN);
      }
    }
  }

  finish(): Insights {
    const hide = this.options.hideUrls === true;
    const text = (t: string) => (hide ? hideUrlsInText(t) : t);
    const link = (url: string, seconds: number) => (hide || !/^https?:\/\//i.test(url) ? null : videoLinkAt(url, seconds));
    const iso = (ms: number) => new Date(ms).toISOString();

    const listed = (samples: readonly Sample[]): ListedQuestion[] => {
      // One entry per conversation: its turns shown together, in order.
      const out: ListedQuestion[] = [];
      const shown = new Set<string>();
      for (const s of [...samples].sort((a, b) => b.atMs - a.atMs)) {
        if (s.conversationId && shown.has(s.conversationId)) continue;
        const turns = s.conversationId ? (this.conversations.get(s.conversationId) ?? []) : [];
        if (s.conversationId) shown.add(s.conversationId);
        out.push({
          id: s.id,
          text: text(s.text),
          at: iso(s.atMs),
          conversation:
            s.conversationId && turns.length > 1
              ? {
                  id: s.conversationId,
                  turns: [...turns]
                    .sort((a, b) => (a.turn ?? Infinity) - (b.turn ?? Infinity) || a.atMs - b.atMs)
                    .map((t) => ({ id: t.id, turn: t.turn, text: text(t.text), at: iso(t.atMs) })),
                }
              : null,
        });
      }
      return out;
    };

    // Lectures: the catalog's, in course order, then any other the records cite.
    const catalog = this.options.lectures ?? new Map();
    const ids = [...catalog.values()].sort((a, b) => a.order - b.order).map((l) => l.id);
    for (const id of [...this.lectures.keys()].sort()) if (!catalog.has(id)) ids.push(id);
    const lectures: LectureSummary[] = ids.map((id) => {
      const info = catalog.get(id);
      const stats = this.lectures.get(id);
      const seconds = Math.max(info?.durationSec ?? 0, stats?.lastCitedSec ?? 0);
      const minutes = Math.max(1, Math.ceil(seconds / 60));
      const url = info?.url ?? stats?.url ?? '';
      const bins: HeatBin[] = [];
      for (let minute = 0; minute < minutes; minute++) {
        const bin = stats?.bins.get(minute);
        bins.push({ minute, count: bin?.count ?? 0, down: bin?.down ?? 0, incorrect: bin?.incorrect ?? 0, escalated: bin?.escalated ?? 0 });
      }
      const up = stats?.up ?? 0;
      const down = stats?.down ?? 0;
      return {
        id,
        title: info?.title ?? stats?.title ?? id,
        url: link(url, 0),
        minutes,
        questions: stats?.questions ?? 0,
        up,
        down,
        upRate: ratio(up, up + down),
        topQuestions: [...(stats?.asked.values() ?? [])]
          .sort((a, b) => b.count - a.count || b.atMs - a.atMs)
          .slice(0, TOP_QUESTIONS_PER_LECTURE)
          .map((q) => ({ text: text(q.text), count: q.count })),
        bins,
      };
    });
    const titleOf = (id: string | null) => (id === null ? null : (lectures.find((l) => l.id === id)?.title ?? id));

    // Every cited minute, best first; questions are listed only for the ones shown.
    const ranked: { lectureId: string; minute: number; bin: Bin }[] = [];
    for (const [lectureId, stats] of this.lectures) for (const [minute, bin] of stats.bins) ranked.push({ lectureId, minute, bin });
    const marks = (b: Bin) => b.down + b.incorrect + b.escalated;
    const lectureIndex = new Map(lectures.map((l, i) => [l.id, i]));
    ranked.sort(
      (a, b) => b.bin.count - a.bin.count || marks(b.bin) - marks(a.bin) || lectureIndex.get(a.lectureId)! - lectureIndex.get(b.lectureId)! || a.minute - b.minute,
    );
    // Neighbouring minutes are one moment of the lecture (an answer cites ~2–3 minutes at once):
    // the best minute stands for them, so the list shows ten different places.
    const chosen: typeof ranked = [];
    for (const candidate of ranked) {
      if (chosen.length >= TOP_MOMENTS) break;
      if (chosen.some((c) => c.lectureId === candidate.lectureId && Math.abs(c.minute - candidate.minute) <= MOMENT_NEIGHBOURS)) continue;
      chosen.push(candidate);
    }
    const moments: Moment[] = chosen.map(({ lectureId, minute, bin }) => ({
      lectureId,
      title: lectures[lectureIndex.get(lectureId)!]!.title,
      minute,
      url: link(catalog.get(lectureId)?.url ?? this.lectures.get(lectureId)!.url, minute * 60),
      count: bin.count,
      down: bin.down,
      incorrect: bin.incorrect,
      escalated: bin.escalated,
      questions: listed(bin.samples),
    }));

    // Escalations whose question has no answer in the period are gap questions of their own.
    for (const c of this.cases) {
      const at = Date.parse(c.createdAt);
      if (!Number.isFinite(at) || at < this.sinceMs) continue;
      if (c.answerId && this.answersSeen.has(c.answerId)) continue;
      this.gapQuestions.push({ id: c.id, text: questionText(c.question), atMs: at, notFound: false, down: false, escalated: true, lectureId: null, conversationId: null, turn: null, unknownWords: [] });
    }

    const openCases: OpenCase[] = this.cases
      .filter((c) => OPEN_CASE_STATUSES.has(c.status))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
      .map((c) => {
        const moment = this.caseMoments.get(c.id);
        const lectureUrl = moment ? (catalog.get(moment.lectureId)?.url ?? this.lectures.get(moment.lectureId)?.url ?? '') : '';
        return {
          id: c.id,
          question: text(questionText(c.question)),
          status: c.status,
          createdAt: c.createdAt,
          lectureTitle: moment ? titleOf(moment.lectureId) : null,
          url: moment ? link(lectureUrl, moment.start) : null,
        };
      });

    const dayKeys = [...this.days.keys()].sort();
    const first = dayKeys[0] ?? null;
    const last = dayKeys.at(-1) ?? null;
    const granularity: 'day' | 'week' = first && last && daysBetween(first, last).length > DAILY_UP_TO_DAYS ? 'week' : 'day';
    const questionsOverTime: Insights['questionsOverTime'] = [];
    const weekly = new Map<string, DayStats>();
    if (first && last) {
      for (const day of daysBetween(first, last)) {
        const stats = this.days.get(day);
        const week = weekOf(day);
        let w = weekly.get(week);
        if (!w) {
          w = { platforms: new Map(), kinds: new Map(), up: 0, down: 0, ar: [0, 0], cr: [0, 0], g: [0, 0] };
          weekly.set(week, w);
        }
        if (!stats) continue;
        for (const [k, v] of stats.platforms) increment(w.platforms, k, v);
        for (const [k, v] of stats.kinds) increment(w.kinds, k, v);
        w.up += stats.up;
        w.down += stats.down;
        for (const m of ['ar', 'cr', 'g'] as const) {
          w[m][0] += stats[m][0];
          w[m][1] += stats[m][1];
        }
      }
      const platforms = [...new Set([...KNOWN_PLATFORMS, ...this.totals.byPlatform.keys()])];
      const periods = granularity === 'day' ? daysBetween(first, last) : weeksBetween(first, last);
      for (const period of periods) {
        const stats = granularity === 'day' ? this.days.get(period) : weekly.get(period);
        for (const platform of platforms) {
          if (!this.totals.byPlatform.has(platform) && !(KNOWN_PLATFORMS as readonly string[]).includes(platform)) continue;
          questionsOverTime.push({ period, platform, count: stats?.platforms.get(platform) ?? 0 });
        }
      }
    }
    const weeks = first && last ? weeksBetween(first, last) : [];
    const kinds = [...new Set([...KNOWN_KINDS, ...this.totals.byKind.keys()])];

    const byLecture = [...this.pairsByLecture.entries()]
      .map(([lectureId, pairs]) => ({ lectureId, title: titleOf(lectureId || null) ?? 'sem aula citada', agreement: agreement(pairs) }))
      .sort((a, b) => {
        const order = (id: string) => catalog.get(id)?.order ?? Number.MAX_SAFE_INTEGER;
        return order(a.lectureId) - order(b.lectureId) || a.title.localeCompare(b.title);
      });

    const t = this.totals;
    return {
      generatedAt: this.options.now.toISOString(),
      since: this.options.since ? this.options.since.toISOString() : null,
      timeZone: this.options.timeZone,
      hideUrls: hide,
      totals: {
        questions: t.questions,
        byPlatform: Object.fromEntries(t.byPlatform),
        byKind: Object.fromEntries(kinds.map((k) => [k, t.byKind.get(k) ?? 0])),
        up: t.up,
        down: t.down,
        upRate: ratio(t.up, t.up + t.down),
        judged: t.judged,
        judgeFailed: t.judgeFailed,
        abstained: t.abstained,
        escalated: t.escalated,
        manualLabels: { ...t.manualLabels },
      },
      weeks: { ...this.weeks },
      period: { first, last },
      granularity,
      questionsOverTime,
      qualityOverTime: weeks.map((week) => {
        const w = weekly.get(week);
        return {
          week,
          votes: (w?.up ?? 0) + (w?.down ?? 0),
          upRate: w ? ratio(w.up, w.up + w.down) : null,
          judged: w?.ar[1] ?? 0,
          answerRelevance: w ? meanOf(w.ar) : null,
          contextRelevance: w ? meanOf(w.cr) : null,
          groundedness: w ? meanOf(w.g) : null,
        };
      }),
      kindsOverTime: weeks.flatMap((week) => kinds.map((kind) => ({ week, kind, count: weekly.get(week)?.kinds.get(kind) ?? 0 }))),
      judgeDistribution: {
        answerRelevance: [...this.distribution.answerRelevance],
        contextRelevance: [...this.distribution.contextRelevance],
        groundedness: [...this.distribution.groundedness],
      },
      agreement: agreement(this.pairs),
      agreementByLecture: byLecture,
      lectures,
      topMoments: moments,
      gapQuestions: this.gapQuestions.map((g) => ({ ...g, text: text(g.text), unknownWords: hide ? g.unknownWords.map(hideUrlsInText) : g.unknownWords })),
      openCases,
    };
  }

  /** The turns of a conversation seen so far (for listing gap examples with their conversation). */
  conversationTurns(conversationId: string): ListedQuestion['conversation'] {
    const turns = this.conversations.get(conversationId);
    if (!turns || turns.length < 2) return null;
    const hide = this.options.hideUrls === true;
    return {
      id: conversationId,
      turns: [...turns]
        .sort((a, b) => (a.turn ?? Infinity) - (b.turn ?? Infinity) || a.atMs - b.atMs)
        .map((t) => ({ id: t.id, turn: t.turn, text: hide ? hideUrlsInText(t.text) : t.text, at: new Date(t.atMs).toISOString() })),
    };
  }
}
