import { describe, expect, it } from 'vitest';
import { videoLinkAt } from '../../src/course/links.js';

describe('videoLinkAt: YouTube', () => {
  it('adds t to a watch URL', () => {
    expect(videoLinkAt('https://www.youtube.com/watch?v=abc123', 988)).toBe('https://www.youtube.com/watch?v=abc123&t=988');
  });

  it('keeps other params such as list and replaces an existing t', () => {
    const out = new URL(videoLinkAt('https://www.youtube.com/watch?v=abc&list=PL1&t=30s&index=2', 61.9));
    expect(out.searchParams.get('v')).toBe('abc');
    expect(out.searchParams.get('list')).toBe('PL1');
    expect(out.searchParams.get('index')).toBe('2');
    expect(out.searchParams.getAll('t')).toEqual(['61']);
  });

  it('handles m.youtube.com and youtube.com without www', () => {
    expect(videoLinkAt('https://m.youtube.com/watch?v=abc', 5)).toBe('https://m.youtube.com/watch?v=abc&t=5');
    expect(videoLinkAt('https://youtube.com/watch?v=abc', 5)).toBe('https://youtube.com/watch?v=abc&t=5');
  });

  it('handles youtu.be short links, keeping si', () => {
    expect(videoLinkAt('https://youtu.be/abc123', 125)).toBe('https://youtu.be/abc123?t=125');
    expect(videoLinkAt('https://youtu.be/abc123?si=XyZ&t=3', 125)).toBe('https://youtu.be/abc123?si=XyZ&t=125');
  });

  it('drops a legacy #t fragment on YouTube', () => {
    expect(videoLinkAt('https://www.youtube.com/watch?v=abc#t=10', 20)).toBe('https://www.youtube.com/watch?v=abc&t=20');
  });

  it('uses start= for embed URLs', () => {
    expect(videoLinkAt('https://www.youtube.com/embed/abc', 42)).toBe('https://www.youtube.com/embed/abc?start=42');
  });

  it('floors seconds and never goes negative', () => {
    expect(videoLinkAt('https://youtu.be/x', 12.99)).toBe('https://youtu.be/x?t=12');
    expect(videoLinkAt('https://youtu.be/x', -4)).toBe('https://youtu.be/x?t=0');
    expect(videoLinkAt('https://youtu.be/x', Number.NaN)).toBe('https://youtu.be/x?t=0');
  });
});

describe('videoLinkAt: Vimeo', () => {
  it('uses #t=<m>m<s>s', () => {
    expect(videoLinkAt('https://vimeo.com/123456', 125)).toBe('https://vimeo.com/123456#t=2m5s');
    expect(videoLinkAt('https://vimeo.com/123456', 59.7)).toBe('https://vimeo.com/123456#t=0m59s');
  });

  it('replaces an existing fragment and keeps the query (private hash links)', () => {
    expect(videoLinkAt('https://vimeo.com/123456/abcdef?share=copy#t=10s', 3725)).toBe(
      'https://vimeo.com/123456/abcdef?share=copy#t=62m5s',
    );
  });

  it('handles player.vimeo.com', () => {
    expect(videoLinkAt('https://player.vimeo.com/video/1', 60)).toBe('https://player.vimeo.com/video/1#t=1m0s');
  });
});

describe('videoLinkAt: other hosts', () => {
  it('uses a #t=<seconds> media fragment', () => {
    expect(videoLinkAt('https://videos.univ.br/aula3.mp4', 988.4)).toBe('https://videos.univ.br/aula3.mp4#t=988');
  });

  it('replaces an existing fragment and keeps the query string', () => {
    expect(videoLinkAt('https://media.univ.br/play?id=7&lang=pt#chapter-2', 30)).toBe(
      'https://media.univ.br/play?id=7&lang=pt#t=30',
    );
  });

  it('does not treat look-alike hosts as YouTube or Vimeo', () => {
    expect(videoLinkAt('https://notyoutube.com/watch?v=a', 3)).toBe('https://notyoutube.com/watch?v=a#t=3');
    expect(videoLinkAt('https://fakevimeo.com/1', 3)).toBe('https://fakevimeo.com/1#t=3');
  });

  it('returns invalid URLs unchanged', () => {
    expect(videoLinkAt('not a url', 10)).toBe('not a url');
    expect(videoLinkAt('videos/aula1.mp4', 10)).toBe('videos/aula1.mp4');
    expect(videoLinkAt('', 10)).toBe('');
  });
});
