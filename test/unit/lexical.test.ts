import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { averageDocLength, bm25Weight, idf } from '../../src/lexical/bm25.js';
import { analyze, foldAccents } from '../../src/lexical/portugueseAnalyzer.js';
import { reciprocalRankFusion } from '../../src/retrieval/fusion.js';
import { FIXTURE_QUERIES, fixtureTexts } from '../fixtures/lexical/corpus.js';
import { naiveBm25Search } from '../helpers/naiveBm25.js';

describe('Portuguese analysis', () => {
  it('lowercases, folds accents and removes stop words and lecture fillers', () => {
    expect(analyze('Então, né, a REGULARIZAÇÃO tá aí')).toEqual(analyze('regularizacao'));
    expect(analyze('o que é a de da né tá então')).toEqual([]);
  });

  it('stems so that inflections and unaccented spellings meet', () => {
    const [a] = analyze('camadas');
    const [b] = analyze('camada');
    expect(a).toBe(b);
    expect(analyze('funções de ativação')).toEqual(analyze('funcoes de ativacao'));
    expect(analyze('validação')).toEqual(analyze('validacao'));
    expect(analyze('neurônios')).toEqual(analyze('neuronio'));
  });

  it('keeps numbers and drops single letters', () => {
    expect(analyze('cifar 10 e x')).toEqual([...analyze('cifar'), '10']);
  });

  it('reads chat abbreviations as the words they stand for', () => {
    // Abbreviations of stop words count for nothing, exactly as the words written out.
    expect(analyze('pq oq q vc vcs tb tbm qnd cmg td msm n eh ta tao pra pro')).toEqual([]);
    expect(analyze('pq usar relu e n sigmoide?')).toEqual(analyze('por que usar relu e não sigmoide?'));
    expect(analyze('oq eh overfitting')).toEqual(analyze('o que é overfitting'));
    expect(analyze('vc sabe pq a loss vira nan qnd a lr eh alta')).toEqual(analyze('você sabe por que a loss vira nan quando a lr é alta'));
    // Those standing for topic-neutral but indexed words become those words.
    expect(analyze('qts parametros')).toEqual(analyze('quantos parâmetros'));
    expect(analyze('hj')).toEqual(analyze('hoje'));
    // Case and trailing punctuation do not matter.
    expect(analyze('PQ? Vc!')).toEqual([]);
  });

  it('reads a single-letter abbreviation only when it stands alone', () => {
    // "n" and "q" inside larger tokens are letters (dropped as any single letter), not "não"/"que".
    expect(analyze('n-ésimo termo do q-learning')).toEqual(analyze('ésimo termo do learning'));
    expect(analyze('o n e o q')).toEqual([]);
    // A word that merely starts like an abbreviation is left alone.
    expect(analyze('pqrs taxa vcf')).toEqual(['pqrs', ...analyze('taxa'), 'vcf']);
  });

  it('folds accents without touching other characters', () => {
    expect(foldAccents('Ação é ótima, pôr-do-sol')).toBe('Acao e otima, por-do-sol');
  });
});

