/**
 * The lecture filter in the core: naming lectures (autocomplete choices, "aula 6", titles, the
 * Slack prefix), and retrieval restricted to some videos (BM25 over the sample course, the dense
 * index through hnswlib's filter), down to AnswerService's "the chosen lecture does not cover it".
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerService, notFoundInLectures } from '../../src/answer/answerService.js';
import { LectureCatalog, MAX_LECTURE_CHOICES, foldText } from '../../src/course/lectures.js';
import { HnswIndex } from '../../src/dense/hnswIndex.js';
import { loadCourseIndex, type CourseIndex } from '../../src/index/courseIndex.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import type { Video } from '../../src/types.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';
import { ingestCourse } from '../../src/index/ingest.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../src/windowing.js';

const video = (id: string, title: string): Video => ({ id, title, url: `https://youtu.be/${id}`, transcript: `${id}.srt` });

const VIDEOS = [
  video('aula01', 'Aula 1 — O que é aprendizado de máquina'),
  video('aula02', 'Aula 2 — Regressão linear e gradiente descendente'),
  video('aula03', 'Aula 3 — Overfitting, regularização e validação cruzada'),
  video('aula06', 'Aula 6 — Transfer learning e fine-tuning'),
  video('revisao', 'Revisão para a prova'),
  video('extra12', 'Monitoria de exercícios'),
];

describe('LectureCatalog', () => {
  const catalog = new LectureCatalog(VIDEOS);

  it('numbers lectures from their titles, else from the digits ending their id', () => {
    expect(catalog.lectures.map((l) => l.number)).toEqual([1, 2, 3, 6, null, 12]);
  });

  it('offers autocomplete choices filtered as the student types (titles starting with it first), at most 25', () => {
    expect(catalog.choices('').map((c) => c.value)).toEqual(VIDEOS.map((v) => v.id));
    expect(catalog.choices('regul').map((c) => c.value)).toEqual(['aula03']);
    expect(catalog.choices('REGRESSAO').map((c) => c.value)).toEqual(['aula02']); // case and accents folded
    expect(catalog.choices('aula 6').map((c) => c.value)).toEqual(['aula06']);
    expect(catalog.choices('6')[0]).toEqual({ name: 'Aula 6 — Transfer learning e fine-tuning', value: 'aula06' });
    expect(catalog.choices('prova gradiente')).toEqual([]);
    expect(catalog.choices('nada disso')).toEqual([]);

    const many = new LectureCatalog(Array.from({ length: 60 }, (_, i) => video(`v${i + 1}`, `Aula ${i + 1} — ${'tópico muito longo '.repeat(10)}`)));
    const choices = many.choices('aula');
    expect(choices).toHaveLength(MAX_LECTURE_CHOICES);
    for (const c of choices) {
      expect([...c.name].length).toBeLessThanOrEqual(100);
      expect(c.value.length).toBeLessThanOrEqual(100);
    }
    expect(many.choices('aula 4')[0]?.value).toBe('v4');
  });

  it('resolves what a student typed: an id, "aula 6", "6", a title or a part of one', () => {
    const ids = (text: string) => {
      const m = catalog.match(text);
      return m.ok ? m.lectures.map((l) => l.videoId) : m.reason;
    };
    expect(ids('aula03')).toEqual(['aula03']);
    expect(ids('aula 6')).toEqual(['aula06']);
    expect(ids('Aula 06')).toEqual(['aula06']);
    expect(ids('6')).toEqual(['aula06']);
    expect(ids('aula 12')).toEqual(['extra12']);
    expect(ids('Aula 3 — Overfitting, regularização e validação cruzada')).toEqual(['aula03']);
    expect(ids('revisão para a prova')).toEqual(['revisao']);
    expect(ids('transfer learning')).toEqual(['aula06']);
    expect(ids('aula 9')).toBe('unknown');
    expect(ids('e')).toBe('ambiguous');
    expect(ids('')).toBe('unknown');
  });

  it('splits the Slack prefix "aula 6: pergunta" or "<título>: pergunta", and leaves other colons alone', () => {
    expect(catalog.splitPrefix('aula 6: o que é fine-tuning?')).toMatchObject({ reference: 'aula 6', question: 'o que é fine-tuning?', match: { ok: true } });
    expect(catalog.splitPrefix('Regressão linear: o que é a taxa de aprendizado?')).toMatchObject({ question: 'o que é a taxa de aprendizado?', match: { ok: true } });
    // "aula …" that names no lecture is still a prefix (the TA gets told), anything else is a question.
    expect(catalog.splitPrefix('aula 9: o que é X?')).toMatchObject({ reference: 'aula 9', match: { ok: false, reason: 'unknown' } });
    expect(catalog.splitPrefix('Dúvida: o que é overfitting?')).toBeNull();
    expect(catalog.splitPrefix('o que é overfitting?')).toBeNull();
    expect(catalog.splitPrefix(': nada')).toBeNull();
  });

  it('folds text for matching', () => {
    expect(foldText('  Validação   CRUZADA!! ')).toBe('validacao cruzada');
  });
});

describe('retrieval restricted to some lectures', () => {
  let work: string;
  let index: CourseIndex;
  let retriever: HybridRetriever;

  beforeAll(async () => {
    work = await tempDir('lectures-');
    await ingestCourse({
      sourceDir: SAMPLE_COURSE,
      indexDir: path.join(work, 'index'),
      embedder: null,
      embeddingModel: 'none',
      window: DEFAULT_WINDOW_SETTINGS,
      hnsw: { m: 16, efConstruction: 200, ef: 100 },
      logger: silentLogger(),
    });
    index = await loadCourseIndex(path.join(work, 'index'), { ef: 100 });
    retriever = new HybridRetriever(index, null);
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("finds a lecture's own windows even when other lectures outrank them, scored as the unrestricted search scores them", async () => {
    const question = 'o que é overfitting e como a regularização ajuda?';
    const all = await retriever.search(question, 30);
    expect(all.segments[0]?.videoId).toBe('aula03');
    const only = await retriever.search(question, 5, { videoIds: new Set(['aula06']) });
    expect(only.segments.length).toBeGreaterThan(0);
    expect(only.segments.every((s) => s.videoId === 'aula06')).toBe(true);
    // Same BM25 scores as the whole-course search gives those windows.
    for (const s of only.segments) {
      const same = all.segments.find((a) => a.corpusId === s.corpusId);
      if (same) expect(s.foundBy.lexical?.score).toBeCloseTo(same.foundBy.lexical!.score, 5);
    }
    const two = await retriever.search(question, 10, { videoIds: new Set(['aula03', 'aula06']) });
    expect(new Set(two.segments.map((s) => s.videoId))).toEqual(new Set(['aula03', 'aula06']));
    expect((await retriever.search(question, 5, { videoIds: new Set(['nao-existe']) })).segments).toEqual([]);
  });

  it('the dense index searches only the labels the filter accepts', () => {
    const dense = HnswIndex.create(3, 64, { m: 16, efConstruction: 100, ef: 50 });
    for (let i = 0; i < 50; i++) dense.add(i, [Math.sin(i), Math.cos(i), 0.5]);
    const hits = dense.search([1, 0, 0.5], 30, (label) => label % 10 === 3);
    expect(hits.map((h) => h.label).sort((a, b) => a - b)).toEqual([3, 13, 23, 33, 43]);
  });

  it('AnswerService: the filter is applied, said in a notice, and a lecture without the subject says so', async () => {
    const answers = new AnswerService({ retriever, videos: index.videos, llm: null, k: 5 });
    const result = await answers.answer('O que é fine-tuning?', { lectureFilter: ['aula06'] });
    expect(result.lectureFilter).toEqual(['aula06']);
    expect(result.segments.every((s) => s.videoId === 'aula06')).toBe(true);
    expect(result.references.every((r) => r.videoId === 'aula06')).toBe(true);
    expect(result.notices).toContain('Busca restrita à aula: Aula 6 — Transfer learning e fine-tuning.');

    const missing = await answers.answer('Como funciona a curva ROC e o recall?', { lectureFilter: ['aula01'] });
    expect(missing.kind).toBe('not-found');
    expect(missing.answer).toBe(notFoundInLectures(['Aula 1 — O que é aprendizado de máquina']));
    expect(missing.answer).toMatch(/^Não encontrei isso na aula escolhida \(Aula 1 — O que é aprendizado de máquina\): ela não parece abordar esse assunto\.$/);
    // Unknown ids are dropped; nothing left means no filter.
    const unfiltered = await answers.answer('O que é fine-tuning?', { lectureFilter: ['nao-existe'] });
    expect(unfiltered.lectureFilter).toBeNull();
  });
});
