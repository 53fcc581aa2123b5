/**
 * The Markdown an LLM writes, as a syntax tree (CommonMark + GitHub's extensions: tables,
 * strikethrough, autolink literals, task lists, footnotes), so that answers are split,
 * cleaned and converted by walking what the text *is*, never by regexes over the whole text.
 * Positions (`node.position.start.offset`…) index the source string.
 */
import type { Node, Nodes, Parent, Root } from 'mdast';
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
