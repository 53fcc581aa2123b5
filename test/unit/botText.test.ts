/**
 * The core's text helpers for platform limits (src/bot/text.ts): splitting long answers without
 * breaking their code blocks, which both chat adapters rely on.
 */
import { describe, expect, it } from 'vitest';
import { splitText, truncate } from '../../src/bot/text.js';

/** Lines that open or close a fenced code block (``` or ~~~, after any indentation or `>`). */
function fenceLines(chunk: string): string[] {
  return chunk.split('\n').filter((line) => /^[ \t>]*(`{3,}|~{3,})/.test(line));
}

const CODE = [
  '```python',
  'class Modelo:',
  '    # inicializa os pesos',
  '    def __init__(self, *args):',
  ...Array.from({ length: 60 }, (_, i) => `        self.peso_${i} = args[${i}] * 0.5  # peso da camada ${i}`),
  '```',
].join('\n');

const ANSWER = [
  'O construtor recebe os pesos da rede [1]. Veja o exemplo completo abaixo, com um peso por camada:',
  CODE,
  'Depois disso, o treino ajusta cada peso com o gradiente descendente [2].',
].join('\n\n');

describe('splitText', () => {
  it('closes a code block it must split and reopens it, with its language, in the next part', () => {
    expect(ANSWER.length).toBeGreaterThan(3000);
    const parts = splitText(ANSWER, 1500);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(1500);
      expect(fenceLines(part).length % 2, `unbalanced fences in:\n${part}`).toBe(0);
    }
    // Every part after the first that continues the block starts by reopening it as `python`.
    const continued = parts.slice(1).filter((p) => p.includes('self.peso_'));
    expect(continued.length).toBeGreaterThan(0);
    for (const part of continued) expect(part.split('\n')[0]).toBe('```python');
    // No code line is lost or cut: removing the added fences gives back the original lines.
    const codeLines = parts
      .join('\n')
      .split('\n')
      .filter((line) => line.startsWith('        self.peso_'));
    expect(codeLines).toEqual(CODE.split('\n').filter((line) => line.startsWith('        self.peso_')));
  });

  it('cuts before a code block that fits in the next part instead of inside it', () => {
    const intro = 'Introdução longa sobre o assunto. '.repeat(20).trim();
    const code = '```js\n' + Array.from({ length: 20 }, (_, i) => `let x${i} = ${i};`).join('\n') + '\n```';
    const text = `${intro}\n\n${code}\n\nFim.`;
    const parts = splitText(text, intro.length + 40);
    expect(parts[0]).toBe(intro);
    expect(parts[1]).toBe(`${code}\n\nFim.`);
  });

  it('handles ~~~ fences and fences inside a block quote', () => {
    const quoted = ['> Citação da aula:', '> ~~~sql', ...Array.from({ length: 30 }, (_, i) => `> SELECT coluna_${i} FROM tabela;`), '> ~~~'].join('\n');
    const parts = splitText(quoted, 400);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(400);
      expect(fenceLines(part).length % 2, part).toBe(0);
    }
    expect(parts[1]!.split('\n')[0]).toBe('> ~~~sql');
  });

  it('gives the first part its own limit', () => {
    const parts = splitText(ANSWER, 1500, 700);
    expect(parts[0]!.length).toBeLessThanOrEqual(700);
    expect(parts.slice(1).every((p) => p.length <= 1500)).toBe(true);
    for (const part of parts) expect(fenceLines(part).length % 2).toBe(0);
  });

  it('splits text without code as before: paragraph, line, sentence, then word boundaries', () => {
    const text = `${'Primeira frase. '.repeat(10).trim()}\n\n${'Segunda parte com palavras. '.repeat(10).trim()}`;
    expect(splitText(text, 200)).toEqual(['Primeira frase. '.repeat(10).trim(), 'Segunda parte com palavras. '.repeat(7).trim(), 'Segunda parte com palavras. '.repeat(3).trim()]);
    expect(splitText('😀'.repeat(10), 5).every((p) => !/[\ud800-\udbff]$/.test(p))).toBe(true);
  });

  it('leaves an unclosed block of a cut-off answer as it was written, closing only where it splits', () => {
    const text = 'Exemplo:\n\n```python\n' + Array.from({ length: 40 }, (_, i) => `print(${i})`).join('\n');
    const parts = splitText(text, 200);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts.slice(0, -1)) expect(fenceLines(part).length % 2).toBe(0);
    expect(parts.at(-1)!.startsWith('```python\n')).toBe(true);
    expect(parts.at(-1)!.endsWith('print(39)')).toBe(true);
  });
});

describe('truncate', () => {
  it('ends with "…" when cut', () => {
    expect(truncate('uma frase longa demais', 10)).toBe('uma frase…');
    expect(truncate('curta', 10)).toBe('curta');
  });
});
