/**
 * fakeSlack: everything of Slack a Bolt app talks to, on 127.0.0.1 (no network), plus the
 * helpers to talk to the app the way Slack does. One HTTP server on a random port serves:
 *
 * - the Web API: `POST /api/<method>` (point the app at it with `clientOptions.slackApiUrl`,
 *   i.e. SLACK_API_URL = `fake.apiUrl`). Every call is recorded in `apiCalls` (form or JSON
 *   body parsed, and the answer given). `auth.test` answers a bot identity with the
 *   `x-oauth-scopes` header listing the bot token's scopes (option `scopes`, default every scope
 *   of the manifest; Slack sends it on every call), `apps.connections.open` the fake's own
 *   Socket Mode URL, anything else `{ ok: true }`; `onApi(method, handler)` overrides one
 *   (`null` restores it). A method whose scope the token lacks answers Slack's `{ok: false,
 *   error: 'missing_scope', needed, provided}` (`chat:write` for `chat.*`, `assistant:write` for
 *   `assistant.threads.*`). A small workspace stands behind the messaging methods, answering as
 *   Slack does:
 *   - channels (`addChannel({ id, name, isPrivate, isMember, archived })`; the bot is a member
 *     unless told otherwise): `conversations.info` gives the channel (`channel_not_found` for an
 *     unknown one, or a private one the bot is not in; `missing_scope` when `scopes` lacks
 *     `channels:read`/`groups:read`); `D…` ids are the app's direct-message channels;
 *   - `chat.postMessage`: into a channel the bot is in, or a public one with `chat:write.public`
 *     (`not_in_channel`, `channel_not_found`, `is_archived` otherwise), in a thread (`thread_ts`,
 *     `reply_broadcast`), or to a user id (the app's DM with that user, channel `D…`);
 *     `chat.update` of a message it posted (`message_not_found`); `chat.postEphemeral`. Bodies
 *     are checked against Block Kit's limits, as for a response_url below (`invalid_blocks`,
 *     `msg_too_long`). Messages are kept in `channelMessages` (current state, and every
 *     `chat.update` in `edits`); `threadMessages(channel, ts)` lists a thread.
 *   - `views.open`: needs a `trigger_id` the fake issued less than 3 seconds ago (`blockActions`
 *     and `slashCommand` issue them; `expired_trigger_id` after, `invalid_trigger_id` for an
 *     unknown one) and a valid modal (`invalid_arguments`: title/submit/close ≤ 24 characters,
 *     callback_id, ≤ 100 blocks, private_metadata ≤ 3000); recorded in `openedViews`.
 * - `response_url`s: `responseUrl(key?)` gives a URL under `/respond/<key>`; every JSON post to
 *   it (what Bolt's `respond()` sends) is recorded in `responses`, with the status answered.
 *   `waitForResponses(key, n)` waits for them (`waitForResponseCount(n)` for all keys together,
 *   e.g. in load tests); `setResponseStatus(404)` makes them fail (expired URL). Like Slack, a
 *   message Slack would refuse is answered `400 {ok:false, error:'invalid_blocks', errors}`
 *   (more than 50 blocks, a section text empty or over 3000 characters, more than 10 context
 *   elements, button or option texts too long…), or `msg_too_long` / `no_text`;
 *   `rejectNext(n)` refuses the next `n` messages with blocks that way whatever they hold
 *   (posted to a response_url or through chat.postMessage / chat.update).
 * - Socket Mode: a `ws` WebSocket server at `/link/`. On connection it sends `{type:'hello'}`;
 *   `sendEnvelope(type, payload)` sends `{envelope_id, type, payload, accepts_response_payload}`
 *   to the newest connection and resolves with the app's acknowledgement
 *   `{envelope_id, payload}`. `waitForSocket()` / `waitForSocketClose()` follow the connection.
 *
 * And, for HTTP mode, Slack's side of a request:
 * - `slashCommand({...})` / `blockActions({...})`: realistic payloads (every field Bolt needs).
 * - Events API: `eventCallback(event)` wraps an event in Slack's `event_callback` envelope
 *   (`appMention`, `assistantThreadStarted`, `imMessage` build the events); over HTTP it is
 *   posted as JSON with `postEventToApp`, in Socket Mode as `sendEnvelope('events_api', …)`.
 * - `formBody(payload)`: the urlencoded body Slack posts (interactive payloads as the `payload`
 *   field holding JSON); content type exactly `application/x-www-form-urlencoded`.
 * - `postToApp(url, payload, { signingSecret, timestamp?, tamper? })`: signs (`v0=` +
 *   HMAC-SHA256 of `v0:{ts}:{raw body}`, see test/helpers/slackHttp.ts) and posts; returns
 *   status, body and elapsed ms. `tamper: 'signature' | 'no-headers' | 'stale'` forges the
 *   three rejections Bolt must answer with 401.
 *
 *   const slack = await startFakeSlack();
 *   // app: SLACK_API_URL=slack.apiUrl ...
 *   const res = await postToApp(`${appUrl}/slack/events`,
 *     slashCommand({ text: 'O que é X?', response_url: slack.responseUrl('q1') }), { signingSecret });
 *   const [answer] = await slack.waitForResponses('q1', 1);
 *   ...
 *   await slack.close();
 *
 * With pergunta's adapter (adapters/slack): `startSlack(deps, { listen: { port: 0, host:
 * '127.0.0.1' } })` listens on a free port (`adapter.port`), and `adapter.idle()` resolves when
 * no listener is running. Socket Mode: set SLACK_APP_TOKEN and SLACK_API_URL = `apiUrl`;
 * `startSlack` resolves once the fake has sent `hello`. test/adapters/slack.test.ts shows both.
 *
 * Remember Bolt runs listeners after `ack()` (processBeforeResponse: false): wait for the last
 * side effect (usually the last `respond()`, or `adapter.idle()`), or late calls leak into the
 * next test. Stop the app before `close()` (Socket Mode: `waitForSocketClose()` first).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { postRaw, type RawPostResult } from '../helpers/slackHttp.js';

export interface ApiCall {
  method: string;
  headers: IncomingHttpHeaders;
  /** Parsed form or JSON body. */
  body: Record<string, unknown>;
  at: number;
  /** What the fake answered (`{ok, …}`), once it has. */
  answer?: unknown;
}

