/** Every pt-BR sentence the chat adapters show that does not come from the answer itself. */
import type { Label, VoteValue } from '../store/types.js';
import { describeDay } from './courseClock.js';

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "5 h 12 min", "12 min", "menos de 1 min". */
function duration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  if (minutes < 1) return 'menos de 1 min';
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h${m > 0 ? ` ${m} min` : ''}` : `${m} min`;
}

export const MESSAGES = {
  searching: 'Procurando nas aulas…',
  usage: 'Use `/pergunta <sua pergunta>`, por exemplo: `/pergunta O que é fine-tuning?`',
  rateLimited: (seconds: number) =>
    `Você fez muitas perguntas em pouco tempo. Tente de novo em ${seconds} ${seconds === 1 ? 'segundo' : 'segundos'}.`,
  failed: 'Não consegui responder agora por um erro interno. Tente de novo em instantes; se persistir, avise a equipe da disciplina.',
  answerNotFound: 'Não encontrei essa resposta (ela pode ser antiga ou ter sido apagada). Faça a pergunta de novo com /pergunta.',
  voteRecorded: (value: VoteValue, previous: VoteValue | null) =>
    previous === null
      ? `Obrigado! Seu voto ${value === 'up' ? '👍' : '👎'} foi registrado.`
      : previous === value
        ? `Seu voto ${value === 'up' ? '👍' : '👎'} já estava registrado.`
        : `Voto alterado para ${value === 'up' ? '👍' : '👎'}.`,
  voteFailed: 'Não consegui registrar seu voto agora. Tente de novo em instantes.',
  commentPrompt: 'O que faltou ou estava errado? (opcional)',
  commentWithoutVote: 'Vote 👍 ou 👎 nesta resposta antes de deixar um comentário.',
  commentRecorded: 'Obrigado pelo comentário! Ele foi registrado junto com o seu voto.',
  annotationRecorded: (label: Label) => `Avaliação registrada: ${LABEL_NAMES[label]}.`,
  annotationRefused: 'Só monitores e professores da disciplina podem avaliar respostas.',
  unknownCommand: 'Não conheço esse comando. Use /pergunta.',

  /** The daily quota is used up: how many, and when (in the course's time zone) it resets. */
  dailyQuotaReached: (limit: number, resetsAt: number, timeZone: string, now: number) => {
    const { date, zoneName } = describeDay(resetsAt, timeZone);
    return (
      `Você já fez ${plural(limit, 'pergunta', 'perguntas')} hoje, o limite diário. ` +
      `Sua cota renova à meia-noite de ${date} (${zoneName}), daqui a ${duration(resetsAt - now)}.`
    );
  },

  /** Follow-ups. */
  conversationTooLong: (maxTurns: number) =>
    `Esta conversa chegou ao limite de ${plural(maxTurns, 'pergunta', 'perguntas')}. ` +
    'Para continuar, faça uma nova pergunta com /pergunta fora deste tópico: ela começa uma conversa nova.',
  historyTrimmed: (kept: number) => `Conversa longa: considerei só ${kept === 1 ? 'a última pergunta' : `as últimas ${kept} perguntas`} dela.`,
  historyUnavailable: 'Não consegui ler o começo desta conversa agora; respondi só a esta pergunta.',
  followUpNotFound: 'Não encontrei a conversa desta resposta (ela pode ser antiga). Faça a pergunta de novo com /pergunta.',

  /** The lecture filter. */
  unknownLecture: (reference: string, lectures: readonly string[]) =>
    `Não encontrei a aula “${reference}”. ${lectures.length > 0 ? `Aulas disponíveis: ${lectures.join('; ')}.` : ''}`.trim(),
  ambiguousLecture: (reference: string, lectures: readonly string[]) =>
    `“${reference}” corresponde a mais de uma aula: ${lectures.join('; ')}. Escolha uma, por exemplo pelo número (“aula 3”).`,
  searchEverywhere: 'Buscar em todas as aulas',
  searchEverywhereHint: (question: string) => `Para buscar em todas as aulas, pergunte de novo sem o nome da aula: /pergunta ${question}`,
  answerCut: '✂️ Resposta cortada: ela é longa demais para ser exibida inteira aqui.',
  linkTooLong: 'link longo demais para exibir aqui',
} as const;

/** Heading of the links a "not found" answer offers: the closest moments, which do not answer. */
export const CLOSEST_MOMENTS_HEADING = 'Trechos mais próximos (não respondem à pergunta)';

/** True when an answer's references are the closest moments of a "not found", not where the answer is. */
export function showsClosestMoments(result: { kind: string; references: readonly { closest?: boolean }[] }): boolean {
  return result.kind === 'not-found' && result.references.length > 0 && result.references.every((r) => r.closest === true);
}

export const LABEL_NAMES: Record<Label, string> = { C: 'Correta', P: 'Parcial', I: 'Incorreta' };
