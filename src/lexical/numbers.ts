/**
 * Numbers written out in Brazilian Portuguese, as automatic captions transcribe speech: students
 * type "800 fotos" or "auc de 0.5", the lecture's captions say "oitocentas fotos" and "zero
 * vírgula cinco". Query analysis adds the spelled form as another way to find a number.
 */

const UNITS = ['zero', 'um', 'dois', 'três', 'quatro', 'cinco', 'seis', 'sete', 'oito', 'nove'];
const TEENS = ['dez', 'onze', 'doze', 'treze', 'catorze', 'quinze', 'dezesseis', 'dezessete', 'dezoito', 'dezenove'];
const TENS = ['', '', 'vinte', 'trinta', 'quarenta', 'cinquenta', 'sessenta', 'setenta', 'oitenta', 'noventa'];
const HUNDREDS = ['', 'cento', 'duzentos', 'trezentos', 'quatrocentos', 'quinhentos', 'seiscentos', 'setecentos', 'oitocentos', 'novecentos'];

/** Largest number spelled out; longer digit strings are ids or codes, not spoken quantities. */
export const MAX_SPELLED = 999_999;

function belowThousand(n: number): string {
  if (n === 100) return 'cem';
  const parts: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds > 0) parts.push(HUNDREDS[hundreds]!);
  if (rest >= 20) {
    parts.push(TENS[Math.floor(rest / 10)]!);
    if (rest % 10 > 0) parts.push(UNITS[rest % 10]!);
  } else if (rest >= 10) {
    parts.push(TEENS[rest - 10]!);
  } else if (rest > 0 || hundreds === 0) {
    parts.push(UNITS[rest]!);
  }
  return parts.join(' e ');
}

/**
 * The cardinal `n` in words ("784" → "setecentos e oitenta e quatro"), or null when `n` is not a
 * whole number from 0 to MAX_SPELLED. Masculine forms; the analyzer's stemming makes most
 * feminine ones ("oitocentas", "duzentas") meet them.
 */
export function spellNumber(n: number): string | null {
  if (!Number.isInteger(n) || n < 0 || n > MAX_SPELLED) return null;
  if (n < 1000) return belowThousand(n);
  const thousands = Math.floor(n / 1000);
  const rest = n % 1000;
  const head = thousands === 1 ? 'mil' : `${belowThousand(thousands)} mil`;
  if (rest === 0) return head;
  // "mil e duzentos", "mil duzentos e trinta": "e" joins when the rest is a round hundred or below 100.
  const joiner = rest < 100 || rest % 100 === 0 ? ' e ' : ' ';
  return `${head}${joiner}${belowThousand(rest)}`;
}

/** A token of digits only ("800", "10") spelled out, or null. */
export function spellDigits(token: string): string | null {
  if (!/^\d{1,6}$/.test(token)) return null;
  return spellNumber(Number(token));
}
