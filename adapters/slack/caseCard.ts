/**
 * The human loop in Block Kit (docs/human-loop.md), pure functions within Slack's limits:
 * - the case card posted to the TAs' channel: the question (and the conversation, if any), the
 *   student's details, the bot's answer, the retrieved segments with time-range links, votes, who
 *   asked (pseudonym unless ESCALATION_SHOW_NAMES), when; its state ("Assumido por…",
 *   "Respondido por … em …" with the answer, deliveries, the students' rating); and the buttons
 *   Assumir / Responder / A resposta do bot está certa / Encerrar while the case is open;
 * - the modals: the TA's answer (Markdown, lecture links, the verdict on the bot's answer, pinning
 *   the correction), the reason for closing, editing a verified answer;
 * - `/pergunta-faq`: the verified answers and notes, with Editar / Retirar;
 * - a TA answer delivered by DM to someone who forwarded a Slack answer.
 * Dates are Slack date tokens, shown in each reader's own time zone.
 */
import type { types as slack } from '@slack/bolt';
import {
  BOT_LABEL_CHOICES,
  type CaseView,
  type DeliveryView,
  type Label,
  LOOP_MESSAGES,
  MAX_DETAILS_CHARS,
  MAX_TA_ANSWER_CHARS,
  type Reference,
  type StaffNote,
  truncate,
  type VerifiedAnswer,
} from '../../src/bot/index.js';
import { FORWARD_ACTION_ID, referenceLink } from './cards.js';
import { escapeMrkdwn, literalMrkdwn, markdownToMrkdwn } from './markdown.js';

type KnownBlock = slack.KnownBlock;
type ActionsBlock = slack.ActionsBlock;
type ModalView = slack.ModalView;

export const CASE_ACTION_IDS = {
  claim: 'case_claim',
  answer: 'case_answer',
  endorse: 'case_endorse',
  close: 'case_close',
  forward: FORWARD_ACTION_ID,
  faqEdit: 'faq_edit',
  faqRetire: 'faq_retire',
  noteRetire: 'note_retire',
} as const;

export const CASE_VIEW_IDS = {
  answer: 'case_answer_modal',
  close: 'case_close_modal',
  faqEdit: 'faq_edit_modal',
} as const;

/** Block and action ids of the modals' inputs (`view.state.values[block][action]`). */
export const INPUTS = {
  answer: { block: 'answer_block', action: 'answer_text' },
  label: { block: 'label_block', action: 'bot_label' },
  pin: { block: 'pin_block', action: 'pin_note' },
  reason: { block: 'reason_block', action: 'reason_text' },
  question: { block: 'question_block', action: 'question_text' },
} as const;

