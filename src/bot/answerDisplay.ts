/**
 * The answer as the chat platforms show it. The LLM writes Markdown; the stored answer keeps
 * it as written, and what is shown is rewritten here, once for both platforms, where the
 * platforms would show it wrong or where it would be unsafe:
 * - tables (neither Discord nor Slack renders them) become monospaced code blocks;
 * - links the policy does not allow (see answerLinks.ts) — Markdown links, images, reference
 *   links, `<…>` autolinks, bare URLs, URLs inside raw HTML — become their label followed by
 *   the host and path as inline code, which neither platform makes clickable;
 * - allowed reference-style links are written inline (Discord has no reference links), and
 *   parentheses and spaces in allowed link targets are percent-encoded (Discord ends a masked
 *   link's URL at the first `)`).
 * Code and inline code are never touched. Everything else is left byte for byte as written.
 */
import type { Definition, Nodes, Table } from 'mdast';
import type { LinkPolicy } from './answerLinks.js';
import { containerPrefix, parseMarkdown, plainText, span, tableAsText, walk } from './markdown.js';
import { truncate } from './text.js';

interface Edit {
  from: number;
  to: number;
  text: string;
}

/** Nothing is a link when no policy is given. */
const NO_LINKS: LinkPolicy = { allows: () => false };

/** Longest host and path shown for a link that is not kept. */
const SHOWN_TARGET_MAX = 60;

/** `markdown` rewritten for display on Discord and Slack (see the module comment). */
export function answerForDisplay(markdown: string, policy: LinkPolicy = NO_LINKS): string {
  const tree = parseMarkdown(markdown);
  const definitions = new Map<string, Definition>();
  walk(tree, (node) => {
    if (node.type === 'definition') definitions.set(node.identifier, node);
    return node.type !== 'code';
  });
  const source = (node: Nodes) => {
    const at = span(node);
    return at ? markdown.slice(at[0], at[1]) : '';
  };
  /** The label of a link as written (its children's source). */
  const labelOf = (node: Nodes): string => {
    if (!('children' in node) || node.children.length === 0) return node.type === 'image' || node.type === 'imageReference' ? (node.alt ?? '') : '';
    const first = span(node.children[0]!);
    const last = span(node.children[node.children.length - 1]!);
    return first && last ? markdown.slice(first[0], last[1]) : plainText(node);
  };

  const edits: Edit[] = [];
  const replace = (node: Nodes, text: string) => {
    const at = span(node);
    if (at) edits.push({ from: at[0], to: at[1], text });
  };
  walk(tree, (node) => {
    switch (node.type) {
      case 'code':
      case 'inlineCode':
        return false;
      case 'table':
        replace(node, tableBlock(node, containerPrefix(markdown, span(node)?.[0] ?? 0)));
        return false;
      case 'definition':
        replace(node, '');
        return false;
      case 'link':
      case 'image': {
        const label = labelOf(node);
        if (!policy.allows(node.url)) replace(node, disarmed(label, plainText(node), node.url));
        else if (/[()\s]/.test(node.url) && node.type === 'link' && !isBareUrl(plainText(node), node.url)) replace(node, `[${label}](${encodeTarget(node.url)})`);
        else if (node.type === 'image') replace(node, `[${label}](${encodeTarget(node.url)})`);
        return false;
      }
      case 'linkReference':
      case 'imageReference': {
        const target = definitions.get(node.identifier)?.url;
        const label = labelOf(node);
        if (target === undefined) replace(node, label);
        else if (!policy.allows(target)) replace(node, disarmed(label, plainText(node), target));
        else replace(node, `[${label}](${encodeTarget(target)})`);
        return false;
      }
      case 'text':
      case 'html': {
        // Bare URLs the Markdown parser did not take for links (glued to a word, inside raw
        // HTML): the platforms may still make them clickable.
        const at = span(node);
        if (!at) return false;
        for (const match of source(node).matchAll(/https?:\/\/[^\s<>"'`]+/gi)) {
          const url = trimUrlEnd(match[0]);
          if (policy.allows(url)) continue;
          const from = at[0] + match.index;
          edits.push({ from, to: from + url.length, text: code(shownTarget(url)) });
        }
        return false;
      }
      default:
        return true;
    }
  });
  return applyEdits(markdown, edits);
}

/** A link that is not kept: its label, then where it pointed, as inline code. */
function disarmed(label: string, labelText: string, url: string): string {
  const target = code(shownTarget(url));
  return label.trim() === '' || isBareUrl(labelText, url) ? target : `${label} (${target})`;
}

/** True when a link's text is its own URL (`<https://…>`, `www.…`, an e-mail address). */
function isBareUrl(text: string, url: string): boolean {
  const t = text.trim();
  return t === url || `http://${t}` === url || `mailto:${t}` === url;
}

/** Host and path of an http(s) URL without its scheme; any other URL as written. Shortened. */
function shownTarget(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') {
      return truncate(`${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`, SHOWN_TARGET_MAX);
    }
  } catch {
    // not a URL: shown as written
  }
  return truncate(url, SHOWN_TARGET_MAX);
}

function code(text: string): string {
  return `\`${text.replace(/`/g, '')}\``;
}

function encodeTarget(url: string): string {
  return url.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\s/g, '%20');
}

/** A bare URL ends before trailing punctuation, and before a `)` it did not open. */
function trimUrlEnd(url: string): string {
  let end = url.replace(/[.,;:!?]+$/, '');
  while (end.endsWith(')') && (end.match(/\(/g) ?? []).length < (end.match(/\)/g) ?? []).length) end = end.slice(0, -1).replace(/[.,;:!?]+$/, '');
  return end;
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
