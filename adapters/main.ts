/**
 * `npm start` (production: `node dist/adapters/main.js`, see docs/deploy.md): one process running
 * every chat adapter whose credentials are configured. Loads the answer core and the feedback store
 * once, starts Discord and/or Slack, the live report for TAs (DASHBOARD_TOKEN) and the weekly
 * digest's schedule (DIGEST_CRON), and on SIGINT/SIGTERM — or when the npm process that launched
 * it dies (src/cli/launcher.ts) — stops them (in-flight questions finish, their votes are stored)
 * before closing the store.
 */
import { BotService, botServiceOptions } from '../src/bot/botService.js';
import { RateLimiter } from '../src/bot/rateLimiter.js';
import type { AdapterDeps, RunningAdapter } from '../src/bot/adapter.js';
import { createProgram, runProgram } from '../src/cli/harness.js';
import { watchLauncher } from '../src/cli/launcher.js';
import { configuredAdapters } from '../src/config.js';
import { createCore } from '../src/core.js';
import { EXIT } from '../src/errors.js';
import { collectInsights, insightsSource } from '../src/insights/collect.js';
import { startDashboard, type Dashboard } from '../src/insights/dashboard.js';
import { buildDigest } from '../src/insights/digest.js';
import { renderReportHtml } from '../src/insights/html.js';
import { catalogFromIndex } from '../src/insights/lectures.js';
import { setupHumanLoop } from '../src/humanloop/setup.js';
import { createFeedbackStore } from '../src/store/createStore.js';

const program = createProgram('start', 'Run every chat adapter whose credentials are set (Discord, Slack), in one process.');

void runProgram(program, async ({ config, logger }) => {
  // Watched from the start: npm may die while the index loads.
  let launcherGone: string | null = null;
  let onLauncherGone = (reason: string) => {
    launcherGone = reason;
  };
  const unwatchLauncher = watchLauncher((reason) => onLauncherGone(reason));

  const wanted = configuredAdapters(config);
  if (!wanted.discord && !wanted.slack) {
    console.error(
      'No chat adapter is configured: set DISCORD_TOKEN + DISCORD_APPLICATION_ID and/or SLACK_BOT_TOKEN + ' +
        '(SLACK_SIGNING_SECRET or SLACK_APP_TOKEN) in .env (see .env.example).\n' +
        'To try the bot without any account, ask from the terminal: npm run ask -- "O que é fine-tuning?"',
    );
    // Exit 1, not 2: no setting is invalid; there is just nothing to connect to.
    return EXIT.failure;
  }

  // Never builds a missing index: a mistyped INDEX_DIR must not answer students from the sample course.
  const core = await createCore(config, logger);
  const store = await createFeedbackStore({ url: config.STORE_URL, salt: config.USER_ID_SALT, journalDir: config.STORE_JOURNAL_DIR, logger });
  logger.info({ store: store.description }, 'feedback store ready');
  const loop = await setupHumanLoop({ config, logger, store, embedder: core.embedder, videos: core.index.videos, adapters: wanted });
  core.answers.useKnowledge(loop.knowledge);
  const bot = new BotService(core.answers, store, new RateLimiter(config.RATE_LIMIT_PER_MINUTE), logger, botServiceOptions(config));
  const deps: AdapterDeps = { config, logger, bot, store, ...(loop.loop ? { humanLoop: loop.loop } : {}) };

  const running: RunningAdapter[] = [];
  let dashboard: Dashboard | null = null;
  let digest: { stop(): Promise<void> } | null = null;
  const stopInsights = async () => {
    await Promise.allSettled([dashboard?.stop(), digest?.stop()]);
  };
  try {
    if (wanted.discord) {
      const { startDiscord } = await import('./discord/index.js');
      running.push(await startDiscord(deps));
    }
    if (wanted.slack) {
      const { startSlack } = await import('./slack/index.js');
      running.push(await startSlack(deps));
    }
    const lectures = catalogFromIndex(core.index);
    const insights = insightsSource(store);
    if (config.DASHBOARD_TOKEN) {
      dashboard = await startDashboard({
        token: config.DASHBOARD_TOKEN,
        port: config.DASHBOARD_PORT,
        host: config.DASHBOARD_HOST,
        logger,
        // Gaps grouped by their words: rebuilding the page must not compete with answering students.
        build: async () =>
          renderReportHtml(await collectInsights(insights, { now: new Date(), timeZone: config.COURSE_TIMEZONE, lectures, embedder: null, logger })),
      });
      logger.info({ url: dashboard.url }, 'live page on: the report for TAs, behind DASHBOARD_TOKEN');
    } else {
      logger.info('live page off: set DASHBOARD_TOKEN to serve the report at /painel');
    }
    if (config.DIGEST_CRON) {
      const { scheduleDigest } = await import('./slack/digest/schedule.js');
      digest = scheduleDigest({
        config,
        logger,
        build: (now) => buildDigest(insights, { now, timeZone: config.COURSE_TIMEZONE, lectures, embedder: core.embedder, logger }),
      });
    }
  } catch (err) {
    await stopInsights();
    await Promise.allSettled(running.map((a) => a.stop()));
    await loop.stop();
    await store.close();
    await core.close();
    throw err;
  }
  logger.info(
    {
      adapters: running.map((a) => a.name),
      videos: core.index.videos.size,
      windows: core.index.windows.length,
      retriever: core.retriever.name,
      llm: core.llm?.model ?? 'none (extractive answers)',
      store: store.description,
      livePage: dashboard?.url ?? 'off',
      weeklyDigest: config.DIGEST_CRON ? `${config.DIGEST_CRON} (${config.COURSE_TIMEZONE})` : 'off',
    },
    'pergunta is running',
  );

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      unwatchLauncher();
      logger.info(`${why}: stopping`);
      void stopInsights()
        .then(() => Promise.allSettled(running.map((a) => a.stop())))
        .then(async (results) => {
          for (const r of results) if (r.status === 'rejected') logger.error({ err: String(r.reason) }, 'adapter did not stop cleanly');
          await loop.stop();
          await store.close();
          await core.close();
          logger.info('stopped');
        })
        .finally(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT received'));
    process.once('SIGTERM', () => stop('SIGTERM received'));
    onLauncherGone = stop;
    if (launcherGone) stop(launcherGone);
  });
  return EXIT.ok;
});