export const CARD_LABELS = {
  header: (origin: string) => `🙋 Pedido de ajuda — ${origin === 'slack' ? 'Slack' : 'Discord'}`,
  question: 'Pergunta',
  details: 'Detalhes',
  conversation: 'Conversa até aqui',
  conversationLeftOut: (n: number) => `_(${n === 1 ? '1 turno anterior não mostrado' : `${n} turnos anteriores não mostrados`}; a conversa inteira está na exportação)_`,
  botAnswer: 'Resposta do bot',
  segments: 'Trechos recuperados',
  votes: (up: number, down: number, waiting: number) => `Votos quando pediu ajuda: 👍 ${up} · 👎 ${down} · ${waiting === 1 ? '1 pessoa aguarda' : `${waiting} pessoas aguardam`}`,
  open: '🟡 *Aberto* — ninguém assumiu ainda.',
  claimed: (name: string, at: string) => `🔵 *Assumido por ${name}* ${at}`,
  answered: (name: string, at: string) => `✅ *Respondido por ${name}* ${at}`,
  endorsed: (name: string, at: string) => `👍 *Resposta do bot confirmada por ${name}* ${at}`,
  closed: (name: string, at: string) => `⚪ *Encerrado por ${name}* ${at}`,
  botLabel: (label: Label) => `Veredito sobre a resposta do bot: ${BOT_LABEL_CHOICES[label].toLowerCase()}`,
  ratings: (up: number, down: number) => `Avaliação da resposta pelos estudantes: 👍 ${up} · 👎 ${down}`,
  buttonClaim: 'Assumir',
  buttonAnswer: 'Responder',
  buttonEndorse: 'A resposta do bot está certa',
  buttonClose: 'Encerrar',
  confirmEndorseTitle: 'Confirmar a resposta do bot?',
  confirmEndorseText: 'O estudante será avisado de que a resposta está certa, e ela passa a valer como resposta verificada.',
  confirmYes: 'Confirmar',
  confirmNo: 'Voltar',
  kind: { llm: 'gerada pelo LLM', extractive: 'trechos citados, sem LLM', 'not-found': 'as aulas não abordam', verified: 'resposta verificada' } as Record<string, string>,
  delivery: {
    waiting: 'aguardando resposta',
    pending: 'entregando…',
    delivered: { channel: 'entregue no canal', dm: 'entregue por mensagem direta', notice: 'entregue na pergunta seguinte', 'slack-dm': 'entregue por mensagem direta' } as Record<string, string>,
    notice: 'mensagens diretas fechadas: será mostrada na próxima pergunta',
    failed: 'não foi possível entregar',
  },
} as const;

export const MODAL_LABELS = {
  answerTitle: 'Responder ao estudante',
  closeTitle: 'Encerrar o pedido',
  faqTitle: 'Resposta verificada',
  submitAnswer: 'Enviar',
  submitClose: 'Encerrar',
  submitSave: 'Salvar',
  cancel: 'Cancelar',
  answer: 'Sua resposta (Markdown; links das aulas com o tempo, por exemplo https://youtu.be/ID?t=183, viram referências)',
  answerPlaceholder: 'Escreva a resposta para o estudante.',
  botLabel: 'A resposta do bot…',
  pin: 'Correção',
  pinOption: 'Fixar minha resposta como nota nos trechos que o bot citou',
  pinDescription: 'Quem receber uma resposta citando esses trechos verá a nota.',
  reason: 'Motivo (o estudante verá)',
  reasonPlaceholder: 'Por exemplo: a dúvida é sobre a prova; veja o edital.',
  question: 'Pergunta',
  faqAnswer: 'Resposta',
  questionContext: (text: string) => `*Pergunta:* ${text}`,
} as const;

/** Slack's documented limits that these renderers respect. */
const LIMITS = { section: 3000, header: 150, button: 75, blocks: 50, context: 10, modalTitle: 24, option: 75, metadata: 3000, faqItems: 12 } as const;

/** `<!date^…>`: shown in the reader's time zone; the fallback is UTC. */
export function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  if (!Number.isFinite(seconds)) return '';
  const fallback = new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ');
  return `<!date^${seconds}^{date_short_pretty} às {time}|${fallback} UTC>`;
}

/**
 * verbatim: Slack links and parses nothing on its own (a student's "@here" pings no one); the only
 * links and dates are the ones written here.
 */
function section(text: string): slack.SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: truncate(text, LIMITS.section), verbatim: true } };
}

function context(...texts: string[]): slack.ContextBlock {
  return { type: 'context', elements: texts.slice(0, LIMITS.context).map((text) => ({ type: 'mrkdwn' as const, text: truncate(text, 2000), verbatim: true })) };
}

/** Text as typed (a question, details, a reason): shown literally, no formatting of its own. */
function literal(text: string, max: number): string {
  return literalMrkdwn(truncate(text, max));
}

/** `<url|Título · 3:03–5:33>` like the answers' references (title literal, long URLs left out). */
function link(ref: { videoId: string; title: string; start: number; end: number; url: string }): string {
  return referenceLink({ videoId: ref.videoId, title: ref.title, start: ref.start, end: ref.end, url: ref.url });
}

