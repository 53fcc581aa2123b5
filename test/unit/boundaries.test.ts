/**
 * The module boundaries of eslint.config.js, proved with ESLint's Node API on planted files
 * (lintText with a path: nothing is written). `npm test` runs `eslint .` over the real tree, so
 * a boundary that holds here holds for every file.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

/** Every problem ESLint reports for `code` as if it were the file at `file` (relative to the root). */
async function lint(code: string, file: string): Promise<Linter.LintMessage[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  expect(result, `no lint result for ${file}`).toBeDefined();
  expect(result?.fatalErrorCount, `${file} did not parse`).toBe(0);
  return result?.messages ?? [];
}

/** The boundary violations among them. */
async function violations(code: string, file: string): Promise<string[]> {
  return (await lint(code, file)).filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => m.message);
}

describe('the core never depends on a chat platform', () => {
  it('refuses discord.js in src/', async () => {
    const found = await violations("import { Client } from 'discord.js';\nexport const client = Client;\n", 'src/retrieval/planted.ts');
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('Only adapters/discord/ may use discord.js');
  });

  it('refuses @slack/bolt and the other @slack packages in src/, type imports included', async () => {
    const bolt = await violations("import { App } from '@slack/bolt';\nexport const app = App;\n", 'src/bot/planted.ts');
    expect(bolt).toHaveLength(1);
    expect(bolt[0]).toContain('Only adapters/slack/ may use @slack/*');
    for (const pkg of ['@slack/web-api', '@slack/socket-mode', '@slack/types']) {
      const found = await violations(`import type { X } from '${pkg}';\nexport type Y = X;\n`, 'src/answer/planted.ts');
      expect(found, pkg).toHaveLength(1);
    }
  });

  it('refuses @discordjs packages and subpaths of discord.js in src/', async () => {
    expect(await violations("import { REST } from '@discordjs/rest';\nexport const r = REST;\n", 'src/planted.ts')).toHaveLength(1);
  });

  it('refuses an import of anything under adapters/ from src/', async () => {
    const found = await violations("import { startSlack } from '../../adapters/slack/index.js';\nexport const s = startSlack;\n", 'src/bot/planted.ts');
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('The core never imports an adapter');
  });

  it('refuses a dynamic import() of a platform library in src/', async () => {
    const found = await violations("export const load = () => import('discord.js');\n", 'src/planted.ts');
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('Only adapters/discord/ may use discord.js');
  });
});

describe('retrieval does not depend on the answer layer', () => {
  it('refuses src/answer/ from src/retrieval/, and keeps the platform rules there', async () => {
    const found = await violations("import { videoLinkAt } from '../answer/links.js';\nexport const link = videoLinkAt;\n", 'src/retrieval/planted.ts');
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('Retrieval does not depend on answers');
    expect(await violations("import { App } from '@slack/bolt';\nexport const app = App;\n", 'src/retrieval/planted.ts')).toHaveLength(1);
  });

  it('accepts the link builder from src/course/', async () => {
    expect(await lint("import { videoLinkAt } from '../course/links.js';\nexport const link = videoLinkAt;\n", 'src/retrieval/planted.ts')).toEqual([]);
  });
});

describe('adapters use the core through src/bot/index.ts only', () => {
  it('refuses a deep src/ import from an adapter, at any depth', async () => {
    const fromRoot = await violations("import { MESSAGES } from '../../src/bot/messages.js';\nexport const m = MESSAGES;\n", 'adapters/discord/planted.ts');
    expect(fromRoot).toHaveLength(1);
    expect(fromRoot[0]).toContain('only through src/bot/index.js');
    const nested = await violations("import type { Config } from '../../../src/config.js';\nexport type C = Config;\n", 'adapters/slack/listeners/planted.ts');
    expect(nested).toHaveLength(1);
    const dynamic = await violations("export const load = () => import('../../src/core.js');\n", 'adapters/discord/planted.ts');
    expect(dynamic).toHaveLength(1);
  });

  it('accepts the entry import, from an adapter root and from a nested folder', async () => {
    expect(await lint("import { MESSAGES } from '../../src/bot/index.js';\nexport const usage = MESSAGES.usage;\n", 'adapters/discord/planted.ts')).toEqual([]);
    expect(await lint("import { MESSAGES } from '../../../src/bot/index.js';\nexport const usage = MESSAGES.usage;\n", 'adapters/slack/listeners/planted.ts')).toEqual([]);
  });

  it('lets the composition root, adapters/main.ts, build the core from its modules', async () => {
    expect(await lint("import { createCore } from '../src/core.js';\nexport const create = createCore;\n", 'adapters/main.ts')).toEqual([]);
  });
});

describe('one adapter never imports the other', () => {
  it('refuses the Slack adapter from the Discord adapter', async () => {
    const viaAdapters = await violations("import { renderAnswer } from '../../adapters/slack/cards.js';\nexport const r = renderAnswer;\n", 'adapters/discord/planted.ts');
    expect(viaAdapters).toHaveLength(1);
    expect(viaAdapters[0]).toContain('never imports the Slack adapter');
    const sibling = await violations("import { renderAnswer } from '../../slack/cards.js';\nexport const r = renderAnswer;\n", 'adapters/discord/components/planted.ts');
    expect(sibling).toHaveLength(1);
  });

  it('refuses the Discord adapter from the Slack adapter', async () => {
    const found = await violations("import { renderAnswer } from '../discord/cards.js';\nexport const r = renderAnswer;\n", 'adapters/slack/planted.ts');
    expect(found).toHaveLength(1);
    expect(found[0]).toContain('never imports the Discord adapter');
  });

  it("refuses the other platform's library", async () => {
    expect(await violations("import { App } from '@slack/bolt';\nexport const a = App;\n", 'adapters/discord/planted.ts')).toHaveLength(1);
    expect(await violations("import { Client } from 'discord.js';\nexport const c = Client;\n", 'adapters/slack/planted.ts')).toHaveLength(1);
  });

  it('accepts an adapter importing its own platform library', async () => {
    expect(await lint("import { Client } from 'discord.js';\nexport const c = Client;\n", 'adapters/discord/planted.ts')).toEqual([]);
    expect(await lint("import { App } from '@slack/bolt';\nexport const a = App;\n", 'adapters/slack/planted.ts')).toEqual([]);
  });
});
