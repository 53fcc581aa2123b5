import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, SETTING_NAMES, configuredAdapters, loadConfig } from '../../src/config.js';
import { createLogger, scrubSecrets } from '../../src/logger.js';
import { tempDir } from '../helpers/course.js';

const NO_FILE = '/nonexistent/.env';

describe('settings', () => {
  it('documents every setting in .env.example', () => {
    const example = readFileSync('.env.example', 'utf8');
    for (const name of SETTING_NAMES) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('has working defaults with no settings at all', () => {
    const config = loadConfig({}, NO_FILE);
    expect(config).toMatchObject({
      INDEX_DIR: 'index',
      EMBEDDING_MODEL: 'Xenova/multilingual-e5-small',
      STORE_URL: 'sqlite://data/pergunta.sqlite',
      WINDOW_SECONDS: 150,
      WINDOW_STRIDE_SECONDS: 110,
      RATE_LIMIT_PER_MINUTE: 5,
      SLACK_RESPONSE_TYPE: 'in_channel',
      SLACK_ANNOTATOR_IDS: [],
      DISCORD_EPHEMERAL: false,
      LLM_MAX_TOKENS: 700,
    });
    expect(configuredAdapters(config)).toEqual({ discord: false, slack: false });
  });

  it('reads ANSWER_LINK_DOMAINS as a list of domains and refuses what is not one', () => {
    expect(loadConfig({}, NO_FILE).ANSWER_LINK_DOMAINS).toEqual([]);
    expect(loadConfig({ ANSWER_LINK_DOMAINS: 'scikit-learn.org, Docs.Python.org ,,pytorch.org' }, NO_FILE).ANSWER_LINK_DOMAINS).toEqual([
      'scikit-learn.org',
      'docs.python.org',
      'pytorch.org',
    ]);
    expect(() => loadConfig({ ANSWER_LINK_DOMAINS: 'scikit-learn.org, https://evil.example/x' }, NO_FILE)).toThrow(/ANSWER_LINK_DOMAINS.*"https:\/\/evil\.example\/x"/);
    expect(() => loadConfig({ ANSWER_LINK_DOMAINS: 'localhost' }, NO_FILE)).toThrow(ConfigError);
  });

  it('reads .env, lets the environment win, and treats empty values as unset', async () => {
    const dir = await tempDir('env-');
    const file = path.join(dir, '.env');
    await writeFile(file, 'RETRIEVAL_K=7\nOPENAI_MODEL=from-file\nINDEX_DIR=from-file\nSLACK_ANNOTATOR_IDS=U1, U2,,U3\n');
    const config = loadConfig({ OPENAI_MODEL: 'from-env', INDEX_DIR: '' }, file);
    expect(config.RETRIEVAL_K).toBe(7);
    expect(config.OPENAI_MODEL).toBe('from-env');
    expect(config.INDEX_DIR).toBe('index');
    expect(config.SLACK_ANNOTATOR_IDS).toEqual(['U1', 'U2', 'U3']);
  });

  it('still loads a .env written for an older version that set LEXICAL_THREAD (removed)', () => {
    const config = loadConfig({ LEXICAL_THREAD: 'on', RETRIEVAL_K: '7' }, NO_FILE);
    expect(config.RETRIEVAL_K).toBe(7);
    expect(config).not.toHaveProperty('LEXICAL_THREAD');
  });

  it('lists every problem, naming the variable, without echoing secrets', () => {
    let error: unknown;
    try {
      loadConfig({ RETRIEVAL_K: 'muitos', OPENAI_BASE_URL: 'ftp://x', DISCORD_TOKEN: 'tok-secret-value' }, NO_FILE);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('RETRIEVAL_K');
    expect(message).toContain('OPENAI_BASE_URL');
    expect(message).toContain('.env.example');
    expect(message).not.toContain('tok-secret-value');
  });

  it('checks settings that only make sense together', () => {
    expect(() => loadConfig({ DISCORD_TOKEN: 'abc123' }, NO_FILE)).toThrow(/DISCORD_APPLICATION_ID is required/);
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' }, NO_FILE)).toThrow(/SLACK_SIGNING_SECRET/);
    expect(() => loadConfig({ WINDOW_SECONDS: '60', WINDOW_STRIDE_SECONDS: '90' }, NO_FILE)).toThrow(/gaps/);
    const both = loadConfig({ DISCORD_TOKEN: 'abc', DISCORD_APPLICATION_ID: '123456789', SLACK_BOT_TOKEN: 'xoxb', SLACK_APP_TOKEN: 'xapp' }, NO_FILE);
    expect(configuredAdapters(both)).toEqual({ discord: true, slack: true });
  });

  it('refuses a malformed STORE_URL, naming it and the accepted forms, without echoing a password', () => {
    const malformed = ['sqlite:', 'sqlite:/x', 'sqlite:///', 'sqlite://', 'sqlite://data/', 'redis:', 'redis://', 'redis:/h', 'redis://h/abc', 'postgresql:', 'postgres:///db', 'memory:', 'memory://x', 'data/pergunta.sqlite', 'mongodb://h/db'];
    for (const url of malformed) {
      let error: unknown;
      try {
        loadConfig({ STORE_URL: url }, NO_FILE);
      } catch (err) {
        error = err;
      }
      expect(error, url).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message, url).toContain(`STORE_URL ${JSON.stringify(url)}`);
      expect(message, url).toContain('Accepted forms: sqlite://relative/path.sqlite, sqlite:///absolute/path.sqlite, redis://');
    }
    const hidden = (() => {
      try {
        loadConfig({ STORE_URL: 'redis://:s3cr3t-pass@/0' }, NO_FILE);
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(hidden).toContain('STORE_URL "redis://:***@/0": no host');
    expect(hidden).not.toContain('s3cr3t-pass');
  });

  it('accepts every documented STORE_URL form', () => {
    for (const url of [
      'sqlite://data/pergunta.sqlite',
      'sqlite:///var/lib/pergunta/store.sqlite',
      'sqlite://:memory:',
      'redis://127.0.0.1:6379',
      'redis://:p%40ss@redis.internal:6379/2',
      'rediss://cache.example.org',
      'postgresql://bot:pw@db.internal:5432/pergunta',
      'postgres://db/pergunta',
      'postgresql:///pergunta?host=/run/postgresql',
      'memory://',
    ]) {
      expect(loadConfig({ STORE_URL: url }, NO_FILE).STORE_URL, url).toBe(url);
    }
  });

  it('derives STORE_JOURNAL_DIR from STORE_URL unless it is set', () => {
    expect(loadConfig({}, NO_FILE).STORE_JOURNAL_DIR).toBe(path.join('data', 'journal'));
    expect(loadConfig({ STORE_URL: 'sqlite:///var/lib/pergunta/store.sqlite' }, NO_FILE).STORE_JOURNAL_DIR).toBe('/var/lib/pergunta/journal');
    expect(loadConfig({ STORE_URL: 'redis://127.0.0.1:6379' }, NO_FILE).STORE_JOURNAL_DIR).toBe(path.join('data', 'journal'));
    expect(loadConfig({ STORE_URL: 'memory://' }, NO_FILE).STORE_JOURNAL_DIR).toBeUndefined();
    expect(loadConfig({ STORE_URL: 'redis://127.0.0.1:6379', STORE_JOURNAL_DIR: '/srv/journal' }, NO_FILE).STORE_JOURNAL_DIR).toBe('/srv/journal');
  });

  it('collects secrets (keys, tokens, salt, store password) for log scrubbing', () => {
    const config = loadConfig(
      { OPENAI_API_KEY: 'sk-abcdef', USER_ID_SALT: 'salty-salt', STORE_URL: 'redis://user:p%40ssw0rd@127.0.0.1:6379' },
      NO_FILE,
    );
    expect(config.secrets).toEqual(expect.arrayContaining(['sk-abcdef', 'salty-salt', 'p@ssw0rd']));
  });
});

describe('logger', () => {
  it('never writes secret values, wherever they appear, nor known secret fields', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'json', secrets: ['sk-live-123456', 'xoxb-999-abc'], write: (l) => lines.push(l) });
    logger.info({ url: 'https://api?key=sk-live-123456', nested: { note: 'xoxb-999-abc' } }, 'calling with sk-live-123456');
    logger.error({ err: new Error('401 for token xoxb-999-abc') }, 'failed');
    logger.info({ token: 'another-token', headers: { authorization: 'Bearer zzz' } }, 'fields');
    const all = lines.join('');
    expect(all).not.toContain('sk-live-123456');
    expect(all).not.toContain('xoxb-999-abc');
    expect(all).not.toContain('another-token');
    expect(all).not.toContain('Bearer zzz');
    expect(all).toContain('[redacted]');
    expect(lines).toHaveLength(3);
  });

  it('pretty format (pino-pretty) is one readable line per entry, without colours when captured', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'pretty', write: (l) => lines.push(l) });
    logger.warn({ videos: 7 }, 'index loaded');
    expect(lines).toEqual([expect.stringMatching(/^\[\d\d:\d\d:\d\d\] WARN: index loaded \{"videos":7\}\n$/)]);
  });

  it('pretty format never writes secret values either', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'pretty', secrets: ['sk-live-123456', 'a"b-secret'], write: (l) => lines.push(l) });
    logger.info({ url: 'https://api?key=sk-live-123456', quoted: 'a"b-secret' }, 'calling with sk-live-123456');
    logger.error({ err: new Error('401 for key sk-live-123456') }, 'failed');
    logger.info({ token: 'another-token' }, 'fields');
    const all = lines.join('');
    expect(all).not.toContain('sk-live-123456');
    expect(all).not.toContain('a"b-secret');
    expect(all).not.toContain('another-token');
    expect(all).toContain('[redacted]');
    expect(all).toContain('INFO: calling with [redacted]');
  });

  it('scrubs JSON-escaped forms of a secret too', () => {
    expect(scrubSecrets('{"k":"a\\"b-secret"}', ['a"b-secret'])).toBe('{"k":"[redacted]"}');
  });
});
