/**
 * The course's lectures as students name them: "aula 6", "6", a title or part of one, or a video
 * id. Used by the lecture filter (`/pergunta … aula: …` on Discord, with autocomplete; the
 * `aula 6: …` prefix on Slack) to turn what was typed into video ids.
 *
 * Matching folds case and accents and collapses spaces. A lecture's number comes from its title
 * ("Aula 6 — …", "Lecture 6", "6. …") or, failing that, from the digits ending its id (`aula06`).
 */
import type { Video } from '../types.js';

/** Discord's autocomplete allows at most 25 choices, each name and value at most 100 characters. */
export const MAX_LECTURE_CHOICES = 25;
const CHOICE_TEXT_LIMIT = 100;

export interface Lecture {
  videoId: string;
  title: string;
  /** The lecture's number, when its title or id has one. */
  number: number | null;
}

export interface LectureChoice {
  /** What the student sees: the title. */
  name: string;
  /** What comes back when chosen: the video id. */
  value: string;
}

export type LectureMatch =
  | { ok: true; lectures: Lecture[] }
  | { ok: false; reason: 'unknown' | 'ambiguous'; candidates: Lecture[] };

/** Lower case, accents removed, punctuation to spaces, spaces collapsed. */
export function foldText(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

const NUMBERED_TITLE = /^\s*(?:aula|lecture|licao|lição|semana|modulo|módulo|parte|class|week)?\s*n?[ºo°.]?\s*0*(\d{1,4})\b/iu;

function lectureNumber(video: Video): number | null {
  const fromTitle = NUMBERED_TITLE.exec(video.title);
  if (fromTitle) return Number(fromTitle[1]);
  const fromId = /(\d{1,4})$/.exec(video.id);
  return fromId ? Number(fromId[1]) : null;
}

function truncate(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('').trimEnd()}…`;
}

export class LectureCatalog {
  readonly lectures: readonly Lecture[];
  private readonly folded: readonly { lecture: Lecture; title: string; id: string }[];

  constructor(videos: Iterable<Video>) {
    this.lectures = [...videos].map((v) => ({ videoId: v.id, title: v.title, number: lectureNumber(v) }));
    this.folded = this.lectures.map((lecture) => ({ lecture, title: foldText(lecture.title), id: foldText(lecture.videoId) }));
  }

  get size(): number {
    return this.lectures.length;
  }

  byId(videoId: string): Lecture | undefined {
    return this.lectures.find((l) => l.videoId === videoId);
  }

  /**
   * Autocomplete: the lectures matching what the student has typed so far (every word found in
   * the title, the id or "aula <number>"), titles starting with it first, at most 25.
   */
  choices(typed: string, limit = MAX_LECTURE_CHOICES): LectureChoice[] {
    const query = foldText(typed);
    const words = query.split(' ').filter(Boolean);
    const scored: { lecture: Lecture; rank: number; index: number }[] = [];
    this.folded.forEach(({ lecture, title, id }, index) => {
      const number = lecture.number === null ? '' : ` aula ${lecture.number} ${lecture.number}`;
      const haystack = `${title} ${id}${number}`;
      if (!words.every((w) => haystack.includes(w))) return;
      const rank = query === '' ? 1 : title.startsWith(query) || id === query || (lecture.number !== null && new RegExp(`^(aula )?0*${lecture.number}$`).test(query)) ? 0 : 1;
      scored.push({ lecture, rank, index });
    });
    return scored
      .sort((a, b) => a.rank - b.rank || a.index - b.index)
      .slice(0, Math.min(limit, MAX_LECTURE_CHOICES))
      .map(({ lecture }) => ({ name: truncate(lecture.title.replace(/\s+/g, ' ').trim() || lecture.videoId, CHOICE_TEXT_LIMIT), value: lecture.videoId }));
  }

  /**
   * The lecture(s) a reference names: a video id, "aula 6" / "6" (every lecture with that
   * number), an exact title, or a part of a title that only one lecture has.
   */
  match(reference: string): LectureMatch {
    const raw = reference.trim();
    const byId = this.lectures.find((l) => l.videoId === raw);
    if (byId) return { ok: true, lectures: [byId] };
    const query = foldText(raw);
    if (query === '') return { ok: false, reason: 'unknown', candidates: [] };
    const numbered = /^(?:aula|lecture|licao|semana|modulo|parte|class|week)?\s*n?[ºo°]?\s*0*(\d{1,4})$/.exec(query);
    if (numbered) {
      const n = Number(numbered[1]);
      const lectures = this.lectures.filter((l) => l.number === n);
      return lectures.length > 0 ? { ok: true, lectures } : { ok: false, reason: 'unknown', candidates: [] };
    }
    const exact = this.folded.filter((f) => f.title === query || f.id === query).map((f) => f.lecture);
    if (exact.length > 0) return { ok: true, lectures: exact };
    const partial = this.folded.filter((f) => f.title.includes(query)).map((f) => f.lecture);
    if (partial.length === 1) return { ok: true, lectures: partial };
    return { ok: false, reason: partial.length > 1 ? 'ambiguous' : 'unknown', candidates: partial };
  }

  /**
   * An optional lecture prefix of a question typed as text (Slack): `aula 6: pergunta` or
   * `<título da aula>: pergunta`. Returns the lecture reference and the rest; null when the text
   * has no such prefix (a colon in an ordinary question is left alone unless the part before it
   * names a lecture, or starts with "aula").
   */
  splitPrefix(text: string): { reference: string; question: string; match: LectureMatch } | null {
    const at = text.indexOf(':');
    if (at <= 0 || at > 160) return null;
    const reference = text.slice(0, at).trim();
    const question = text.slice(at + 1).trim();
    if (reference === '') return null;
    const match = this.match(reference);
    if (match.ok || /^aula\b/.test(foldText(reference))) return { reference, question, match };
    return null;
  }
}
