/**
 * The Slack adapter: `/pergunta` for TAs, with the answer, links to the exact second,
 * 👍/👎 and TA annotation, on the real Bolt `App`.
 *
 * Connection modes:
 * - Socket Mode when SLACK_APP_TOKEN is set: the app opens a WebSocket to Slack (no public URL).
 * - HTTP otherwise: Bolt's receiver on PORT serves `/slack/events` and verifies every request
 *   with SLACK_SIGNING_SECRET (bad signature, missing headers or a timestamp older than five
 *   minutes → 401, no listener runs). A guard in front of it (httpGuard.ts) refuses unsigned
 *   requests from their headers, caps bodies at 256 KB and checks the signature before parsing.
 * SLACK_API_URL overrides the Web API base (proxies, tests), including Socket Mode's
 * `apps.connections.open`.
 *
 * Every event is acknowledged before any slow work (`processBeforeResponse: false`); the
 * answer, confirmations and errors go through `respond()`. The core (BotService) decides rate
 * limits, recording and every pt-BR sentence; this adapter renders them and decides whether a
 * user may annotate (SLACK_ANNOTATOR_IDS).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import { AdapterStartError, type AdapterDeps, type RunningAdapter } from '../../src/bot/index.js';
import type { ListenerContext } from './context.js';
import { errorText, listenProblem, refusedTokenReason } from './errors.js';
import { guardRequestBodies, MAX_BODY_BYTES, type HttpGuardOptions } from './httpGuard.js';
import { checkEscalationChannel, slackLoopHandlers } from './humanLoop.js';
import { registerListeners } from './listeners/index.js';
import { createBoltLogger } from './logging.js';
import { checkScopes } from './scopes.js';

export interface SlackAdapterOptions {
  /**
   * HTTP mode only: where to listen. Default: PORT on every interface. `port: 0` picks a free
   * port (see `SlackAdapter.port`).
   */
  listen?: { port?: number; host?: string };
  /** HTTP mode only: limits of the request guard (httpGuard.ts); tests shorten the read timeout. */
  httpGuard?: HttpGuardOptions;
  /** Longest wait for a `respond()` or Web API call, in ms. Default 10 000. */
  requestTimeoutMs?: number;
}

export interface SlackAdapter extends RunningAdapter {
  readonly mode: 'http' | 'socket';
  /** HTTP mode: the port listened on. Socket Mode: null. */
  readonly port: number | null;
  /** Listeners currently running (acknowledged events whose work is not finished). */
  readonly inFlight: number;
  /** Resolves when no listener is running. */
  idle(): Promise<void>;
}

/** Counts running listeners; `idle()` resolves when there are none. */
class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  get size(): number {
    return this.count;
  }

  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.count--;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

