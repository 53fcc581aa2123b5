/**
 * AnswerResult → Discord message payloads, always within Discord's limits. Pure functions.
 *
 * The final reply is one embed (question as title, answer as description, references as
 * fields, notices in the footer), a row of link buttons that open the videos at the right
 * second (at most 5), and a row with 👍/👎. An answer too long for one embed is split at
 * paragraph/sentence boundaries: the reply holds the first part (and everything above),
 * up to `MAX_CONTINUATIONS` follow-up messages hold the rest; beyond that it is trimmed with "…".
 */
import {
  ButtonStyle,
  ComponentType,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIComponentInMessageActionRow,
  type APIEmbed,
  type APIEmbedField,
} from 'discord.js';
import {
  type AnswerResult,
  type DeliveryView,
  excerptTag,
  formatClock,
  LOOP_MESSAGES,
  MESSAGES,
  type Reference,
  splitText,
  type StaffNoteView,
  truncate,
} from '../../src/bot/index.js';
import { customIds } from './customIds.js';
import { linkText, maskedLink } from './markdown.js';

/** Discord's documented limits (characters unless noted). */
export const DISCORD_LIMITS = {
  content: 2000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Sum of every title, description, field name/value, footer and author name in a message. */
  embedTotal: 6000,
  buttonsPerRow: 5,
  buttonLabel: 80,
  customId: 100,
  linkUrl: 512,
  modalTitle: 45,
  modalLabel: 45,
} as const;

/** Follow-up messages an over-long answer may take after the reply itself. */
export const MAX_CONTINUATIONS = 3;
/** Reference fields at most (the rest is summarised as "+N"). */
const MAX_REFERENCE_FIELDS = 3;

/** pt-BR labels of the Discord rendering (the sentences come from src/bot/messages.ts). */
export const LABELS = {
  references: 'Referências',
  referencesMore: 'Referências (cont.)',
  moreReferences: (n: number) => `…e mais ${n} ${n === 1 ? 'trecho' : 'trechos'}.`,
  continues: 'A resposta continua na mensagem seguinte.',
  part: (i: number, n: number) => `Parte ${i} de ${n}`,
  writing: 'Escrevendo a resposta…',
  voteUp: 'Ajudou',
  voteDown: 'Não ajudou',
  leaveComment: 'Deixar comentário',
  commentModalTitle: 'Comentário sobre a resposta',
  escalate: 'Chamar um monitor',
  escalateModalTitle: 'Chamar um monitor',
  staffNote: `📌 ${LOOP_MESSAGES.staffNoteLabel}`,
  taAnswerFooter: 'Avalie a resposta do monitor: 👍 ou 👎',
} as const;

const COLORS = { answer: 0x3b82f6, notFound: 0x9ca3af, progress: 0x93c5fd, verified: 0x16a34a, closed: 0x9ca3af } as const;
/** Staff notes shown with one answer at most. */
const MAX_NOTES = 2;

export type MessageRow = APIActionRowComponent<APIComponentInMessageActionRow>;

/** The platform-neutral shape of one message the adapter sends (mentions are added when sending). */
export interface DiscordMessage {
  content: string | null;
  embeds: APIEmbed[];
  components: MessageRow[];
}

export interface RenderedAnswer {
  /** What the deferred reply becomes. */
  message: DiscordMessage;
  /** Follow-up messages with the rest of an over-long answer (usually none). */
  continuations: DiscordMessage[];
}