describe('Bm25Index', () => {
  const docs = [
    'hoje a gente vai falar de regularização l2 e dropout',
    'o dropout desliga neurônios aleatoriamente durante o treino',
    'a regressão linear usa gradiente descendente',
    'transfer learning reaproveita um modelo pré-treinado e o fine tuning ajusta as camadas',
  ];
  const index = Bm25Index.build(docs);

  it('ranks documents by BM25 and returns only those sharing a term', () => {
    const hits = index.search('Como funciona o dropout?', 10);
    expect(hits.map((h) => h.doc).sort()).toEqual([0, 1]);
    expect(hits[0]!.score).toBeGreaterThan(0);
    expect(index.search('futebol', 10)).toEqual([]);
    expect(index.search('   ', 10)).toEqual([]);
  });

  it('prefers the document where the rare term is more frequent relative to its length', () => {
    const idx = Bm25Index.build(['dropout dropout dropout', 'dropout mais um monte de outras palavras sobre redes e camadas e treino']);
    expect(idx.search('dropout', 2).map((h) => h.doc)).toEqual([0, 1]);
  });

  it('computes the textbook BM25 score', () => {
    // 3 documents, "gato" in 2 of them, average length 5/3 tokens; k1 = 1.2, b = 0.75.
    // idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6.
    // Document 2 ("gato gato cachorro"): tf 2, length 3: 2 × 2.2 / (2 + 1.2 × (0.25 + 0.75 × 3 / (5/3))) = 4.4 / 3.92.
    // Document 0 ("gato"): tf 1, length 1: 2.2 / (1 + 1.2 × (0.25 + 0.75 × 1 / (5/3))) = 2.2 / 1.84.
    const idx = Bm25Index.build(['gato', 'cachorro', 'gato gato cachorro']);
    const hits = idx.search('gato', 3);
    expect(hits.map((h) => h.doc)).toEqual([0, 2]);
    expect(hits[0]!.score).toBeCloseTo(Math.log(1.6) * (2.2 / 1.84), 6);
    expect(hits[1]!.score).toBeCloseTo(Math.log(1.6) * (4.4 / 3.92), 6);
  });

  it('agrees with scoring every document naively, with the default and with other parameters', () => {
    const texts = [...docs, 'dropout e regularização evitam overfitting no treino', 'o treino usa gradiente', 'camadas camadas camadas'];
    const analysed = texts.map((t) => analyze(t));
    for (const params of [undefined, { k1: 2, b: 0.3 }, { k1: 0, b: 0 }]) {
      const idx = Bm25Index.build(texts, params);
      const copy = Bm25Index.deserialize(idx.serialize().header, idx.serialize().body);
      expect(copy.params).toEqual(params ?? { k1: 1.2, b: 0.75 });
      for (const query of ['dropout regularização treino', 'camadas', 'gradiente descendente treino']) {
        const want = naiveBm25Search(analysed, query, 10, params);
        for (const got of [idx.search(query, 10), copy.search(query, 10)]) {
          expect(got.map((h) => h.doc)).toEqual(want.map((h) => h.doc));
          got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 5));
        }
      }
    }
  });

  it('refuses parameters outside their documented range', () => {
    expect(() => Bm25Index.build(docs, { k1: -1, b: 0.75 })).toThrow(/k1 must be a number ≥ 0, got -1/);
    expect(() => Bm25Index.build(docs, { k1: 1.2, b: 1.5 })).toThrow(/b must be a number from 0 to 1, got 1.5/);
    expect(() => Bm25Index.build(docs, { k1: Number.NaN, b: 0.75 })).toThrow(RangeError);
  });

  it('matches accent-less and inflected queries', () => {
    expect(index.search('regularizacao', 1)[0]!.doc).toBe(0);
    expect(index.search('neuronio', 1)[0]!.doc).toBe(1);
  });

  it('returns the top k in order and is repeatable (scratch space is reset)', () => {
    const first = index.search('dropout regularização', 2);
    const second = index.search('dropout regularização', 2);
    expect(second).toEqual(first);
    expect(first).toHaveLength(2);
    expect(first[0]!.score).toBeGreaterThanOrEqual(first[1]!.score);
  });

  it('serializes to a header and a binary body and back', () => {
    const { header, body } = index.serialize();
    const copy = Bm25Index.deserialize(header, body);
    expect(copy.size).toBe(4);
    expect(copy.search('fine tuning camadas', 4)).toEqual(index.search('fine tuning camadas', 4));
  });

  it('loads an index written before BM25 was split into modules, and answers as it did then', () => {
    const dir = 'test/fixtures/lexical';
    const header = readFileSync(path.join(dir, 'lexical.json'), 'utf8');
    const body = readFileSync(path.join(dir, 'lexical.bin'));
    const old = Bm25Index.deserialize(header, body);
    const then = JSON.parse(readFileSync(path.join(dir, 'hits.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(then)).toEqual(FIXTURE_QUERIES);
    for (const query of FIXTURE_QUERIES) expect(old.search(query, 10)).toEqual(then[query]);
    // Building the same texts today writes the same files, byte for byte.
    const rebuilt = Bm25Index.build(fixtureTexts()).serialize();
    expect(rebuilt.header).toBe(header);
    expect(rebuilt.body.equals(body)).toBe(true);
  });

  it('refuses a truncated body', () => {
    const { header, body } = index.serialize();
    expect(() => Bm25Index.deserialize(header, body.subarray(0, body.length - 4))).toThrow(/truncated or corrupt/);
  });
});

describe('the BM25 formula', () => {
  const defaults = { k1: 1.2, b: 0.75 };

  it('gives rare terms a high idf and a term in every document a small positive one', () => {
    expect(idf(2, 3)).toBeCloseTo(Math.log(1.6), 12);
    expect(idf(1, 1000)).toBeGreaterThan(idf(10, 1000));
    expect(idf(1000, 1000)).toBeGreaterThan(0);
    expect(idf(1000, 1000)).toBeLessThan(0.001);
  });

  it('saturates with term frequency (k1) and discounts long documents (b)', () => {
    // More occurrences add less and less, never past k1 + 1.
    const w = (tf: number) => bm25Weight(tf, 10, 10, defaults);
    expect(w(2) - w(1)).toBeGreaterThan(w(3) - w(2));
    expect(w(10_000)).toBeLessThan(2.2);
    expect(w(10_000)).toBeGreaterThan(2.19);
    // k1 = 0: present or absent.
    expect(bm25Weight(1, 10, 10, { k1: 0, b: 0.75 })).toBe(1);
    expect(bm25Weight(7, 30, 10, { k1: 0, b: 0.75 })).toBe(1);
    // A document twice the average length counts less; with b = 0 length does not matter.
    expect(bm25Weight(2, 20, 10, defaults)).toBeLessThan(bm25Weight(2, 10, 10, defaults));
    expect(bm25Weight(2, 20, 10, { k1: 1.2, b: 0 })).toBe(bm25Weight(2, 10, 10, { k1: 1.2, b: 0 }));
  });

  it('averages document lengths, never below 1', () => {
    expect(averageDocLength(10, 4)).toBe(2.5);
    expect(averageDocLength(0, 5)).toBe(1);
    expect(averageDocLength(0, 0)).toBe(1);
  });
});

describe('reciprocalRankFusion', () => {
  it('sums 1/(k+rank) across lists and records who found each document', () => {
    const fused = reciprocalRankFusion(
      [
        { name: 'dense', hits: [{ id: 1, score: 0.9 }, { id: 2, score: 0.8 }] },
        { name: 'lexical', hits: [{ id: 2, score: 7.5 }, { id: 3, score: 5 }] },
      ],
      10,
    );
    expect(fused.map((f) => f.id)).toEqual([2, 1, 3]);
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 10);
    expect(fused[0]!.foundBy).toEqual({ dense: { rank: 2, score: 0.8 }, lexical: { rank: 1, score: 7.5 } });
    expect(fused[1]!.foundBy).toEqual({ dense: { rank: 1, score: 0.9 } });
  });

  it('cuts to k and breaks ties by best rank', () => {
    const fused = reciprocalRankFusion(
      [
        { name: 'dense', hits: [{ id: 1, score: 1 }] },
        { name: 'lexical', hits: [{ id: 2, score: 1 }] },
      ],
      1,
    );
    expect(fused).toHaveLength(1);
  });
});
