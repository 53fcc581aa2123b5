/** Every pt-BR sentence the chat adapters show that does not come from the answer itself. */
import type { Label, VoteValue } from '../store/types.js';

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
