/**
 * Days and weeks of the course's calendar (COURSE_TIMEZONE): the report counts questions per
 * day and per week as the people of the course live them, not in UTC.
 */

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` of an instant in a time zone; one formatter per zone (creating one is slow). */
export class CourseCalendar {
  private readonly format: (date: Date) => string;
  /** Day of each quarter hour seen (every zone's offset is a multiple of 15 minutes). */
  private readonly quarters = new Map<number, string>();

  constructor(readonly timeZone: string) {
    // en-CA writes dates as YYYY-MM-DD.
    const formatter = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    this.format = (date) => formatter.format(date);
  }

  day(ms: number): string {
    const quarter = Math.floor(ms / QUARTER_HOUR_MS);
    let day = this.quarters.get(quarter);
    if (day === undefined) {
      day = this.format(new Date(quarter * QUARTER_HOUR_MS));
      if (this.quarters.size >= 100_000) this.quarters.clear();
      this.quarters.set(quarter, day);
    }
    return day;
  }
}

const QUARTER_HOUR_MS = 15 * 60_000;

/** True when `timeZone` is a zone Intl knows (e.g. `America/Sao_Paulo`). */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function dayNumber(day: string): number {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(5, 7)) - 1, Number(day.slice(8, 10))) / DAY_MS;
}

function dayOf(number: number): string {
  return new Date(number * DAY_MS).toISOString().slice(0, 10);
}

/** The Monday (`YYYY-MM-DD`) of the week of `day`. */
export function weekOf(day: string): string {
  const n = dayNumber(day);
  // 1970-01-01 was a Thursday: (n + 3) mod 7 is 0 on Mondays.
  return dayOf(n - ((((n + 3) % 7) + 7) % 7));
}

/** Every day from `first` to `last`, both included. */
export function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let n = dayNumber(first); n <= dayNumber(last); n++) out.push(dayOf(n));
  return out;
}

/** Every Monday from the week of `first` to the week of `last`. */
export function weeksBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let n = dayNumber(weekOf(first)); n <= dayNumber(weekOf(last)); n += 7) out.push(dayOf(n));
  return out;
}

/** `DD/MM` (pt-BR short date) of a `YYYY-MM-DD` day. */
export function shortDate(day: string): string {
  return `${day.slice(8, 10)}/${day.slice(5, 7)}`;
}

/** `DD/MM/AAAA` of a `YYYY-MM-DD` day. */
export function longDate(day: string): string {
  return `${day.slice(8, 10)}/${day.slice(5, 7)}/${day.slice(0, 4)}`;
}
