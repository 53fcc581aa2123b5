/**
 * AnswerResult → Slack message (Block Kit), within Slack's limits:
 * - the answer in mrkdwn `section` blocks of at most 3000 characters (Markdown converted by
 *   walking its syntax tree: code untouched, tables as code blocks, `&`, `<`, `>` escaped),
 *   split on paragraph/line/sentence/word boundaries outside code blocks;
 * - the references as links `<url|Título · 16:28–22:47>` that open the video at the second;
 * - an `actions` block with 👍/👎 buttons (`value` = answer id) and the TA annotation menu
 *   "Avaliar: Correta / Parcial / Incorreta" (option values `C|P|I:<answer id>`);
 * - at most 50 blocks (an answer too long for them is cut with "…"), and a short `text`
 *   fallback used by notifications.
 * Pure functions: no Slack SDK calls.
 */
import type { types as slack } from '@slack/bolt';
import {
  type AnswerResult,
  clockRange,
  CLOSEST_MOMENTS_HEADING,
  excerptTag,
  isolate,
  type Label,
  LABEL_NAMES,
  LOOP_MESSAGES,
  MESSAGES,
  plainReferences,
  type Reference,
  showsClosestMoments,
  splitText,
  titleLine,
  truncate,
} from '../../src/bot/index.js';
import { escapeMrkdwn, literalMrkdwn, markdownToMrkdwn, mrkdwnLink, mrkdwnUrl } from './markdown.js';

type KnownBlock = slack.KnownBlock;
type SectionBlock = slack.SectionBlock;
type ActionsBlock = slack.ActionsBlock;
type ContextBlock = slack.ContextBlock;

/** Slack's documented limits that the renderer respects. */
export const SLACK_LIMITS = {
  /** Characters in a section's text. */
  sectionText: 3000,
  /** Blocks in one message. */
  blocks: 50,
  /** Elements in a context block. */
  contextElements: 10,
  /** Characters of the answer in the notification fallback `text`, before escaping (Slack accepts far more). */
  fallbackText: 300,
  /** Characters of a message's `text` (Slack refuses longer ones with `msg_too_long`). */
  messageText: 40_000,
  /** Characters of a reference's URL, once escaped, for it to be a link (a line must fit in a section). */
  linkUrl: 2_500,
} as const;

export const ACTION_IDS = {
  voteUp: 'pergunta_vote_up',
  voteDown: 'pergunta_vote_down',
  annotate: 'pergunta_annotate',
} as const;

export const FEEDBACK_BLOCK_ID = 'pergunta_feedback';

/**
 * Interface labels (pt-BR) of the Slack message. Sentences shown as replies live in
 * src/bot/messages.ts; these are the fixed words of the layout.
 */
export const SLACK_LABELS = {
  question: 'Pergunta',
  references: 'Trechos das aulas',
  voteUp: '👍 Ajudou',
  voteDown: '👎 Não ajudou',
  voteUpA11y: 'A resposta ajudou',
  voteDownA11y: 'A resposta não ajudou',
  annotate: 'Avaliar',
  forward: '🙋 Encaminhar aos monitores',
  forwardA11y: 'Encaminhar esta pergunta à fila dos monitores',
  staffNote: `📌 ${LOOP_MESSAGES.staffNoteLabel}`,
} as const;

/** The "Encaminhar aos monitores" button's action id (the human loop; listeners/actions/forward.ts). */
export const FORWARD_ACTION_ID = 'pergunta_escalate';

const LABELS: readonly Label[] = ['C', 'P', 'I'];
/** Staff notes shown with one answer at most. */
const MAX_NOTES = 2;

export interface SlackMessage {
  /** Fallback for notifications and clients that cannot show blocks. */
  text: string;
  blocks: KnownBlock[];
}

export interface RenderOptions {
  /** Show the 👍/👎 buttons and the annotation menu (false when the answer is not stored). */
  feedback: boolean;
  /** Slack user id of who asked, shown with the question. */
  askedBy?: string;
  /** Offer "Encaminhar aos monitores" (the human loop is on). */
  forward?: boolean;
}

/** Longest video title in a reference line, before escaping. */
export const TITLE_MAX = 150;

/** `Título · 16:28–22:47` (`· 3:03` for a TA's moment) as mrkdwn: the title literal (no formatting) and isolated. */
export function referenceLabel(ref: Reference): string {
  return `${isolate(literalMrkdwn(titleLine(ref.title, TITLE_MAX)))} · ${clockRange(ref.start, ref.end)}`;
}

const REFERENCES_HEADING = `*${SLACK_LABELS.references}:*`;

/**
 * `[1] <url|Título · 16:28–22:47>` (excerpt numbers first, when known). A URL too long for a
 * link in one section (long signed URLs, `&` escaped as `&amp;`) is left out, and the line
 * says so: one line can never make Slack refuse the message.
 */
