/**
 * Matching new questions against verified ones (src/humanloop/verifiedMatcher.ts): the lexical
 * cosine with its pruning bound (pruning never changes the best match above the threshold),
 * incremental updates, the dense path on the tiny generated model, and the calibration on the
 * sample course's labelled pairs (the configured default stays precise on them).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/lib/prng.js';
import { loadConfig } from '../../src/config.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { calibrateThresholds, parsePairs } from '../../src/humanloop/calibration.js';
import { VerifiedMatcher, vectorFromBase64, vectorToBase64 } from '../../src/humanloop/verifiedMatcher.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const PAIRS = parsePairs(JSON.parse(readFileSync(path.resolve('examples/curso-exemplo/verified-pairs.json'), 'utf8')));
const WORDS = 'rede neural gradiente overfitting dropout regularização validação cruzada taxa aprendizado modelo treino teste dados camada convolucional pooling ativação relu sigmoide precisão recall curva matriz confusão prova trabalho dupla prazo'.split(' ');

describe('lexical matching', () => {
  it('matches the same question however it is typed, and not a different one on the same topic', () => {
    const m = new VerifiedMatcher({ dense: 1, lexical: 0.85 }, [
      { id: 'a', question: 'O que é overfitting?', vector: null },
      { id: 'b', question: 'Como funciona o dropout?', vector: null },
      { id: 'c', question: 'O trabalho 2 pode ser feito em dupla?', vector: null },
    ]);
    expect(m.match('o que e OVERFITTING', null)).toMatchObject({ id: 'a', method: 'lexical', similarity: 1 });
    expect(m.match('como funciona dropout??', null)?.id).toBe('b');
    expect(m.match('Como evitar overfitting quando tenho poucos dados?', null)).toBeNull();
    expect(m.match('O trabalho 3 pode ser feito em dupla?', null)).toBeNull();
    expect(m.match('', null)).toBeNull();
    expect(m.match('???', null)).toBeNull();
  });

  it('pruning by the cosine bound never changes the best match above the threshold', () => {
    const rnd = mulberry32(7);
    const pick = () => WORDS[Math.floor(rnd() * WORDS.length)]!;
    const items = Array.from({ length: 400 }, (_, i) => ({ id: `q${i}`, question: Array.from({ length: 2 + Math.floor(rnd() * 5) }, pick).join(' '), vector: null }));
    for (const threshold of [0.5, 0.7, 0.85]) {
      const m = new VerifiedMatcher({ dense: 1, lexical: threshold }, items);
      for (let i = 0; i < 200; i++) {
        const q = Array.from({ length: 2 + Math.floor(rnd() * 4) }, pick).join(' ');
        const unpruned = m.scores(q, null).lexical;
        const pruned = m.match(q, null);
        if (unpruned && unpruned.similarity >= threshold) expect(pruned?.similarity).toBeCloseTo(unpruned.similarity, 12);
        else expect(pruned).toBeNull();
      }
    }
  });

  it('adds, replaces and removes items one at a time', () => {
    const m = new VerifiedMatcher({ dense: 1, lexical: 0.85 });
    expect(m.match('O que é overfitting?', null)).toBeNull();
    m.upsert({ id: 'a', question: 'O que é overfitting?', vector: null });
    expect(m.size).toBe(1);
    expect(m.match('o que é overfitting', null)?.id).toBe('a');
    m.upsert({ id: 'a', question: 'Como funciona o dropout?', vector: null });
    expect(m.size).toBe(1);
    expect(m.match('o que é overfitting', null)).toBeNull();
    expect(m.match('como funciona o dropout', null)?.id).toBe('a');
    m.remove('a');
    m.remove('a');
    expect(m.size).toBe(0);
    expect(m.match('como funciona o dropout', null)).toBeNull();
  });
});

describe('dense matching (tiny generated model)', () => {
  let dir: string;
  let embedder: TransformersEmbedder;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pergunta-verified-'));
    const tiny = await writeTinyModel(path.join(dir, 'models'));
    embedder = await loadTransformersEmbedder({ modelId: tiny.modelId, localModelPath: tiny.modelPath, cacheDir: path.join(dir, 'cache'), allowRemote: false });
  });
  afterAll(async () => {
    await embedder?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the question with the same embedding, through the HNSW graph, and forgets removed ones', async () => {
    const questions = ['O que é overfitting?', 'Como funciona o dropout?', 'Qual a diferença entre precisão e recall?', 'Como funciona a validação cruzada?'];
    const vectors = await Promise.all(questions.map((q) => embedder.embedQuery(q)));
    // The lexical side is kept out of the way (threshold above 1) so the dense side is what answers.
    const m = new VerifiedMatcher({ dense: 0.999, lexical: 1.1 }, questions.map((q, i) => ({ id: `v${i}`, question: q, vector: vectors[i]! })));
    for (let i = 0; i < questions.length; i++) expect(m.match(questions[i]!, vectors[i]!)).toMatchObject({ id: `v${i}`, method: 'dense' });
    const other = await embedder.embedQuery('Qual a receita de bolo de cenoura?');
    expect(m.match('Qual a receita de bolo de cenoura?', other)).toBeNull();
    m.remove('v1');
    expect(m.match(questions[1]!, vectors[1]!)?.id).not.toBe('v1');
    // Vectors survive the round trip through the store's base64 form.
    expect(Array.from(vectorFromBase64(vectorToBase64(vectors[0]!)))).toEqual(Array.from(vectors[0]!));
  });

  it('calibrates the dense threshold when a model is given (the report has both methods)', async () => {
    const results = await calibrateThresholds(PAIRS, embedder);
    expect(results.map((r) => r.method)).toEqual(['lexical', 'dense']);
    expect(results[1]!.pairs.every((p) => p.similarity === null || (p.similarity >= 0 && p.similarity <= 1))).toBe(true);
  });
});

describe('calibration on the sample course pairs', () => {
  it('the default lexical threshold makes no wrong match on them and still finds the re-typed questions', async () => {
    const [lexical] = await calibrateThresholds(PAIRS, null);
    const setting = loadConfig({}, '/nonexistent/.env').VERIFIED_MIN_LEXICAL_SIMILARITY;
    const row = lexical!.rows.find((r) => Math.abs(r.threshold - setting) < 1e-9)!;
    expect(row.falsePositives).toBe(0);
    expect(row.recall).toBeGreaterThanOrEqual(0.5);
    expect(lexical!.best.precision).toBe(1);
    expect(setting).toBeGreaterThanOrEqual(lexical!.best.threshold);
  });

  it('refuses a malformed pairs file with a message naming the item', () => {
    expect(() => parsePairs({})).toThrow(/JSON array/);
    expect(() => parsePairs([{ verified: 'a', asked: 'b' }])).toThrow(/item 1/);
  });
});
