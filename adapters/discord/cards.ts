/**
 * AnswerResult → Discord message payloads, always within Discord's limits. Pure functions.
 *
 * The final reply is one embed (question as title, answer as description, references as
 * fields, notices in the footer), a row of link buttons that open the videos at the right
 * second (at most 5), and a row with 👍/👎. An answer too long for one embed is split at
 * paragraph/sentence boundaries outside code blocks: the reply holds the first part (and
 * everything above), up to `MAX_CONTINUATIONS` follow-up messages hold the rest; beyond that it
 * is cut and says so ("Resposta cortada"). References are never dropped (the answer cites
 * them as [n]): titles are shortened first, and references that still do not fit in the reply
 * continue in follow-up messages after the answer, which the reply announces.
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
  CLOSEST_MOMENTS_HEADING,
  clockRange,
  type DeliveryView,
  excerptTag,
  formatClock,
  isolate,
  LOOP_MESSAGES,
  MESSAGES,
  plainReferences,
  type Reference,
  showsClosestMoments,
  splitText,
  type StaffNoteView,
  titleLine,
  truncate,
} from '../../src/bot/index.js';
import { customIds } from './customIds.js';
import { LINK_TEXT_MAX, linkText, literal, literalWithin, maskedLink } from './markdown.js';

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

/** Follow-up messages an over-long answer may take after the reply itself (references not counted). */
export const MAX_CONTINUATIONS = 3;
/** Title lengths tried for reference lines, longest first, before references move to follow-ups. */
const SHORTEST_TITLE = 24;
const TITLE_LENGTHS = [LINK_TEXT_MAX, 60, 40, SHORTEST_TITLE] as const;
/** Characters of the answer the reply keeps room for, whatever the references take. */
const MIN_FIRST_DESCRIPTION = 1500;

