/**
 * `npm run ingest` killed with SIGKILL at several points of a build, over an index folder that
 * already holds a good index: whenever it dies, the folder must still load (the previous index,
 * or the new one if the build had completed) and `ask` must answer from it.
 *
 * Each kill runs on its own copy of the good index, all at once (the machine is shared: no
 * timing is asserted, the kill points are only aimed at). Kill points: a fixed delay after the
 * spawn (module loading), the middle of embedding, and the moments the build's temporary folder,
 * the new CURRENT pointer's temporary file and the switched CURRENT appear on disk.
 *
 * Then two real ingests at once into one folder, several rounds: the second waits for the first
 * (the index-folder lock), and the folder always holds a loadable index named by CURRENT.
 */
import { watch } from 'node:fs';
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerService } from '../../src/answer/answerService.js';
import { loadTransformersEmbedder, type TransformersEmbedder } from '../../src/embeddings/transformersEmbedder.js';
import { loadCourseIndex, type CourseIndex } from '../../src/index/courseIndex.js';
import { HybridRetriever } from '../../src/retrieval/hybridRetriever.js';
import { currentGeneration } from '../../src/index/indexFiles.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { SAMPLE_COURSE, ingestWithModel, tempDir, writeCourse } from '../helpers/course.js';
import { runCliLowPriority, spawnTsLowPriority } from '../helpers/lowPriority.js';
import { writeTinyModel } from '../helpers/tinyModel.js';

const MODEL = 'tiny-e5';
const EXTRA_LECTURES = 4;

let work: string;
let models: string;
let bigCourse: string;
let goodIndex: string;
let goodBuiltAt: string;
let tiny: TransformersEmbedder;
/** The sample course plus one lecture whose transcript is a single 1-hour cue (slow to window). */
let singleCueCourse: string;

/** Where in the build to kill the process. */
type KillPoint =
  | { kind: 'delay'; ms: number }
  | { kind: 'log'; pattern: RegExp; thenMs?: number }
  | { kind: 'file'; pattern: RegExp };

interface KillResult {
  name: string;
  indexDir: string;
  /** How the process ended: killed by us, or it finished before the kill landed. */
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Spawns the ingest CLI over `indexDir` and SIGKILLs it at `point` (or lets it finish if the point never comes). */
function ingestAndKill(name: string, indexDir: string, point: KillPoint): Promise<KillResult> {
  const env = cliEnv({ INDEX_DIR: indexDir, MODEL_CACHE_DIR: models, EMBEDDING_MODEL: MODEL, LOG_LEVEL: 'info' });
  // `node --import tsx`, not the `tsx` binary: that one is a wrapper that runs the script in a
  // child process, and a SIGKILL of the wrapper would leave the real ingest running.
  const child = spawnTsLowPriority('src/cli/ingest.ts', ['--source', bigCourse], env, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let killed = false;
  const kill = () => {
    if (killed) return;
    killed = true;
    child.kill('SIGKILL');
  };
  const timers: NodeJS.Timeout[] = [];
  let watcher: ReturnType<typeof watch> | undefined;
  if (point.kind === 'delay') timers.push(setTimeout(kill, point.ms));
  if (point.kind === 'file') {
    watcher = watch(indexDir, (_event, file) => {
      if (file && point.pattern.test(String(file))) kill();
    });
  }
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (point.kind === 'log' && point.pattern.test(stderr)) {
      if (point.thenMs) timers.push(setTimeout(kill, point.thenMs));
      else kill();
    }
  });
  // A safety net: no ingest of this course takes a minute.
  timers.push(setTimeout(kill, 60_000));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      watcher?.close();
      resolve({ name, indexDir, signal, code, stderr });
    });
  });
}

/** Answers a question from whatever the folder holds, the way `ask` does (extractive: no LLM). */
async function answerFrom(index: CourseIndex, question: string) {
  const answers = new AnswerService({ retriever: new HybridRetriever(index, tiny), videos: index.videos, llm: null, k: 5 });
  return answers.answer(question);
}