export function referenceLines(references: readonly Reference[]): string {
  return references.map((r) => `• ${link(r)}`).join('\n');
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): slack.Button {
  return { type: 'button', action_id: actionId, value, text: { type: 'plain_text', text: truncate(text, LIMITS.button), emoji: true }, ...(style ? { style } : {}) };
}

function deliveryText(d: CaseView['requesters'][number]['delivery']): string {
  if (d.status === 'delivered') return CARD_LABELS.delivery.delivered[d.via ?? 'channel'] ?? CARD_LABELS.delivery.delivered.channel!;
  if (d.status === 'failed') return `${CARD_LABELS.delivery.failed}${d.error ? ` (${escapeMrkdwn(truncate(d.error, 120))})` : ''}`;
  return CARD_LABELS.delivery[d.status];
}

/** Turns of the conversation the card shows, the most recent ones (closest to the question). */
export const CONVERSATION_TURNS_SHOWN = 4;
/** Characters of each turn's question and of its answer's excerpt on the card. */
const TURN_QUESTION_CHARS = 200;
const TURN_ANSWER_CHARS = 280;

/**
 * "Conversa até aqui": the turns before the escalated answer, oldest first, each its question and
 * the start of the bot's answer, both shown literally (what the student typed, and the bot's text
 * as an excerpt, whose Markdown cut short would not render anyway). At most
 * CONVERSATION_TURNS_SHOWN, the latest, saying how many earlier ones are left out: one section
 * that stays under Slack's 3000 characters even when every character of a turn is escaped.
 */
/** `literal` whose escaped result (what Slack counts) is at most `max` characters. */
function literalWithin(text: string, max: number): string {
  let cut = max;
  let out = literal(text, cut);
  while (out.length > max && cut > 1) {
    cut = Math.max(1, cut - Math.max(1, Math.ceil((out.length - max) / 4)));
    out = literal(text, cut);
  }
  return out;
}

function conversationSection(turns: readonly { question: string; answer: string }[]): slack.SectionBlock {
  const shown = turns.slice(-CONVERSATION_TURNS_SHOWN);
  const leftOut = turns.length - shown.length;
  const lines = shown.map((t) => `> *P:* ${literalWithin(t.question.replace(/\s+/g, ' ').trim(), TURN_QUESTION_CHARS)}\n> *R:* ${literalWithin(t.answer.replace(/\s+/g, ' ').trim(), TURN_ANSWER_CHARS)}`);
  return section([`*${CARD_LABELS.conversation}:*`, ...(leftOut > 0 ? [CARD_LABELS.conversationLeftOut(leftOut)] : []), ...lines].join('\n'));
}

/**
 * The case card: `text` is the notification fallback. `compact`: only the header, the question,
 * the votes, the state and the buttons, for when Slack refused the full card (`invalid_blocks`):
 * the TAs can still act on the case, and the rest is in the store (and in the export).
 */