export function referenceLink(ref: Reference): string {
  const url = mrkdwnUrl(ref.url);
  const line = `${excerptTag(ref)}${mrkdwnLink(ref.url, referenceLabel(ref))}`;
  const fits = url.length <= SLACK_LIMITS.linkUrl && REFERENCES_HEADING.length + 3 + line.length <= SLACK_LIMITS.sectionText;
  return /^https?:\/\//i.test(ref.url) && fits ? line : referenceWithoutLink(ref);
}

function referenceWithoutLink(ref: Reference): string {
  return `${excerptTag(ref)}${referenceLabel(ref)} (${MESSAGES.linkTooLong})`;
}

/** Option value of the annotation menu: `C:<answer id>`. */
export function annotationValue(label: Label, answerId: string): string {
  return `${label}:${answerId}`;
}

export function parseAnnotationValue(value: string | undefined): { label: Label; answerId: string } | null {
  const match = /^([CPI]):(.+)$/s.exec(value ?? '');
  if (!match) return null;
  return { label: match[1] as Label, answerId: match[2] as string };
}

/**
 * `raw` as mrkdwn chunks of at most `limit` characters each. Splits the raw text first (so a
 * cut never lands inside an entity or a link), and splits a piece again, smaller, when
 * escaping made it longer than `limit`.
 */
export function mrkdwnChunks(raw: string, limit: number = SLACK_LIMITS.sectionText): Array<{ raw: string; text: string }> {
  const out: Array<{ raw: string; text: string }> = [];
  const split = (text: string, size: number) => {
    for (const piece of splitText(text, size)) {
      const rendered = markdownToMrkdwn(piece);
      if (rendered.length <= limit || piece.length <= 1) {
        if (rendered.trim() !== '') out.push({ raw: piece, text: rendered });
      } else {
        // Escaping at most quintuples a character (`&` → `&amp;`), so limit/6 always fits.
        const smaller = Math.max(1, Math.floor(limit / 6), Math.floor((size * limit) / rendered.length) - 1);
        split(piece, Math.min(piece.length - 1, smaller));
      }
    }
  };
  split(raw, limit);
  return out;
}

/**
 * Reference lines packed into as few sections as the 3000-character limit allows; without
 * their links if, with them, they would take more than `maxSections` (references are never
 * left out: the answer cites them). A "not found" heads them as the closest moments instead.
 */
function referenceSections(references: readonly Reference[], maxSections: number, heading: string): SectionBlock[] {
  const linked = packReferences(references.map(referenceLink), heading);
  return linked.length <= maxSections ? linked : packReferences(references.map(referenceWithoutLink), heading);
}

function packReferences(lines: readonly string[], heading: string): SectionBlock[] {
  const sections: SectionBlock[] = [];
  let current = `*${heading}:*`;
  for (const text of lines) {
    const line = `\n• ${text}`;
    if (current.length + line.length > SLACK_LIMITS.sectionText) {
      sections.push(mrkdwnSection(current));
      current = line.slice(1);
    } else {
      current += line;
    }
  }
  sections.push(mrkdwnSection(current));
  return sections;
}

/** verbatim: Slack links and parses nothing on its own; the only links are the ones written here. */
function mrkdwnSection(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text, verbatim: true } };
}

function feedbackBlock(answerId: string, forward: boolean): ActionsBlock {
  return {
    type: 'actions',
    block_id: FEEDBACK_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: ACTION_IDS.voteUp,
        text: { type: 'plain_text', text: SLACK_LABELS.voteUp, emoji: true },
        value: answerId,
        accessibility_label: SLACK_LABELS.voteUpA11y,
      },
      {
        type: 'button',
        action_id: ACTION_IDS.voteDown,
        text: { type: 'plain_text', text: SLACK_LABELS.voteDown, emoji: true },
        value: answerId,
        accessibility_label: SLACK_LABELS.voteDownA11y,
      },
      {
        type: 'static_select',
        action_id: ACTION_IDS.annotate,
        placeholder: { type: 'plain_text', text: SLACK_LABELS.annotate },
        options: LABELS.map((label) => ({
          text: { type: 'plain_text' as const, text: LABEL_NAMES[label] },
          value: annotationValue(label, answerId),
        })),
      },
      ...(forward
        ? [
            {
              type: 'button' as const,
              action_id: FORWARD_ACTION_ID,
              text: { type: 'plain_text' as const, text: SLACK_LABELS.forward, emoji: true },
              value: answerId,
              accessibility_label: SLACK_LABELS.forwardA11y,
            },
          ]
        : []),
    ],
  };
}

