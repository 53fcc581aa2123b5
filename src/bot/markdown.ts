/**
 * The Markdown an LLM writes, as a syntax tree (CommonMark + GitHub's extensions: tables,
 * strikethrough, autolink literals, task lists, footnotes), so that answers are split,
 * cleaned and converted by walking what the text *is*, never by regexes over the whole text.
 * Positions (`node.position.start.offset`…) index the source string.
 */
import type { Node, Nodes, Parent, Root, Table } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';

export type { Nodes, Root } from 'mdast';

/** The syntax tree of `markdown`. */
export function parseMarkdown(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

/** Visits `node` and its descendants, depth first; `visit` returns false to skip a node's children. */
export function walk(node: Nodes, visit: (node: Nodes) => boolean | void): void {
  if (visit(node) === false) return;
  if ('children' in node) for (const child of (node as Parent).children) walk(child as Nodes, visit);
}

/** `[start, end)` of a node in the source; null for generated nodes. */
export function span(node: Node): [number, number] | null {
  const start = node.position?.start.offset;
  const end = node.position?.end.offset;
  return start === undefined || end === undefined ? null : [start, end];
}

/**
 * What a line must start with to stay inside the containers (block quotes, list items) of a
 * construct that starts at `offset`: the characters before it on its line, with list markers
 * turned into spaces (`- ` → `  `, `> ` kept).
 */
export function containerPrefix(source: string, offset: number): string {
  const lineStart = source.lastIndexOf('\n', offset - 1) + 1;
  return source.slice(lineStart, offset).replace(/[^ \t>]/g, ' ');
}

/** A fenced code block (``` or ~~~) as written in the source. */
export interface FencedBlock {
  /** Offset of the start of its opening line. */
  start: number;
  /** Offset of its first content line (after the opening line's newline). */
  contentStart: number;
  /** Offset of the start of its closing fence line, or of its end when it is never closed. */
  contentEnd: number;
  /** Offset just past its closing fence (or the end of the block when unclosed). */
  end: number;
  /** The line that opens it again in a later part: container prefix, fence, language tag. */
  open: string;
  /** The line that closes it: container prefix and fence. */
  close: string;
}

/** The fenced code blocks of `source`, in order. Indented code blocks have no fence to keep. */
export function fencedCodeBlocks(source: string, tree: Root = parseMarkdown(source)): FencedBlock[] {
  const blocks: FencedBlock[] = [];
  walk(tree, (node) => {
    if (node.type !== 'code') return;
    const at = span(node);
    if (!at) return false;
    const [from, to] = at;
    const lineEnd = lineEndAt(source, from);
    const fence = /^(`{3,}|~{3,})(.*)$/.exec(source.slice(from, lineEnd));
    if (!fence) return false; // indented code
    const prefix = containerPrefix(source, from);
    const lastLineStart = source.lastIndexOf('\n', to - 1) + 1;
    const lastLine = source.slice(lastLineStart, to).replace(/^[ \t>]*/, '');
    const marker = fence[1]!;
    const closed = lastLineStart > from && lastLine.startsWith(marker[0]!.repeat(marker.length)) && /^(`+|~+)[ \t]*$/.test(lastLine);
    blocks.push({
      start: source.lastIndexOf('\n', from - 1) + 1,
      contentStart: Math.min(lineEnd + 1, to),
      contentEnd: closed ? lastLineStart : to,
      end: to,
      open: `${prefix}${marker}${fence[2]!.trimEnd()}`,
      close: `${prefix}${marker}`,
    });
    return false;
  });
  return blocks;
}

function lineEndAt(source: string, offset: number): number {
  const end = source.indexOf('\n', offset);
  return end === -1 ? source.length : end;
}

/** The text a reader sees in `node`: text, code and the labels of links, without markup. */
export function plainText(node: Nodes): string {
  if (node.type === 'text' || node.type === 'inlineCode' || node.type === 'code' || node.type === 'html') return node.value;
  if (node.type === 'break') return ' ';
  if (node.type === 'image' || node.type === 'imageReference') return node.alt ?? '';
  if ('children' in node) return (node as Parent).children.map((child) => plainText(child as Nodes)).join('');
  return '';
}

/**
 * A table as aligned monospaced text (for a code block: neither Discord nor Slack renders
 * Markdown tables). Columns are padded to their widest cell, in code points.
 *
 *     método | erro
 *     -------+-----
 *     SGD    | 0,12
 */
export function tableAsText(table: Table): string {
  const rows = table.children.map((row) => row.children.map((cell) => plainText(cell).replace(/\s+/g, ' ').trim()));
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const width = (text: string) => [...text].length;
  const widths = Array.from({ length: columns }, (_, c) => Math.max(1, ...rows.map((row) => width(row[c] ?? ''))));
  const line = (row: string[]) =>
    widths
      .map((w, c) => {
        const cell = row[c] ?? '';
        const pad = ' '.repeat(w - width(cell));
        return table.align?.[c] === 'right' ? pad + cell : cell + pad;
      })
      .join(' | ')
      .trimEnd();
  const [header = [], ...body] = rows;
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-+-'), ...body.map(line)].join('\n');
}