/** Characters of an embed that count towards the 6000 total. */
export function embedLength(embed: APIEmbed): number {
  return (
    (embed.title?.length ?? 0) +
    (embed.description?.length ?? 0) +
    (embed.footer?.text.length ?? 0) +
    (embed.author?.name.length ?? 0) +
    (embed.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

function isLinkable(url: string): boolean {
  return /^https?:\/\//i.test(url) && url.length <= DISCORD_LIMITS.linkUrl;
}

/** `3:03–5:33`, or `3:03` for a moment (a TA's link). */
export function clockRange(start: number, end: number): string {
  return end > start ? `${formatClock(start)}–${formatClock(end)}` : formatClock(start);
}

export function referenceLine(ref: Reference): string {
  const range = clockRange(ref.start, ref.end);
  const title = isLinkable(ref.url) ? maskedLink(ref.title, ref.url) : linkText(ref.title);
  return `• ${excerptTag(ref)}${title} · ${range}`;
}

function referenceFields(references: readonly Reference[]): APIEmbedField[] {
  const fields: APIEmbedField[] = [];
  let value = '';
  let used = 0;
  for (const ref of references) {
    const line = truncate(referenceLine(ref), DISCORD_LIMITS.fieldValue);
    const joined = value === '' ? line : `${value}\n${line}`;
    if (joined.length <= DISCORD_LIMITS.fieldValue) {
      value = joined;
      used++;
      continue;
    }
    if (fields.length + 1 >= MAX_REFERENCE_FIELDS) break;
    fields.push({ name: fields.length === 0 ? LABELS.references : LABELS.referencesMore, value });
    value = line;
    used++;
  }
  const rest = references.length - used;
  if (rest > 0) {
    const more = LABELS.moreReferences(rest);
    value = value.length + more.length + 1 <= DISCORD_LIMITS.fieldValue ? `${value}\n${more}` : value;
  }
  if (value !== '') fields.push({ name: fields.length === 0 ? LABELS.references : LABELS.referencesMore, value });
  return fields;
}

function linkButtonRow(references: readonly Reference[]): MessageRow | null {
  const buttons: APIButtonComponent[] = [];
  for (const ref of references) {
    if (buttons.length === DISCORD_LIMITS.buttonsPerRow) break;
    if (!isLinkable(ref.url)) continue;
    const clock = formatClock(ref.start);
    const title = truncate(ref.title.replace(/\s+/g, ' ').trim(), DISCORD_LIMITS.buttonLabel - clock.length - 5);
    buttons.push({ type: ComponentType.Button, style: ButtonStyle.Link, url: ref.url, label: `▶ ${clock} · ${title}` });
  }
  return buttons.length > 0 ? { type: ComponentType.ActionRow, components: buttons } : null;
}

export function voteRow(answerId: string): MessageRow {
  return {
    type: ComponentType.ActionRow,
    components: [
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.vote('up', answerId), emoji: { name: '👍' }, label: LABELS.voteUp },
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.vote('down', answerId), emoji: { name: '👎' }, label: LABELS.voteDown },
    ],
  };
}

/** "Chamar um monitor" (the human loop); `messageId`: the public answer a TA's reply should reply to. */
export function escalateButton(answerId: string, messageId?: string | null): APIButtonComponent {
  return { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.escalate(answerId, messageId), emoji: { name: '🙋' }, label: LABELS.escalate };
}

/** After 👎: "Deixar comentário", and "Chamar um monitor" when the human loop is on. */
export function commentRow(answerId: string, escalate?: { messageId: string | null }): MessageRow {
  return {
    type: ComponentType.ActionRow,
    components: [
      { type: ComponentType.Button, style: ButtonStyle.Primary, custom_id: customIds.comment(answerId), emoji: { name: '✍️' }, label: LABELS.leaveComment },
      ...(escalate ? [escalateButton(answerId, escalate.messageId)] : []),
    ],
  };
}

/** 👍/👎 on a TA's answer delivered to a student. */
export function caseRatingRow(caseId: string): MessageRow {
  return {
    type: ComponentType.ActionRow,
    components: [
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.caseRating('up', caseId), emoji: { name: '👍' }, label: LABELS.voteUp },
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.caseRating('down', caseId), emoji: { name: '👎' }, label: LABELS.voteDown },
    ],
  };
}

/** "📌 Nota do monitor" fields: the note and the lecture moment it is pinned to. */
function noteFields(notes: readonly StaffNoteView[]): APIEmbedField[] {
  return notes.slice(0, MAX_NOTES).map((note) => {
    const moment = isLinkable(note.url) ? maskedLink(`${note.title} · ${clockRange(note.start, note.end)}`, note.url) : linkText(note.title);
    const suffix = `\n— ${moment}`;
    return { name: LABELS.staffNote, value: `${truncate(note.text, DISCORD_LIMITS.fieldValue - suffix.length)}${suffix}`.slice(0, DISCORD_LIMITS.fieldValue) };
  });
}

/**
 * The final reply for an answer. `votes: false` leaves out the 👍/👎 row (when the answer
 * could not be recorded, a vote would only fail). `escalate: true` (the human loop is on) adds
 * "Chamar um monitor" to a "not-found" answer's row.
 */
