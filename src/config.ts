/**
 * The one place settings are read. Every setting comes from the environment; a `.env` file in
 * the working directory is read too, but the environment wins, and an empty value means unset.
 * Every setting is documented in `.env.example`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Cron } from 'croner';
import { parse as parseDotenv } from 'dotenv';
import { z } from 'zod';
import { EXIT, UserError } from './errors.js';
import { isValidTimeZone } from './insights/calendar.js';
import { defaultJournalBase, parseStoreUrl } from './store/storeUrl.js';
import { DEFAULT_MIN_COVERAGE } from './retrieval/coverage.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const httpUrl = z.url({ protocol: /^https?$/ });

/** The index folder and course of a fresh clone: the sample course, indexed into index/. */
export const DEFAULT_INDEX_DIR = 'index';
export const SAMPLE_COURSE_DIR = 'examples/curso-exemplo';

/** Room for a few short paragraphs with citations, well under Discord's 4,096-character embed. */
export const DEFAULT_LLM_MAX_TOKENS = 700;

const schema = z.object({
  INDEX_DIR: z.string().default(DEFAULT_INDEX_DIR),
  COURSE_DIR: z.string().default(SAMPLE_COURSE_DIR),

  EMBEDDING_MODEL: z.string().default('Xenova/multilingual-e5-small'),
  MODEL_CACHE_DIR: z.string().default('.cache/models'),
  EMBEDDING_DTYPE: z.enum(['fp32', 'q8']).default('q8'),
  EMBEDDING_BATCH_SIZE: int(1, 512).default(16),
  EMBEDDING_OFFLINE: bool.default(false),
  EMBEDDING_LOAD_TIMEOUT_MS: int(1_000, 3_600_000).default(120_000),

  WINDOW_SECONDS: num(5, 3600).default(150),
  WINDOW_STRIDE_SECONDS: num(1, 3600).default(110),
  WINDOW_MAX_TOKENS: int(16, 8192).default(512),

  RETRIEVAL_K: int(1, 50).default(5),
  MIN_COVERAGE: num(0, 1).default(DEFAULT_MIN_COVERAGE),
  MIN_DENSE_SIMILARITY: num(-1, 1).optional(),
  HNSW_M: int(4, 64).default(16),
  HNSW_EF_CONSTRUCTION: int(10, 2000).default(200),
  HNSW_EF: int(10, 2000).default(100),

  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  LLM_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
  LLM_MAX_RETRIES: int(0, 10).default(2),
  LLM_CONCURRENCY: int(1, 256).default(4),
  LLM_MAX_TOKENS: int(16, 32_000).default(DEFAULT_LLM_MAX_TOKENS),
  JUDGE_MODEL: z.string().optional(),

  STORE_URL: z.string().default('sqlite://data/pergunta.sqlite'),
  USER_ID_SALT: z.string().optional(),
  STORE_JOURNAL_DIR: z.string().optional(),

  RATE_LIMIT_PER_MINUTE: int(1, 10_000).default(5),
  DAILY_QUESTION_LIMIT: int(0, 100_000).default(0),
  ANSWER_POLICY: z.enum(['guide', 'open']).optional(),
  CONVERSATION_MAX_TURNS: int(1, 100).default(10),
  CONVERSATION_MAX_TOKENS: int(200, 100_000).default(3000),
  ANSWER_LINK_DOMAINS: z.string().optional(),

  DISCORD_TOKEN: z.string().optional(),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{5,25}$/, 'must be the numeric application id').optional(),
  DISCORD_GUILD_ID: z.string().regex(/^\d{5,25}$/, 'must be a numeric guild (server) id').optional(),
  DISCORD_API_URL: httpUrl.default('https://discord.com/api'),
  DISCORD_EPHEMERAL: bool.default(false),

  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  SLACK_APP_TOKEN: z.string().optional(),
  SLACK_API_URL: httpUrl.optional(),
  SLACK_RESPONSE_TYPE: z.enum(['in_channel', 'ephemeral']).default('in_channel'),
  SLACK_ANNOTATOR_IDS: z.string().optional(),
  PORT: int(1, 65_535).default(3000),

  // The course's calendar: the daily quota's midnight, the report's days and weeks, DIGEST_CRON.
  COURSE_TIMEZONE: z.string().default('America/Sao_Paulo'),
  DASHBOARD_TOKEN: z.string().optional(),
  DASHBOARD_PORT: int(1, 65_535).default(3001),
  DASHBOARD_HOST: z.string().default('127.0.0.1'),
  DIGEST_CRON: z.string().optional(),
  SLACK_DIGEST_CHANNEL: z.string().optional(),
  // The human loop (docs/human-loop.md).
  SLACK_ESCALATION_CHANNEL: z
    .string()
    .regex(/^[CG][A-Z0-9]{6,}$/, 'must be a Slack channel id such as C0123ABCD (channel details → About → Channel ID), not its name')
    .optional(),
  ESCALATION_SHOW_NAMES: bool.default(false),
  ESCALATION_REMINDER_HOURS: num(0.1, 24 * 30).default(24),
  OUTBOX_POLL_SECONDS: num(0.2, 3600).default(5),
  VERIFIED_ANSWERS: bool.default(true),
  VERIFIED_MIN_SIMILARITY: num(0, 1).default(0.93),
  VERIFIED_MIN_LEXICAL_SIMILARITY: num(0, 1).default(0.85),

  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
});

