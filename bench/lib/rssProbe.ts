/**
 * Resident memory of one loaded index, measured in a fresh child process (so that nothing else
 * the benchmark holds is counted). The child imports what the load needs, records its RSS,
 * loads the index, collects garbage and records RSS again.
 *
 * Run as a child: `node --expose-gc --import tsx bench/lib/rssProbe.ts '<json ProbeRequest>'`.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type ProbeKind = 'ours-index' | 'ours-dense' | 'ours-lexical' | 'raw-hnsw' | 'langchain-hnswlib';

export interface ProbeRequest {
  kind: ProbeKind;
  /** Index folder (ours-index, langchain-hnswlib), generation folder (ours-lexical) or .hnsw file. */
  path: string;
  dimensions: number;
  ef: number;
  liveCount: number;
  m: number;
  efConstruction: number;
}

export interface ProbeResult {
  kind: ProbeKind;
  /** Bytes, after the imports and before loading. */
  baselineRss: number;
  /** Bytes, after loading and a full GC. */
  rss: number;
  /** rss - baselineRss. */
  deltaRss: number;
  heapUsed: number;
  external: number;
  loadMs: number;
  /** Elements the loaded index reports, as a sanity check. */
  elements: number;
  /** ours-index: a lexical and a dense search on the loaded index (hits found, ms). */
  check?: string;
}

const THIS_FILE = fileURLToPath(import.meta.url);

/** The LangChain half lives with its packages in bench/peer (installed on demand, not type-checked from here). */
interface PeerProbeModule {
  loadLangchainHnswlib(dir: string): Promise<{ store: unknown; elements: number }>;
}
const PEER_PROBE = new URL('../peer/probe.ts', import.meta.url).href;
function loadPeerProbe(): Promise<PeerProbeModule> {
  return import(PEER_PROBE) as Promise<PeerProbeModule>;
}

/** What a probe loaded: held here so that it is still alive (and counted) when RSS is read. */
let loaded: unknown = null;

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect) {
    collect();
    collect();
  }
}

async function probe(req: ProbeRequest): Promise<ProbeResult> {
  let load: () => Promise<number>;
  let check: (() => string) | undefined;
  switch (req.kind) {
    case 'ours-index': {
      const { loadCourseIndex } = await import('../../src/index/courseIndex.js');
      load = async () => {
        const index = await loadCourseIndex(req.path, { ef: req.ef });
        loaded = index;
        check = () => {
          const t0 = performance.now();
          const lexical = index.lexical.search('como funciona o gradiente descendente', 10).length;
          const t1 = performance.now();
          const query = new Array<number>(req.dimensions).fill(1 / Math.sqrt(req.dimensions));
          const dense = index.dense ? index.dense.search(query, 10).length : 0;
          const t2 = performance.now();
          return `lexical search: ${lexical} hits in ${(t1 - t0).toFixed(2)} ms; dense search: ${dense} hits in ${(t2 - t1).toFixed(2)} ms`;
        };
        return index.windows.length;
      };
      break;
    }
    case 'ours-dense': {
      const { HnswIndex } = await import('../../src/dense/hnswIndex.js');
      load = async () => {
        const index = await HnswIndex.load(req.path, req.dimensions, { m: req.m, efConstruction: req.efConstruction, ef: req.ef }, req.liveCount);
        loaded = index;
        return index.size;
      };
      break;
    }
    case 'ours-lexical': {
      const { Bm25Index } = await import('../../src/lexical/bm25Index.js');
      const { readFile } = await import('node:fs/promises');
      const path = await import('node:path');
      load = async () => {
        const index = Bm25Index.deserialize(await readFile(path.join(req.path, 'lexical.json'), 'utf8'), await readFile(path.join(req.path, 'lexical.bin')));
        loaded = index;
        return index.size;
      };
      break;
    }
    case 'raw-hnsw': {
      const { default: hnswlib } = await import('hnswlib-node');
      load = async () => {
        const index = new hnswlib.HierarchicalNSW('ip', req.dimensions);
        await index.readIndex(req.path, true);
        index.setEf(req.ef);
        loaded = index;
        return index.getCurrentCount();
      };
      break;
    }
    case 'langchain-hnswlib': {
      const { loadLangchainHnswlib } = await loadPeerProbe();
      load = async () => {
        const { store, elements } = await loadLangchainHnswlib(req.path);
        loaded = store;
        return elements;
      };
      break;
    }
  }
  gc();
  const baselineRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const elements = await load();
  const loadMs = performance.now() - t0;
  gc();
  const mem = process.memoryUsage();
  if (loaded === null) throw new Error('nothing was loaded');
  return {
    kind: req.kind,
    baselineRss,
    rss: mem.rss,
    deltaRss: mem.rss - baselineRss,
    heapUsed: mem.heapUsed,
    external: mem.external,
    loadMs,
    elements,
    ...(check ? { check: check() } : {}),
  };
}

/** Runs the probe in a child process. `heapMb` raises V8's heap limit (the 1M check). */
export function probeRss(req: ProbeRequest, timeoutMs = 180_000, heapMb?: number): Promise<ProbeResult> {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const args = ['--expose-gc', ...(heapMb ? [`--max-old-space-size=${heapMb}`] : []), '--import', tsx, THIS_FILE, JSON.stringify(req)];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ProbeResult);
      else reject(new Error(`RSS probe ${req.kind} failed (${signal ?? `exit ${code}`}): ${stderr.trim().slice(-500)}`));
    });
  });
}

if (process.argv[1] && fileURLToPath(pathToFileURL(process.argv[1])) === THIS_FILE && process.argv[2]) {
  probe(JSON.parse(process.argv[2]) as ProbeRequest).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
