/**
 * Portuguese text analysis for the lexical index: lowercase, accent folding, Snowball Portuguese
 * stemming, stop words (including the fillers of spoken lectures: "né", "tá", "aí").
 * Queries and documents go through the same function, so a student typing "regularizacao"
 * without accents still matches the transcript's "regularização".
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
   qual quais o que oque diferenca`
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => foldAccents(w.toLowerCase())),
);
// "diferença" appears in many questions ("qual a diferença entre…") and says nothing about the topic.

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

/** Text → index terms. */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  for (const match of text.toLowerCase().matchAll(TOKEN)) {
    const folded = foldAccents(match[0]);
    if (STOP_WORDS.has(folded)) continue;
    if (folded.length === 1 && !/\d/.test(folded)) continue;
    terms.push(stemWord(folded));
  }
  return terms;
}