type Raw = z.infer<typeof schema>;

/** Every setting name (each one is documented in .env.example). */
export const SETTING_NAMES = Object.keys(schema.shape);

export interface Config extends Omit<Raw, 'SLACK_ANNOTATOR_IDS' | 'STORE_JOURNAL_DIR' | 'ANSWER_LINK_DOMAINS'> {
  /**
   * Folder of the journals of writes the store could not take (each store in a subfolder named
   * after it); default `journal/` next to a SQLite file, else `data/journal`; undefined for
   * in-process stores (memory://), which are never unavailable.
   */
  STORE_JOURNAL_DIR: string | undefined;
  /** Slack user ids allowed to annotate; empty means anyone in the workspace. */
  SLACK_ANNOTATOR_IDS: string[];
  /** Domains (and their subdomains) whose links stay clickable in answers, besides the course videos. */
  ANSWER_LINK_DOMAINS: string[];
  /** Values that must never be written to logs or exports. */
  secrets: string[];
}

/** Settings that cannot be used: the invocation is wrong, whatever the data (exit 2). */
export class ConfigError extends UserError {
  readonly exitCode = EXIT.invalidInput;
  constructor(readonly problems: string[]) {
    super(`invalid settings (see .env.example):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads `.env` (if present) under the environment, drops empty values, validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, envFile = path.resolve('.env')): Config {
  const fromFile = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  const merged: Record<string, string> = {};
  for (const source of [fromFile, env]) {
    for (const [key, value] of Object.entries(source)) {
      if (value === undefined) continue;
      if (value.trim() === '') delete merged[key];
      else merged[key] = value.trim();
    }
  }
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        const shown = isSecretName(name) ? '' : ` (got ${JSON.stringify(merged[name] ?? '')})`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const raw = parsed.data;
  const problems: string[] = [];
  if (raw.WINDOW_STRIDE_SECONDS > raw.WINDOW_SECONDS) {
    problems.push('WINDOW_STRIDE_SECONDS must not exceed WINDOW_SECONDS (windows would leave gaps)');
  }
  if (raw.DISCORD_TOKEN && !raw.DISCORD_APPLICATION_ID) {
    problems.push('DISCORD_APPLICATION_ID is required when DISCORD_TOKEN is set');
  }
  const store = parseStoreUrl(raw.STORE_URL);
  if (!store.ok) problems.push(store.problem);
  const journalDir = raw.STORE_JOURNAL_DIR ?? (store.ok ? defaultJournalBase(store.location) : undefined);
  if (raw.SLACK_BOT_TOKEN && !raw.SLACK_APP_TOKEN && !raw.SLACK_SIGNING_SECRET) {
    problems.push('SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode) is required when SLACK_BOT_TOKEN is set');
  }
  if (!isValidTimeZone(raw.COURSE_TIMEZONE)) problems.push(`COURSE_TIMEZONE: not a time zone (got ${JSON.stringify(raw.COURSE_TIMEZONE)}; e.g. America/Sao_Paulo)`);
  if (raw.DASHBOARD_TOKEN !== undefined && raw.DASHBOARD_TOKEN.length < MIN_DASHBOARD_TOKEN_CHARS) {
    problems.push(`DASHBOARD_TOKEN must be at least ${MIN_DASHBOARD_TOKEN_CHARS} characters (a long random string: the live page is protected by it alone)`);
  }
  if (raw.DIGEST_CRON !== undefined) {
    const cronProblem = cronPatternProblem(raw.DIGEST_CRON, isValidTimeZone(raw.COURSE_TIMEZONE) ? raw.COURSE_TIMEZONE : undefined);
    if (cronProblem) problems.push(`DIGEST_CRON: ${cronProblem} (got ${JSON.stringify(raw.DIGEST_CRON)}; e.g. "0 8 * * 1", Mondays at 08:00)`);
    if (!raw.SLACK_BOT_TOKEN) problems.push('SLACK_BOT_TOKEN is required when DIGEST_CRON is set (the digest is posted to Slack)');
    if (!raw.SLACK_DIGEST_CHANNEL && !raw.SLACK_ESCALATION_CHANNEL) {
      problems.push('SLACK_DIGEST_CHANNEL is required when DIGEST_CRON is set (the TAs\' channel the digest is posted to; SLACK_ESCALATION_CHANNEL serves when set)');
    }
  }
  const linkDomains = list(raw.ANSWER_LINK_DOMAINS).map((entry) => ({ entry, domain: linkDomain(entry) }));
  for (const { entry, domain } of linkDomains) {
    if (domain === null) problems.push(`ANSWER_LINK_DOMAINS: ${JSON.stringify(entry)} is not a domain name (write e.g. scikit-learn.org, without https:// or a path)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const secrets = [
    raw.OPENAI_API_KEY,
    raw.USER_ID_SALT,
    raw.DISCORD_TOKEN,
    raw.SLACK_BOT_TOKEN,
    raw.SLACK_SIGNING_SECRET,
    raw.SLACK_APP_TOKEN,
    raw.DASHBOARD_TOKEN,
    passwordInUrl(raw.STORE_URL),
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);

  return {
    ...raw,
    STORE_JOURNAL_DIR: journalDir,
    SLACK_ANNOTATOR_IDS: list(raw.SLACK_ANNOTATOR_IDS),
    ANSWER_LINK_DOMAINS: linkDomains.map(({ domain }) => domain as string),
    secrets,
  };
}

/** The live page's token is its only protection: shorter ones are refused. */
export const MIN_DASHBOARD_TOKEN_CHARS = 16;

/** Why `pattern` is not a cron pattern croner can schedule, or null. */
export function cronPatternProblem(pattern: string, timezone?: string): string | null {
  try {
    const job = new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
    const next = job.nextRun();
    job.stop();
    return next ? null : 'it never runs';
  } catch (err) {
    return `not a cron pattern: ${(err as Error).message}`;
  }
}

/**
 * A domain for `ANSWER_LINK_DOMAINS` in canonical form (`Docs.Python.org` → `docs.python.org`),
 * or null when `value` is not a dotted host name (a URL, a path, `localhost`…).
 */
function linkDomain(value: string): string | null {
  const domain = value.trim().toLowerCase().replace(/^\*?\./, '');
  return /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/.test(domain) ? domain : null;
}

/** A comma- or space-separated setting as a list, empty entries dropped. */
function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function isSecretName(name: string): boolean {
  return /TOKEN|KEY|SECRET|SALT/.test(name);
}

function passwordInUrl(url: string): string | undefined {
  try {
    const pw = new URL(url).password;
    return pw ? decodeURIComponent(pw) : undefined;
  } catch {
    return undefined;
  }
}

/** Which chat adapters have their credentials set. */
export function configuredAdapters(config: Config): { discord: boolean; slack: boolean } {
  return {
    discord: Boolean(config.DISCORD_TOKEN && config.DISCORD_APPLICATION_ID),
    slack: Boolean(config.SLACK_BOT_TOKEN && (config.SLACK_APP_TOKEN || config.SLACK_SIGNING_SECRET)),
  };
}

/**
 * True when `indexDir` and COURSE_DIR are the defaults of a fresh clone: only then may a command
 * build the (sample) course on its own. Anywhere else a missing index is a mistake (a mistyped
 * INDEX_DIR, an unmounted volume) that building the sample course would hide.
 */
export function usesSampleCourseDefaults(config: Config, indexDir: string): boolean {
  return path.resolve(indexDir) === path.resolve(DEFAULT_INDEX_DIR) && path.resolve(config.COURSE_DIR) === path.resolve(SAMPLE_COURSE_DIR);
}
