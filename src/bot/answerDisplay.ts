/**
 * The answer as the chat platforms show it. The LLM writes Markdown; the stored answer keeps
 * it as written, and what is shown is rewritten here, once for both platforms, where the
 * platforms would show it wrong:
 * - tables (neither Discord nor Slack renders them) become monospaced code blocks.
 * Everything else is left byte for byte as written.
 */
import type { Table } from 'mdast';
import { containerPrefix, parseMarkdown, span, tableAsText, walk } from './markdown.js';

interface Edit {
  from: number;
  to: number;
  text: string;
}

/** `markdown` rewritten for display on Discord and Slack (see the module comment). */
export function answerForDisplay(markdown: string): string {
  const tree = parseMarkdown(markdown);
  const edits: Edit[] = [];
  walk(tree, (node) => {
    if (node.type === 'code' || node.type === 'inlineCode') return false;
    if (node.type === 'table') {
      const at = span(node);
      if (at) edits.push({ from: at[0], to: at[1], text: tableBlock(node, containerPrefix(markdown, at[0])) });
      return false;
    }
    return true;
  });
  return applyEdits(markdown, edits);
}

/** A table as a fenced code block, each line kept inside the table's containers. */
function tableBlock(table: Table, prefix: string): string {
  const text = tableAsText(table);
  const longestTicks = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longestTicks + 1));
  return [fence, ...text.split('\n'), fence].join(`\n${prefix}`);
}

function applyEdits(source: string, edits: Edit[]): string {
  let out = source;
  for (const edit of [...edits].sort((a, b) => b.from - a.from)) out = out.slice(0, edit.from) + edit.text + out.slice(edit.to);
  return out;
}
