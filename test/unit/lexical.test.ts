import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from '../../src/lexical/bm25Index.js';
import { analyze, foldAccents } from '../../src/lexical/portugueseAnalyzer.js';
import { reciprocalRankFusion } from '../../src/retrieval/fusion.js';
import { FIXTURE_QUERIES, fixtureTexts } from '../fixtures/lexical/corpus.js';

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
    const idx = Bm25Index.build(['gato', 'cachorro', 'gato gato cachorro']);
    const hit = idx.search('gato', 3).find((h) => h.doc === 2)!;
    const n = 3, df = 2, tf = 2, dl = 3, avgdl = 5 / 3, k1 = 1.2, b = 0.75;
    const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    const expected = (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * dl) / avgdl));
    expect(hit.score).toBeCloseTo(expected, 5);
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
