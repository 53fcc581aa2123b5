/** The result document as Markdown tables (ready to paste into the README). */
import type { LatencyStats } from './stats.js';
import type { ProbeResult } from './rssProbe.js';
import { isSkipped, type BenchResult, type HybridRound, type Maybe, type SizeResult } from './types.js';
import { renderUserFacing } from './userFacing.js';

const MiB = 2 ** 20;

function n(size: number): string {
  return size >= 1_000_000 && size % 1_000_000 === 0 ? `${size / 1_000_000}M` : size >= 1000 && size % 1000 === 0 ? `${size / 1000}k` : String(size);
}
function sec(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
}
function lat(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(3);
}
function trio(s: LatencyStats): string {
  return `${lat(s.p50)} / ${lat(s.p95)} / ${lat(s.p99)}`;
}
function cpuTrio(s: LatencyStats): string {
  return s.cpu ? `${lat(s.cpu.p50)} / ${lat(s.cpu.p95)} / ${lat(s.cpu.p99)}` : '–';
}
function trioN(s: Maybe<LatencyStats & { cappedAt?: number }>): string {
  if (isSkipped(s)) return `skipped (${s.skipped})`;
  return `${trio(s)} (n=${s.n}${s.cappedAt !== undefined ? `, capped at ${s.cappedAt}` : ''})`;
}
function mib(bytes: number): string {
  return bytes >= 10 * MiB ? `${(bytes / MiB).toFixed(0)} MiB` : `${(bytes / MiB).toFixed(1)} MiB`;
}
function rssCell(p: ProbeResult | undefined): string {
  return p ? `${mib(p.rss)} (+${mib(p.deltaRss)})` : '–';
}
function x(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return v >= 0.1 ? `${v.toFixed(2)}×` : `${v.toPrecision(2)}× (1/${Math.round(1 / v)})`;
}
/** Each round's hybrid p95, with the CPU steal during it: `0.881 / 0.909 / 1.210 ms (steal 0.1 / 0.0 / 2.3%)`. */
export function roundsText(rounds: readonly HybridRound[]): string {
  const steal = rounds.every((r) => r.stealPercent !== null) ? ` (CPU steal ${rounds.map((r) => r.stealPercent!.toFixed(1)).join(' / ')}%)` : '';
  return `${rounds.map((r) => lat(r.hybridP95)).join(' / ')} ms${steal}`;
}
function rate(windowsPerSec: number): string {
  return windowsPerSec >= 10_000 ? `${(windowsPerSec / 1000).toFixed(0)}k/s` : `${windowsPerSec.toFixed(0)}/s`;
}

function peerOf(s: SizeResult) {
  return isSkipped(s.peer) ? null : s.peer;
}

export function renderReport(r: BenchResult): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(`## Benchmark — ${r.date.slice(0, 10)}`);
  out.push('');
  out.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB RAM, ${m.platform}, Node ${m.node}, hnswlib-node ${m.hnswlibNode}` +
      `${m.langchainCommunity ? `, @langchain/community ${m.langchainCommunity}` : ''}. ` +
      `Shared machine: 1-minute load average ${m.loadAverage.start.toFixed(1)} at the start, ${m.loadAverage.end.toFixed(1)} at the end ` +
      `(above ~1 other processes compete for the ${m.cpus} cores and tail latencies grow).`,
  );
  out.push(
    `Corpus: ${r.settings.dimensions}-dim unit vectors from ${r.settings.clusters} Gaussian clusters (seed ${r.settings.seed}), ` +
      `~${r.settings.wordsPerWindow}-word texts drawn from the sample course's vocabulary, ${r.settings.windowsPerVideo} windows per video. ` +
      `HNSW M=${r.settings.hnsw.m}, efConstruction=${r.settings.hnsw.efConstruction}, ef=${r.settings.hnsw.ef}; k=${r.settings.k}, ` +
      `${r.settings.candidates} candidates per retriever before fusion. Latencies exclude the query embedding (precomputed vectors).`,
  );
  out.push(`Command: \`${r.command}\` (${Math.round(r.durationMs / 1000)} s).`);
  out.push('');

  if (r.userFacing) out.push(...renderUserFacing(r.userFacing));
  if (r.sizes.length > 0) renderSizes(r, out);
  renderTail(r, out);
  return out.join('\n');
}

