/**
 * Text conversions between plain text / Markdown and Slack's `mrkdwn`, in both directions.
 * Markdown is converted by walking its syntax tree (the core's parser), so code stays code and
 * only what *is* emphasis, a link or a list becomes mrkdwn. Pure functions, no Slack SDK involved.
 */
import type { Definition, List, Nodes, Parent, PhrasingContent, RootContent } from 'mdast';
import { neutralizeMentions, parseMarkdown, plainText, tableAsText, walk } from '../../src/bot/index.js';

/** Escapes the three characters Slack reserves for its own markup: `&`, `<`, `>`. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses `escapeMrkdwn` (Slack sends these three entities in slash-command text). */
export function unescapeMrkdwn(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * Look-alikes for mrkdwn's formatting characters. mrkdwn has no escape character, so a literal
 * `*`, `_`, `~` or `` ` `` that could open or close formatting is shown as a character Slack
 * does not interpret.
 */
const LOOKALIKES: Record<string, string> = { '*': '\u2217', _: '\u02cd', '~': '\u223c', '`': '\u02cb' };

/**
 * Literal text as mrkdwn that shows exactly as written: `&`, `<`, `>` escaped, and formatting
 * characters that are not inside a word (`__init__`, `*args*`) replaced by look-alikes, so
 * they cannot format (`snake_case` and `x**y` are left alone: Slack does not format inside words).
 */
export function literalMrkdwn(text: string): string {
  return escapeMrkdwn(text).replace(/[*_~`]+/g, (run, at: number, whole: string) => {
    const before = whole[at - 1] ?? '';
    const after = whole[at + run.length] ?? '';
    if (/[\p{L}\p{N}]/u.test(before) && /[\p{L}\p{N}]/u.test(after)) return run;
    return [...run].map((c) => LOOKALIKES[c] ?? c).join('');
  });
}

/** mrkdwn for a Markdown answer (see the module comment). */
export function markdownToMrkdwn(markdown: string): string {
  const tree = parseMarkdown(markdown);
  const definitions = new Map<string, Definition>();
  walk(tree, (node) => {
    if (node.type === 'definition') definitions.set(node.identifier, node);
    return node.type !== 'code';
  });
  return new MrkdwnWriter(markdown, definitions).blocks(tree.children).trim();
}

/** A piece of inline mrkdwn; `formatted` pieces open and close with a formatting character. */
interface Piece {
  text: string;
  formatted: boolean;
}

class MrkdwnWriter {
  constructor(
    private readonly source: string,
    private readonly definitions: ReadonlyMap<string, Definition>,
  ) {}

  /** Sibling blocks, separated as in the source (one line break, or a blank line). */
  blocks(nodes: readonly RootContent[], tight = false): string {
    let out = '';
    let previous: RootContent | undefined;
    for (const node of nodes) {
      const text = this.block(node);
      if (text === '') continue;
      if (previous) out += tight ? '\n' : this.gap(previous, node);
      out += text;
      previous = node;
    }
    return out;
  }

  private gap(before: RootContent, after: RootContent): string {
    const from = before.position?.end.offset;
    const to = after.position?.start.offset;
    if (from === undefined || to === undefined) return '\n\n';
    return (this.source.slice(from, to).match(/\n/g) ?? []).length >= 2 ? '\n\n' : '\n';
  }

  private block(node: RootContent): string {
    switch (node.type) {
      case 'paragraph':
        return this.inline(node.children);
      case 'heading': {
        const text = this.inline(node.children, { bold: false }).trim();
        return text === '' ? '' : `*${text}*`;
      }
      case 'thematicBreak':
        return '──────────';
      case 'blockquote':
        return this.blocks(node.children)
          .split('\n')
          .map((line) => `> ${line}`)
          .join('\n');
      case 'list':
        return this.list(node);
      case 'code':
        return codeBlock(node.value);
      case 'table':
        return codeBlock(tableAsText(node));
      case 'html':
        return literalMrkdwn(node.value);
      case 'definition':
        return '';
      case 'footnoteDefinition':
        return `[${literalMrkdwn(node.label ?? node.identifier)}] ${this.blocks(node.children, true)}`;
      default:
        return this.inline([node as PhrasingContent]);
    }
  }

  private list(list: List): string {
    const start = list.start ?? 1;
    return list.children
      .map((item, i) => {
        const marker = list.ordered ? `${start + i}.` : '•';
        const check = item.checked === true ? '☑ ' : item.checked === false ? '☐ ' : '';
        const body = this.blocks(item.children, !list.spread);
        const indent = ' '.repeat(marker.length + 1);
        return `${marker} ${check}${body.split('\n').join(`\n${indent}`)}`;
      })
      .join(list.spread ? '\n\n' : '\n');
  }

  private inline(nodes: readonly Nodes[], opts: { bold?: boolean } = {}): string {
    const pieces = nodes.map((node) => this.phrase(node, opts));
    // mrkdwn formats only at word boundaries: a zero-width space makes one inside a word.
    return pieces
      .map((piece, i) => {
        if (!piece.formatted) return piece.text;
        const before = /[\p{L}\p{N}]$/u.test(pieces[i - 1]?.text ?? '') ? '\u200b' : '';
        const after = /^[\p{L}\p{N}]/u.test(pieces[i + 1]?.text ?? '') ? '\u200b' : '';
        return before + piece.text + after;
      })
      .join('');
  }

  private phrase(node: Nodes, opts: { bold?: boolean }): Piece {
    const plain = (text: string): Piece => ({ text, formatted: false });
    switch (node.type) {
      case 'text':
        return plain(literalMrkdwn(node.value));
      case 'inlineCode':
        return plain(`\`${escapeMrkdwn(node.value.replace(/`/g, LOOKALIKES['`']!))}\``);
      case 'break':
        return plain('\n');
      case 'emphasis':
        return wrap('_', this.inline(node.children, opts));
      case 'strong':
        return opts.bold === false ? plain(this.inline(node.children, opts)) : wrap('*', this.inline(node.children, opts));
      case 'delete':
        return wrap('~', this.inline(node.children, opts));
      case 'link':
        return plain(this.link(node.url, plainText(node)));
      case 'image':
        return plain(this.link(node.url, node.alt ?? ''));
      case 'linkReference':
      case 'imageReference': {
        const definition = this.definitions.get(node.identifier);
        const label = plainText(node);
        return plain(definition ? this.link(definition.url, label) : literalMrkdwn(label));
      }
      case 'html':
        return plain(literalMrkdwn(node.value));
      case 'footnoteReference':
        return plain(`[${literalMrkdwn(node.label ?? node.identifier)}]`);
      default: {
        const at = node.position;
        const raw = at?.start.offset !== undefined && at.end.offset !== undefined ? this.source.slice(at.start.offset, at.end.offset) : '';
        return plain('children' in node ? this.inline((node as Parent).children as Nodes[], opts) : literalMrkdwn(raw));
      }
    }
  }

  private link(url: string, label: string): string {
    const text = label.replace(/\s+/g, ' ').trim();
    if (!/^(https?:|mailto:)/i.test(url)) return literalMrkdwn(text || url);
    const shown = url.replace(/^mailto:/i, '');
    return text === '' || text === url || text === shown ? `<${mrkdwnUrl(url)}>` : mrkdwnLink(url, literalMrkdwn(text));
  }
}

