/**
 * The answer as both chat platforms show it (src/bot/answerDisplay.ts): what they cannot render
 * is rewritten once, in the core; everything else is left exactly as the LLM wrote it.
 */
import { describe, expect, it } from 'vitest';
import { answerForDisplay } from '../../src/bot/answerDisplay.js';

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
    expect(answerForDisplay(answer)).toBe(answer);
  });
});
