/**
 * A student's question as concepts to look for in the lectures. Each distinct analysed term is a
 * concept, except that a glossary expression ("learning rate", "matriz de confusão") is one
 * concept however many terms it has. A concept may be found in other words: its glossary
 * synonyms, or, for a number typed in digits, the number spelled out as captions write it.
 *
 * Words that frame a question rather than say what it is about ("explica", "funciona", "serve",
 * "significa", "dúvida") are searched like any other, but marked as not content: whether the
 * lectures cover a question does not depend on them. Neither does chat markup (mentions such as
 * `<@123…>` or `@everyone`, links) nor long digit strings (ids, codes), which are left out.
 */
import type { CompiledGlossary } from './glossary.js';
import { spellDigits } from './numbers.js';
import { analyze } from './portugueseAnalyzer.js';

export type AlternativeSource = 'glossary' | 'number' | 'spelling';

export interface QuestionConcept {
  /** The question's own terms for it (analysed). */
  terms: string[];
  /** False for framing words: searched, but not counted when judging coverage. */
  content: boolean;
  /** Other ways the lectures may say it, as analysed terms. */
  alternatives: { terms: string[]; source: AlternativeSource }[];
}

/** Words that frame a question ("me explica", "como funciona", "para que serve"), as analysed terms. */
export const FRAMING_TERMS: ReadonlySet<string> = new Set(
  analyze(
    'explicar explica explique explicação explicaram significa significam significado significar alguém sabe saber sabem ' +
      'entender entendi entendo dúvida dúvidas ajuda ajudar favor professor professora prof pergunta perguntar queria ' +
      'gostaria funciona funcionam funcionar serve servem servir exemplo exemplos acontece',
  ),
);

/**
 * Mentions (`<@123>`, `<@&123>`, `<#123>`, `<!here>`, `@everyone`, `@here`), the neutral tokens the
 * adapters put in their place before answering (`@usuário`, `@cargo`, `@grupo`, `#canal`:
 * src/bot/mentions.ts) and links: not what a question is about.
 */
const CHAT_MARKUP =
  /<[@#!][^>\s]{0,100}>|@(?:everyone|here|channel|usuário|cargo|grupo)(?![\p{L}\p{N}_])|#canal(?![\p{L}\p{N}_])|\bhttps?:\/\/\S+/giu;
/** Digits longer than a spoken quantity: ids, phone numbers, codes. */
const LONG_DIGITS = /^\d{7,}$/;

/** The concepts of a question, in the order they appear. */
export function analyseQuestion(question: string, glossary?: CompiledGlossary | null): QuestionConcept[] {
  const terms = analyze(question.replace(CHAT_MARKUP, ' ')).filter((t) => !LONG_DIGITS.test(t));
  const concepts: QuestionConcept[] = [];
  const seen = new Set<string>();
  const add = (own: string[], alternatives: QuestionConcept['alternatives']) => {
    const key = own.join(' ');
    if (seen.has(key)) return;
    seen.add(key);
    const content = !(own.length === 1 && FRAMING_TERMS.has(own[0]!));
    concepts.push({ terms: own, content, alternatives });
  };
  const matches = glossary?.match(terms) ?? [];
  let next = 0;
  for (let i = 0; i < terms.length; ) {
    const match = matches[next];
    if (match && match.from === i) {
      add(
        terms.slice(i, i + match.length),
        match.alternatives.map((t) => ({ terms: t, source: 'glossary' as const })),
      );
      i += match.length;
      next++;
      continue;
    }
    const term = terms[i]!;
    const spelled = spellDigits(term);
    const spelledTerms = spelled === null ? [] : analyze(spelled);
    add([term], spelledTerms.length > 0 ? [{ terms: spelledTerms, source: 'number' }] : []);
    i++;
  }
  return concepts;
}
