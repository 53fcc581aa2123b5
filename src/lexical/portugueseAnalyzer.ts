/**
 * Portuguese text analysis for the lexical index: lowercase, accent folding, chat abbreviations
 * ("pq", "vc", "tb"…) read as the words they stand for, Snowball Portuguese stemming, stop words
 * (including the fillers of spoken lectures: "né", "tá", "aí"). Queries and documents go through
 * the same function, so a student typing "regularizacao" without accents still matches the
 * transcript's "regularização", and "pq" counts exactly as "por que" does (not at all).
 */
import { createRequire } from 'node:module';

interface SnowballStemmer {
  stem(word: string): string;
}
const require = createRequire(import.meta.url);
// snowball-stemmers is CommonJS with no type declarations.
const snowball = require('snowball-stemmers') as { newStemmer(language: string): SnowballStemmer };
const stemmer = snowball.newStemmer('portuguese');

export function foldAccents(text: string): string {
  return text.normalize('NFD').replace(/\p{M}+/gu, '');
}

/** Standard Portuguese stop words plus fillers of spoken Brazilian Portuguese, accent-folded. */
const STOP_WORDS = new Set(
  `a à ao aos aquela aquelas aquele aqueles aquilo as às até com como da das de dela delas dele deles depois do dos
   e é ela elas ele eles em entre era eram essa essas esse esses esta está estão estas este estes eu foi foram há
   isso isto já lhe lhes mais mas me mesmo meu meus minha minhas muito na não nas nem no nos nós nossa nossas nosso
   nossos num numa o os ou para pela pelas pelo pelos por qual quando que quem se seja sem ser seu seus só sua suas
   também te tem têm teu tu tua um uma umas uns você vocês vos ter tinha sao ser sobre pra pro pras pros
   né tá aí ah eh hum uhum tipo assim então beleza galera gente cara bom ok okay daí tô vou vai
   qual quais o que oque diferenca tudo tão comigo`
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => foldAccents(w.toLowerCase())),
);
// "diferença" appears in many questions ("qual a diferença entre…") and says nothing about the topic.

/**
 * How students abbreviate in chat (accent-folded) → what they mean. Most stand for stop words and
 * then count for nothing, as the full words do; without this they reached the index as unknown
 * words ("pq" is in no transcript). Single letters ("n", "q") are read only when they stand
 * alone: "n-ésimo" and "q-learning" keep their letter, which is then dropped as any single letter.
 */
export const CHAT_ABBREVIATIONS: Readonly<Record<string, string>> = {
  pq: 'por que',
  pk: 'por que',
  q: 'que',
  oq: 'o que',
  vc: 'você',
  vcs: 'vocês',
  tb: 'também',
  tbm: 'também',
  tmb: 'também',
  qnd: 'quando',
  qdo: 'quando',
  cmg: 'comigo',
  td: 'tudo',
  msm: 'mesmo',
  n: 'não',
  eh: 'é',
  ta: 'tá',
  tao: 'tão',
  pra: 'para',
  pro: 'para o',
  mt: 'muito',
  mto: 'muito',
  dps: 'depois',
  hj: 'hoje',
  qts: 'quantos',
  qtas: 'quantas',
  qto: 'quanto',
  ngm: 'ninguém',
  blz: 'beleza',
};
/** Abbreviations that are a single letter, read only when standing alone. */
const SINGLE_LETTER = /^\p{L}$/u;
/** Characters that, next to a single letter, make it part of a larger token ("n-ésimo", "x/y", "3.q"). */
const JOINED = /[-/.'’_@#\p{L}\p{N}]/u;

const TOKEN = /[\p{L}\p{N}]+/gu;
const stemCache = new Map<string, string>();
const STEM_CACHE_LIMIT = 200_000;

/**
 * Students often type without accents ("regularizacao"); the Snowball rules match accented
 * suffixes ("-ção"). Folding first and restoring the common suffix accents makes both spellings
 * reach the same stem.
 */
function reaccentSuffix(folded: string): string {
  return folded
    .replace(/coes$/, 'ções')
    .replace(/cao$/, 'ção')
    .replace(/oes$/, 'ões')
    .replace(/ao$/, 'ão')
    .replace(/aveis$/, 'áveis')
    .replace(/ivel$/, 'ível');
}

function stemWord(folded: string): string {
  let stem = stemCache.get(folded);
  if (stem === undefined) {
    stem = foldAccents(stemmer.stem(reaccentSuffix(folded)));
    if (stemCache.size >= STEM_CACHE_LIMIT) stemCache.clear();
    stemCache.set(folded, stem);
  }
  return stem;
}

/** The folded words an abbreviation stands for. */
const EXPANDED = new Map(Object.entries(CHAT_ABBREVIATIONS).map(([abbr, words]) => [abbr, foldAccents(words).split(' ')]));

/** The folded words a token stands for: itself, or what the abbreviation means. */
function expandToken(folded: string, text: string, at: number): readonly string[] {
  const words = EXPANDED.get(folded);
  if (!words) return [folded];
  if (SINGLE_LETTER.test(folded) && (JOINED.test(text[at - 1] ?? ' ') || JOINED.test(text[at + folded.length] ?? ' '))) return [folded];
  return words;
}

/** Text → index terms. */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  const lower = text.toLowerCase();
  for (const match of lower.matchAll(TOKEN)) {
    for (const folded of expandToken(foldAccents(match[0]), lower, match.index)) {
      if (STOP_WORDS.has(folded)) continue;
      if (folded.length === 1 && !/\d/.test(folded)) continue;
      terms.push(stemWord(folded));
    }
  }
  return terms;
}
