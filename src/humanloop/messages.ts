/** Every pt-BR sentence of the human loop that users see (students in Discord, TAs in Slack). */
import type { CaseStatus, Label } from '../store/types.js';

export const LOOP_MESSAGES = {
  // Students
  escalated: (privately: boolean) =>
    privately
      ? '✅ Pronto! Chamei um monitor. Quando ele responder, você recebe a resposta por mensagem direta (ou aqui mesmo, na sua próxima pergunta, se suas mensagens diretas estiverem fechadas).'
      : '✅ Pronto! Chamei um monitor. Quando ele responder, a resposta aparece neste canal, com uma menção a você.',
  escalatedAgain: 'Você já chamou um monitor para esta resposta: assim que ele responder, você recebe a resposta.',
  escalationResolved: 'Um monitor já cuidou desta pergunta. Veja abaixo.',
  escalationOff: 'O atendimento por monitores não está ativo nesta disciplina agora. Tente reformular a pergunta com /pergunta.',
  escalationFailed: 'Não consegui chamar um monitor agora. Tente de novo em instantes.',
  escalationDetailsPrompt: 'Quer contar mais ao monitor? (opcional)',
  escalationDetailsPlaceholder: 'Por exemplo: o que você já tentou, ou qual parte da aula ficou confusa.',
  taAnswerLabel: '✅ Resposta do monitor',
  endorsedLabel: '✅ Um monitor confirmou a resposta do bot',
  endorsedText: 'Um monitor conferiu a resposta do bot à sua pergunta e confirmou que ela está certa.',
  closedLabel: 'ℹ️ Pedido de ajuda encerrado',
  closedText: (reason: string) => `Um monitor encerrou seu pedido de ajuda sem uma resposta escrita. Motivo: ${reason}`,
  deliveredNoticeIntro: 'Enquanto você estava fora, um monitor respondeu a uma pergunta sua:',
  answerRated: 'Obrigado! Sua avaliação da resposta do monitor foi registrada.',
  caseNotFound: 'Não encontrei esse pedido de ajuda (ele pode ter sido apagado).',
  verifiedLabel: '✅ Resposta verificada por monitor',
  staffNoteLabel: 'Nota do monitor',

  // TAs
  claimed: 'Caso assumido: ele está com você.',
  claimedByOther: (name: string) => `Este caso já foi assumido por ${name}. Você ainda pode responder se combinar com a equipe.`,
  alreadyResolved: (status: CaseStatus) => `Este caso já foi ${STATUS_WORDS[status]}: nada mudou.`,
  answered: 'Resposta enviada ao estudante e guardada como resposta verificada.',
  endorsed: 'Resposta do bot confirmada: o estudante foi avisado e ela passa a valer como resposta verificada.',
  endorsedAbstention: 'Confirmado: o estudante foi avisado. (Respostas do tipo "as aulas não abordam isso" não viram respostas verificadas.)',
  closed: 'Caso encerrado: o estudante foi avisado.',
  emptyAnswer: 'Escreva a resposta para o estudante.',
  emptyReason: 'Diga por que o caso foi encerrado (o estudante verá o motivo).',
  notAllowed: 'Só monitores e professores da disciplina podem cuidar dos pedidos de ajuda.',
  storeFailed: 'Não consegui registrar isso agora (o banco de dados não respondeu). Tente de novo em instantes.',
  reminder: (hours: number) => `⏰ Este pedido de ajuda está aberto há mais de ${hours} ${hours === 1 ? 'hora' : 'horas'} sem resposta.`,
  forwarded: 'Encaminhado à fila dos monitores.',
  verifiedEdited: 'Resposta verificada atualizada.',
  verifiedRetired: 'Resposta verificada retirada: o bot não a usa mais.',
  noteRetired: 'Nota retirada: ela não aparece mais nas respostas.',
  verifiedNotFound: 'Não encontrei essa resposta verificada (ela pode ter sido retirada).',
  faqEmpty: 'Ainda não há respostas verificadas. Elas aparecem aqui quando um monitor responde ou confirma um pedido de ajuda.',
} as const;

export const STATUS_WORDS: Record<CaseStatus, string> = {
  open: 'aberto',
  claimed: 'assumido',
  answered: 'respondido',
  endorsed: 'confirmado',
  closed: 'encerrado',
};

/** The TA's verdict on the bot's answer, as the answer form offers it. */
export const BOT_LABEL_CHOICES: Record<Label, string> = { C: 'Estava certa', P: 'Estava incompleta', I: 'Estava errada' };