beforeAll(async () => {
  work = await tempDir('faults-ingest-');
  models = path.join(work, 'models');
  await writeTinyModel(models, MODEL);
  tiny = await loadTransformersEmbedder({ modelId: MODEL, localModelPath: models, allowRemote: false });

  // The good index: the sample course, hybrid, built with the tiny model.
  goodIndex = path.join(work, 'good-index');
  await ingestWithModel(SAMPLE_COURSE, goodIndex, tiny);
  goodBuiltAt = (await loadCourseIndex(goodIndex, { embeddingModel: MODEL, ef: 100 })).manifest.builtAt;

  // The larger course: the sample course plus generated lectures (what the killed builds ingest).
  bigCourse = path.join(work, 'big-course');
  const extra: Record<string, [string, string, number]> = {};
  for (let i = 0; i < EXTRA_LECTURES; i++) extra[`extra${i}`] = [`Aula extra ${i}`, `tópico ${i} de redes neurais`, 10];
  await writeCourse(extra, bigCourse);
  await cp(path.join(SAMPLE_COURSE, 'transcripts'), path.join(bigCourse, 'transcripts'), { recursive: true });
  const sampleVideos = JSON.parse(await readFile(path.join(SAMPLE_COURSE, 'videos.json'), 'utf8')) as object[];
  const extraVideos = JSON.parse(await readFile(path.join(bigCourse, 'videos.json'), 'utf8')) as object[];
  await writeFile(path.join(bigCourse, 'videos.json'), JSON.stringify([...sampleVideos, ...extraVideos]));

  singleCueCourse = path.join(work, 'single-cue-course');
  await cp(SAMPLE_COURSE, singleCueCourse, { recursive: true });
  const words = Array.from({ length: 30_000 }, (_, i) => `termo${i % 997}`);
  await writeFile(path.join(singleCueCourse, 'transcripts', 'longa.json'), JSON.stringify({ segments: [{ start: 0, end: 3600, text: words.join(' ') }] }));
  const longLecture = { id: 'longa', title: 'Aula longa', url: 'https://youtu.be/longaxxxxxx', transcript: 'transcripts/longa.json' };
  await writeFile(path.join(singleCueCourse, 'videos.json'), JSON.stringify([...sampleVideos, longLecture]));
});