/** pt-BR labels of the Discord rendering (the sentences come from src/bot/messages.ts). */
export const LABELS = {
  references: 'Referências',
  referencesMore: 'Referências (cont.)',
  moreReferences: (n: number) => `…e mais ${n} ${n === 1 ? 'trecho' : 'trechos'} nas mensagens seguintes.`,
  continues: 'A resposta continua na mensagem seguinte.',
  part: (i: number, n: number) => `Parte ${i} de ${n}`,
  writing: 'Escrevendo a resposta…',
  voteUp: 'Ajudou',
  voteDown: 'Não ajudou',
  leaveComment: 'Deixar comentário',
  commentModalTitle: 'Comentário sobre a resposta',
  followUp: 'Perguntar mais',
  followUpModalTitle: 'Perguntar mais sobre esta resposta',
  followUpPrompt: 'Sua pergunta de continuação',
  followUpPlaceholder: 'Por exemplo: e no keras, como faço isso?',
  lecture: 'aula',
  askedBy: (userId: string) => `Pergunta de <@${userId}>`,
  answeredInThread: (threadId: string) => `Respondendo no tópico <#${threadId}>: a conversa continua lá (mencione o bot ou use “Perguntar mais”).`,
  threadName: (question: string) => question,
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

/**
 * `• [1, 3] [Título](url) · 16:28–22:47` (`· 3:03` for a TA's link to a moment), the title
 * shortened to `titleMax` characters. A URL too long for Discord is left out, and the line says so.
 */
export function referenceLine(ref: Reference, titleMax: number = LINK_TEXT_MAX): string {
  const range = clockRange(ref.start, ref.end);
  if (isLinkable(ref.url)) return `• ${excerptTag(ref)}${maskedLink(ref.title, ref.url, titleMax)} · ${range}`;
  const note = /^https?:\/\//i.test(ref.url) ? ` (${MESSAGES.linkTooLong})` : '';
  return `• ${excerptTag(ref)}${linkText(ref.title, titleMax)} · ${range}${note}`;
}

/** Reference fields of the reply, and of the follow-up messages for those that do not fit. */
interface ReferenceLayout {
  first: APIEmbedField[];
  more: APIEmbedField[][];
}

/**
 * Packs lines into fields of at most 1024 characters while the fields' total (names and
 * values) stays within `budget`; `used` is how many lines went in.
 */
function packFields(
  lines: readonly string[],
  budget: number,
  firstName: string,
  maxFields: number = DISCORD_LIMITS.embedFields,
): { fields: APIEmbedField[]; used: number } {
  const fields: APIEmbedField[] = [];
  let size = 0;
  let used = 0;
  for (const line of lines) {
    const last = fields.at(-1);
    if (last && last.value.length + 1 + line.length <= DISCORD_LIMITS.fieldValue) {
      if (size + 1 + line.length > budget) break;
      last.value += `\n${line}`;
      size += 1 + line.length;
    } else {
      const name = fields.length === 0 ? firstName : LABELS.referencesMore;
      if (fields.length >= maxFields || size + name.length + line.length > budget) break;
      fields.push({ name, value: line });
      size += name.length + line.length;
    }
    used++;
  }
  return { fields, used };
}

function fieldsLength(fields: readonly APIEmbedField[]): number {
  return fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
}

/**
 * Every reference, within `budget` characters of the reply: with the longest titles that let
 * all of them fit there; otherwise with the shortest titles, as many as fit, a line announcing
 * the rest, and the rest in follow-up messages (each a full embed's worth).
 */
function layoutReferences(
  references: readonly Reference[],
  budget: number,
  moreBudget: number,
  heading: string = LABELS.references,
  maxFields: number = DISCORD_LIMITS.embedFields,
): ReferenceLayout {
  if (references.length === 0) return { first: [], more: [] };
  const linesWith = (titleMax: number) => references.map((ref) => truncate(referenceLine(ref, titleMax), DISCORD_LIMITS.fieldValue));
  for (const titleMax of TITLE_LENGTHS) {
    const lines = linesWith(titleMax);
    const packed = packFields(lines, budget, heading, maxFields);
    if (packed.used === lines.length) return { first: packed.fields, more: [] };
  }
  const lines = linesWith(SHORTEST_TITLE);
  const noteRoom = LABELS.moreReferences(lines.length).length + 1 + LABELS.referencesMore.length;
  // One field is kept free for the note, in case it does not fit in the last one.
  const { fields: first, used } = packFields(lines, budget - noteRoom, heading, maxFields - 1);
  const note = LABELS.moreReferences(lines.length - used);
  const last = first.at(-1);
  if (last && last.value.length + 1 + note.length <= DISCORD_LIMITS.fieldValue) last.value += `\n${note}`;
  else first.push({ name: first.length === 0 ? heading : LABELS.referencesMore, value: note });
  const more: APIEmbedField[][] = [];
  let rest = lines.slice(used);
  while (rest.length > 0) {
    // Every line fits in one field (≤ 1024), so each message takes at least one.
    const packed = packFields(rest, moreBudget, LABELS.referencesMore);
    more.push(packed.fields);
    rest = rest.slice(Math.max(1, packed.used));
  }
  return { first, more };
}

/**
 * Reference fields within `budget` in one message (a TA's answer is one message): the longest
 * titles that let all fit, else the shortest titles and as many as fit (the TA's own text still
 * holds every link it had).
 */
function referencesWithin(references: readonly Reference[], budget: number): APIEmbedField[] {
  if (references.length === 0) return [];
  for (const titleMax of TITLE_LENGTHS) {
    const lines = references.map((ref) => truncate(referenceLine(ref, titleMax), DISCORD_LIMITS.fieldValue));
    const packed = packFields(lines, budget, LABELS.references);
    if (packed.used === lines.length || titleMax === SHORTEST_TITLE) return packed.fields;
  }
  return [];
}

function linkButtonRow(references: readonly Reference[]): MessageRow | null {
  const buttons: APIButtonComponent[] = [];
  for (const ref of references) {
    if (buttons.length === DISCORD_LIMITS.buttonsPerRow) break;
    if (!isLinkable(ref.url)) continue;
    // The button says where the video opens: the moment, when the reference has one.
    const clock = formatClock(ref.at ?? ref.start);
    const title = isolate(titleLine(ref.title, DISCORD_LIMITS.buttonLabel - clock.length - 7));
    buttons.push({ type: ComponentType.Button, style: ButtonStyle.Link, url: ref.url, label: `▶ ${clock} · ${title}` });
  }
  return buttons.length > 0 ? { type: ComponentType.ActionRow, components: buttons } : null;
}

/** 👍/👎 and, when the conversation can go on, "Perguntar mais". */
export function voteRow(answerId: string, opts: { followUp?: boolean } = {}): MessageRow {
  return {
    type: ComponentType.ActionRow,
    components: [
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.vote('up', answerId), emoji: { name: '👍' }, label: LABELS.voteUp },
      { type: ComponentType.Button, style: ButtonStyle.Secondary, custom_id: customIds.vote('down', answerId), emoji: { name: '👎' }, label: LABELS.voteDown },
      ...(opts.followUp
        ? [{ type: ComponentType.Button as const, style: ButtonStyle.Primary as const, custom_id: customIds.followUp(answerId), emoji: { name: '💬' }, label: LABELS.followUp }]
        : []),
    ],
  };
}

