/**
 * A question resolved against one lexical index: the weighted terms BM25 searches, and what the
 * coverage estimate weighs.
 *
 * Search: the question's own terms count fully; a concept's other forms (glossary synonyms, a
 * number spelled out) count `ALTERNATIVE_WEIGHT` of their idf, so that a window saying both
 * "overfitting" and "sobreajuste" does not outrank one that explains overfitting at length. When
 * none of the question's own terms for a concept is in the index ("confusion matrix" in a course
 * that only says "matriz de confusão", a typo), the other forms are the only way in and count
 * fully. A single unknown term also gets the closest indexed spelling (`Bm25Index.closestTerm`).
 *
 * Coverage of a window: how much of the question's content it contains, weighted by how
 * specific each concept is (its idf mass), between 0 and 1:
 *
 *     Σ mass(c) × found(c, window) / Σ mass(c)     over the content concepts c
 *
 * found(c, window) is, over the concept's forms, the largest share of a form's idf mass present
 * in the window. mass(c) is the idf mass of its most common fully indexed form (so "overfitting"
 * and "sobreajuste" weigh the same whichever the student typed); a concept with no indexed form
 * weighs as terms found in no window, the most specific there are: a question about a topic
 * the lectures never name is mostly not covered, whatever its other words match.
 */
import type { Bm25Index, LexicalHit, WeightedTerm } from './bm25Index.js';
import type { AlternativeSource, QuestionConcept } from './questionTerms.js';

/** How much a concept's other forms count in the search, relative to the question's own words. */
export const ALTERNATIVE_WEIGHT = 0.5;

/** One form of a concept in this index: its terms' ids (-1: in no document) and idfs. */
interface ResolvedForm {
  ids: number[];
  idfs: number[];
  /** Σ idfs. */
  mass: number;
  source: 'question' | AlternativeSource;
}

export interface ResolvedConcept {
  /** The question's own words for it (analysed), for evidence and logs. */
  label: string;
  /** Its weight in coverage. */
  mass: number;
  /** The question's own form first, then the others. */
  forms: ResolvedForm[];
}

export interface ResolvedQuery {
  /** What BM25 searches. */
  terms: WeightedTerm[];
  /** The content concepts, which coverage weighs. */
  concepts: ResolvedConcept[];
  /** Σ mass of the content concepts; 0 when the question has none. */
  totalMass: number;
}

/** Coverage of one window, and which concepts it contains. */
export interface WindowCoverage {
  /** 0–1. */
  coverage: number;
  /** Labels of the content concepts found in the window (in part, for multi-term forms). */
  matched: string[];
}

function resolveForm(index: Bm25Index, terms: readonly string[], source: ResolvedForm['source']): ResolvedForm {
  const ids = terms.map((t) => index.termId(t) ?? -1);
  const idfs = ids.map((id) => index.idfOf(id));
  return { ids, idfs, mass: idfs.reduce((a, b) => a + b, 0), source };
}

export function resolveQuery(index: Bm25Index, concepts: readonly QuestionConcept[]): ResolvedQuery {
  const terms: WeightedTerm[] = [];
  const resolved: ResolvedConcept[] = [];
  for (const concept of concepts) {
    const own = resolveForm(index, concept.terms, 'question');
    const forms: ResolvedForm[] = [own];
    for (const alternative of concept.alternatives) forms.push(resolveForm(index, alternative.terms, alternative.source));
    const ownKnown = own.ids.some((id) => id >= 0);
    if (!ownKnown && concept.terms.length === 1 && concept.alternatives.length === 0) {
      const fix = index.closestTerm(concept.terms[0]!);
      if (fix !== undefined) forms.push({ ids: [fix], idfs: [index.idfOf(fix)], mass: index.idfOf(fix), source: 'spelling' });
    }
    for (const id of own.ids) if (id >= 0) terms.push({ id, weight: 1 });
    const otherWeight = ownKnown ? ALTERNATIVE_WEIGHT : 1;
    for (const form of forms.slice(1)) for (const id of form.ids) if (id >= 0) terms.push({ id, weight: otherWeight });
    if (!concept.content) continue;
    const indexed = forms.filter((f) => f.ids.every((id) => id >= 0));
    const mass = indexed.length > 0 ? Math.min(...indexed.map((f) => f.mass)) : own.mass;
    resolved.push({ label: concept.terms.join(' '), mass, forms });
  }
  return { terms, concepts: resolved, totalMass: resolved.reduce((a, c) => a + c.mass, 0) };
}

/** The share (0–1) of a form's idf mass present in document `doc`. */
function formFound(index: Bm25Index, form: ResolvedForm, doc: number): number {
  if (form.mass <= 0) return 0;
  let found = 0;
  form.ids.forEach((id, i) => {
    if (id >= 0 && index.contains(id, doc)) found += form.idfs[i]!;
  });
  return found / form.mass;
}

/** Coverage of document `doc` for the query (0 when the question has no content concept). */
export function windowCoverage(index: Bm25Index, query: ResolvedQuery, doc: number): WindowCoverage {
  if (query.totalMass <= 0) return { coverage: 0, matched: [] };
  let covered = 0;
  const matched: string[] = [];
  for (const concept of query.concepts) {
    let best = 0;
    for (const form of concept.forms) best = Math.max(best, formFound(index, form, doc));
    if (best > 0) matched.push(concept.label);
    covered += concept.mass * best;
  }
  return { coverage: Math.min(1, covered / query.totalMass), matched };
}

/** BM25 top `k` for the query; with `docs`, among those documents only (the lecture filter). */
export function searchQuery(index: Bm25Index, query: ResolvedQuery, k: number, docs?: Iterable<number>): LexicalHit[] {
  return docs ? index.searchTermsAmong(query.terms, k, docs) : index.searchTerms(query.terms, k);
}