export interface ResponsePost {
  /** The `<key>` of `/respond/<key>`. */
  key: string;
  /** HTTP status the fake answered (400 when it refused the message, like Slack). */
  status: number;
  /** The JSON Bolt posted (`text`, `blocks`, `response_type`, `replace_original`...). */
  body: ResponseBody;
  at: number;
}

/** What Bolt's respond() posts; only the fields tests usually read are typed. */
export interface ResponseBody {
  text?: string;
  blocks?: SlackBlock[];
  response_type?: 'in_channel' | 'ephemeral';
  replace_original?: boolean;
  delete_original?: boolean;
  [field: string]: unknown;
}

/** A Block Kit block as JSON; tests narrow it further. */
export interface SlackBlock {
  type: string;
  block_id?: string;
  text?: { type: string; text: string };
  elements?: Array<Record<string, unknown>>;
  [field: string]: unknown;
}

export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export type ApiHandler = (call: ApiCall) => { status?: number; body: unknown } | Promise<{ status?: number; body: unknown }>;

export interface FakeChannel {
  id: string;
  name: string;
  isPrivate: boolean;
  /** Whether the bot was invited. */
  isMember: boolean;
  archived: boolean;
}

/** A message the app posted (current state after updates). */
export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: SlackBlock[];
  threadTs: string | null;
  replyBroadcast: boolean;
  /** For DMs: the user the app wrote to. */
  user: string | null;
  updates: number;
  /** What each chat.update sent, in order. */
  edits: Array<{ text?: string; blocks?: SlackBlock[] }>;
}

/** A modal the app opened. */
export interface OpenedView {
  id: string;
  triggerId: string;
  view: Record<string, unknown>;
  at: number;
}

/** Every scope the app's manifest asks for (adapters/slack/manifest.yml). */
export const ALL_SCOPES = ['commands', 'chat:write', 'channels:read', 'groups:read', 'chat:write.public', 'app_mentions:read', 'assistant:write', 'im:history'];

export interface FakeSlackOptions {
  /** Scopes of the bot token, sent in `x-oauth-scopes`. Default ALL_SCOPES. */
  scopes?: string[];
}

