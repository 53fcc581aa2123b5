/**
 * How questions become concepts and evidence: numbers spelled out, the course glossary (file,
 * matching, storage in the index), misspellings, framing words, the weighted BM25 query and the
 * coverage estimate.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { runIngest } from '../../src/core.js';
import { loadCourseIndex } from '../../src/index/courseIndex.js';
import { FILES, currentGeneration } from '../../src/index/indexFiles.js';
import { Bm25Index, oneEditApart } from '../../src/lexical/bm25Index.js';
import { CompiledGlossary, GlossaryError, parseGlossary, readGlossary } from '../../src/lexical/glossary.js';
import { neutralizeMentions } from '../../src/bot/mentions.js';
import { spellDigits, spellNumber } from '../../src/lexical/numbers.js';
import { analyze } from '../../src/lexical/portugueseAnalyzer.js';
import { analyseQuestion } from '../../src/lexical/questionTerms.js';
import { ALTERNATIVE_WEIGHT, resolveQuery, windowCoverage } from '../../src/lexical/resolvedQuery.js';
import { isCovered } from '../../src/retrieval/coverage.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import { copySampleCourse, silentLogger, tempDir } from '../helpers/course.js';

describe('numbers spelled out', () => {
  it('writes cardinals as captions do', () => {
    expect(spellNumber(0)).toBe('zero');
    expect(spellNumber(10)).toBe('dez');
    expect(spellNumber(16)).toBe('dezesseis');
    expect(spellNumber(64)).toBe('sessenta e quatro');
    expect(spellNumber(100)).toBe('cem');
    expect(spellNumber(128)).toBe('cento e vinte e oito');
    expect(spellNumber(784)).toBe('setecentos e oitenta e quatro');
    expect(spellNumber(800)).toBe('oitocentos');
    expect(spellNumber(1000)).toBe('mil');
    expect(spellNumber(1200)).toBe('mil e duzentos');
    expect(spellNumber(1959)).toBe('mil novecentos e cinquenta e nove');
    expect(spellNumber(150528)).toBe('cento e cinquenta mil quinhentos e vinte e oito');
    expect(spellNumber(1_000_000)).toBeNull();
    expect(spellNumber(2.5)).toBeNull();
    expect(spellDigits('800')).toBe('oitocentos');
    expect(spellDigits('3x3')).toBeNull();
    expect(spellDigits('1234567')).toBeNull();
  });

  it('meets the feminine forms of the captions after analysis', () => {
    expect(analyze(spellNumber(800)!)).toEqual(analyze('oitocentas'));
  });
});

describe('glossary file', () => {
  it('reads term and synonyms separated by |, with , or ; between columns', () => {
    const csv = 'termo,sinonimos\ntaxa de aprendizado,learning rate|lr\n\nmatriz de confusão,confusion matrix\n';
    expect(parseGlossary(csv).concepts).toEqual([
      ['taxa de aprendizado', 'learning rate', 'lr'],
      ['matriz de confusão', 'confusion matrix'],
    ]);
    expect(parseGlossary('\ufeffTermo;Sinônimos\r\nsobreajuste;overfitting | over feeting\r\n').concepts).toEqual([['sobreajuste', 'overfitting', 'over feeting']]);
  });

  it('refuses what it cannot use, naming the line', () => {
    const fail = (csv: string) => {
      try {
        parseGlossary(csv, 'glossario.csv');
      } catch (err) {
        expect(err).toBeInstanceOf(GlossaryError);
        return (err as GlossaryError).message;
      }
      throw new Error('expected a GlossaryError');
    };
    expect(fail('')).toMatch(/glossario\.csv: the file is empty/);
    expect(fail('term,synonyms\na,b\n')).toMatch(/glossario\.csv:1: the header row must name the columns termo and sinonimos/);
    expect(fail('termo,sinonimos\nsobreajuste,overfitting\ndropout,\n')).toMatch(/glossario\.csv:3: "dropout" has no synonym/);
    expect(fail('termo,sinonimos\n,overfitting\n')).toMatch(/glossario\.csv:2: the term \(column termo\) is empty/);
    expect(fail('termo,sinonimos\no que,qual\n')).toMatch(/:2: "o que" has no searchable word/);
    expect(fail('termo,sinonimos\n"aberta,sem fim\n')).toMatch(/invalid CSV/);
  });

  it('a course without the file has no glossary; a broken one stops ingest before anything is written', async () => {
    const course = await copySampleCourse();
    const work = await tempDir('gloss-');
    try {
      await rm(path.join(course, 'glossario.csv'), { force: true });
      expect(await readGlossary(course)).toBeNull();
      await writeFile(path.join(course, 'glossario.csv'), 'termo,sinonimos\ndropout,\n');
      const indexDir = path.join(work, 'index');
      await expect(runIngest(loadConfig({}, '/nonexistent/.env'), silentLogger(), course, indexDir, null)).rejects.toThrow(GlossaryError);
      expect(await currentGeneration(indexDir)).toBeNull();
    } finally {
      await rm(course, { recursive: true, force: true });
      await rm(work, { recursive: true, force: true });
    }
  });
});

describe('glossary matching', () => {
  const glossary = new CompiledGlossary({
    concepts: [
      ['taxa de aprendizado', 'learning rate', 'lr'],
      ['aprendizado', 'learning'],
      ['sobreajuste', 'overfitting'],
      ['overfitting', 'over feeting'],
    ],
  });

  it('finds expressions after analysis, longest first, and merges concepts sharing one', () => {
    const terms = analyze('A Learning Rates muito alta causa Overfitting?');
    const matches = glossary.match(terms);
    expect(matches.map((m) => terms.slice(m.from, m.from + m.length).join(' '))).toEqual([analyze('learning rate').join(' '), analyze('overfitting').join(' ')]);
    expect(matches[0]!.alternatives).toEqual([analyze('taxa de aprendizado'), analyze('lr')]);
    // "sobreajuste" and "over feeting" are one concept through "overfitting".
    expect(matches[1]!.alternatives).toEqual([analyze('sobreajuste'), analyze('over feeting')]);
    expect(glossary.size).toBe(2 + 1);
  });
});

describe('question concepts', () => {
  const glossary = new CompiledGlossary({ concepts: [['matriz de confusão', 'confusion matrix']] });

  it('marks framing words, groups glossary expressions, spells digits, drops repeats', () => {
    const concepts = analyseQuestion('Me explica como funciona a confusion matrix com 800 fotos, matrix?', glossary);
    expect(concepts.map((c) => [c.terms.join(' '), c.content])).toEqual([
      [analyze('explica')[0], false],
      [analyze('funciona')[0], false],
      [analyze('confusion matrix').join(' '), true],
      ['800', true],
      [analyze('fotos')[0], true],
      [analyze('matrix')[0], true],
    ]);
    expect(concepts[2]!.alternatives).toEqual([{ terms: analyze('matriz de confusão'), source: 'glossary' }]);
    expect(concepts[3]!.alternatives).toEqual([{ terms: analyze('oitocentos'), source: 'number' }]);
  });

  it('leaves out chat mentions, links and long digit strings', () => {
    const concepts = analyseQuestion('@everyone <@&123456789012345678> <@222222222222222222> <#98765432> o que é overfitting? https://youtu.be/x 5511999998888');
    expect(concepts.map((c) => c.terms.join(' '))).toEqual(analyze('overfitting'));
  });

  it('leaves out the neutral tokens mentions become before a question is answered (src/bot/mentions.ts)', () => {
    const question = neutralizeMentions('<@&123456789012345678> <@222222222222222222> <#98765432> <@U0ABC|ana> o que é overfitting?');
    expect(question).toBe('@cargo @usuário #canal @usuário o que é overfitting?');
    expect(analyseQuestion(question).map((c) => c.terms.join(' '))).toEqual(analyze('overfitting'));
    // A word that merely starts like a token is the student's own.
    expect(analyseQuestion('o que é #canalização?').map((c) => c.terms.join(' '))).toEqual(analyze('canalização'));
  });
});

describe('misspellings', () => {
  it('one edit apart: insertion, deletion, substitution, swap', () => {
    expect(oneEditApart('overfiting', 'overfitting')).toBe(true);
    expect(oneEditApart('overfittting', 'overfitting')).toBe(true);
    expect(oneEditApart('ovrefitting', 'overfitting')).toBe(true);
    expect(oneEditApart('overfirting', 'overfitting')).toBe(true);
    expect(oneEditApart('overfitting', 'overfitting')).toBe(false);
    expect(oneEditApart('ovefittng', 'overfitting')).toBe(false);
  });

  it('fixes a long unknown term into the most frequent indexed one, never its ending or short words', () => {
    const index = Bm25Index.build(['o overfitting aparece', 'overfitting de novo', 'o classico exemplo', 'a regularizacao']);
    expect(index.termOf(index.closestTerm('overfiting')!)).toBe('overfitting');
    // Differs only in the last letter: another word form, not a typo.
    expect(index.closestTerm(analyze('classifica')[0]!)).toBeUndefined();
    expect(index.closestTerm('drop')).toBeUndefined();
  });
});

describe('weighted query and coverage', () => {
  const docs = [
    'o overfitting acontece quando o modelo decora o treino',
    'o sobreajuste aparece com poucos dados de treino',
    'a matriz de confusão cruza a classe real com a prevista',
    'hoje a gente fala de redes convolucionais e de pooling',
  ];
  const index = Bm25Index.build(docs);
  const glossary = new CompiledGlossary({ concepts: [['sobreajuste', 'overfitting'], ['matriz de confusão', 'confusion matrix']] });

  it('weighs synonyms at ALTERNATIVE_WEIGHT, or fully when the student\'s own word is in no window', () => {
    const q = resolveQuery(index, analyseQuestion('o que é overfitting?', glossary));
    const weight = (term: string) => q.terms.find((t) => t.id === index.termId(analyze(term)[0]!))?.weight;
    expect(weight('overfitting')).toBe(1);
    expect(weight('sobreajuste')).toBe(ALTERNATIVE_WEIGHT);
    const english = resolveQuery(index, analyseQuestion('oq eh a confusion matrix', glossary));
    for (const term of analyze('matriz confusão')) expect(english.terms.find((t) => t.id === index.termId(term))?.weight).toBe(1);
    // Window 2 is found through the glossary alone.
    expect(index.searchTerms(english.terms, 4).map((h) => h.doc)).toEqual([2]);
  });

  it('a concept weighs the same whichever form is typed, and counts as found in either form', () => {
    const a = resolveQuery(index, analyseQuestion('overfitting', glossary));
    const b = resolveQuery(index, analyseQuestion('sobreajuste', glossary));
    expect(a.totalMass).toBeCloseTo(b.totalMass, 12);
    expect(windowCoverage(index, a, 1)).toEqual({ coverage: 1, matched: [analyze('overfitting')[0]] });
    expect(windowCoverage(index, b, 0).coverage).toBe(1);
  });

  it('covers the share of the content a window holds; words in no window count as the most specific', () => {
    const q = resolveQuery(index, analyseQuestion('Como funciona o overfitting com poucos dados num autoencoder?', glossary));
    expect(q.concepts.map((c) => c.label)).toEqual(analyze('overfitting poucos dados autoencoder'));
    const autoencoder = q.concepts.find((c) => c.label === analyze('autoencoder')[0])!;
    expect(autoencoder.mass).toBeCloseTo(index.idfOf(-1), 12);
    const inWindow1 = windowCoverage(index, q, 1);
    expect(inWindow1.matched).toEqual(analyze('overfitting poucos dados'));
    expect(inWindow1.coverage).toBeCloseTo((q.totalMass - autoencoder.mass) / q.totalMass, 12);
    expect(windowCoverage(index, q, 3).coverage).toBe(0);
    // Framing words alone: nothing to cover.
    expect(windowCoverage(index, resolveQuery(index, analyseQuestion('me explica como funciona?')), 0)).toEqual({ coverage: 0, matched: [] });
  });

  it('decides from the lexical coverage, and from dense similarity only when its threshold is set', () => {
    const estimate = { lexical: 0.3, matched: [], unknown: ['lstm'], contentWords: 3, dense: 0.9 };
    expect(isCovered(estimate, { minCoverage: 0.35, minDenseSimilarity: null })).toBe(false);
    expect(isCovered(estimate, { minCoverage: 0.3, minDenseSimilarity: null })).toBe(true);
    expect(isCovered(estimate, { minCoverage: 0.35, minDenseSimilarity: 0.85 })).toBe(true);
    expect(isCovered({ ...estimate, dense: null }, { minCoverage: 0.35, minDenseSimilarity: 0.85 })).toBe(false);
  });

  it('low coverage says "not covered" only when enough of the question is words the course never uses', () => {
    const t = { minCoverage: 0.35, minDenseSimilarity: null };
    const low = { lexical: 0.2, matched: [], dense: null };
    // A paraphrase: the course's words, just not together.
    expect(isCovered({ ...low, unknown: ['errar'], contentWords: 5 }, t)).toBe(true);
    expect(isCovered({ ...low, unknown: ['lstm'], contentWords: 3 }, t)).toBe(false);
    expect(isCovered({ ...low, unknown: ['svm', 'suport'], contentWords: 3 }, t)).toBe(false);
    // No content word at all ("me explica como funciona?").
    expect(isCovered({ ...low, lexical: 0, unknown: [], contentWords: 0 }, t)).toBe(false);
  });
});

describe('the glossary in the index', () => {
  let work: string;
  beforeAll(async () => {
    work = await tempDir('gloss-index-');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('ingest stores it; the bot expands questions with it without the course folder; an index without one still loads', async () => {
    const course = await copySampleCourse();
    const indexDir = path.join(work, 'index');
    await runIngest(loadConfig({}, '/nonexistent/.env'), silentLogger(), course, indexDir, null);
    await rm(course, { recursive: true, force: true });
    const index = await loadCourseIndex(indexDir, { ef: 100 });
    expect(index.glossary?.size).toBeGreaterThan(20);
    expect(index.manifest.glossary).toMatchObject({ source: 'glossario.csv' });
    const stored = JSON.parse(await readFile(path.join(index.generationDir, FILES.glossary), 'utf8')) as { format: string };
    expect(stored.format).toBe('glossary-v1');

    // "confusion matrix" is never said in the lectures: found through "matriz de confusão".
    const retriever = new HybridRetriever(index, null);
    const { segments, coverage } = retriever.searchWithEvidence('oq eh a confusion matrix?', null, 3);
    expect(segments[0]?.videoId).toBe('aula07');
    expect(coverage.lexical).toBe(1);

    // The same index as an older version wrote it (no glossary file, no manifest entry).
    const manifestFile = path.join(index.generationDir, FILES.manifest);
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { files: Record<string, unknown>; glossary?: unknown };
    delete manifest.files[FILES.glossary];
    delete manifest.glossary;
    await writeFile(manifestFile, JSON.stringify(manifest));
    await rm(path.join(index.generationDir, FILES.glossary));
    const old = await loadCourseIndex(indexDir, { ef: 100 });
    expect(old.glossary).toBeNull();
    const plain = new HybridRetriever(old, null).searchWithEvidence('oq eh a confusion matrix?', null, 3);
    expect(plain.segments).toEqual([]);
    expect(plain.coverage.lexical).toBe(0);
  });

  it('a damaged glossary.json is reported as a corrupt index file', async () => {
    const course = await copySampleCourse();
    const indexDir = path.join(work, 'damaged');
    await mkdir(indexDir);
    await runIngest(loadConfig({}, '/nonexistent/.env'), silentLogger(), course, indexDir, null);
    await rm(course, { recursive: true, force: true });
    const index = await loadCourseIndex(indexDir, { ef: 100 });
    const file = path.join(index.generationDir, FILES.glossary);
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('glossary-v1', 'glossary-vX'));
    await expect(loadCourseIndex(indexDir, { ef: 100 })).rejects.toThrow(/glossary\.json is unusable/);
  });
});
