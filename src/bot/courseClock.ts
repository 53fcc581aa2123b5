/**
 * Days in the course's time zone (COURSE_TIMEZONE, an IANA name such as America/Sao_Paulo), for
 * the daily question quota: when "today" started there and when the next day starts.
 *
 * Written on Intl (the time zone data Node ships) rather than a date library: only these two
 * questions are asked. Days are not always 24 hours: a daylight-saving change makes one 23 or 25
 * hours, and where it happens at midnight (as in Brazil until 2019) the day starts at 01:00.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function wallClock(instant: number, timeZone: string): { y: number; m: number; d: number; h: number; mi: number; s: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(instant))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return { y: parts.year!, m: parts.month!, d: parts.day!, h: parts.hour! % 24, mi: parts.minute!, s: parts.second! };
}

/** How far the zone's wall clock is ahead of UTC at `instant`, ms. */
function offsetMs(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  return Date.UTC(w.y, w.m - 1, w.d, w.h, w.mi, w.s) - (instant - (((instant % 1000) + 1000) % 1000));
}

/** The first instant of the day that contains `instant`, in `timeZone`. */
export function startOfDay(instant: number, timeZone: string): number {
  const { y, m, d } = wallClock(instant, timeZone);
  const midnight = Date.UTC(y, m - 1, d);
  // The offset at midnight is not known before midnight is: try the offsets around it, and take
  // the earliest instant that the zone shows as that date (a midnight skipped by a
  // daylight-saving change makes 01:00 the day's first moment).
  const first = midnight - offsetMs(midnight, timeZone);
  const candidates = [first, midnight - offsetMs(first, timeZone)];
  const sameDay = candidates.filter((c) => {
    const w = wallClock(c, timeZone);
    return w.y === y && w.m === m && w.d === d;
  });
  return sameDay.length > 0 ? Math.min(...sameDay) : Math.max(...candidates);
}

/** The first instant of the next day, in `timeZone`. */
export function startOfNextDay(instant: number, timeZone: string): number {
  // 36 hours after today's start is always inside tomorrow, whatever the day's length.
  return startOfDay(startOfDay(instant, timeZone) + 36 * 3600_000, timeZone);
}

/** `dd/mm` of `instant` in `timeZone`, and the zone's long pt-BR name ("Horário Padrão de Brasília"). */
export function describeDay(instant: number, timeZone: string): { date: string; zoneName: string } {
  const parts = new Intl.DateTimeFormat('pt-BR', { timeZone, day: '2-digit', month: '2-digit', timeZoneName: 'long' }).formatToParts(new Date(instant));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return { date: `${get('day')}/${get('month')}`, zoneName: get('timeZoneName') || timeZone };
}