function renderSizes(r: BenchResult, out: string[]): void {
  out.push('### Build, save, load');
  out.push('');
  out.push('| windows | dense build (HnswIndex) | lexical build (BM25) | total, windows/s | raw hnswlib-node build | LangChain HNSWLib build | save (index folder) | load (loadCourseIndex) |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    const p = peerOf(s);
    out.push(
      `| ${n(s.size)} | ${sec(s.build.dense.ms)} | ${sec(s.build.lexical.ms)} | ${sec(s.build.total.ms)}, ${rate(s.build.total.windowsPerSec)} | ` +
        `${isSkipped(s.build.raw) ? '–' : sec(s.build.raw.ms)} | ${p ? sec(p.build.ms) : '–'} | ${sec(s.build.saveMs)} | ${sec(s.build.loadMs)} |`,
    );
  }
  out.push('');

  out.push('### Retrieval latency, ms p50 / p95 / p99');
  out.push('');
  out.push('| windows | dense (HnswIndex) | raw hnswlib-node | dense ours/raw (p50) | lexical (BM25) | hybrid (dense+BM25+RRF) | answer(), in-process fake LLM | answer(), fake OpenAI server (HTTP, streamed) |');
  out.push('|---|---|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    out.push(
      `| ${n(s.size)} | ${trio(s.latency.dense)} | ${trio(s.latency.raw)} | ${x(s.ratios['dense p50 ours/raw'])} | ${trio(s.latency.lexical)} | ` +
        `${trio(s.latency.hybrid)} | ${trio(s.latency.answerInProcess)} | ${isSkipped(s.latency.answerHttp) ? '–' : trio(s.latency.answerHttp)} |`,
    );
  }
  out.push('');

  const rounded = r.sizes.filter((s) => s.latency.hybridRounds && s.latency.hybridRounds.length > 1);
  if (rounded.length > 0) {
    out.push(
      `The hybrid loops ran in rounds; the round with the median p95 is the one reported. Hybrid p95 per round: ${rounded
        .map((s) => `${n(s.size)} ${roundsText(s.latency.hybridRounds!)}`)
        .join('; ')}.`,
    );
    out.push('');
  }

  out.push('CPU time of the same calls (user + system, ms p50 / p95 / p99): what each costs when the process has a core, without the waits for one that a busy shared machine adds to the wall-clock tail.');
  out.push('');
  out.push('| windows | dense (HnswIndex) | raw hnswlib-node | lexical (BM25) | hybrid | answer(), in-process fake LLM |');
  out.push('|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    out.push(
      `| ${n(s.size)} | ${cpuTrio(s.latency.dense)} | ${cpuTrio(s.latency.raw)} | ${cpuTrio(s.latency.lexical)} | ${cpuTrio(s.latency.hybrid)} | ${cpuTrio(s.latency.answerInProcess)} |`,
    );
  }
  out.push('');

  const topical = r.sizes.filter((s) => s.topicVocabulary);
  if (topical.length > 0) {
    out.push('### Topic-vocabulary corpus: the same windows and vectors, each topic with its own terminology (ms p50 / p95 / p99)');
    out.push('');
    out.push('| windows | distinct stems | BM25 build | lexical (BM25) | hybrid |');
    out.push('|---|---|---|---|---|');
    for (const s of topical) {
      const t = s.topicVocabulary!;
      out.push(
        `| ${n(s.size)} | ${n(t.vocabulary)} | ${sec(t.buildMs)} | ${trio(t.lexical)} | ${trio(t.hybrid)} |`,
      );
    }
    out.push('');
    const rounds = topical.filter((s) => s.topicVocabulary!.hybridRounds.length > 1);
    if (rounds.length > 0) {
      out.push(`Hybrid p95 per round (median round reported): ${rounds.map((s) => `${n(s.size)} ${roundsText(s.topicVocabulary!.hybridRounds)}`).join('; ')}.`);
      out.push('');
    }
  }

  out.push(`### HNSW recall@${r.settings.k} against exact search`);
  out.push('');
  out.push(`| windows | queries | at ef=${r.settings.hnsw.ef} (default) | smallest ef with ≥ 0.99 | ef=10 (hnswlib's default, LangChain's) | ef=64 | LangChain HNSWLib as shipped |`);
  out.push('|---|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    const at = (ef: number) => s.recall.byEf.find((e) => e.ef === ef)?.recall;
    const p = peerOf(s);
    out.push(
      `| ${n(s.size)} | ${s.recall.queries} | ${s.recall.atConfiguredEf.toFixed(4)} | ${s.recall.efFor099 ?? '> 512'} | ${at(10)?.toFixed(4) ?? '–'} | ` +
        `${at(64)?.toFixed(4) ?? '–'} | ${p ? p.recallDefault.toFixed(4) : '–'} |`,
    );
  }
  out.push('');

  out.push('### Memory (RSS after loading, fresh process; +increase over the process before loading) and disk');
  out.push('');
  out.push('| windows | whole index (loadCourseIndex) | dense only (HnswIndex) | lexical only (Bm25Index) | raw hnswlib-node | LangChain HNSWLib.load | disk: ours (all files) | of which dense.hnsw | disk: LangChain |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const s of r.sizes) {
    const rss = isSkipped(s.rss) ? {} : s.rss;
    const p = peerOf(s);
    out.push(
      `| ${n(s.size)} | ${rssCell(rss.oursIndex)} | ${rssCell(rss.oursDense)} | ${rssCell(rss.oursLexical)} | ${rssCell(rss.raw)} | ` +
        `${p && !isSkipped(p.rss) ? rssCell(p.rss) : '–'} | ${mib(s.disk.total)} | ${mib(s.disk.files['dense.hnsw'] ?? 0)} | ` +
        `${p && !isSkipped(p.save) ? mib(p.save.bytes) : p && isSkipped(p.save) ? p.save.skipped : '–'} |`,
    );
  }
  out.push('');

  out.push('### Incremental add of one video (15 windows)');
  out.push('');
  out.push('| windows | HnswIndex.add ×15, first after load (graph resize) | next ×15 | BM25 (rebuilt whole) | ingestCourse, one new video (load, embed, add, rebuild BM25, write) |');
  out.push('|---|---|---|---|---|');
  for (const s of r.sizes) {
    const inc = s.incremental;
    out.push(
      `| ${n(s.size)} | ${sec(inc.hnswFirstAddMs)} | ${sec(inc.hnswNextAddMs)} | ${sec(inc.lexicalRebuildMs)} | ` +
        `${isSkipped(inc.ingest) ? inc.ingest.skipped : `${sec(inc.ingest.ms)} (${inc.ingest.windowsEmbedded} windows embedded, ${inc.ingest.reusedVideos} videos reused)`} |`,
    );
  }
  out.push('');

  const peers = r.sizes.filter((s) => peerOf(s));
  if (peers.length > 0) {
    out.push('### Same workload through LangChain.js (measured in the same run), ms p50 / p95 / p99');
    out.push('');
    out.push(`| windows | HNSWLib similaritySearch (ef=10 as shipped) | HNSWLib with ef set to ${r.settings.hnsw.ef} by hand | BM25Retriever | EnsembleRetriever (BM25 + HNSWLib) |`);
    out.push('|---|---|---|---|---|');
    for (const s of peers) {
      const p = peerOf(s)!;
      out.push(`| ${n(s.size)} | ${trio(p.denseDefault)} | ${trio(p.denseAtOurEf)} | ${trioN(p.bm25)} | ${trioN(p.ensemble)} |`);
    }
    out.push('');
    out.push('Ratios (ours / LangChain; below 1 means ours is faster or smaller):');
    out.push('');
    const keys = [...new Set(peers.flatMap((s) => Object.keys(s.ratios).filter((k) => k.includes('peer'))))];
    out.push(`| ratio | ${peers.map((s) => n(s.size)).join(' | ')} |`);
    out.push(`|---|${peers.map(() => '---').join('|')}|`);
    for (const key of keys) out.push(`| ${key} | ${peers.map((s) => x(s.ratios[key])).join(' | ')} |`);
    out.push('');
  }

}

