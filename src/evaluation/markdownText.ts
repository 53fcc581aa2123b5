/**
 * Text from students and from the LLM, made safe to place in the Markdown report: it must read
 * as written, but must not become markup the report did not write. Whatever renders the report
 * (GitHub, VS Code's preview, a static-site tool that allows HTML) should show:
 * - no HTML: `<` that could open a tag and `&` that could open a character reference are
 *   escaped (`<img onerror=…>`, `&#x202E;`), so nothing runs and nothing is loaded;
 * - no remote image: `![…](https://…)` shows as text, so opening the report fetches nothing;
 * - no bidi override or isolate (U+202A–202E, U+2066–2069, marks): each shows as `[U+202E]`,
 *   so text cannot be reordered on screen;
 * - no forged report structure in a multi-line answer: a line that would be a `---` separator,
 *   a heading (ATX or setext), a link reference definition (`[1]: https://…`, which would turn
 *   every `[1]` citation of the report into a link) or a report label such as
 *   `**Pergunta 99**:` is escaped with a backslash, and a code fence the text leaves open is
 *   closed at its end (it would otherwise swallow the rest of the report).
 * Code spans and fenced code keep their text: Markdown shows them literally anyway (except that
 * a `---` line of code gets a leading space, so the raw report splits on its separators only).
 */

const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

function showBidi(text: string): string {
  return text.replace(BIDI, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** `<` that could open a tag, comment or declaration, and `&` that could open a character reference. */
export function escapeHtml(text: string): string {
  return showBidi(text)
    .replace(/&(?=#[0-9]{1,7};|#x[0-9a-f]{1,6};|[a-z][a-z0-9]{1,31};)/gi, '&amp;')
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;');
}

/** A code span: a run of n backticks, its text, and the next run of exactly n backticks. */
const CODE_SPAN = /(?<!`)(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g;

/** One line (or a paragraph) of inline text: HTML and images escaped outside code spans. */
export function escapeInline(text: string): string {
  let out = '';
  let last = 0;
  const prose = (s: string) => escapeHtml(s).replace(/!\[/g, '!\\[');
  for (const m of text.matchAll(CODE_SPAN)) {
    out += prose(text.slice(last, m.index)) + showBidi(m[0]);
    last = m.index + m[0].length;
  }
  return out + prose(text.slice(last));
}

/** Labels of the report's own lines: an answer must not start a line with one in bold. */
const REPORT_LABELS =
  'Pergunta|Segmentos recuperados|Resposta|Referências|Anotação|Answer Relevance|Raciocínio|Votos|Relevância do contexto|Fundamentação|Modelo|Pedido de ajuda';

const BLOCK_STARTS: ReadonlyArray<[RegExp, string]> = [
  // A thematic break (`---`, `* * *`, `___`): the report's separator.
  [/^( {0,3})([-*_])(?=(?:[ \t]*\2){2,}[ \t]*$)/, '$1\\$2'],
  // A setext underline (`===`, `---`, even one `-`) would make the line above a heading.
  [/^( {0,3})([=-])(?=[=-]*[ \t]*$)/, '$1\\$2'],
  // An ATX heading.
  [/^( {0,3})(#{1,6})(?=[ \t]|$)/, '$1\\$2'],
  // A link reference definition `[label]: url`, which applies to the whole report.
  [/^( {0,3})\[(?=[^\]]*\]:)/, '$1\\['],
  // A line opening like the report's own labels (`**Pergunta 99**:`).
  [new RegExp(`^( {0,3})\\*\\*(?=(?:${REPORT_LABELS})\\b)`, 'u'), '$1\\*\\*'],
];

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** Whether `line` opens a fenced code block (a backtick fence's info string has no backtick). */
export function opensFence(line: string): boolean {
  const m = FENCE.exec(line);
  return m !== null && !(m[1]!.startsWith('`') && m[2]!.includes('`'));
}

/**
 * A multi-line text (an answer): lines escaped as above (the first one only as inline text when
 * it sits after a label on the report's own line), fenced code kept, and a fence left open
 * closed at the end.
 */
export function escapeBlock(text: string, options: { firstLineInline?: boolean } = {}): string {
  const out: string[] = [];
  let fence: { char: string; length: number } | null = null;
  for (const [i, line] of text.split('\n').entries()) {
    if (fence) {
      const close = FENCE.exec(line);
      if (close && close[1]!.startsWith(fence.char) && close[1]!.length >= fence.length && close[2]!.trim() === '') fence = null;
      // Code shows `---` as text, but a program splitting the report on its separator line would not.
      out.push(/^---[ \t]*$/.test(line) ? ` ${line}` : showBidi(line));
    } else if (i === 0 && options.firstLineInline) {
      out.push(escapeInline(line));
    } else if (opensFence(line)) {
      const marker = FENCE.exec(line)![1]!;
      fence = { char: marker[0]!, length: marker.length };
      out.push(showBidi(line));
    } else {
      out.push(BLOCK_STARTS.reduce((l, [pattern, replacement]) => l.replace(pattern, replacement), escapeInline(line)));
    }
  }
  if (fence) out.push(fence.char.repeat(fence.length));
  return out.join('\n');
}
