/** The `/pergunta` slash command as registered with Discord (pt-BR name and descriptions). */
import { ApplicationIntegrationType, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import { MAX_QUESTION_CHARS } from '../../../src/bot/index.js';

export const PERGUNTA_COMMAND = 'pergunta';
export const QUESTION_OPTION = 'texto';

export const perguntaCommand = new SlashCommandBuilder()
  .setName(PERGUNTA_COMMAND)
  .setDescription('Pergunte sobre o conteúdo das aulas: a resposta traz links para o trecho exato dos vídeos.')
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
  .addStringOption((option) =>
    option
      .setName(QUESTION_OPTION)
      .setDescription('Sua pergunta, por exemplo: O que é overfitting?')
      .setRequired(true)
      .setMinLength(1)
      // Discord enforces this in the client, before the question reaches the bot.
      .setMaxLength(MAX_QUESTION_CHARS),
  );
