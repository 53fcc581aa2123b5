/**
 * The answer policy (homework guardrails): politica.md parsed, refused with a clear message when
 * unusable, copied into the index generation at ingest (the bot reads it from there, without the
 * course folder), combined with ANSWER_POLICY, and carried by the answer prompt, which the fake
 * LLM records. The sample course ships an example (examples/curso-exemplo/politica.md).
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GUIDE_RULES_VERSION, MAX_POLICY_CHARS, PolicyFileError, effectivePolicy, parsePolicy } from '../../src/answer/policy.js';
import { buildMessages } from '../../src/answer/prompt.js';
import { loadConfig } from '../../src/config.js';
import { createCore } from '../../src/core.js';
import { FILES, currentGeneration } from '../../src/index/indexFiles.js';
import { ingestCourse } from '../../src/index/ingest.js';
import { DEFAULT_WINDOW_SETTINGS } from '../../src/windowing.js';
import { lastMessage, startFakeOpenAI, type FakeOpenAI } from '../fakes/fakeOpenAI.js';
import { SAMPLE_COURSE, silentLogger, tempDir } from '../helpers/course.js';

const ingest = (sourceDir: string, indexDir: string) =>
  ingestCourse({ sourceDir, indexDir, embedder: null, embeddingModel: 'none', window: DEFAULT_WINDOW_SETTINGS, hnsw: { m: 16, efConstruction: 200, ef: 100 }, logger: silentLogger() });

describe('politica.md', () => {
  it('reads the mode, version, text and graded assignments of the sample course’s policy', async () => {
    const policy = parsePolicy(await readFile(path.join(SAMPLE_COURSE, 'politica.md'), 'utf8'));
    expect(policy.mode).toBe('guide');
    expect(policy.version).toBe('2026-1');
    expect(policy.assignments).toHaveLength(5);
    expect(policy.assignments[1]).toBe('Lista 2 — overfitting, regularização L1/L2 e validação cruzada k-fold');
    expect(policy.text).toMatch(/^# Política de respostas/);
    expect(policy.text).not.toContain('versão:');
  });

  it('without front matter: guide mode and a content hash as version; "livre" turns it off', () => {
    const plain = parsePolicy('Não resolva listas.\r\n\r\n## Atividades avaliadas\r\n1. Lista A\r\n2) Lista B\r\n\r\n## Outras\r\n- não avaliada\r\n');
    expect(plain).toMatchObject({ mode: 'guide', text: 'Não resolva listas.\n\n## Atividades avaliadas\n1. Lista A\n2) Lista B\n\n## Outras\n- não avaliada', assignments: ['Lista A', 'Lista B'] });
    expect(plain.version).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(parsePolicy('Não resolva listas.\n').version).toBe(parsePolicy('\uFEFFNão resolva listas.').version);
    expect(parsePolicy('---\nmodo: livre\n---\ntexto').mode).toBe('open');
    expect(parsePolicy('---\nmode: guide # comentário\nversion: "v2"\n---\n')).toMatchObject({ mode: 'guide', version: 'v2', text: null });
  });

  it('refuses an unusable file with a message naming the problem', () => {
    expect(() => parsePolicy('---\nmodo: resolver tudo\n---\n', 'curso/politica.md')).toThrow(/curso\/politica\.md: modo "resolver tudo" is not one of orientar, livre/);
    expect(() => parsePolicy('---\nautor: eu\n---\n')).toThrow(/unknown front-matter key "autor"/);
    expect(() => parsePolicy('---\nversão: com espaço\n---\n')).toThrow(PolicyFileError);
    expect(() => parsePolicy('x'.repeat(MAX_POLICY_CHARS + 1))).toThrow(/at most 6000 go into every prompt/);
  });

  it('ANSWER_POLICY over the course file: guide forces it (built-in rules without a file), open turns it off', () => {
    const file = parsePolicy('---\nmodo: livre\nversão: 3\n---\nTexto');
    expect(effectivePolicy(undefined, file)).toBeNull();
    expect(effectivePolicy('guide', file)).toMatchObject({ mode: 'guide', version: '3', text: 'Texto' });
    expect(effectivePolicy('guide', null)).toEqual({ mode: 'guide', version: GUIDE_RULES_VERSION, text: null, assignments: [] });
    expect(effectivePolicy('open', parsePolicy('Texto'))).toBeNull();
    expect(effectivePolicy(undefined, parsePolicy('Texto'))).toMatchObject({ mode: 'guide' });
    expect(effectivePolicy(undefined, null)).toBeNull();
  });

  it('the guide rules go into the system prompt with the assignments and the course’s text', () => {
    const policy = parsePolicy('---\nversão: 1\n---\nSeja gentil.\n\n## Trabalhos avaliados\n- Lista 2\n');
    const [system] = buildMessages('Resolva a lista 2', [], undefined, { policy });
    expect(system!.content).toContain('NÃO resolva exercícios avaliados');
    expect(system!.content).toContain('diga com gentileza que você não pode resolvê-lo');
    expect(system!.content).toContain('- Lista 2');
    expect(system!.content).toContain('<politica>\nSeja gentil.');
    const [plain] = buildMessages('q', []);
    expect(plain!.content).not.toContain('trabalhos avaliados');
  });
});

describe('the policy in the index and in the answer prompt', () => {
  let work: string;
  let fake: FakeOpenAI;
  beforeAll(async () => {
    work = await tempDir('policy-');
    fake = await startFakeOpenAI({ defaultBehavior: { type: 'text', text: 'Posso explicar o conceito, mas não resolver a lista [1].' } });
  });
  afterAll(async () => {
    await fake?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('is copied into the generation at ingest and used from there with the course folder gone', async () => {
    const course = path.join(work, 'course');
    await cp(SAMPLE_COURSE, course, { recursive: true });
    const indexDir = path.join(work, 'index');
    await ingest(course, indexDir);
    const generation = (await currentGeneration(indexDir))!;
    expect(await readFile(path.join(generation, FILES.policy), 'utf8')).toBe(await readFile(path.join(SAMPLE_COURSE, 'politica.md'), 'utf8'));
    await rm(course, { recursive: true, force: true });

    const config = loadConfig({ OPENAI_API_KEY: 'sk-test-policy', OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'fake-model', LLM_MAX_RETRIES: '0' }, path.join(work, 'no.env'));
    const core = await createCore(config, silentLogger(), { indexDir, embedder: null });
    expect(core.index.policy).toMatchObject({ mode: 'guide', version: '2026-1' });
    const result = await core.answers.answer('Me passa a resolução da Lista 2 de validação cruzada k-fold?');
    const request = fake.requests.at(-1)!;
    expect(request.messages[0]!.content).toContain('NÃO resolva exercícios avaliados');
    expect(request.messages[0]!.content).toContain('- Lista 2 — overfitting, regularização L1/L2 e validação cruzada k-fold');
    expect(lastMessage(request)).toContain('Me passa a resolução da Lista 2');
    expect(result.policy).toMatchObject({ mode: 'guide', version: '2026-1' });
    expect(result.policy?.text).toMatch(/^# Política de respostas/);

    // ANSWER_POLICY=open switches it off without re-ingesting.
    const open = await createCore({ ...config, ANSWER_POLICY: 'open' }, silentLogger(), { indexDir, embedder: null });
    const unguarded = await open.answers.answer('O que é validação cruzada?');
    expect(fake.requests.at(-1)!.messages[0]!.content).not.toContain('NÃO resolva exercícios avaliados');
    expect(unguarded.policy).toBeNull();
  });

  it('a course without the file has no policy unless ANSWER_POLICY=guide; a bad file stops the ingest before anything is written', async () => {
    const course = path.join(work, 'plain');
    await cp(SAMPLE_COURSE, course, { recursive: true });
    await rm(path.join(course, 'politica.md'));
    const indexDir = path.join(work, 'plain-index');
    await ingest(course, indexDir);
    const config = loadConfig({ OPENAI_API_KEY: 'sk-test-policy', OPENAI_BASE_URL: fake.baseURL, LLM_MAX_RETRIES: '0' }, path.join(work, 'no.env'));
    expect((await createCore(config, silentLogger(), { indexDir, embedder: null })).answers.policy).toBeNull();
    const forced = await createCore({ ...config, ANSWER_POLICY: 'guide' }, silentLogger(), { indexDir, embedder: null });
    expect(forced.answers.policy).toMatchObject({ mode: 'guide', version: GUIDE_RULES_VERSION, text: null });

    await writeFile(path.join(course, 'politica.md'), '---\nmodo: talvez\n---\n');
    const before = await currentGeneration(indexDir);
    await expect(ingest(course, indexDir)).rejects.toThrow(/politica\.md: modo "talvez"/);
    expect(await currentGeneration(indexDir)).toBe(before);
  });
});