function renderTail(r: BenchResult, out: string[]): void {
  if (!isSkipped(r.realCourse)) {
    const c = r.realCourse;
    out.push(`### Real lexical corpus: the sample course (${c.windows} windows, ${c.videos} videos, ${c.questions} labelled questions)`);
    out.push('');
    out.push('| | ingest (lexical-only) | query ms p50 / p95 / p99 | hit@5 | MRR@10 |');
    out.push('|---|---|---|---|---|');
    out.push(`| ours: Bm25Index (Portuguese analyzer) | ${sec(c.ingest.ms)} | ${trio(c.lexical)} | ${c.quality.ours.hit5.toFixed(3)} | ${c.quality.ours.mrr10.toFixed(3)} |`);
    out.push(`| ours: HybridRetriever, lexical-only | | ${trio(c.hybridLexicalOnly)} | | |`);
    if (!isSkipped(c.peerBm25) && !isSkipped(c.quality.peer)) {
      out.push(`| LangChain BM25Retriever | | ${trio(c.peerBm25)} | ${c.quality.peer.hit5.toFixed(3)} | ${c.quality.peer.mrr10.toFixed(3)} |`);
    }
    out.push('');
  }

  if (!(isSkipped(r.e5) && r.e5.skipped === 'disabled')) {
    out.push(`E5 query embedding: ${isSkipped(r.e5) ? `skipped — ${r.e5.skipped}` : `${r.e5.model}, load ${sec(r.e5.loadMs)}, per query ${trio(r.e5.query)} ms`}`);
    out.push('');
  }

  if (r.million) {
    out.push(`### ${isSkipped(r.million) ? '1M' : n(r.million.size)} windows: save and load`);
    out.push('');
    if (isSkipped(r.million)) out.push(`skipped: ${r.million.skipped}`);
    else {
      const mm = r.million;
      out.push(`| windows | dense build | lexical build | save | disk | load (fresh process) | RSS after load | check |`);
      out.push('|---|---|---|---|---|---|---|---|');
      const loadCell = (l: MillionLoad) => (isSkipped(l) ? l.skipped : `${sec(l.loadMs)}`);
      const rssOf = (l: MillionLoad) => (isSkipped(l) ? '–' : mib(l.rss));
      const chk = (l: MillionLoad) => (isSkipped(l) ? '–' : (l.check ?? '–'));
      out.push(`| ${n(mm.size)} | ${sec(mm.buildDenseMs)} | ${sec(mm.buildLexicalMs)} | ${sec(mm.saveMs)} | ${mib(mm.disk.total)} | ${loadCell(mm.load)} | ${rssOf(mm.load)} | ${chk(mm.load)} |`);
      if (mm.loadRaisedHeap) out.push(`| (heap 16 GiB) | | | | | ${loadCell(mm.loadRaisedHeap)} | ${rssOf(mm.loadRaisedHeap)} | ${chk(mm.loadRaisedHeap)} |`);
      for (const note of mm.notes) out.push(`\n- ${note}`);
    }
    out.push('');
  }

  out.push('### Targets');
  out.push('');
  out.push('| target | goal | measured | met |');
  out.push('|---|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met === null ? 'not measured' : t.met ? 'yes' : 'NO'} |`);
  const notes = [...r.notes, ...r.sizes.flatMap((s) => s.notes.map((note) => `${n(s.size)}: ${note}`))];
  if (notes.length > 0) {
    out.push('');
    for (const note of notes) out.push(`- ${note}`);
  }
  out.push('');
}

type MillionLoad = Maybe<ProbeResult & { check?: string }>;
