/**
 * Mentions in typed text lose their raw platform ids (src/bot/mentions.ts), and BotService
 * applies that to everything it answers or stores: the question and vote comments.
 */
import { describe, expect, it } from 'vitest';
import { AnswerService } from '../../src/answer/answerService.js';
import { BotService } from '../../src/bot/botService.js';
import { MENTION_TOKENS, neutralizeMentions } from '../../src/bot/mentions.js';
import { RateLimiter } from '../../src/bot/rateLimiter.js';
import { createLogger } from '../../src/logger.js';
import type { Retriever, SearchResult } from '../../src/retrieval/retriever.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { toCsv, toJsonl, toMarkdown } from '../../src/evaluation/exportRecords.js';

const { user, role, group, channel } = MENTION_TOKENS;

describe('neutralizeMentions', () => {
  it.each([
    ['Discord user', 'o que <@123456789012345678> disse?', `o que ${user} disse?`],
    ['Discord user (nickname form)', 'pergunta do <@!123456789012345678>', `pergunta do ${user}`],
    ['Discord role', 'avisem <@&998877665544332211>', `avisem ${role}`],
    ['Discord channel', 'como dito em <#112233445566778899>', `como dito em ${channel}`],
    ['Discord command mention', 'use </pergunta:1234567890123>', 'use /pergunta'],
    ['Discord subcommand mention', 'use </curso notas:1234567890123>', 'use /curso notas'],
    ['Discord custom emoji', 'valeu <:obrigado:556677889900112233> <a:festa:556677889900112244>', 'valeu :obrigado: :festa:'],
    ['Slack user', 'o <@U0RAWSLACK> explicou', `o ${user} explicou`],
    ['Slack user with name', 'o <@U0RAWSLACK|ana.souza> explicou', `o ${user} explicou`],
    ['Slack enterprise user', 'o <@W0RAWGRID> explicou', `o ${user} explicou`],
    ['Slack channel with name', 'visto em <#C0RAWCHAN|turma-2026>', `visto em ${channel}`],
    ['Slack channel without name', 'visto em <#C0RAWCHAN>', `visto em ${channel}`],
    ['Slack user group', 'chamem <!subteam^S0RAWGROUP|@monitores> e <!subteam^S0RAWGROUP>', `chamem ${group} e ${group}`],
  ])('%s', (_name, input, expected) => {
    expect(neutralizeMentions(input)).toBe(expected);
  });

  it('leaves text without mentions, links and broadcasts alone, and is idempotent', () => {
    const plain = 'O que é <overfitting>? Veja https://x.org/a<b> e <!here>, @everyone, a<@b e 3 < 4 > 2.';
    expect(neutralizeMentions(plain)).toBe(plain);
    const once = neutralizeMentions('<@1> <#2> <@&3> <!subteam^S4|x>');
    expect(neutralizeMentions(once)).toBe(once);
  });
});

class OneSegment implements Retriever {
  async search(): Promise<SearchResult> {
    return {
      retriever: 'bm25',
      embeddingModel: null,
      notices: [],
      searchMs: 1,
      segments: [
        {
          corpusId: 1,
          videoId: 'v1',
          start: 0,
          end: 30,
          text: 'a derivada mede a variação',
          score: 1,
          foundBy: { lexical: { rank: 1, score: 1 } },
          title: 'Aula 1',
          url: 'https://youtu.be/v1',
        },
      ],
    };
  }
}

describe('BotService stores no mentioned id', () => {
  it('question and vote comments are stored with neutral tokens; no format of the export has a mentioned id', async () => {
    const logger = createLogger({ level: 'silent' });
    const store = await createFeedbackStore({ url: 'memory://', salt: 'sal', logger });
    const answers = new AnswerService({ retriever: new OneSegment(), videos: new Map(), llm: null, k: 1 });
    const bot = new BotService(answers, store, new RateLimiter(100), logger);
    const raw = ['123456789012345678', '998877665544332211', '112233445566778899', 'U0RAWSLACK', 'C0RAWCHAN', 'S0RAWGROUP', 'ana.souza'];

    const asked = await bot.ask({
      platform: 'discord',
      userId: 'asker',
      channel: null,
      question: 'o que <@123456789012345678> e <@&998877665544332211> disseram em <#112233445566778899> sobre derivada?',
    });
    if (asked.status !== 'answered') throw new Error(asked.status);
    expect(asked.result.question).toBe(`o que ${user} e ${role} disseram em ${channel} sobre derivada?`);
    const slackAsked = await bot.ask({
      platform: 'slack',
      userId: 'asker2',
      channel: null,
      question: 'o <@U0RAWSLACK|ana.souza> no <#C0RAWCHAN|turma> com <!subteam^S0RAWGROUP|@monitores> falou de derivada',
    });
    if (slackAsked.status !== 'answered') throw new Error(slackAsked.status);

    const id = asked.result.id;
    await bot.vote({ platform: 'discord', userId: 'voter', answerId: id, value: 'down', comment: 'pergunte ao <@!123456789012345678>' });
    await bot.vote({ platform: 'discord', userId: 'voter2', answerId: id, value: 'down' });
    await bot.comment({ platform: 'discord', userId: 'voter2', answerId: id, comment: 'como o <@U0RAWSLACK|ana.souza> disse em <#112233445566778899>' });

    const records = await store.listRecords();
    expect(records.map((r) => r.question)).toEqual([
      `o que ${user} e ${role} disseram em ${channel} sobre derivada?`,
      `o ${user} no ${channel} com ${group} falou de derivada`,
    ]);
    expect(records[0]?.votes.items.map((v) => v.comment)).toEqual([`pergunte ao ${user}`, `como o ${user} disse em ${channel}`]);
    for (const text of [JSON.stringify(records), toJsonl(records), toCsv(records), toMarkdown(records)]) {
      for (const id of raw) expect(text.includes(id), id).toBe(false);
    }
    await store.close();
  });
});
