/**
 * A bot process for the journal crash test (test/helpers/journalSuite.ts): opens the store named
 * by STORE_URL with its journal in JOURNAL_DIR, says `ready`, and when it reads `go` (the test
 * has stopped the store by then) records ANSWERS answers, each with a vote, through the store,
 * says `journaled <ids>` and waits to be killed.
 */
import { createInterface } from 'node:readline';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import { newAnswer } from './records.js';

const logger = createLogger({ level: 'warn', format: 'json', write: (line) => process.stderr.write(line) });
const store = await createFeedbackStore({
  url: process.env.STORE_URL ?? '',
  salt: process.env.USER_ID_SALT,
  logger,
  journalDir: process.env.JOURNAL_DIR ?? '',
  operationTimeoutMs: 2_000,
  connectTimeoutMs: 1_000,
});
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== 'go') continue;
  const ids: string[] = [];
  for (let i = 0; i < Number(process.env.ANSWERS ?? '3'); i++) {
    const answer = newAnswer({ question: `Pergunta do processo que caiu ${i}?` });
    await store.recordAnswer(answer, { platform: 'slack', channel: 'C1', rawUserId: `U-RAW-CRASH-${i}` });
    await store.vote({ answerId: answer.id, platform: 'slack', rawUserId: `U-RAW-VOTER-${i}`, value: 'up' });
    ids.push(answer.id);
  }
  process.stdout.write(`journaled ${ids.join(',')}\n`);
}
