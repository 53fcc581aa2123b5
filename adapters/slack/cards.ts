/**
 * AnswerResult → Slack message (Block Kit), within Slack's limits:
 * - the answer in mrkdwn `section` blocks of at most 3000 characters (`&`, `<`, `>` escaped,
 *   common Markdown turned into mrkdwn), split on paragraph/line/sentence/word boundaries;
 * - the references as links `<url|Título · 16:28–22:47>` that open the video at the second;
 * - an `actions` block with 👍/👎 buttons (`value` = answer id) and the TA annotation menu
 *   "Avaliar: Correta / Parcial / Incorreta" (option values `C|P|I:<answer id>`);
 * - at most 50 blocks (an answer too long for them is cut with "…"), and a short `text`
 *   fallback used by notifications.
 * Pure functions: no Slack SDK calls.
 */
import type { types as slack } from '@slack/bolt';
import { type AnswerResult, excerptTag, formatClock, type Label, LABEL_NAMES, LOOP_MESSAGES, type Reference, splitText, truncate } from '../../src/bot/index.js';
import { escapeMrkdwn, linkLabel, markdownToMrkdwn, mrkdwnLink } from './markdown.js';

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

/** `Título · 16:28–22:47` */
export function referenceLabel(ref: Reference): string {
  return `${ref.title} · ${ref.end > ref.start ? `${formatClock(ref.start)}–${formatClock(ref.end)}` : formatClock(ref.start)}`;
}

/** `[1] <url|Título · 16:28–22:47>` with the title escaped (excerpt numbers first, when known). */
export function referenceLink(ref: Reference): string {
  return `${excerptTag(ref)}${mrkdwnLink(ref.url, escapeMrkdwn(linkLabel(referenceLabel(ref))))}`;
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

/** Reference lines packed into as few sections as the 3000-character limit allows. */
function referenceSections(references: readonly Reference[]): SectionBlock[] {
  const sections: SectionBlock[] = [];
  let current = `*${SLACK_LABELS.references}:*`;
  for (const ref of references) {
    const line = `\n• ${referenceLink(ref)}`;
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

function mrkdwnSection(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
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
    elements: [{ type: 'mrkdwn', text: `*${SLACK_LABELS.question}${asker}:* ${escapeMrkdwn(truncate(result.question, 500))}` }],
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
  if (result.references.length > 0) tail.push(...referenceSections(result.references));
  for (const note of (result.notes ?? []).slice(0, 2)) {
    const moment = mrkdwnLink(note.url, escapeMrkdwn(linkLabel(referenceLabel(note))));
    tail.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `*${SLACK_LABELS.staffNote}:* ${escapeMrkdwn(truncate(note.text, 500))} — ${moment}` }] });
  }
  if (options.feedback) tail.push(feedbackBlock(result.id, options.forward === true));

  const room = Math.max(1, SLACK_LIMITS.blocks - head.length - tail.length);
  let chunks = mrkdwnChunks(result.answer);
  if (chunks.length > room) {
    chunks = chunks.slice(0, room);
    const last = chunks[room - 1] as { raw: string; text: string };
    const cut = truncate(last.raw, Math.max(1, last.raw.length - 1));
    chunks[room - 1] = { raw: cut, text: markdownToMrkdwn(cut) };
  }
  const answer = chunks.map((chunk) => mrkdwnSection(chunk.text));

  return {
    text: escapeMrkdwn(truncate(result.answer.replace(/\s+/g, ' ').trim(), SLACK_LIMITS.fallbackText)),
    blocks: [...head, ...answer, ...tail].slice(0, SLACK_LIMITS.blocks),
  };
}