/** The whole reply to `/pergunta`. */
export function renderAnswer(result: AnswerResult, options: RenderOptions): SlackMessage {
  const head: KnownBlock[] = [];
  const tail: KnownBlock[] = [];

  const asker = options.askedBy ? ` <@${options.askedBy}>` : '';
  const question: ContextBlock = {
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `*${SLACK_LABELS.question}${asker}:* ${literalMrkdwn(truncate(result.question, 500))}` }],
  };
  head.push(question);
  if (result.kind === 'verified') head.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `*${LOOP_MESSAGES.verifiedLabel}*` }] });

  if (result.notices.length > 0) {
    tail.push({
      type: 'context',
      elements: result.notices
        .slice(0, SLACK_LIMITS.contextElements)
        .map((notice) => ({ type: 'mrkdwn' as const, text: escapeMrkdwn(truncate(notice, 500)) })),
    });
  }
  if (result.kind === 'not-found' && result.lectureFilter) {
    // Slack has no "search everywhere" button here: the hint says how (a filtered question that
    // found nothing, answered to a TA who can ask again without the prefix).
    tail.push({ type: 'context', elements: [{ type: 'mrkdwn', text: escapeMrkdwn(truncate(MESSAGES.searchEverywhereHint(result.question), 2000)) }] });
  }
  const feedback = options.feedback ? [feedbackBlock(result.id, options.forward === true)] : [];
  const notes = (result.notes ?? []).slice(0, MAX_NOTES).map((note): ContextBlock => ({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: `*${SLACK_LABELS.staffNote}:* ${escapeMrkdwn(truncate(note.text, 500))} — ${mrkdwnLink(note.url, referenceLabel(note))}`, verbatim: true }],
  }));
  // A "not found" may offer the closest moments: headed as such, never as the answer's references.
  const heading = showsClosestMoments(result) ? CLOSEST_MOMENTS_HEADING : SLACK_LABELS.references;
  // At least one block is left for the answer.
  if (result.references.length > 0) {
    tail.push(...referenceSections(result.references, SLACK_LIMITS.blocks - head.length - tail.length - notes.length - feedback.length - 1, heading));
  }
  tail.push(...notes, ...feedback);

  const room = Math.max(1, SLACK_LIMITS.blocks - head.length - tail.length);
  let chunks = mrkdwnChunks(result.answer);
  if (chunks.length > room) {
    // Cut where the last block allows, outside code, and say so.
    const note = `\n\n${literalMrkdwn(MESSAGES.answerCut)}`;
    const last = mrkdwnChunks(chunks[room - 1]!.raw, SLACK_LIMITS.sectionText - note.length)[0] ?? { raw: '', text: '' };
    chunks = [...chunks.slice(0, room - 1), { raw: last.raw, text: `${last.text}${note}` }];
  }
  // The answer's links were vetted by the core (src/bot/answerDisplay.ts).
  const answer = chunks.map((chunk) => mrkdwnSection(chunk.text));

  return {
    text: escapeMrkdwn(truncate(result.answer.replace(/\s+/g, ' ').trim(), SLACK_LIMITS.fallbackText)),
    blocks: [...head, ...answer, ...tail].slice(0, SLACK_LIMITS.blocks),
  };
}

/**
 * The same answer and links as one plain mrkdwn `text`, without blocks: sent when Slack
 * refuses the rendered message (`invalid_blocks`), so the user still gets the answer. Without
 * the 👍/👎 buttons (they are blocks).
 */
export function renderPlainAnswer(result: AnswerResult, options: Pick<RenderOptions, 'askedBy'>): { text: string } {
  const asker = options.askedBy ? ` <@${options.askedBy}>` : '';
  const label = result.kind === 'verified' ? `*${LOOP_MESSAGES.verifiedLabel}*\n` : '';
  const question = `${label}*${SLACK_LABELS.question}${asker}:* ${literalMrkdwn(truncate(result.question, 500))}`;
  const notes = (result.notes ?? []).slice(0, MAX_NOTES).map((note) => `*${SLACK_LABELS.staffNote}:* ${escapeMrkdwn(truncate(note.text, 500))} — ${referenceLabel(note)}`);
  const hint = result.kind === 'not-found' && result.lectureFilter ? [escapeMrkdwn(truncate(MESSAGES.searchEverywhereHint(result.question), 500))] : [];
  const notices = [...result.notices.map((notice) => escapeMrkdwn(truncate(notice, 500))), ...hint, ...notes].join('\n');
  const link = (url: string) => {
    const escaped = mrkdwnUrl(url);
    return escaped.length <= SLACK_LIMITS.linkUrl ? `<${escaped}>` : null;
  };
  const heading = `*${showsClosestMoments(result) ? CLOSEST_MOMENTS_HEADING : SLACK_LABELS.references}:*`;
  let references = plainReferences(result, heading, { title: literalMrkdwn, link });
  // Dozens of long signed URLs could make the message too long for Slack: then no links.
  if (references.length > SLACK_LIMITS.messageText / 2) references = plainReferences(result, heading, { title: literalMrkdwn, link: () => null });
  const room = SLACK_LIMITS.messageText - question.length - notices.length - references.length - 16;
  let answer = markdownToMrkdwn(result.answer);
  if (answer.length > room) {
    const note = `\n\n${literalMrkdwn(MESSAGES.answerCut)}`;
    answer = `${mrkdwnChunks(result.answer, room - note.length)[0]?.text ?? ''}${note}`;
  }
  return { text: [question, answer, notices, references].filter((part) => part !== '').join('\n\n') };
}