export function renderCaseCard(view: CaseView, options: { compact?: boolean } = {}): { text: string; blocks: KnownBlock[] } {
  const c = view.case;
  const answer = view.answer;
  const question = answer?.question ?? '(a resposta do bot não está mais no banco)';
  const who = view.requesters.map((r) => literalMrkdwn(r.label));
  const head: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(CARD_LABELS.header(c.origin), LIMITS.header), emoji: true } },
    context(`Caso \`${c.id.slice(0, 8)}\` · pedido ${slackDate(c.createdAt)} · ${who.slice(0, 3).join(', ')}${who.length > 3 ? ` e mais ${who.length - 3}` : ''}`),
    section(`*${CARD_LABELS.question}:* ${literal(question, 800)}`),
  ];
  for (const r of options.compact ? [] : view.requesters.filter((x) => x.details).slice(0, 3)) {
    head.push(section(`*${CARD_LABELS.details} (${literalMrkdwn(r.label)}):* ${literal(r.details ?? '', 800)}`));
  }
  if (!options.compact && view.conversation && view.conversation.length > 0) head.push(conversationSection(view.conversation));
  if (answer && !options.compact) {
    head.push(section(`*${CARD_LABELS.botAnswer}* (${CARD_LABELS.kind[answer.kind] ?? answer.kind}):\n${markdownToMrkdwn(truncate(answer.answer, 1500))}`));
    if (answer.segments.length > 0) {
      const lines = answer.segments.slice(0, 5).map((s) => `• ${link(s)} (${s.score.toFixed(4)})`);
      head.push(section(`*${CARD_LABELS.segments}:*\n${lines.join('\n')}`));
    }
  }
  head.push(context(CARD_LABELS.votes(c.votesAtEscalation.up, c.votesAtEscalation.down, view.requesters.length)));

  const state: KnownBlock[] = [{ type: 'divider' }];
  const res = c.resolution;
  if (res) {
    const at = slackDate(res.by.at);
    const name = literalMrkdwn(res.by.name);
    if (res.kind === 'answered') state.push(section(`${CARD_LABELS.answered(name, at)}\n${options.compact ? literal(res.text ?? '', 2500) : markdownToMrkdwn(truncate(res.text ?? '', 2500))}`));
    else if (res.kind === 'endorsed') state.push(section(CARD_LABELS.endorsed(name, at)));
    else state.push(section(`${CARD_LABELS.closed(name, at)}: ${literal(res.text ?? '', 1000)}`));
    const extra: string[] = [];
    if (res.kind === 'answered' && res.references.length > 0) extra.push(referenceLines(res.references));
    if (res.botLabel && res.kind === 'answered') extra.push(CARD_LABELS.botLabel(res.botLabel));
    if (res.noteIds.length > 0) extra.push(`📌 Nota fixada em ${res.noteIds.length} ${res.noteIds.length === 1 ? 'trecho' : 'trechos'}`);
    if (extra.length > 0) state.push(context(...extra));
    state.push(context(...view.requesters.map((r) => `${literalMrkdwn(r.label)}: ${deliveryText(r.delivery)}`)));
    const votes = Object.values(c.ratings);
    if (votes.length > 0) state.push(context(CARD_LABELS.ratings(votes.filter((v) => v === 'up').length, votes.filter((v) => v === 'down').length)));
  } else if (c.claimedBy) {
    state.push(section(CARD_LABELS.claimed(literalMrkdwn(c.claimedBy.name), slackDate(c.claimedBy.at))));
  } else {
    state.push(section(CARD_LABELS.open));
  }

  if (!res) {
    const actions: ActionsBlock = {
      type: 'actions',
      block_id: `case:${c.id}`,
      elements: [
        ...(c.claimedBy ? [] : [button(CARD_LABELS.buttonClaim, CASE_ACTION_IDS.claim, c.id)]),
        button(CARD_LABELS.buttonAnswer, CASE_ACTION_IDS.answer, c.id, 'primary'),
        {
          ...button(CARD_LABELS.buttonEndorse, CASE_ACTION_IDS.endorse, c.id),
          confirm: {
            title: { type: 'plain_text', text: CARD_LABELS.confirmEndorseTitle },
            text: { type: 'mrkdwn', text: CARD_LABELS.confirmEndorseText },
            confirm: { type: 'plain_text', text: CARD_LABELS.confirmYes },
            deny: { type: 'plain_text', text: CARD_LABELS.confirmNo },
          },
        },
        button(CARD_LABELS.buttonClose, CASE_ACTION_IDS.close, c.id, 'danger'),
      ],
    };
    state.push(actions);
  }
  const blocks = [...head, ...state];
  // The state and the buttons always fit: what gives way is the top of the card.
  const overflow = blocks.length - LIMITS.blocks;
  const kept = overflow > 0 ? [...head.slice(0, head.length - overflow), ...state] : blocks;
  const status = res ? res.kind : c.claimedBy ? 'claimed' : 'open';
  return { text: escapeMrkdwn(truncate(`${CARD_LABELS.header(c.origin)} [${status}]: ${question}`, 300)), blocks: kept };
}