export function renderAnswer(result: AnswerResult, opts: { votes: boolean; escalate?: boolean }): RenderedAnswer {
  const color = result.kind === 'not-found' ? COLORS.notFound : result.kind === 'verified' ? COLORS.verified : COLORS.answer;
  const title = truncate(result.question.replace(/\s+/g, ' ').trim(), DISCORD_LIMITS.embedTitle);
  const fields = [...referenceFields(result.references), ...noteFields(result.notes ?? [])];
  const notices = result.notices.join(' · ');
  const author = result.kind === 'verified' ? { name: LOOP_MESSAGES.verifiedLabel } : undefined;

  const withoutDescription = (footer: string): APIEmbed => ({
    color,
    ...(author ? { author } : {}),
    ...(title ? { title } : {}),
    ...(fields.length > 0 ? { fields } : {}),
    ...(footer ? { footer: { text: truncate(footer, DISCORD_LIMITS.footer) } } : {}),
  });
  // Reserve room for the "continues" footer so the budget holds whichever footer is used.
  const reserved = embedLength(withoutDescription(notices ? `${notices} · ${LABELS.continues}` : LABELS.continues));
  const budget = Math.max(200, Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - reserved));

  const text = result.answer.trim();
  const [first = '', ...rest] = splitAnswer(text, budget);
  const continues = rest.length > 0;
  const footer = continues ? (notices ? `${notices} · ${LABELS.continues}` : LABELS.continues) : notices;
  const embed: APIEmbed = { ...withoutDescription(footer), description: first || '…' };

  const components: MessageRow[] = [];
  const links = linkButtonRow(result.references);
  if (links) components.push(links);
  if (opts.votes) {
    const row = voteRow(result.id);
    if (opts.escalate && result.kind === 'not-found') row.components.push(escalateButton(result.id));
    components.push(row);
  }

  const total = rest.length + 1;
  const continuations = rest.map(
    (part, i): DiscordMessage => ({
      content: null,
      embeds: [{ color, description: part, footer: { text: LABELS.part(i + 2, total) } }],
      components: [],
    }),
  );
  return { message: { content: null, embeds: [embed], components }, continuations };
}

/** First part ≤ `firstLimit`, then parts ≤ 4096, at most 1 + MAX_CONTINUATIONS (the last trimmed with "…"). */
function splitAnswer(text: string, firstLimit: number): string[] {
  if (text.length <= firstLimit) return [text];
  const first = splitText(text, firstLimit)[0] ?? '';
  const remaining = text.slice(first.length).trim();
  const parts = splitText(remaining, DISCORD_LIMITS.embedDescription);
  if (parts.length > MAX_CONTINUATIONS) {
    const kept = parts.slice(0, MAX_CONTINUATIONS);
    kept[MAX_CONTINUATIONS - 1] = truncate(`${kept[MAX_CONTINUATIONS - 1] ?? ''} ${parts[MAX_CONTINUATIONS] ?? ''}`, DISCORD_LIMITS.embedDescription);
    return [first, ...kept];
  }
  return [first, ...parts];
}

/** The reply while the answer is being written (streaming preview). */
export function renderProgress(question: string, textSoFar: string): DiscordMessage {
  const title = truncate(question.replace(/\s+/g, ' ').trim(), DISCORD_LIMITS.embedTitle);
  const text = textSoFar.trim();
  return {
    content: null,
    embeds: [
      {
        color: COLORS.progress,
        ...(title ? { title } : {}),
        description: text ? `${truncate(text, DISCORD_LIMITS.embedDescription - 2)} ▌` : MESSAGES.searching,
        footer: { text: LABELS.writing },
      },
    ],
    components: [],
  };
}

/**
 * A TA's answer (or an endorsement, or the closing of a request) as the student receives it:
 * labelled "✅ Resposta do monitor", the question as title, the TA's lecture links as references
 * and link buttons, and 👍/👎 on the TA's answer. `mention`: the student's user id, pinged in the
 * content (the sender limits allowed mentions to that user).
 */
export function renderDelivery(view: DeliveryView, opts: { mention?: string; intro?: string } = {}): DiscordMessage {
  const title = truncate(view.question.replace(/\s+/g, ' ').trim(), DISCORD_LIMITS.embedTitle);
  const fields = referenceFields(view.references);
  const footer = view.kind === 'closed' ? undefined : LABELS.taAnswerFooter;
  const reserved = LOOP_MESSAGES.taAnswerLabel.length + title.length + (footer?.length ?? 0) + fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const description = truncate(view.text.trim(), Math.max(200, Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - reserved - 50))) || '…';
  const embed: APIEmbed = {
    color: view.kind === 'closed' ? COLORS.closed : COLORS.verified,
    author: { name: view.label },
    ...(title ? { title } : {}),
    description,
    ...(fields.length > 0 ? { fields } : {}),
    ...(footer ? { footer: { text: footer } } : {}),
    timestamp: view.at,
  };
  const components: MessageRow[] = [];
  const links = linkButtonRow(view.references);
  if (links) components.push(links);
  if (view.kind !== 'closed') components.push(caseRatingRow(view.caseId));
  const content = [opts.mention ? `<@${opts.mention}>` : '', opts.intro ?? ''].filter(Boolean).join(' ');
  return { content: content ? truncate(content, DISCORD_LIMITS.content) : null, embeds: [embed], components };
}

/** A short pt-BR message in place of an answer (errors, rate limit). Clears embeds and buttons. */
export function renderNotice(message: string, icon = '⚠️'): DiscordMessage {
  return { content: truncate(`${icon} ${message}`, DISCORD_LIMITS.content), embeds: [], components: [] };
}