afterAll(async () => {
  await tiny?.dispose();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ingest killed midway', () => {
  const POINTS: Array<[string, KillPoint]> = [
    ['500 ms after the spawn (loading modules)', { kind: 'delay', ms: 500 }],
    ['while embedding (nothing written yet)', { kind: 'log', pattern: /embedding windows: started/, thenMs: 50 }],
    ['when the temporary build folder appears (writing the files)', { kind: 'file', pattern: /^\.tmp-gen-/ }],
    ['when the CURRENT pointer is being written (new generation complete)', { kind: 'file', pattern: /^\.CURRENT\.[0-9a-f]+\.tmp$/ }],
    ['right after CURRENT was switched (old generation being removed)', { kind: 'file', pattern: /^CURRENT$/ }],
  ];

  it('the folder always loads (previous or new complete index) and answers; ask answers from it', { timeout: 120_000 }, async () => {
    const running = POINTS.map(async ([name, point], i) => {
      const dir = path.join(work, `killed-${i}`);
      await cp(goodIndex, dir, { recursive: true });
      return ingestAndKill(name, dir, point);
    });
    // `ask` (the real CLI) on the folder killed while the build was being written, started as
    // soon as that build is dead (the other builds may still be running).
    const asked = running[2]!.then((written) =>
      runCliLowPriority(
        'src/cli/ask.ts',
        ['--json', 'Qual a diferença entre transfer learning e fine tuning?'],
        cliEnv({ INDEX_DIR: written.indexDir, MODEL_CACHE_DIR: models, EMBEDDING_MODEL: MODEL }),
      ),
    );
    asked.catch(() => undefined); // awaited below
    const results = await Promise.all(running);

    const outcomes: string[] = [];
    for (const r of results) {
      // The process died without cleaning up, or finished before the kill landed.
      expect(r.signal === 'SIGKILL' || r.code === 0, `${r.name}: ${r.stderr.slice(-500)}`).toBe(true);
      const index = await loadCourseIndex(r.indexDir, { embeddingModel: MODEL, ef: 100 });
      const previous = index.manifest.builtAt === goodBuiltAt;
      if (previous) {
        expect(index.manifest.counts.videos, r.name).toBe(7);
      } else {
        // A new index is only ever the complete one.
        expect(index.manifest.source, r.name).toBe(path.resolve(bigCourse));
        expect(index.manifest.counts.videos, r.name).toBe(7 + EXTRA_LECTURES);
        expect(index.dense?.size, r.name).toBe(index.windows.length);
      }
      const result = await answerFrom(index, 'Qual a diferença entre transfer learning e fine tuning?');
      expect(result.kind, r.name).toBe('extractive');
      expect(result.references.length, r.name).toBeGreaterThan(0);
      expect(result.segments[0]!.videoId, r.name).toBe('aula06');
      const debris = (await readdir(r.indexDir)).filter((e) => e.startsWith('.tmp-'));
      outcomes.push(`${r.name}: ${r.signal ?? `exit ${r.code}`} → ${previous ? 'previous' : 'new'} index${debris.length ? ' (+ unfinished temp folder)' : ''}`);
    }
    console.info(`[faults.ingest]\n  ${outcomes.join('\n  ')}`);

    // `ask` answered from the folder killed while the build was being written.
    const written = results[2]!;
    const ask = await asked;
    expect(ask.code, ask.stderr).toBe(0);
    const json = JSON.parse(ask.stdout) as { kind: string; retriever: string; segments: Array<{ videoId: string }> };
    expect(json.retriever).toBe('e5+bm25');
    expect(json.segments[0]!.videoId).toBe('aula06');

    // The next build over a folder a killed build left debris in completes and cleans it up.
    await ingestWithModel(bigCourse, written.indexDir, tiny);
    const entries = await readdir(written.indexDir);
    expect(entries.filter((e) => e.startsWith('.tmp-'))).toEqual([]);
    expect(entries.filter((e) => e.startsWith('gen-'))).toHaveLength(1);
    expect((await loadCourseIndex(written.indexDir, { embeddingModel: MODEL, ef: 100 })).manifest.counts.videos).toBe(7 + EXTRA_LECTURES);
  });
});

describe('two ingests at once into one folder', () => {
  const ROUNDS = 3;

  it('every round leaves a loadable index named by CURRENT, both runs succeed, no raw stack', { timeout: 300_000 }, async () => {
    const indexDir = path.join(work, 'shared-index');
    const env = cliEnv({ INDEX_DIR: indexDir, MODEL_CACHE_DIR: path.join(work, 'no-models'), LOG_LEVEL: 'info' });
    const waited: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const runs = await Promise.all([1, 2].map(() => runCli('src/cli/ingest.ts', ['--source', singleCueCourse], env, process.cwd(), 120_000)));
      for (const [i, r] of runs.entries()) {
        const who = `round ${round}, run ${i + 1}`;
        expect(r.stderr, `${who}: a raw stack trace`).not.toMatch(/^\s+at /m);
        expect(r.code, `${who}: ${r.stderr.slice(-800)}`).toBe(0);
      }
      waited.push(runs.filter((r) => r.stderr.includes('waiting for it to finish')).length);
      const generation = await currentGeneration(indexDir);
      expect(generation, `round ${round}: no CURRENT`).not.toBeNull();
      const index = await loadCourseIndex(indexDir, { ef: 100 });
      expect(index.generationDir).toBe(generation);
      expect(index.manifest.counts.videos, `round ${round}`).toBe(8);
      // Only the generation in use is left.
      const generations = (await readdir(indexDir)).filter((e) => e.startsWith('gen-'));
      expect(generations, `round ${round}`).toEqual([path.basename(generation!)]);
    }
    console.info(`[faults.ingest] two ingests at once, ${ROUNDS} rounds: the second waited for the first in ${waited.filter((n) => n > 0).length}`);
  });
});