/** The reminder posted in the card's thread (and broadcast to the channel). */
export function renderReminder(view: CaseView): string {
  return `${LOOP_MESSAGES.reminder(view.reminderHours)} ${literal(view.answer?.question ?? '', 200)}`;
}

/** Private metadata of the modals: the case (or verified answer) and where the TA acted. */
export interface ModalMetadata {
  id: string;
  channel: string | null;
}

export function modalMetadata(meta: ModalMetadata): string {
  return JSON.stringify(meta).slice(0, LIMITS.metadata);
}

export function parseModalMetadata(text: string | undefined): ModalMetadata | null {
  try {
    const value = JSON.parse(text ?? '') as Partial<ModalMetadata>;
    return typeof value.id === 'string' && value.id.length <= 100 ? { id: value.id, channel: typeof value.channel === 'string' ? value.channel : null } : null;
  } catch {
    return null;
  }
}

function plainTitle(text: string): slack.PlainTextElement {
  return { type: 'plain_text', text: truncate(text, LIMITS.modalTitle) };
}

export function answerModal(view: CaseView, channel: string | null): ModalView {
  const question = view.answer?.question ?? '';
  return {
    type: 'modal',
    callback_id: CASE_VIEW_IDS.answer,
    private_metadata: modalMetadata({ id: view.case.id, channel }),
    title: plainTitle(MODAL_LABELS.answerTitle),
    submit: plainTitle(MODAL_LABELS.submitAnswer),
    close: plainTitle(MODAL_LABELS.cancel),
    blocks: [
      section(MODAL_LABELS.questionContext(literal(question, 1500))),
      {
        type: 'input',
        block_id: INPUTS.answer.block,
        label: { type: 'plain_text', text: MODAL_LABELS.answer },
        element: { type: 'plain_text_input', action_id: INPUTS.answer.action, multiline: true, max_length: MAX_TA_ANSWER_CHARS, placeholder: { type: 'plain_text', text: MODAL_LABELS.answerPlaceholder } },
      },
      {
        type: 'input',
        block_id: INPUTS.label.block,
        optional: true,
        label: { type: 'plain_text', text: MODAL_LABELS.botLabel },
        element: {
          type: 'radio_buttons',
          action_id: INPUTS.label.action,
          options: (['C', 'P', 'I'] as const).map((label) => ({ text: { type: 'plain_text' as const, text: truncate(BOT_LABEL_CHOICES[label], LIMITS.option) }, value: label })),
        },
      },
      {
        type: 'input',
        block_id: INPUTS.pin.block,
        optional: true,
        label: { type: 'plain_text', text: MODAL_LABELS.pin },
        element: {
          type: 'checkboxes',
          action_id: INPUTS.pin.action,
          options: [{ text: { type: 'plain_text', text: truncate(MODAL_LABELS.pinOption, LIMITS.option) }, description: { type: 'plain_text', text: MODAL_LABELS.pinDescription }, value: 'pin' }],
        },
      },
    ],
  };
}

export function closeModal(caseId: string, channel: string | null): ModalView {
  return {
    type: 'modal',
    callback_id: CASE_VIEW_IDS.close,
    private_metadata: modalMetadata({ id: caseId, channel }),
    title: plainTitle(MODAL_LABELS.closeTitle),
    submit: plainTitle(MODAL_LABELS.submitClose),
    close: plainTitle(MODAL_LABELS.cancel),
    blocks: [
      {
        type: 'input',
        block_id: INPUTS.reason.block,
        label: { type: 'plain_text', text: MODAL_LABELS.reason },
        element: { type: 'plain_text_input', action_id: INPUTS.reason.action, multiline: true, max_length: MAX_DETAILS_CHARS, placeholder: { type: 'plain_text', text: MODAL_LABELS.reasonPlaceholder } },
      },
    ],
  };
}