export interface FakeSlack {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/api/`: the app's SLACK_API_URL / `clientOptions.slackApiUrl`. */
  readonly apiUrl: string;
  /** What `apps.connections.open` returns: `ws://127.0.0.1:<port>/link/?ticket=…`. */
  readonly socketUrl: string;
  readonly apiCalls: ApiCall[];
  readonly responses: ResponsePost[];
  /** A fresh response_url; `key` defaults to a random id. */
  responseUrl(key?: string): string;
  responsesFor(key: string): ResponsePost[];
  /** Resolves when `key` has received `n` posts; rejects after `timeoutMs` (default 5000). */
  waitForResponses(key: string, n: number, timeoutMs?: number): Promise<ResponsePost[]>;
  /** Resolves when `n` posts in all (any key) have arrived: handy for load tests. */
  waitForResponseCount(n: number, timeoutMs?: number): Promise<void>;
  /** HTTP status the response_url answers with (default 200). */
  setResponseStatus(status: number): void;
  /**
   * The next `times` (default 1) messages carrying blocks are refused with `invalid_blocks` (400
   * on a response_url, `{ok: false}` from chat.postMessage / chat.update).
   */
  rejectNext(times?: number): void;
  /**
   * The next `times` (default 1) Web API calls of `method` (`chat.postMessage`, `chat.update`)
   * carrying blocks are refused as Slack does: HTTP 200 `{ok: false, error: 'invalid_blocks'}`.
   */
  rejectBlocksNext(method: 'chat.postMessage' | 'chat.update', times?: number): void;
  /** Overrides the answer to one Web API method; `null` restores the fake's own. */
  onApi(method: string, handler: ApiHandler | null): void;
  /** The messages of a thread: its parent (when the app posted it) and every reply, oldest first. */
  threadMessages(channel: string, threadTs: string): PostedMessage[];
  /**
   * The reply to a `/pergunta` asked in `channel` with response_url `key`: the message the app
   * posted in that channel (public answers, chat.postMessage), or the first post to the
   * response_url (private answers, refusals, errors), whichever comes first; shaped as a
   * response_url post (`response_type: 'in_channel'` for a posted message).
   */
  waitForReply(key: string, channel: string, timeoutMs?: number): Promise<ResponseBody>;
  /** Resolves when `check()` holds, re-checked after every Web API call; rejects after `timeoutMs` (default 5000). */
  waitFor(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The scopes `auth.test` reports (see FakeSlackOptions; `setScopes` sets them too). */
  scopes: string[];
  /** Socket Mode connections currently open. */
  readonly openSockets: number;
  /** Resolves once a Socket Mode client is connected (and has been sent `hello`). */
  waitForSocket(timeoutMs?: number): Promise<void>;
  /** Resolves once no Socket Mode connection is open. */
  waitForSocketClose(timeoutMs?: number): Promise<void>;
  /** Sends an envelope to the newest connection; resolves with the app's ack. */
  sendEnvelope(type: 'slash_commands' | 'interactive' | 'events_api', payload: object, timeoutMs?: number): Promise<SocketAck>;
  /** Adds a channel to the workspace (default: public, the bot a member). */
  addChannel(channel: Partial<FakeChannel> & { id: string }): void;
  /** Scopes the bot token has (`x-oauth-scopes`); `conversations.info` needs channels:read (public) / groups:read (private). Default ALL_SCOPES. */
  setScopes(scopes: string[]): void;
  /** Messages the app posted, in order (current state). */
  readonly channelMessages: PostedMessage[];
  /** Resolves with the first posted message matching `check`. */
  waitForMessage(check: (m: PostedMessage) => boolean, timeoutMs?: number): Promise<PostedMessage>;
  /** Modals the app opened, in order. */
  readonly openedViews: OpenedView[];
  /** A trigger id as Slack sends with an interaction (valid for 3 seconds from now). */
  newTriggerId(): string;
  /** Forgets recorded calls and responses (the server keeps running). */
  reset(): void;
  close(): Promise<void>;
}

const DEFAULT_TEAM = { id: 'T0FAKE', domain: 'curso-fake' };

/**
 * Why Slack would refuse a message posted to a response_url, from Block Kit's documented
 * limits; null when it would accept it. Slack answers these with HTTP 400.
 */
export function slackMessageProblems(body: ResponseBody): { error: string; errors: string[] } | null {
  const errors: string[] = [];
  const text = typeof body.text === 'string' ? body.text : '';
  if (text.length > 40_000) return { error: 'msg_too_long', errors: [`text: ${text.length} > 40000`] };
  if (body.blocks === undefined) return text.trim() === '' && !body.delete_original ? { error: 'no_text', errors: [] } : null;
  if (!Array.isArray(body.blocks)) return { error: 'invalid_blocks', errors: ['blocks: not an array'] };
  if (body.blocks.length > 50) errors.push(`blocks: ${body.blocks.length} > 50 [json-pointer:/blocks]`);
  const textObject = (where: string, object: unknown, max: number) => {
    const t = (object as { type?: unknown; text?: unknown } | undefined) ?? {};
    if (t.type !== 'plain_text' && t.type !== 'mrkdwn') errors.push(`${where}.type: must be plain_text or mrkdwn`);
    if (typeof t.text !== 'string' || t.text.length === 0) errors.push(`${where}.text: must be at least 1 character`);
    else if (t.text.length > max) errors.push(`${where}.text: ${t.text.length} > ${max}`);
  };
  body.blocks.forEach((block, i) => {
    const at = `/blocks/${i}`;
    if (typeof block.block_id === 'string' && block.block_id.length > 255) errors.push(`${at}/block_id: > 255`);
    switch (block.type) {
      case 'section': {
        const fields = (block.fields as unknown[] | undefined) ?? [];
        if (block.text === undefined && fields.length === 0) errors.push(`${at}: needs text or fields`);
        if (block.text !== undefined) textObject(`${at}/text`, block.text, 3000);
        if (fields.length > 10) errors.push(`${at}/fields: ${fields.length} > 10`);
        fields.forEach((f, j) => textObject(`${at}/fields/${j}`, f, 2000));
        break;
      }
      case 'context': {
        const elements = block.elements ?? [];
        if (elements.length === 0 || elements.length > 10) errors.push(`${at}/elements: ${elements.length} (1..10)`);
        elements.forEach((e, j) => e.type !== 'image' && textObject(`${at}/elements/${j}`, e, 3000));
        break;
      }
      case 'actions': {
        const elements = block.elements ?? [];
        if (elements.length === 0 || elements.length > 25) errors.push(`${at}/elements: ${elements.length} (1..25)`);
        elements.forEach((e, j) => {
          const where = `${at}/elements/${j}`;
          if (typeof e.action_id === 'string' && e.action_id.length > 255) errors.push(`${where}/action_id: > 255`);
          if (e.type === 'button') {
            textObject(`${where}/text`, e.text, 75);
            if (typeof e.value === 'string' && e.value.length > 2000) errors.push(`${where}/value: > 2000`);
            if (typeof e.url === 'string' && e.url.length > 3000) errors.push(`${where}/url: > 3000`);
          } else if (e.type === 'static_select') {
            const options = (e.options as Array<{ text?: unknown; value?: unknown }> | undefined) ?? [];
            if (options.length === 0 || options.length > 100) errors.push(`${where}/options: ${options.length} (1..100)`);
            options.forEach((o, k) => {
              textObject(`${where}/options/${k}/text`, o.text, 75);
              if (typeof o.value !== 'string' || o.value.length > 150) errors.push(`${where}/options/${k}/value: 1..150`);
            });
          }
        });
        break;
      }
      case 'header':
        textObject(`${at}/text`, block.text, 150);
        break;
      case 'divider':
        break;
      default:
        errors.push(`${at}/type: unsupported type ${String(block.type)}`);
    }
  });
  return errors.length > 0 ? { error: 'invalid_blocks', errors } : null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (raw === '') return {};
  if (contentType?.includes('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { value: parsed };
    } catch {
      return { raw };
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Polls `check` until it returns true (waking on `signal()`), or rejects after `timeoutMs`. */
function waiter() {
  const wakers = new Set<() => void>();
  return {
    signal: () => {
      for (const wake of [...wakers]) wake();
    },
    until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
      return new Promise((resolve, reject) => {
        const test = () => {
          if (!check()) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`fakeSlack: timed out after ${timeoutMs} ms waiting for ${what()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          wakers.delete(test);
        };
        wakers.add(test);
        test();
      });
    },
  };
}

/** Web API methods and the scope each needs (the ones the fake checks). */
const NEEDED_SCOPES: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'assistant.threads.setStatus': 'assistant:write',
  'assistant.threads.setSuggestedPrompts': 'assistant:write',
  'assistant.threads.setTitle': 'assistant:write',
};

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const apiCalls: ApiCall[] = [];
  const responses: ResponsePost[] = [];
  const byKey = new Map<string, ResponsePost[]>();
  const handlers = new Map<string, ApiHandler>();
  const sockets = new Set<Socket>();
  const wsClients = new Set<WebSocket>();
  const acks = new Map<string, (ack: SocketAck) => void>();
  const changes = waiter();
  let responseStatus = 200;
  /** `rejectNext`: refusals still due, for a response_url or a Web API message alike. */
  let rejections = 0;
  const apiRejections = new Map<string, number>();
  /** Whether a `rejectNext` / `rejectBlocksNext` refusal is due for this call (and counts it). */
  const rejectsBlocks = (method: string, blocks: unknown): boolean => {
    if (!Array.isArray(blocks) || blocks.length === 0) return false;
    const left = apiRejections.get(method) ?? 0;
    if (left > 0) {
      apiRejections.set(method, left - 1);
      return true;
    }
    if (rejections > 0) {
      rejections--;
      return true;
    }
    return false;
  };
  let tickets = 0;
  let url = '';
  const channels = new Map<string, FakeChannel>();
  const posted: PostedMessage[] = [];
  const byTs = new Map<string, PostedMessage>();
  const openedViews: OpenedView[] = [];
  let scopes = [...(options.scopes ?? ALL_SCOPES)];
  let tsCounter = 0;
  /** Slack message timestamps: seconds, a dot, six digits, increasing. */
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
  const dmOf = (user: string) => `D${user.replace(/^[UW]/, '')}`;
  /** A direct-message channel of the app (Slack's `D…` ids): it may always write there. */
  const isDm = (channel: string) => /^D[A-Z0-9]+$/.test(channel);
  const slackError = (error: string, extra: Record<string, unknown> = {}) => ({ body: { ok: false, error, ...extra } });
  /** Form bodies carry JSON fields as strings (the Web API client sends blocks that way). */
  const jsonField = (value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  };

  /**
   * Why Slack would refuse a message posted or updated through the Web API: the same Block Kit
   * limits as a response_url (`slackMessageProblems`), or a refusal asked for (`rejectNext`,
   * `rejectBlocksNext`). Slack answers these with HTTP 200 `{ok: false, error}`.
   */
  function messageRefusal(method: string, text: unknown, rawBlocks: unknown): { error: string; errors: string[] } | null {
    const blocks = jsonField(rawBlocks);
    if (rawBlocks !== undefined && !Array.isArray(blocks)) return { error: 'invalid_blocks_format', errors: ['blocks: not a JSON array'] };
    const refusal = slackMessageProblems({ ...(typeof text === 'string' ? { text } : {}), ...(Array.isArray(blocks) ? { blocks: blocks as SlackBlock[] } : {}) });
    if (refusal) return refusal;
    if (rejectsBlocks(method, blocks)) return { error: 'invalid_blocks', errors: ['fakeSlack: refused on request (rejectNext / rejectBlocksNext)'] };
    return null;
  }

  const triggers = new Map<string, number>();
  const newTriggerId = () => {
    const id = `${Date.now()}.${++tickets}.${randomUUID().slice(0, 8)}`;
    triggers.set(id, Date.now());
    return id;
  };

  function workspaceApi(call: ApiCall): { status?: number; body: unknown } | undefined {
    const b = call.body;
    switch (call.method) {
      case 'conversations.info': {
        const channel = channels.get(String(b.channel ?? ''));
        if (!channel || (channel.isPrivate && !channel.isMember)) return slackError('channel_not_found');
        const needed = channel.isPrivate ? 'groups:read' : 'channels:read';
        if (!scopes.includes(needed)) return slackError('missing_scope', { needed, provided: scopes.join(',') });
        return {
          body: {
            ok: true,
            channel: { id: channel.id, name: channel.name, is_channel: !channel.isPrivate, is_group: false, is_private: channel.isPrivate, is_archived: channel.archived, is_member: channel.isMember, created: 1700000000 },
          },
        };
      }
      case 'chat.postMessage': {
        const target = String(b.channel ?? '');
        const blocks = jsonField(b.blocks);
        const text = typeof b.text === 'string' ? b.text : '';
        if (!text && !Array.isArray(blocks)) return slackError('no_text');
        const refused = messageRefusal(call.method, b.text, b.blocks);
        if (refused) return slackError(refused.error, { errors: refused.errors });
        let channelId = target;
        let user: string | null = null;
        if (/^[UW][A-Z0-9]+$/.test(target)) {
          user = target;
          channelId = dmOf(target);
        } else if (!isDm(target)) {
          const channel = channels.get(target);
          if (!channel || (channel.isPrivate && !channel.isMember)) return slackError('channel_not_found');
          if (channel.archived) return slackError('is_archived');
          // chat:write.public lets a bot post in a public channel it was not invited to.
          if (!channel.isMember && (channel.isPrivate || !scopes.includes('chat:write.public'))) return slackError('not_in_channel');
        }
        const threadTs = typeof b.thread_ts === 'string' ? b.thread_ts : null;
        // A thread under one of the app's messages, or under a person's (which the fake never saw,
        // e.g. the message of an app_mention): any well-formed timestamp.
        if (threadTs && !byTs.has(`${channelId}:${threadTs}`) && !/^\d+\.\d+$/.test(threadTs)) return slackError('thread_not_found');
        const message: PostedMessage = {
          channel: channelId,
          ts: nextTs(),
          text,
          blocks: (Array.isArray(blocks) ? blocks : []) as SlackBlock[],
          threadTs,
          replyBroadcast: b.reply_broadcast === true || b.reply_broadcast === 'true',
          user,
          updates: 0,
          edits: [],
        };
        posted.push(message);
        byTs.set(`${channelId}:${message.ts}`, message);
        return { body: { ok: true, channel: channelId, ts: message.ts, message: { type: 'message', text, blocks: message.blocks, ts: message.ts, bot_id: 'B0BOT', ...(threadTs ? { thread_ts: threadTs } : {}) } } };
      }
      case 'chat.update': {
        const message = byTs.get(`${String(b.channel ?? '')}:${String(b.ts ?? '')}`);
        if (!message) return slackError('message_not_found');
        const blocks = jsonField(b.blocks);
        const refused = messageRefusal(call.method, b.text, b.blocks);
        if (refused) return slackError(refused.error, { errors: refused.errors });
        if (typeof b.text === 'string') message.text = b.text;
        if (Array.isArray(blocks)) message.blocks = blocks as SlackBlock[];
        message.updates++;
        message.edits.push({ ...(typeof b.text === 'string' ? { text: b.text } : {}), ...(Array.isArray(blocks) ? { blocks: blocks as SlackBlock[] } : {}) });
        return { body: { ok: true, channel: message.channel, ts: message.ts, text: message.text, message: { type: 'message', text: message.text, blocks: message.blocks } } };
      }
      case 'chat.postEphemeral': {
        const channel = String(b.channel ?? '');
        if (!isDm(channel) && !channels.has(channel)) return slackError('channel_not_found');
        if (typeof b.user !== 'string' || b.user === '') return slackError('user_not_in_channel');
        return { body: { ok: true, message_ts: nextTs() } };
      }
      case 'views.open': {
        const triggerId = String(b.trigger_id ?? '');
        const issued = triggers.get(triggerId);
        if (issued === undefined) return slackError('invalid_trigger_id');
        if (Date.now() - issued > 3000) return slackError('expired_trigger_id');
        const view = jsonField(b.view) as Record<string, unknown> | undefined;
        const plain = (x: unknown) => (x as { text?: unknown } | undefined)?.text;
        const problems: string[] = [];
        if (!view || view.type !== 'modal') problems.push('view.type must be modal');
        for (const field of ['title', 'submit', 'close']) {
          const t = plain(view?.[field]);
          if (field === 'title' ? typeof t !== 'string' || t.length === 0 || t.length > 24 : t !== undefined && (typeof t !== 'string' || t.length > 24)) problems.push(`view.${field}: 1..24 characters`);
        }
        if (typeof view?.callback_id === 'string' && view.callback_id.length > 255) problems.push('callback_id > 255');
        if (typeof view?.private_metadata === 'string' && view.private_metadata.length > 3000) problems.push('private_metadata > 3000');
        if (!Array.isArray(view?.blocks) || view.blocks.length > 100) problems.push('blocks: 1..100');
        if (problems.length) return slackError('invalid_arguments', { response_metadata: { messages: problems } });
        const opened: OpenedView = { id: `V${++tickets}`, triggerId, view: view!, at: Date.now() };
        openedViews.push(opened);
        return { body: { ok: true, view: { ...view, id: opened.id, team_id: DEFAULT_TEAM.id, state: { values: {} }, hash: `${Date.now()}.hash` } } };
      }
      default:
        return undefined;
    }
  }

  const defaultApi = (call: ApiCall): { status?: number; body: unknown } => {
    const needed = NEEDED_SCOPES[call.method];
    if (needed && !scopes.includes(needed)) return { body: { ok: false, error: 'missing_scope', needed, provided: scopes.join(',') } };
    switch (call.method) {
      case 'auth.test':
        return {
          body: {
            ok: true,
            url: `https://${DEFAULT_TEAM.domain}.slack.com/`,
            team: 'Curso Fake',
            user: 'pergunta',
            team_id: DEFAULT_TEAM.id,
            user_id: 'U0BOT',
            bot_id: 'B0BOT',
            is_enterprise_install: false,
          },
        };
      case 'apps.connections.open':
        return { body: { ok: true, url: `${url.replace(/^http/, 'ws')}/link/?ticket=fake-ticket-${++tickets}&app_id=A0FAKE` } };
      default:
        return workspaceApi(call) ?? { body: { ok: true } };
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const api = /^\/api\/([\w.]+)$/.exec(path);
      if (api && req.method === 'POST') {
        const call: ApiCall = { method: api[1] as string, headers: req.headers, body: parseBody(raw, req.headers['content-type']), at: Date.now() };
        apiCalls.push(call);
        changes.signal();
        const answer = await (handlers.get(call.method) ?? defaultApi)(call);
        call.answer = answer.body;
        // Slack lists the token's scopes on every Web API answer (the WebClient reads them into
        // response_metadata.scopes); auth.test is where apps look.
        res.setHeader('x-oauth-scopes', scopes.join(','));
        sendJson(res, answer.status ?? 200, answer.body);
        changes.signal();
        return;
      }
      const respond = /^\/respond\/([^/]+)$/.exec(path);
      if (respond && req.method === 'POST') {
        const body = parseBody(raw, 'application/json') as ResponseBody;
        let refusal = responseStatus < 300 ? slackMessageProblems(body) : null;
        if (responseStatus < 300 && rejections > 0 && Array.isArray(body.blocks)) {
          rejections--;
          refusal ??= { error: 'invalid_blocks', errors: ['fakeSlack: refused on request (rejectNext)'] };
        }
        const status = refusal ? 400 : responseStatus;
        const post: ResponsePost = { key: decodeURIComponent(respond[1] as string), status, body, at: Date.now() };
        responses.push(post);
        const list = byKey.get(post.key);
        if (list) list.push(post);
        else byKey.set(post.key, [post]);
        changes.signal();
        if (refusal) {
          sendJson(res, 400, { ok: false, ...refusal });
          return;
        }
        res.writeHead(responseStatus, { 'content-type': 'text/plain' });
        res.end(responseStatus < 300 ? 'ok' : 'expired_url');
        return;
      }
      sendJson(res, 404, { ok: false, error: 'unknown_method' });
    })().catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: String(err) });
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/link')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      wsClients.add(ws);
      ws.on('message', (data) => {
        let message: unknown;
        try {
          message = JSON.parse(String(data));
        } catch {
          return;
        }
        const id = (message as { envelope_id?: unknown }).envelope_id;
        if (typeof id === 'string') acks.get(id)?.(message as SocketAck);
      });
      ws.on('close', () => {
        wsClients.delete(ws);
        changes.signal();
      });
      ws.send(JSON.stringify({ type: 'hello', num_connections: wsClients.size, debug_info: { host: 'fake-slack' }, connection_info: { app_id: 'A0FAKE' } }));
      changes.signal();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const newest = (): WebSocket | undefined => [...wsClients].filter((ws) => ws.readyState === ws.OPEN).pop();

  return {
    url,
    apiUrl: `${url}/api/`,
    get socketUrl() {
      return `${url.replace(/^http/, 'ws')}/link/`;
    },
    apiCalls,
    responses,
    responseUrl: (key = randomUUID()) => `${url}/respond/${encodeURIComponent(key)}`,
    responsesFor: (key) => [...(byKey.get(key) ?? [])],
    async waitForResponses(key, n, timeoutMs = 5000) {
      const count = () => byKey.get(key)?.length ?? 0;
      await changes.until(() => count() >= n, timeoutMs, () => `${n} posts to response_url ${key} (got ${count()})`);
      return [...(byKey.get(key) ?? [])];
    },
    async waitForResponseCount(n, timeoutMs = 5000) {
      await changes.until(() => responses.length >= n, timeoutMs, () => `${n} posts to response_urls in all (got ${responses.length})`);
    },
    setResponseStatus(status) {
      responseStatus = status;
    },
    rejectNext(times = 1) {
      rejections += times;
    },
    rejectBlocksNext(method, times = 1) {
      apiRejections.set(method, (apiRejections.get(method) ?? 0) + times);
    },
    onApi(method, handler) {
      if (handler) handlers.set(method, handler);
      else handlers.delete(method);
    },
    threadMessages: (channel, threadTs) => posted.filter((m) => m.channel === channel && (m.ts === threadTs || m.threadTs === threadTs)),
    waitFor: (check, what, timeoutMs = 5000) => changes.until(check, timeoutMs, () => what),
    async waitForReply(key, channel, timeoutMs = 5000) {
      const inChannel = () => posted.find((m) => m.channel === channel && m.threadTs === null);
      await changes.until(() => inChannel() !== undefined || (byKey.get(key)?.length ?? 0) > 0, timeoutMs, () => `a reply in ${channel} or to response_url ${key}`);
      const message = inChannel();
      return message ? { response_type: 'in_channel', text: message.text, blocks: message.blocks } : byKey.get(key)![0]!.body;
    },
    get scopes() {
      return scopes;
    },
    set scopes(value: string[]) {
      scopes = [...value];
    },
    get openSockets() {
      return wsClients.size;
    },
    waitForSocket: (timeoutMs = 5000) => changes.until(() => newest() !== undefined, timeoutMs, () => 'a Socket Mode connection'),
    waitForSocketClose: (timeoutMs = 5000) =>
      changes.until(() => wsClients.size === 0, timeoutMs, () => `${wsClients.size} Socket Mode connection(s) to close`),
    sendEnvelope(type, payload, timeoutMs = 5000) {
      const ws = newest();
      if (!ws) return Promise.reject(new Error('fakeSlack: no Socket Mode connection'));
      const envelopeId = randomUUID();
      return new Promise<SocketAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          acks.delete(envelopeId);
          reject(new Error(`fakeSlack: no ack for ${type} envelope after ${timeoutMs} ms`));
        }, timeoutMs);
        acks.set(envelopeId, (ack) => {
          clearTimeout(timer);
          acks.delete(envelopeId);
          resolve(ack);
        });
        ws.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api' }));
      });
    },
    addChannel(channel) {
      channels.set(channel.id, { name: channel.id.toLowerCase(), isPrivate: false, isMember: true, archived: false, ...channel });
    },
    setScopes(list) {
      scopes = [...list];
    },
    channelMessages: posted,
    waitForMessage(check, timeoutMs = 5000) {
      return changes.until(() => posted.some(check), timeoutMs, () => `a posted message (${posted.length} so far)`).then(() => posted.find(check)!);
    },
    openedViews,
    newTriggerId,
    reset() {
      apiCalls.length = 0;
      responses.length = 0;
      byKey.clear();
      responseStatus = 200;
      rejections = 0;
      apiRejections.clear();
      handlers.clear();
      posted.length = 0;
      byTs.clear();
      openedViews.length = 0;
    },
    async close() {
      for (const ws of wsClients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Slack's side of an HTTP request

export interface SlashCommandPayload {
  token: string;
  command: string;
  text: string;
  response_url: string;
  trigger_id: string;
  user_id: string;
  user_name: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  api_app_id: string;
  is_enterprise_install: string;
}

/** A `/pergunta` (by default) slash command payload; override any field. */
export function slashCommand(fields: Partial<SlashCommandPayload> & { text: string; response_url: string }): SlashCommandPayload {
  return {
    token: 'legacy-verification-token',
    command: '/pergunta',
    trigger_id: `${Date.now()}.trigger`,
    user_id: 'U0ALUNO',
    user_name: 'aluno',
    team_id: DEFAULT_TEAM.id,
    team_domain: DEFAULT_TEAM.domain,
    channel_id: 'C0DUVIDAS',
    channel_name: 'duvidas',
    api_app_id: 'A0FAKE',
    is_enterprise_install: 'false',
    ...fields,
  };
}

/** One element action inside a `block_actions` payload. */
export type ElementAction =
  | { type: 'button'; action_id: string; value: string; block_id?: string; text?: string }
  | { type: 'static_select'; action_id: string; selected: { value: string; text: string }; block_id?: string };

export interface BlockActionsPayload {
  type: 'block_actions';
  [field: string]: unknown;
}

/** A `block_actions` payload for a click on a message posted by the app. */
export function blockActions(opts: {
  userId: string;
  action: ElementAction;
  response_url: string;
  channelId?: string;
  messageTs?: string;
  /** Display name Slack sends as `user.name` (default: the id in lower case). */
  userName?: string;
  /** A trigger id the fake issued (`fake.newTriggerId()`), so the app can open a modal with it. */
  triggerId?: string;
}): BlockActionsPayload {
  const ts = `${Math.floor(Date.now() / 1000)}.000100`;
  const { action } = opts;
  const element =
    action.type === 'button'
      ? {
          type: 'button',
          action_id: action.action_id,
          block_id: action.block_id ?? 'pergunta_feedback',
          text: { type: 'plain_text', text: action.text ?? action.action_id, emoji: true },
          value: action.value,
          action_ts: ts,
        }
      : {
          type: 'static_select',
          action_id: action.action_id,
          block_id: action.block_id ?? 'pergunta_feedback',
          selected_option: { text: { type: 'plain_text', text: action.selected.text, emoji: true }, value: action.selected.value },
          action_ts: ts,
        };
  return {
    type: 'block_actions',
    user: { id: opts.userId, username: opts.userName ?? opts.userId.toLowerCase(), name: opts.userName ?? opts.userId.toLowerCase(), team_id: DEFAULT_TEAM.id },
    api_app_id: 'A0FAKE',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: opts.messageTs ?? ts, channel_id: opts.channelId ?? 'C0DUVIDAS', is_ephemeral: false },
    trigger_id: opts.triggerId ?? `${Date.now()}.trigger`,
    team: DEFAULT_TEAM,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: opts.channelId ?? 'C0DUVIDAS', name: 'duvidas' },
    message: { type: 'message', ts: opts.messageTs ?? ts, text: '', bot_id: 'B0BOT' },
    state: { values: {} },
    response_url: opts.response_url,
    actions: [element],
  };
}

