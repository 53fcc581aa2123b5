/**
 * pt-BR wording and number formats the report, the live page and the digest share: names of
 * platforms, answer kinds and case statuses, and numbers with a decimal comma.
 */

export const PLATFORM_NAMES: Record<string, string> = { discord: 'Discord', slack: 'Slack', cli: 'Terminal' };
export const KIND_NAMES: Record<string, string> = {
  llm: 'LLM',
  extractive: 'Extrativa',
  'not-found': 'Não encontrada',
  verified: 'Verificada (monitor)',
};
export const CASE_STATUS_NAMES: Record<string, string> = {
  open: 'aberta',
  claimed: 'com um monitor',
  answered: 'respondida',
  endorsed: 'endossada',
  closed: 'encerrada',
};

export function platformName(platform: string): string {
  return PLATFORM_NAMES[platform] ?? platform;
}

export function kindName(kind: string): string {
  return KIND_NAMES[kind] ?? kind;
}

export function caseStatusName(status: string): string {
  return CASE_STATUS_NAMES[status] ?? status;
}

const integer = new Intl.NumberFormat('pt-BR', { maximumFractionDigits: 0 });
const twoDecimals = new Intl.NumberFormat('pt-BR', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `1.234` */
export function formatInt(n: number): string {
  return integer.format(n);
}

/** `0,76`, or `—` */
export function formatScore(value: number | null): string {
  return value === null ? '—' : twoDecimals.format(value);
}

/** `75%`, or `—` */
export function formatPercent(value: number | null): string {
  return value === null ? '—' : `${integer.format(value * 100)}%`;
}

/** `12:00–13:00`: a minute of a lecture as a clock range (`1:02:00–1:03:00` past an hour). */
export function minuteRange(minute: number): string {
  const clock = (m: number) => (m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:00` : `${m}:00`);
  return `${clock(minute)}–${clock(minute + 1)}`;
}

/** `+25%` / `−10%` / `=`: this week against the one before. */
export function weekChange(thisWeek: number, lastWeek: number): string {
  if (lastWeek === 0) return thisWeek === 0 ? '=' : 'novo';
  const change = (thisWeek - lastWeek) / lastWeek;
  if (Math.abs(change) < 0.005) return '=';
  return `${change > 0 ? '+' : '−'}${integer.format(Math.abs(change) * 100)}%`;
}