export function faqEditModal(answer: VerifiedAnswer, channel: string | null): ModalView {
  return {
    type: 'modal',
    callback_id: CASE_VIEW_IDS.faqEdit,
    private_metadata: modalMetadata({ id: answer.id, channel }),
    title: plainTitle(MODAL_LABELS.faqTitle),
    submit: plainTitle(MODAL_LABELS.submitSave),
    close: plainTitle(MODAL_LABELS.cancel),
    blocks: [
      {
        type: 'input',
        block_id: INPUTS.question.block,
        label: { type: 'plain_text', text: MODAL_LABELS.question },
        element: { type: 'plain_text_input', action_id: INPUTS.question.action, max_length: 2000, initial_value: truncate(answer.question, 2000) },
      },
      {
        type: 'input',
        block_id: INPUTS.answer.block,
        label: { type: 'plain_text', text: MODAL_LABELS.faqAnswer },
        element: { type: 'plain_text_input', action_id: INPUTS.answer.action, multiline: true, max_length: MAX_TA_ANSWER_CHARS, initial_value: truncate(answer.answer, MAX_TA_ANSWER_CHARS) },
      },
    ],
  };
}

/** `/pergunta-faq [termo]`: the verified answers (newest first) and the notes, each with its buttons. */
export function renderFaq(answers: readonly VerifiedAnswer[], notes: readonly StaffNote[], query: string): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [];
  if (answers.length === 0 && notes.length === 0) return { text: LOOP_MESSAGES.faqEmpty, blocks: [section(LOOP_MESSAGES.faqEmpty)] };
  const shown = answers.slice(0, LIMITS.faqItems);
  blocks.push(context(`*Respostas verificadas*${query ? ` com “${literal(query, 100)}”` : ''}: ${answers.length}${answers.length > shown.length ? ` (mostrando as ${shown.length} mais recentes; use /pergunta-faq <termo> para filtrar)` : ''}`));
  for (const a of shown) {
    const by = `${escapeMrkdwn(a.updatedBy?.name ?? a.by.name)} ${slackDate(a.updatedAt)}${a.source === 'endorsement' ? ' · resposta do bot confirmada' : ''}`;
    blocks.push(section(`*${literal(a.question, 300)}*\n${markdownToMrkdwn(truncate(a.answer, 600))}\n_${by}_`));
    blocks.push({ type: 'actions', block_id: `faq:${a.id}`, elements: [button('Editar', CASE_ACTION_IDS.faqEdit, a.id), button('Retirar', CASE_ACTION_IDS.faqRetire, a.id, 'danger')] });
  }
  const room = Math.max(0, Math.floor((LIMITS.blocks - blocks.length - 1) / 2));
  if (notes.length > 0 && room > 0) {
    blocks.push(context(`*Notas fixadas em trechos das aulas*: ${notes.length}`));
    for (const n of notes.slice(0, Math.min(room, 8))) {
      blocks.push(section(`📌 ${link(n)}\n${escapeMrkdwn(truncate(n.text, 400))}\n_${escapeMrkdwn(n.by.name)} ${slackDate(n.createdAt)}_`));
      blocks.push({ type: 'actions', block_id: `note:${n.id}`, elements: [button('Retirar nota', CASE_ACTION_IDS.noteRetire, n.id, 'danger')] });
    }
  }
  return { text: `Respostas verificadas: ${answers.length}`, blocks: blocks.slice(0, LIMITS.blocks) };
}

/** A resolved case sent by DM to the Slack user who forwarded it. */
export function renderSlackDelivery(view: DeliveryView): { text: string; blocks: KnownBlock[] } {
  const blocks: KnownBlock[] = [
    context(`*${escapeMrkdwn(view.label)}*`),
    section(`*${CARD_LABELS.question}:* ${literal(view.question, 800)}`),
    section(markdownToMrkdwn(truncate(view.text, 2800))),
  ];
  if (view.references.length > 0) blocks.push(section(`*Trechos das aulas:*\n${referenceLines(view.references)}`));
  return { text: escapeMrkdwn(truncate(`${view.label}: ${view.text}`, 300)), blocks };
}