export interface ViewSubmissionPayload {
  type: 'view_submission';
  [field: string]: unknown;
}

/** One input's value in a submitted modal, as Slack puts it in `view.state.values[block][action]`. */
export type ViewInputValue =
  | { type: 'plain_text_input'; value: string | null }
  | { type: 'radio_buttons'; selected_option: { value: string; text?: { type: 'plain_text'; text: string } } | null }
  | { type: 'checkboxes'; selected_options: Array<{ value: string; text?: { type: 'plain_text'; text: string } }> };

/** A `view_submission` payload for a modal the app opened (its callback_id and private_metadata). */
export function viewSubmission(opts: {
  userId: string;
  userName?: string;
  callbackId: string;
  privateMetadata?: string;
  values: Record<string, Record<string, ViewInputValue>>;
  viewId?: string;
}): ViewSubmissionPayload {
  return {
    type: 'view_submission',
    team: DEFAULT_TEAM,
    user: { id: opts.userId, username: opts.userName ?? opts.userId.toLowerCase(), name: opts.userName ?? opts.userId.toLowerCase(), team_id: DEFAULT_TEAM.id },
    api_app_id: 'A0FAKE',
    token: 'legacy-verification-token',
    trigger_id: `${Date.now()}.trigger`,
    view: {
      id: opts.viewId ?? 'V0FAKE',
      team_id: DEFAULT_TEAM.id,
      type: 'modal',
      blocks: [],
      private_metadata: opts.privateMetadata ?? '',
      callback_id: opts.callbackId,
      state: { values: opts.values },
      hash: `${Date.now()}.hash`,
      title: { type: 'plain_text', text: 'Modal' },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Enviar' },
      previous_view_id: null,
      root_view_id: opts.viewId ?? 'V0FAKE',
      app_id: 'A0FAKE',
      external_id: '',
      app_installed_team_id: DEFAULT_TEAM.id,
      bot_id: 'B0BOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** The urlencoded body Slack posts: commands as fields, interactive payloads as `payload=<json>`. */
export function formBody(payload: SlashCommandPayload | BlockActionsPayload | ViewSubmissionPayload): string {
  if ('type' in payload && (payload.type === 'block_actions' || payload.type === 'view_submission')) {
    return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  }
  return new URLSearchParams(payload as unknown as Record<string, string>).toString();
}

/** Status, raw body (Bolt answers the ack's JSON, or empty), parsed JSON, and time taken. */
export type PostResult = RawPostResult;

/**
 * Posts `payload` to the app as Slack would, signed with `signingSecret`. `tamper` forges the
 * requests Bolt must reject: a wrong signature, no signature headers, or a timestamp six
 * minutes old (correctly signed).
 */
export async function postToApp(
  url: string,
  payload: SlashCommandPayload | BlockActionsPayload | ViewSubmissionPayload,
  opts: { signingSecret: string; timestamp?: number; tamper?: 'signature' | 'no-headers' | 'stale' },
): Promise<PostResult> {
  const body = formBody(payload);
  const now = Math.floor(Date.now() / 1000);
  const timestamp = opts.tamper === 'stale' ? now - 6 * 60 : (opts.timestamp ?? now);
  if (opts.tamper === 'no-headers') return postRaw(url, body, { omit: ['signature', 'timestamp'] });
  const signingSecret = opts.tamper === 'signature' ? `${opts.signingSecret}-wrong` : opts.signingSecret;
  return postRaw(url, body, { signingSecret, timestamp });
}

// ---------------------------------------------------------------------------------------------
// Events API

/** Slack's `event_callback` envelope around one event (what Bolt receives over HTTP or a socket). */
export interface EventCallback {
  token: string;
  team_id: string;
  api_app_id: string;
  event: Record<string, unknown>;
  type: 'event_callback';
  event_id: string;
  event_time: number;
  authorizations: Array<Record<string, unknown>>;
  is_ext_shared_channel: boolean;
  event_context: string;
}

let eventCounter = 0;

export function eventCallback(event: Record<string, unknown>): EventCallback {
  eventCounter++;
  return {
    token: 'legacy-verification-token',
    team_id: DEFAULT_TEAM.id,
    api_app_id: 'A0FAKE',
    event,
    type: 'event_callback',
    event_id: `Ev${String(eventCounter).padStart(8, '0')}`,
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: DEFAULT_TEAM.id, user_id: 'U0BOT', is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: `4-fake-${eventCounter}`,
  };
}

/** A message timestamp, as Slack writes them. */
export function slackTs(): string {
  eventCounter++;
  return `${Math.floor(Date.now() / 1000)}.${String(900_000 + eventCounter).padStart(6, '0')}`;
}

/** An `app_mention` event: a message in a channel (or one of its threads) mentioning the bot `<@U0BOT>`. */
export function appMention(opts: { text: string; user: string; channel?: string; ts?: string; thread_ts?: string }): Record<string, unknown> {
  const ts = opts.ts ?? slackTs();
  return {
    type: 'app_mention',
    user: opts.user,
    text: opts.text,
    ts,
    channel: opts.channel ?? 'C0DUVIDAS',
    event_ts: ts,
    team: DEFAULT_TEAM.id,
    client_msg_id: `msg-${ts}`,
    ...(opts.thread_ts ? { thread_ts: opts.thread_ts, parent_user_id: 'U0BOT' } : {}),
    blocks: [{ type: 'rich_text', block_id: 'b1', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: opts.text }] }] }],
  };
}

