/**
 * Guards the benchmark-driven speed-up of `Bm25Index.search` (MaxScore-style pruning for long
 * postings): on a corpus where most queries take the pruned path, results must equal a naive
 * BM25 that scores every document (same documents, same order, same scores).
 */
import { describe, expect, it } from 'vitest';
import { WeightedSampler, mulberry32 } from '../../bench/lib/prng.js';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';

const WORDS = (
  'modelo dados treino teste rede camada neurônio peso gradiente erro função ativação perda taxa aprendizado ' +
  'regularização dropout validação cruzada árvore floresta classe rótulo imagem convolução filtro pooling ' +
  'precisão revocação matriz confusão curva limiar vetor embedding atenção token sequência memória lote época ' +
  'otimizador momento derivada parâmetro variância viés amostra conjunto métrica acurácia regressão linear ' +
  'logística kernel margem suporte cluster centróide distância vizinho probabilidade entropia informação'
).split(' ');

function naiveSearch(texts: string[][], query: string, k: number, k1 = 1.2, b = 0.75): { doc: number; score: number }[] {
  const n = texts.length;
  const avgdl = Math.max(texts.reduce((a, t) => a + t.length, 0) / n, 1);
  const terms = [...new Set(analyze(query))];
  const scores = new Float64Array(n);
  for (const term of terms) {
    let df = 0;
    for (const t of texts) if (t.includes(term)) df++;
    if (df === 0) continue;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    texts.forEach((t, d) => {
      let tf = 0;
      for (const x of t) if (x === term) tf++;
      if (tf > 0) scores[d] = scores[d]! + (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * t.length) / avgdl));
    });
  }
  return [...scores]
    .map((score, doc) => ({ doc, score }))
    .filter((h) => h.score > 0)
    .sort((a, c) => c.score - a.score || a.doc - c.doc)
    .slice(0, k);
}

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
      const all = naiveSearch(analyzed, query, 100);
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

  it('gives the same top k when several runs share the documents in ranges, as the search thread and the caller do', () => {
    const pattern = ['modelo dados treino rede', 'modelo dados', 'treino rede gradiente erro', 'modelo rede rede'];
    const tied = Bm25Index.build(Array.from({ length: 16_000 }, (_, d) => pattern[d % pattern.length]!));
    const cases: [Bm25Index, string][] = [
      [index, 'modelo dados treino rede gradiente'],
      [index, 'como funciona o erro da camada de rede no treino?'],
      [index, 'dados teste função perda taxa'],
      [tied, 'modelo dados treino rede gradiente'],
      [tied, 'dados erro gradiente treino'],
    ];
    for (const [idx, query] of cases) {
      for (const k of [1, 10, 30]) {
        const plan = idx.plan(query, k)!;
        expect(plan.exhaustive).toBe(false);
        const cells = new Int32Array(1);
        const mine = idx.maxScore(plan, { cells, at: 0 });
        const theirs = idx.maxScore(plan, { cells, at: 0 });
        // Seven ranges, taken in turns that leave gaps in each run's documents.
        const ranges = 7;
        for (let r = 0; r < ranges; r++) {
          const run = r % 3 === 1 ? theirs : mine;
          run.run(Math.floor((r * idx.size) / ranges), Math.floor(((r + 1) * idx.size) / ranges));
        }
        expect(cells[0]).toBeGreaterThan(0); // the runs shared a bound on the k-th score
        const got = idx.rescore(plan, [...mine.candidates(), ...theirs.candidates()]);
        expect(got).toEqual(idx.search(query, k));
      }
    }
    // And search() itself agrees with scoring everything on these queries (checked above for the
    // main corpus; here for the tied one).
    const analyzedTied = Array.from({ length: 16_000 }, (_, d) => analyze(pattern[d % pattern.length]!));
    expect(tied.search('dados erro gradiente treino', 30).map((h) => h.doc)).toEqual(
      naiveSearch(analyzedTied, 'dados erro gradiente treino', 30).map((h) => h.doc),
    );
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
      const want = naiveSearch(analyzedTied, query, 1024);
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
    const want = naiveSearch(docs.map((d) => analyze(d)), query, 30);
    for (const k of [1, 10, 30]) {
      const got = wide.search(query, k);
      expect(got.map((h) => h.doc)).toEqual(want.slice(0, k).map((h) => h.doc));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 4));
    }
  });
});
