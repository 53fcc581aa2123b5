/**
 * Guards the benchmark-driven speed-up of `Bm25Index.search` (MaxScore-style pruning for long
 * postings): on a corpus where most queries take the pruned path, results must equal a naive
 * BM25 that scores every document (same documents, same order, same scores).
 */
import { describe, expect, it } from 'vitest';
import { WeightedSampler, mulberry32 } from '../../bench/lib/prng.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';
import { naiveBm25Search } from '../helpers/naiveBm25.js';

const WORDS = (
  'modelo dados treino teste rede camada neurônio peso gradiente erro função ativação perda taxa aprendizado ' +
  'regularização dropout validação cruzada árvore floresta classe rótulo imagem convolução filtro pooling ' +
  'precisão revocação matriz confusão curva limiar vetor embedding atenção token sequência memória lote época ' +
  'otimizador momento derivada parâmetro variância viés amostra conjunto métrica acurácia regressão linear ' +
  'logística kernel margem suporte cluster centróide distância vizinho probabilidade entropia informação'
).split(' ');

describe('Bm25Index.search with pruning', () => {
  const random = mulberry32(2024);
  const sampler = new WeightedSampler(
    WORDS,
    WORDS.map((_, r) => 1 / (r + 1)),
  );
  const docs: string[] = [];
  for (let d = 0; d < 12_000; d++) {
    const length = 20 + Math.floor(random() * 40);
    docs.push(Array.from({ length }, () => sampler.draw(random)).join(' '));
  }
  const analyzed = docs.map((d) => analyze(d));
  const index = Bm25Index.build(docs);
  const dfOf = new Map<string, number>();
  for (const terms of analyzed) for (const t of new Set(terms)) dfOf.set(t, (dfOf.get(t) ?? 0) + 1);

  it('returns exactly what scoring every document returns, on long and short postings', () => {
    let pruned = 0;
    for (let q = 0; q < 40; q++) {
      // Mostly frequent words (long postings), plus one from anywhere in the vocabulary.
      const words = Array.from({ length: 1 + (q % 4) }, () => WORDS[Math.floor(random() * 12)]!);
      words.push(WORDS[Math.floor(random() * WORDS.length)]!);
      const query = `como funciona ${words.join(' ')}?`;
      const postings = [...new Set(analyze(query))].reduce((a, t) => a + (dfOf.get(t) ?? 0), 0);
      if (postings > 20_000) pruned++;
      const all = naiveBm25Search(analyzed, query, 100);
      // 100: beyond the 64 best weights kept per term, MaxScore starts without a bound.
      for (const k of [1, 10, 30, 100]) {
        const got = index.search(query, k);
        const want = all.slice(0, k);
        expect(got.map((h) => h.doc)).toEqual(want.map((h) => h.doc));
        got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 4));
      }
    }
    // Most of these queries go through the pruned path (more than 20 000 postings).
    expect(pruned).toBeGreaterThan(20);
    expect(pruned).toBeLessThan(40);
  });

  it('is repeatable and leaves no state behind between queries', () => {
    const query = 'modelo dados treino rede gradiente';
    const first = index.search(query, 30);
    index.search('camada neurônio', 5);
    expect(index.search(query, 30)).toEqual(first);
    expect(first).toHaveLength(30);
  });

  it('gives exactly the exhaustive path\'s hits, scores included, on the pruned path', () => {
    let pruned = 0;
    for (let q = 0; q < 30; q++) {
      const words = Array.from({ length: 2 + (q % 5) }, () => WORDS[Math.floor(random() * 20)]!);
      const plan = index.plan(words.join(' '), 100)!;
      if (plan.exhaustive) continue;
      pruned++;
      for (const k of [1, 10, 30, 100]) {
        expect(index.search(words.join(' '), k)).toEqual(index.searchExhaustive({ ...plan, k }));
      }
    }
    expect(pruned).toBeGreaterThan(20);
  });

  it('breaks exact ties by the lower document on the pruned path, as scoring everything does', () => {
    // Thousands of identical documents tie exactly; the pruned search must keep the lowest ones.
    const pattern = ['modelo dados treino rede', 'modelo dados', 'treino rede gradiente erro', 'modelo rede rede'];
    const tied = Array.from({ length: 16_000 }, (_, d) => pattern[d % pattern.length]!);
    const tiedIndex = Bm25Index.build(tied);
    const analyzedTied = tied.map((d) => analyze(d));
    for (const query of ['modelo dados treino rede gradiente', 'rede modelo', 'dados erro gradiente treino']) {
      const terms = new Set(analyze(query));
      const postings = analyzedTied.reduce((a, doc) => a + new Set(doc.filter((t) => terms.has(t))).size, 0);
      expect(postings).toBeGreaterThan(20_000); // the pruned path
      const want = naiveBm25Search(analyzedTied, query, 1024);
      // 100 and 1024: beyond the 64 best weights kept per term, with thousands of tied candidates.
      for (const k of [1, 7, 30, 100, 1024]) {
        const got = tiedIndex.search(query, k);
        expect(got.map((h) => h.doc)).toEqual(want.slice(0, k).map((h) => h.doc));
      }
    }
  });

  it('handles a query with hundreds of distinct terms on the pruned path', () => {
    const random = mulberry32(11);
    const words = Array.from({ length: 356 }, (_, i) => `palavra${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`);
    const docs = Array.from({ length: 8_000 }, () => Array.from({ length: 6 }, () => words[Math.floor(random() * words.length)]!).join(' '));
    const wide = Bm25Index.build(docs);
    const query = words.join(' ');
    const plan = wide.plan(query, 10)!;
    expect(plan.ids.length).toBeGreaterThan(300);
    expect(plan.exhaustive).toBe(false);
    const want = naiveBm25Search(docs.map((d) => analyze(d)), query, 30);
    for (const k of [1, 10, 30]) {
      const got = wide.search(query, k);
      expect(got.map((h) => h.doc)).toEqual(want.slice(0, k).map((h) => h.doc));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 4));
    }
  });
});
