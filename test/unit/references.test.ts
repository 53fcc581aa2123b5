import { describe, expect, it } from 'vitest';
import { buildReferences, citedNumbers, citedReferences } from '../../src/answer/references.js';
import type { RetrievedSegment } from '../../src/types.js';

const videos = new Map([
  ['v1', { title: 'Aula 1: Limites', url: 'https://www.youtube.com/watch?v=AAA&list=PL' }],
  ['v2', { title: 'Aula 2: Derivadas', url: 'https://vimeo.com/222' }],
]);

let nextId = 0;
function seg(videoId: string, start: number, end: number, extra: Partial<RetrievedSegment> = {}): RetrievedSegment {
  return {
    corpusId: nextId++,
    videoId,
    start,
    end,
    text: `texto ${videoId} ${start}`,
    score: 0,
    foundBy: {},
    title: `título de ${videoId}`,
    url: `https://example.org/${videoId}`,
    ...extra,
  };
}

describe('buildReferences', () => {
  it('keeps separate windows separate, with links at their start', () => {
    const refs = buildReferences([seg('v1', 100, 130), seg('v1', 300, 330)], videos);
    expect(refs).toEqual([
      { videoId: 'v1', title: 'Aula 1: Limites', start: 100, end: 130, url: 'https://www.youtube.com/watch?v=AAA&list=PL&t=100', excerpts: [1] },
      { videoId: 'v1', title: 'Aula 1: Limites', start: 300, end: 330, url: 'https://www.youtube.com/watch?v=AAA&list=PL&t=300', excerpts: [2] },
    ]);
  });

  it('merges overlapping windows of the same video', () => {
    const refs = buildReferences([seg('v1', 120, 150), seg('v1', 100, 130)], videos);
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({ start: 100, end: 150, excerpts: [1, 2] });
    expect(refs[0]?.url).toContain('t=100');
  });

  it('merges touching windows', () => {
    const refs = buildReferences([seg('v1', 130, 160), seg('v1', 100, 130)], videos);
    expect(refs.map((r) => [r.start, r.end])).toEqual([[100, 160]]);
  });

  it('merges chains into one range, whatever the input order', () => {
    // A overlaps B, B touches C, C overlaps D; A and D are far apart.
    const refs = buildReferences(
      [seg('v1', 190, 220), seg('v1', 100, 130), seg('v1', 160, 200), seg('v1', 120, 160)],
      videos,
    );
    expect(refs.map((r) => [r.start, r.end])).toEqual([[100, 220]]);
  });

  it('merges a window contained in another', () => {
    const refs = buildReferences([seg('v1', 110, 120), seg('v1', 100, 200)], videos);
    expect(refs.map((r) => [r.start, r.end])).toEqual([[100, 200]]);
  });

  it('never merges windows of different videos', () => {
    const refs = buildReferences([seg('v1', 100, 130), seg('v2', 100, 130)], videos);
    expect(refs.map((r) => r.videoId)).toEqual(['v1', 'v2']);
    expect(refs[1]?.url).toBe('https://vimeo.com/222#t=1m40s');
  });

  it('orders by the best rank of any segment inside a reference', () => {
    const refs = buildReferences(
      [
        seg('v2', 500, 530), // rank 0
        seg('v1', 10, 40), // rank 1
        seg('v1', 900, 930), // rank 2
        seg('v1', 35, 70), // rank 3, merges with rank 1
      ],
      videos,
    );
    expect(refs.map((r) => [r.videoId, r.start, r.end])).toEqual([
      ['v2', 500, 530],
      ['v1', 10, 70],
      ['v1', 900, 930],
    ]);
  });

  it('a merged range takes the best rank of its members', () => {
    const refs = buildReferences([seg('v2', 0, 30), seg('v1', 50, 80), seg('v1', 10, 60)], videos);
    // v1 [10,80] contains rank 1 and 2 → after v2 (rank 0).
    expect(refs.map((r) => r.videoId)).toEqual(['v2', 'v1']);
    const refs2 = buildReferences([seg('v1', 50, 80), seg('v2', 0, 30), seg('v1', 10, 60)], videos);
    expect(refs2.map((r) => r.videoId)).toEqual(['v1', 'v2']);
  });

  it('falls back to the segment title and URL for unknown videos', () => {
    const refs = buildReferences([seg('v9', 61, 90)], videos);
    expect(refs[0]).toMatchObject({ title: 'título de v9', url: 'https://example.org/v9#t=61' });
  });

  it('returns [] for no segments', () => {
    expect(buildReferences([], videos)).toEqual([]);
  });
});

describe('citedNumbers / citedReferences', () => {
  it('parses [n], lists and ranges, bounded by the excerpt count', () => {
    expect(citedNumbers('Veja [2] e [1, 3]; também [4-5] e [7] e [0].', 5)).toEqual([2, 1, 3, 4, 5]);
    expect(citedNumbers('sem citações', 3)).toEqual([]);
    expect(citedNumbers('[1-999999]', 3)).toEqual([1, 2, 3]);
  });

  it('keeps only cited segments when the answer cites any', () => {
    const segments = [seg('v1', 0, 30), seg('v2', 0, 30), seg('v1', 600, 630)];
    const refs = citedReferences('Conforme [3], e também [1].', segments, videos);
    expect(refs.map((r) => [r.videoId, r.start])).toEqual([
      ['v1', 0],
      ['v1', 600],
    ]);
  });

  it('falls back to all references (or none) when nothing is cited', () => {
    const segments = [seg('v1', 0, 30), seg('v2', 0, 30)];
    expect(citedReferences('Sem citação.', segments, videos)).toHaveLength(2);
    expect(citedReferences('Sem citação.', segments, videos, { fallback: 'none' })).toEqual([]);
    expect(citedReferences('Cita [9] inexistente.', segments, videos)).toHaveLength(2);
  });
});

describe('excerpt numbers on references', () => {
  it('keep the [n] numbers of the excerpts each reference contains, also after citation filtering', () => {
    const segments = [seg('v1', 100, 130), seg('v2', 0, 30), seg('v1', 120, 160)];
    const refs = citedReferences('Veja [3] e também [2].', segments, videos);
    expect(refs.map((r) => [r.videoId, r.excerpts])).toEqual([
      ['v2', [2]],
      ['v1', [3]],
    ]);
    const all = buildReferences(segments, videos);
    expect(all.find((r) => r.videoId === 'v1')?.excerpts).toEqual([1, 3]);
  });
});