/** "Buscar em todas as aulas", after a lecture-filtered search found nothing. */
export function everywhereRow(answerId: string): MessageRow {
  return {
    type: ComponentType.ActionRow,
    components: [{ type: ComponentType.Button, style: ButtonStyle.Primary, custom_id: customIds.everywhere(answerId), emoji: { name: '🔎' }, label: MESSAGES.searchEverywhere }],
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

export interface AnswerRenderOptions {
  /** 👍/👎 (false when the answer could not be recorded: a vote would only fail). */
  votes: boolean;
  /** "Perguntar mais" (recorded answers; default true). */
  followUp?: boolean;
  /** A line above the embed naming who asked (answers posted in a thread as the bot's own messages). */
  askedBy?: string;
  /** The human loop is on: a "not found" answer offers "Chamar um monitor". */
  escalate?: boolean;
  /**
   * The answer continues a conversation (a follow-up in its thread, a mention or `/pergunta` there,
   * or a private follow-up): with `escalate`, it offers "Chamar um monitor" whatever its kind.
   */
  conversationTurn?: boolean;
}

/**
 * 👍/👎 and "Perguntar mais" under an answer; with the human loop on (`escalate`), a "not found"
 * answer adds "Chamar um monitor": the student the lectures could not help is the one who most
 * needs a TA, and needs no 👎 first. So does every answer of a conversation after its first turn
 * (the thread's latest answer is where a student who kept asking and is still stuck looks; earlier
 * answers keep theirs, which still works). A lecture-filtered "not found" also gets "Buscar em
 * todas as aulas".
 */
function feedbackRows(result: AnswerResult, opts: AnswerRenderOptions): MessageRow[] {
  if (!opts.votes) return [];
  const row = voteRow(result.id, { followUp: opts.followUp ?? true });
  if (opts.escalate && (result.kind === 'not-found' || opts.conversationTurn)) row.components.push(escalateButton(result.id));
  const rows = [row];
  if (result.kind === 'not-found' && result.lectureFilter) rows.push(everywhereRow(result.id));
  return rows;
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
 * The final reply for an answer. `votes: false` leaves out the 👍/👎 row and "Perguntar mais"
 * (when the answer could not be recorded, a vote would only fail and a follow-up would have no
 * conversation). `escalate: true` (the human loop is on) adds "Chamar um monitor" to a
 * "not-found" answer's row, and to every answer with `conversationTurn`. A lecture-filtered search that found nothing gets "Buscar em todas
 * as aulas".
 */
export function renderAnswer(result: AnswerResult, opts: AnswerRenderOptions): RenderedAnswer {
  const color = result.kind === 'not-found' ? COLORS.notFound : result.kind === 'verified' ? COLORS.verified : COLORS.answer;
  const title = questionTitle(result.question);
  const notices = result.notices.join(' · ');
  const text = result.answer.trim();
  const author = result.kind === 'verified' ? { name: LOOP_MESSAGES.verifiedLabel } : undefined;
  // Staff notes go after the references, in the reply; they are few and short (MAX_NOTES).
  const notes = noteFields(result.notes ?? []);

  // Reserve room for the longest footer the reply may get, so the budget holds whichever is used.
  const longestFooter = truncate(notices ? `${notices} · ${LABELS.continues}` : LABELS.continues, DISCORD_LIMITS.footer);
  const fixed = title.length + longestFooter.length + (author?.name.length ?? 0) + fieldsLength(notes);
  const partFooter = LABELS.part(99, 99).length;
  const references = layoutReferences(
    result.references,
    DISCORD_LIMITS.embedTotal - fixed - Math.min(text.length, MIN_FIRST_DESCRIPTION),
    DISCORD_LIMITS.embedTotal - partFooter,
    // A "not found" may offer the closest moments: headed as such, never as the answer's references.
    showsClosestMoments(result) ? CLOSEST_MOMENTS_HEADING : LABELS.references,
    DISCORD_LIMITS.embedFields - notes.length,
  );
  const budget = Math.max(200, Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - fixed - fieldsLength(references.first)));
  const fields = [...references.first, ...notes];

  const [first = '', ...rest] = splitAnswer(text, budget);
  const footer = rest.length > 0 ? (notices ? `${notices} · ${LABELS.continues}` : LABELS.continues) : notices;
  const embed: APIEmbed = {
    color,
    ...(author ? { author } : {}),
    ...(title ? { title } : {}),
    description: first || '…',
    ...(fields.length > 0 ? { fields } : {}),
    ...(footer ? { footer: { text: truncate(footer, DISCORD_LIMITS.footer) } } : {}),
  };

  const components: MessageRow[] = [];
  const links = linkButtonRow(result.references);
  if (links) components.push(links);
  components.push(...feedbackRows(result, opts));

  const total = 1 + rest.length + references.more.length;
  const continuations: DiscordMessage[] = [
    ...rest.map((part, i): DiscordMessage => ({
      content: null,
      embeds: [{ color, description: part, footer: { text: LABELS.part(i + 2, total) } }],
      components: [],
    })),
    ...references.more.map((fields, i): DiscordMessage => ({
      content: null,
      embeds: [{ color, fields, footer: { text: LABELS.part(rest.length + i + 2, total) } }],
      components: [],
    })),
  ];
  const content = opts.askedBy ? LABELS.askedBy(opts.askedBy) : null;
  return { message: { content, embeds: [embed], components }, continuations };
}

/**
 * First part ≤ `firstLimit`, then parts ≤ 4096 (code blocks closed and reopened where split),
 * at most 1 + MAX_CONTINUATIONS: the last one kept then ends with a visible "resposta cortada".
 */
function splitAnswer(text: string, firstLimit: number): string[] {
  const parts = splitText(text, DISCORD_LIMITS.embedDescription, firstLimit);
  if (parts.length <= 1 + MAX_CONTINUATIONS) return parts;
  const kept = parts.slice(0, 1 + MAX_CONTINUATIONS);
  const note = `\n\n${MESSAGES.answerCut}`;
  const last = kept.length - 1;
  kept[last] = `${splitText(kept[last] ?? '', (last === 0 ? firstLimit : DISCORD_LIMITS.embedDescription) - note.length)[0] ?? ''}${note}`;
  return kept;
}

/** The question as the embed's title (embed titles render Markdown: shown literally). */
function questionTitle(question: string): string {
  return literalWithin(question.replace(/\s+/g, ' ').trim(), DISCORD_LIMITS.embedTitle);
}

/** Messages of plain content an answer takes at most when sent as text (references not counted). */
const MAX_PLAIN_ANSWER_PARTS = 4;

/**
 * The same answer and links as plain messages (no embed, no link buttons): what the reply
 * becomes when Discord refuses the rendered one. The first message keeps the 👍/👎 row (with
 * "Perguntar mais") and, in a thread, who asked.
 * Links are written `<url>` (clickable, without a preview).
 */
export function renderPlainAnswer(result: AnswerResult, opts: AnswerRenderOptions): DiscordMessage[] {
  const label = result.kind === 'verified' ? `${LOOP_MESSAGES.verifiedLabel}\n` : '';
  const question = `${label}**${literalWithin(result.question.replace(/\s+/g, ' ').trim(), 300)}**`;
  const notices = result.notices.map((notice) => `-# ${literal(notice)}`).join('\n');
  const head = `${opts.askedBy ? `${LABELS.askedBy(opts.askedBy)}\n` : ''}${question}\n\n`;
  let parts = splitText(result.answer, DISCORD_LIMITS.content, DISCORD_LIMITS.content - head.length);
  if (parts.length > MAX_PLAIN_ANSWER_PARTS) {
    const note = `\n\n${MESSAGES.answerCut}`;
    const last = splitText(parts[MAX_PLAIN_ANSWER_PARTS - 1] ?? '', DISCORD_LIMITS.content - note.length)[0] ?? '';
    parts = [...parts.slice(0, MAX_PLAIN_ANSWER_PARTS - 1), `${last}${note}`];
  }
  parts[0] = `${head}${parts[0] ?? ''}`;
  const references = plainReferences(result, `**${showsClosestMoments(result) ? CLOSEST_MOMENTS_HEADING : LABELS.references}**`, {
    title: literal,
    link: (url) => (isLinkable(url) ? `<${url}>` : null),
  });
  const notes = (result.notes ?? []).slice(0, MAX_NOTES).map((note) => {
    const link = isLinkable(note.url) ? ` — <${note.url}>` : '';
    return `**${LABELS.staffNote}**: ${literal(truncate(note.text.replace(/\s+/g, ' '), 600))}\n${literal(titleLine(note.title, 150))} · ${clockRange(note.start, note.end)}${link}`;
  });
  const tail = [notices, references, ...notes].filter((t) => t !== '').join('\n\n');
  const contents = [...parts, ...(tail ? splitText(tail, DISCORD_LIMITS.content) : [])];
  return contents.map((content, i) => ({ content, embeds: [], components: i === 0 ? feedbackRows(result, opts) : [] }));
}

/** A rendered message's text (title, description, fields, footer) as plain messages. */
export function asPlainMessages(message: DiscordMessage): DiscordMessage[] {
  const text = [
    message.content ?? '',
    ...message.embeds.flatMap((e) => [e.author?.name ?? '', e.title ?? '', e.description ?? '', ...(e.fields ?? []).map((f) => `**${f.name}**\n${f.value}`), e.footer?.text ?? '']),
  ]
    .filter((t) => t.trim() !== '')
    .join('\n\n');
  return splitText(text, DISCORD_LIMITS.content).map((content) => ({ content, embeds: [], components: [] }));
}

/** The reply while the answer is being written (streaming preview). */
export function renderProgress(question: string, textSoFar: string, askedBy?: string): DiscordMessage {
  const title = questionTitle(question);
  const text = textSoFar.trim();
  return {
    content: askedBy ? LABELS.askedBy(askedBy) : null,
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
  const title = questionTitle(view.question);
  const footer = view.kind === 'closed' ? undefined : LABELS.taAnswerFooter;
  const text = view.text.trim();
  const fixed = view.label.length + title.length + (footer?.length ?? 0);
  const fields = referencesWithin(view.references, DISCORD_LIMITS.embedTotal - fixed - Math.min(text.length, DISCORD_LIMITS.embedDescription));
  const description = truncate(text, Math.max(200, Math.min(DISCORD_LIMITS.embedDescription, DISCORD_LIMITS.embedTotal - fixed - fieldsLength(fields)))) || '…';
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

/**
 * A delivery as plain messages, for when Discord refuses the embed: the mention and the text
 * first, the 👍/👎 on the TA's answer under the last part (link buttons left out: their URL may be
 * what was refused; the references stay as text).
 */
export function renderPlainDelivery(view: DeliveryView, opts: { mention?: string; intro?: string } = {}): DiscordMessage[] {
  const rendered = renderDelivery(view, opts);
  const parts = asPlainMessages({ ...rendered, components: [] });
  const rating = rendered.components.filter((row) => row.components.some((c) => 'custom_id' in c));
  const last = parts.at(-1);
  if (last) last.components = rating;
  return parts;
}

/** A short pt-BR message in place of an answer (errors, rate limit). Clears embeds and buttons. */
export function renderNotice(message: string, icon = '⚠️'): DiscordMessage {
  return { content: truncate(`${icon} ${message}`, DISCORD_LIMITS.content), embeds: [], components: [] };
}