export async function startSlack(deps: AdapterDeps, options: SlackAdapterOptions = {}): Promise<SlackAdapter> {
  const { config, bot } = deps;
  const logger = deps.logger.child({ adapter: 'slack' });
  const token = config.SLACK_BOT_TOKEN;
  const appToken = config.SLACK_APP_TOKEN;
  const signingSecret = config.SLACK_SIGNING_SECRET;
  if (!token) throw new Error('SLACK_BOT_TOKEN is not set');
  if (!appToken && !signingSecret) throw new Error('SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode) is required');
  const mode = appToken ? 'socket' : 'http';

  const timeoutMs = options.requestTimeoutMs ?? 10_000;
  const boltLogger = createBoltLogger(logger, config.secrets);
  // `respond()` uses this fetch too: a response_url that never answers must not hold a
  // listener (and stop()) forever.
  const fetchWithTimeout: typeof fetch = (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
  const apiUrl = config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {};

  const receiver = appToken
    ? new SocketModeReceiver({
        appToken,
        logger: boltLogger,
        // A separate object: the Socket Mode client adds its own (long) reconnect retry policy.
        installerOptions: { clientOptions: { ...apiUrl, fetch: fetchWithTimeout } },
      })
    : new HTTPReceiver({
        signingSecret: signingSecret as string,
        logger: boltLogger,
        processBeforeResponse: false,
        port: config.PORT,
        // The guard reads bodies first; this is Bolt's own cap, should one ever reach it unread.
        bodyLimit: MAX_BODY_BYTES,
      });

  const app = new App({
    token,
    receiver,
    logger: boltLogger,
    convoStore: false,
    // init() below runs auth.test once, awaited, so a bad token fails startSlack() at once.
    deferInitialization: true,
    clientOptions: { ...apiUrl, fetch: fetchWithTimeout, timeout: timeoutMs, retryConfig: { retries: 3 } },
  });

  const inFlight = new InFlight();
  const ctx: ListenerContext = {
    bot,
    config,
    logger,
    ...(deps.humanLoop ? { humanLoop: deps.humanLoop } : {}),
    track(name, listener) {
      return async (args) => {
        const done = inFlight.begin();
        try {
          await listener(args);
        } catch (err) {
          logger.error({ listener: name, err: errorText(err) }, 'slack listener failed');
        } finally {
          done();
        }
      };
    },
  };
  registerListeners(app, ctx);

  // A token Slack refuses or a port already taken is a mistake in the settings, not a bug: one
  // line that says what to fix, no stack.
  await app.init().catch((err: unknown) => {
    const refused = refusedTokenReason(err);
    if (refused) {
      throw new AdapterStartError(
        `Slack refused SLACK_BOT_TOKEN (auth.test: ${refused}): copy the Bot User OAuth Token (xoxb-…) from the Slack app's "OAuth & Permissions" page into SLACK_BOT_TOKEN`,
      );
    }
    throw new AdapterStartError(`Slack login failed (auth.test): ${errorText(err)}`);
  });
  await checkScopes(app.client, logger);
  let server: Server | null = null;
  if (receiver instanceof HTTPReceiver) {
    guardRequestBodies(receiver, signingSecret as string, logger, options.httpGuard);
    const port = options.listen?.port ?? config.PORT;
    server = await receiver.start(options.listen?.host ? { port, host: options.listen.host } : port).catch((err: unknown) => {
      const problem = listenProblem(err, port);
      throw problem ? new AdapterStartError(problem) : err;
    });
  } else {
    await receiver.start().catch((err: unknown) => {
      const refused = refusedTokenReason(err);
      if (refused) {
        throw new AdapterStartError(
          `Slack refused SLACK_APP_TOKEN (apps.connections.open: ${refused}): create an app-level token (xapp-…) with the connections:write scope under "Basic Information" and set SLACK_APP_TOKEN`,
        );
      }
      throw new AdapterStartError(`Slack Socket Mode could not connect: ${errorText(err)}`);
    });
  }
  const port = server ? (server.address() as AddressInfo).port : null;
  // The human loop: cases (from this process or another one sharing the store) are posted here.
  const escalationChannel = config.SLACK_ESCALATION_CHANNEL;
  let stopCases: (() => Promise<void>) | undefined;
  if (deps.humanLoop && escalationChannel) {
    await checkEscalationChannel(app.client, escalationChannel, logger);
    stopCases = deps.humanLoop.serve('slack', slackLoopHandlers(app.client, escalationChannel, logger));
  }
  logger.info(
    { mode, ...(port !== null ? { port, path: '/slack/events' } : {}), annotators: config.SLACK_ANNOTATOR_IDS.length || 'anyone' },
    'slack adapter started',
  );

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const started = Date.now();
      // No new events: the HTTP server stops accepting connections / the socket disconnects
      // (Slack then sends events to the app's other connections). Acknowledged work goes on:
      // respond() and the store do not need the receiver.
      // (Socket Mode: the client's own disconnect(), which, unlike app.stop(), resolves once
      // the socket is closed.)
      const closing = (receiver instanceof SocketModeReceiver ? receiver.client.disconnect() : receiver.stop()).catch(
        (err: unknown) => logger.warn({ err: errorText(err) }, 'slack receiver did not stop cleanly'),
      );
      const pending = inFlight.size;
      await inFlight.idle();
      await stopCases?.();
      // Keep-alive connections would otherwise hold server.close() open.
      server?.closeAllConnections();
      await closing;
      logger.info({ waitedFor: pending, ms: Date.now() - started }, 'slack adapter stopped');
    })();
    return stopping;
  };

  return {
    name: mode === 'socket' ? 'slack (socket mode)' : `slack (http :${port})`,
    mode,
    port,
    get inFlight() {
      return inFlight.size;
    },
    idle: () => inFlight.idle(),
    stop,
  };
}