/** `assistant_thread_started`: a user opened the app's assistant container. */
export function assistantThreadStarted(opts: { user: string; channel: string; thread_ts: string; context?: Record<string, unknown> }): Record<string, unknown> {
  return {
    type: 'assistant_thread_started',
    assistant_thread: { user_id: opts.user, context: opts.context ?? {}, channel_id: opts.channel, thread_ts: opts.thread_ts },
    event_ts: slackTs(),
  };
}

/** `assistant_thread_context_changed`: the user moved to another channel with the container open. */
export function assistantThreadContextChanged(opts: { user: string; channel: string; thread_ts: string; context: Record<string, unknown> }): Record<string, unknown> {
  return { ...assistantThreadStarted(opts), type: 'assistant_thread_context_changed' };
}

/** A `message` event in a direct-message channel (`message.im`), e.g. in an assistant thread. */
export function imMessage(opts: { user: string; channel: string; text: string; thread_ts?: string; ts?: string }): Record<string, unknown> {
  const ts = opts.ts ?? slackTs();
  return {
    type: 'message',
    user: opts.user,
    text: opts.text,
    ts,
    channel: opts.channel,
    channel_type: 'im',
    event_ts: ts,
    team: DEFAULT_TEAM.id,
    client_msg_id: `msg-${ts}`,
    ...(opts.thread_ts ? { thread_ts: opts.thread_ts } : {}),
  };
}

/** Posts an event callback to the app as Slack's Events API does: JSON, signed. */
export async function postEventToApp(url: string, callback: EventCallback, opts: { signingSecret: string }): Promise<PostResult> {
  return postRaw(url, JSON.stringify(callback), { signingSecret: opts.signingSecret, contentType: 'application/json' });
}