/** Formatting around `content`, with its outer spaces moved outside (mrkdwn needs that). */
function wrap(marker: string, content: string): Piece {
  const match = /^(\s*)([\s\S]*?)(\s*)$/.exec(content)!;
  if (match[2] === '') return { text: content, formatted: false };
  return { text: `${match[1]}${marker}${match[2]}${marker}${match[3]}`, formatted: true };
}

/** A code block without its language tag (mrkdwn would show it as the first code line). */
function codeBlock(code: string): string {
  // A run of three backticks would end the block early.
  return `\`\`\`\n${escapeMrkdwn(code).replace(/```/g, '`\u200b`\u200b`')}\n\`\`\``;
}

/** A link label must not contain `|` (it separates URL and label) nor newlines. */
export function linkLabel(label: string): string {
  return label.replace(/\|/g, '/').replace(/\s+/g, ' ').trim();
}

/** A URL inside `<…>`: `&`, `<`, `>` escaped and `|` (which would end the URL) percent-encoded. */
export function mrkdwnUrl(url: string): string {
  return escapeMrkdwn(url.replace(/\|/g, '%7C'));
}

/** A mrkdwn link `<url|label>`; `label` must already be mrkdwn-safe text. */
export function mrkdwnLink(url: string, label: string): string {
  return `<${mrkdwnUrl(url)}|${linkLabel(label)}>`;
}

/**
 * The text a user typed in a slash command, as plain text: mentions of people, channels and user
 * groups become the core's neutral tokens (`<@U123|ana>` → `@usuário`, `<#C1|geral>` → `#canal`:
 * their raw ids must not be stored), other references what the user saw (`<https://x|x>` → `x`,
 * `<!here>` → `@here`), then the `&amp;`/`&lt;`/`&gt;` entities are decoded.
 */
export function slackTextToPlain(text: string): string {
  return unescapeMrkdwn(
    neutralizeMentions(text).replace(/<([^<>]*)>/g, (_m, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@')) return `@${label ?? target.slice(1)}`;
      if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
      if (target.startsWith('!')) return `@${(label ?? target.slice(1)).replace(/^subteam\^/, '')}`;
      return label ?? target;
    }),
  );
}
