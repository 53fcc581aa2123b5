/**
 * Slack's documented Block Kit limits, checked on a message the way Slack would refuse it:
 * at most 50 blocks; section and context texts of at most 3,000 characters; a header's plain
 * text of at most 150; at most 10 context elements; mrkdwn with `&`, `<` and `>` escaped except
 * in the `<url|label>` links it means and the `> ` of quoted lines. Returns the problems found (none: a valid message).
 */
export interface Block {
  type: string;
  text?: { type: string; text: string };
  elements?: Array<{ type: string; text?: string }>;
  [field: string]: unknown;
}

const KNOWN = new Set(['section', 'context', 'divider', 'header', 'actions']);

function mrkdwnProblems(text: string, where: string): string[] {
  const problems: string[] = [];
  // Links Slack parses: <https://…|label>; anything else between < > would be a mention or a
  // broadcast. A `>` opening a line is a quote.
  const withoutLinks = text.replace(/<https?:\/\/[^|<>\s]+\|[^<>]*>/g, '').replace(/^> /gm, '');
  if (/[<>]/.test(withoutLinks)) problems.push(`${where}: unescaped < or > outside a link`);
  if (/&(?!amp;|lt;|gt;)/.test(text)) problems.push(`${where}: unescaped &`);
  return problems;
}

export function blockKitProblems(blocks: readonly Block[]): string[] {
  const problems: string[] = [];
  if (blocks.length > 50) problems.push(`${blocks.length} blocks (at most 50)`);
  blocks.forEach((block, i) => {
    const where = `block ${i} (${block.type})`;
    if (!KNOWN.has(block.type)) problems.push(`${where}: unknown type`);
    if (block.type === 'header') {
      if (block.text?.type !== 'plain_text') problems.push(`${where}: header text must be plain_text`);
      if ((block.text?.text.length ?? 0) > 150) problems.push(`${where}: header longer than 150`);
      if (!block.text?.text) problems.push(`${where}: empty header`);
    }
    if (block.type === 'section') {
      const text = block.text?.text ?? '';
      if (text.length === 0) problems.push(`${where}: empty section text`);
      if (text.length > 3000) problems.push(`${where}: section text longer than 3000`);
      if (block.text?.type === 'mrkdwn') problems.push(...mrkdwnProblems(text, where));
    }
    if (block.type === 'context') {
      const elements = block.elements ?? [];
      if (elements.length === 0 || elements.length > 10) problems.push(`${where}: ${elements.length} elements (1 to 10)`);
      for (const e of elements) {
        if ((e.text ?? '').length > 3000) problems.push(`${where}: context text longer than 3000`);
        if (e.type === 'mrkdwn') problems.push(...mrkdwnProblems(e.text ?? '', where));
      }
    }
  });
  return problems;
}
