/**
 * The answer as both chat platforms show it (src/bot/answerDisplay.ts): what they cannot render
 * is rewritten once, in the core; everything else is left exactly as the LLM wrote it.
 */
import { describe, expect, it } from 'vitest';
import { answerForDisplay } from '../../src/bot/answerDisplay.js';
import { createLinkPolicy } from '../../src/bot/answerLinks.js';

describe('answerForDisplay: tables', () => {
  it('turns a Markdown table into a monospaced code block', () => {
    const answer = 'Comparando os otimizadores [1]:\n\n| método | erro | passos |\n|---|---|--:|\n| SGD | 0,12 | 100 |\n| Adam | 0,05 | 20 |\n\nO Adam converge antes [2].';
    expect(answerForDisplay(answer)).toBe(
      'Comparando os otimizadores [1]:\n\n```\nmétodo | erro | passos\n-------+------+-------\nSGD    | 0,12 |    100\nAdam   | 0,05 |     20\n```\n\nO Adam converge antes [2].',
    );
  });

  it('keeps a table inside a block quote inside the quote', () => {
    expect(answerForDisplay('> | a | b |\n> |---|---|\n> | 1 | 2 |')).toBe('> ```\n> a | b\n> --+--\n> 1 | 2\n> ```');
  });

  it('leaves everything else byte for byte, code blocks included', () => {
    const answer = '# Título\n\n**negrito** e `| a | b |`\n\n```\n| a | b |\n|---|---|\n```\n\n- item [1]\n- [link](https://www.youtube.com/watch?v=abc&t=10)';
    expect(answerForDisplay(answer, createLinkPolicy({ videoUrls: ['https://www.youtube.com/watch?v=abc'] }))).toBe(answer);
  });
});

describe('answerForDisplay: links the LLM wrote', () => {
  const policy = createLinkPolicy({
    videoUrls: ['https://www.youtube.com/watch?v=abc123', 'https://vimeo.com/76979871', 'https://cursos.exemplo.br/videos/aula-3.mp4'],
    domains: ['scikit-learn.org'],
  });
  const show = (markdown: string) => answerForDisplay(markdown, policy);

  it('shows a link to anywhere else as its label and host, not clickable', () => {
    expect(show('Veja [Aula 3 — slides oficiais](https://evil.example/login?next=/x) [1].')).toBe(
      'Veja Aula 3 — slides oficiais (`evil.example/login`) [1].',
    );
    expect(show('Acesse https://evil.example/login, <https://evil.example/a> ou www.evil.example agora.')).toBe(
      'Acesse `evil.example/login`, `evil.example/a` ou `www.evil.example` agora.',
    );
    expect(show('![diagrama](https://evil.example/i.png) e [clique](javascript:alert(1))')).toBe(
      'diagrama (`evil.example/i.png`) e clique (`javascript:alert(1)`)',
    );
    expect(show('Veja [os slides][s].\n\n[s]: https://evil.example/slides')).toBe('Veja os slides (`evil.example/slides`).\n\n');
    expect(show('<a href="https://evil.example/x">aqui</a> e vejahttps://evil.example/y')).toBe('<a href="`evil.example/x`">aqui</a> e veja`evil.example/y`');
  });

  it('keeps links to the course videos (any time variant) and to allowed domains', () => {
    const kept = [
      '[no minuto 2](https://www.youtube.com/watch?v=abc123&t=120)',
      '[trecho](https://youtu.be/abc123?t=5)',
      'https://youtube.com/watch?t=7&v=abc123',
      '[Vimeo](https://vimeo.com/76979871#t=1m5s)',
      '<https://cursos.exemplo.br/videos/aula-3.mp4#t=65>',
      '[docs](https://scikit-learn.org/stable/modules/cross_validation.html)',
      'https://docs.scikit-learn.org/x',
    ];
    for (const text of kept) expect(show(text), text).toBe(text);
    expect(show('[outro vídeo](https://www.youtube.com/watch?v=zzz999&t=3)')).toBe('outro vídeo (`www.youtube.com/watch`)');
    expect(show('https://scikit-learn.org.evil.example/x')).toBe('`scikit-learn.org.evil.example/x`');
    expect(show('[docs](http://scikit-learn.org@evil.example/)')).toBe('docs (`evil.example`)');
  });

  it('writes a kept reference-style link inline (Discord has no reference links) and leaves code alone', () => {
    expect(show('Veja [a aula][v].\n\n[v]: https://www.youtube.com/watch?v=abc123&t=60')).toBe(
      'Veja [a aula](https://www.youtube.com/watch?v=abc123&t=60).\n\n',
    );
    const code = 'Use `curl https://evil.example/x`:\n\n```sh\nwget https://evil.example/y\n```';
    expect(show(code)).toBe(code);
  });
});

describe('createLinkPolicy', () => {
  it('allows only http(s) URLs of the course videos or of allowed domains', () => {
    const policy = createLinkPolicy({ videoUrls: ['https://www.youtube.com/watch?v=abc123&list=PL1'], domains: ['docs.python.org'] });
    expect(policy.allows('https://youtube.com/watch?list=PL1&v=abc123&t=99')).toBe(true);
    expect(policy.allows('https://m.youtube.com/watch?v=abc123&list=PL1&start=3')).toBe(true);
    expect(policy.allows('https://www.youtube.com/watch?v=abc123')).toBe(false); // another list: another URL
    expect(policy.allows('https://docs.python.org/3/')).toBe(true);
    expect(policy.allows('ftp://docs.python.org/3/')).toBe(false);
    expect(policy.allows('not a url')).toBe(false);
    expect(createLinkPolicy({ videoUrls: [] }).allows('https://docs.python.org/3/')).toBe(false);
  });
});
