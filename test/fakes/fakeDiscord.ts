/**
 * fakeDiscord: a fake Discord REST API + gateway on 127.0.0.1 for tests (no network). It is
 * complete enough for the REAL discord.js 14 `Client` to log in, register application commands
 * and handle slash commands, buttons and modals; see ../../../shared/notes/offline-testing.md.
 *
 *   const discord = await startFakeDiscord();             // random port, one guild + one channel
 *   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl } });
 *   await client.login(discord.token);                     // or DISCORD_API_URL=discord.apiUrl
 *   const ix = discord.slashCommand({ name: 'pergunta', options: { texto: 'O que é overfitting?' } });
 *   await ix.waitFor(() => ix.edits.length > 0);           // what the bot sent for this interaction
 *   ix.original;                                           // current state of the reply (@original)
 *   const click = discord.clickButton({ customId: 'vote:up:…', message: ix.original });
 *   const submit = discord.submitModal({ customId: 'comment:…', fields: { comentario: 'faltou X' } });
 *   discord.requests;                                      // every REST call, in arrival order
 *   await discord.close();                                 // call after client.destroy()
 *
 * REST (base `apiUrl` = `http://127.0.0.1:<port>/api`; the version prefix `/v10` is accepted and
 * ignored; `%40original` is decoded). Answers 404 JSON to anything else (the discord.js REST
 * client would otherwise retry for a long time).
 * - `GET /gateway/bot`, `GET /gateway`: the gateway URL on the same port.
 * - `GET /users/@me`, `GET /applications/@me`.
 * - `GET|PUT|POST /applications/:app/commands` and `/applications/:app/guilds/:guild/commands`:
 *   PUT replaces the set (bulk overwrite), POST adds or replaces one by name; validated
 *   against Discord's command limits; kept in `commands.global` / `commands.guild(id)`.
 * - `POST /interactions/:id/:token/callback`: types 4 (reply), 5 (defer), 6 (deferred update),
 *   7 (update the component's message), 9 (modal). 204, or 200 with an InteractionCallbackResponse
 *   when `?with_response=true`. Only one callback per interaction (400 code 40060 after that),
 *   and only within `ackDeadlineMs` (default 3000, like Discord) of the dispatch (404 code
 *   10062 "Unknown interaction" afterwards).
 * - `GET|PATCH|DELETE /webhooks/:app/:token/messages/:id` (`@original` or a follow-up id) and
 *   `POST /webhooks/:app/:token` (follow-up): answer full message objects, as Discord does.
 * - Channels and threads (bot-token routes): `GET /channels/:id`; `POST
 *   /channels/:id/messages/:mid/threads` (Start Thread from Message: a PUBLIC_THREAD whose id is
 *   the message's, dispatched as THREAD_CREATE; 400 code 160004 when the message already has
 *   one, 50024 inside a thread, 404 10008 for an unknown or ephemeral message); `POST
 *   /channels/:id/messages` and `PATCH /channels/:id/messages/:mid` (the bot's messages in a
 *   channel or thread, validated like interaction messages, dispatched as MESSAGE_CREATE and
 *   MESSAGE_UPDATE); `POST /channels/:id/typing`. Each checks the bot's permissions in the guild
 *   (`botPermissions`: VIEW_CHANNEL, SEND_MESSAGES / SEND_MESSAGES_IN_THREADS,
 *   CREATE_PUBLIC_THREADS) and answers 403 code 50013 "Missing Permissions" without them.
 * - Bot-token auth (`Authorization: Bot <token>`) is checked on every route except the
 *   interaction callback and webhook routes, which Discord authenticates by interaction token.
 * - Message and modal bodies are validated against Discord's limits (content 2000; embeds 10,
 *   title 256, description 4096, 25 fields, field name 256 / value 1024, footer 2048, 6000 in
 *   total; 5 rows of 5 buttons, label 80, custom_id 100, link url 512; modal title 45…); an
 *   invalid body gets Discord's `400 {code: 50035, message: 'Invalid Form Body', errors}`.
 *   `strictLimits: false` turns this off.
 * - Multipart bodies (file uploads) are not supported: 400.
 * - `failNext(rule)` makes the next matching request(s) fail with a given status/body (e.g. a
 *   429 with `retry_after`, or a 500); `restLatencyMs` delays every REST answer (load tests).
 *
 * Gateway (`ws://127.0.0.1:<port>/gateway`, JSON text frames, no compression): HELLO, then
 * IDENTIFY → READY (user, guilds, application, `session_id`, `resume_gateway_url`) + one
 * GUILD_CREATE per guild; heartbeats are ACKed. A wrong token (or one other than `identifyToken`)
 * closes the socket with 4004.
 * `dispatch(event, data)` sends any event to every identified session; `slashCommand`,
 * `clickButton`, `submitModal` and `autocomplete` send INTERACTION_CREATE payloads with
 * everything discord.js needs (`entitlements`, `authorizing_integration_owners`, a `channel`
 * object — a thread's when asked in one —, `member.user` in guilds or `user` in DMs, a full
 * `message` for components, `focused` on the option being typed for autocomplete, whose
 * callback (type 8) must carry at most 25 choices). GUILD_CREATE lists the guild's active
 * threads and the bot's own member, so `guild.members.me.permissions` is the guild's
 * `botPermissions`.
 *
 * Messages users write: `userMessage({ channelId, content, user })` dispatches MESSAGE_CREATE as
 * Discord does: only to sessions that identified with the GuildMessages intent (1 << 9), and
 * with the content only when the session has the privileged MessageContent intent (1 << 15) or
 * the message mentions the bot (`<@bot id>` in the content; otherwise `content` is ''). Messages
 * in a channel or thread (the bot's and users') are listed by `messagesIn(id)`.
 *
 * Disconnects and RESUME, as Discord does them:
 * - A session whose socket closes with any code but 1000/1001 (the client's own clean close)
 *   stays resumable: dispatches meant for it (e.g. an interaction) are kept, numbered in its
 *   sequence, while it is away.
 * - RESUME `{ token, session_id, seq }` for a resumable session replays every dispatch after
 *   `seq` (the ones the client missed), then sends RESUMED; for anything else it is answered
 *   with INVALID_SESSION `d: false` (the client then identifies again). Each attempt is recorded
 *   in `resumes`.
 * - `disconnectGateway({ code, abrupt, resumable })` drops every gateway connection: a close
 *   frame with `code` (default 4000, which discord.js resumes after), or `abrupt: true` for a
 *   TCP-level drop without a close frame; `resumable: false` also invalidates the sessions (the
 *   client must identify again). `requestReconnect()` sends op 7 RECONNECT (the client closes
 *   and resumes).
 *
 * Channel messages and DMs (what a bot posts outside interactions; bot-token auth):
 * - `POST /channels/:id/messages` into a guild channel, a thread the bot started (or one added
 *   with `addChannel`) or a DM channel: in a server the bot's permissions decide (View Channel,
 *   and Send Messages or, in a thread, Send Messages in Threads: `403 50013`); validated like
 *   other message bodies; the message comes back as MESSAGE_CREATE to GuildMessages sessions;
 *   `PATCH /channels/:id/messages/:mid` edits one of the bot's own messages (MESSAGE_UPDATE); `allowed_mentions` decides whom the message
 *   pings (`mentions` in the answer and in `channelMessages`); `message_reference` to an unknown
 *   message is `400 50035` unless `fail_if_not_exists: false` (then a plain message, as Discord
 *   does); with `nonce` and `enforce_nonce: true`, a second create with the same nonce by the bot
 *   within `nonceWindowMs` (default 5 minutes; Discord says "the past few minutes") answers the
 *   message created the first time and creates nothing. Unknown channel → `404 10003`; a channel
 *   made unwritable with `denyChannel` → `403 50013 Missing Permissions`; a thread whose
 *   `thread_metadata` a test set `locked` (without Manage Threads) → `403 50013`, or `400 50083
 *   Thread is archived` when also `archived`; an archived thread that is not locked is unarchived
 *   by the message, as Discord does; a DM to a user whose
 *   DMs are closed (`setDmsClosed`) → `403 50007 Cannot send messages to this user`.
 * - `POST /users/@me/channels` `{recipient_id}` → the DM channel with that user (the same one on
 *   every call, as Discord returns the existing DM).
 * Every created message is in `channelMessages` (with its channel and the body sent) and in
 * `messages`, so a test can click its buttons.
 *
 * Every interaction is tracked as a `FakeInteraction`: its callback, edits, follow-ups and
 * deletions (`events`, each with an arrival time `at`), the current `original` message and the
 * `followUps`. Messages the bot created are also in `messages` by id, so a test can click the
 * buttons of a reply: `clickButton({ customId, message: ix.original })`.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';

/** Any JSON object (payloads are checked by the tests that read them, not typed here). */
export type Json = Record<string, unknown>;

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: string | null;
  bot?: boolean;
}

export interface FakeGuildSpec {
  id?: string;
  name?: string;
  /** Text channels; default one named `geral`. */
  channels?: Array<{ id?: string; name?: string }>;
}

export interface FakeDiscordOptions {
  /** Default '100000000000000001'. */
  applicationId?: string;
  /** The bot token the fake accepts (REST `Bot <token>` and IDENTIFY). Default 'fake-bot-token'. */
  token?: string;
  /**
   * The token the gateway accepts in IDENTIFY, when it differs from `token` (default: `token`).
   * Another value makes every IDENTIFY close with 4004, as Discord does for a token it refuses
   * at the gateway although REST took it (e.g. reset in between).
   */
  identifyToken?: string;
  /** Username of the bot user. Default 'pergunta'. */
  botName?: string;
  /** Guilds the bot is in. Default one guild with one text channel. */
  guilds?: FakeGuildSpec[];
  /** Delay before every REST answer, fixed or per request. Default 0. */
  restLatencyMs?: number | ((req: RestCall) => number);
  /** Interaction callbacks later than this (ms after the dispatch) get 10062. Default 3000. */
  ackDeadlineMs?: number;
  /** Validate message/modal/command bodies against Discord's limits. Default true. */
  strictLimits?: boolean;
  /** HELLO heartbeat interval. Default 41250 (Discord's). */
  heartbeatIntervalMs?: number;
  /** The bot's permissions in every guild (a decimal bitfield, as Discord sends them). Default: all it may need. */
  botPermissions?: string;
  /** How long `enforce_nonce` dedupes a create (ms). Default 5 minutes. */
  nonceWindowMs?: number;
}

/** A message the bot created with `POST /channels/:id/messages`. */
export interface ChannelMessage {
  channelId: string;
  /** The request body as sent. */
  body: Json;
  /** The message object answered (its current state is in `messages`). */
  message: Json;
  /** User ids the message pinged (what `allowed_mentions` let through). */
  mentions: string[];
  /** True for a DM channel. */
  dm: boolean;
  /** The DM's recipient, for DMs. */
  recipientId: string | null;
  at: number;
}

/** One REST request as received. */
export interface RestCall {
  seq: number;
  method: string;
  /** Path without `/api` and the version prefix, URL-decoded, without the query: `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body, or undefined. */
  body: unknown;
  /** Whether a valid `Authorization: Bot <token>` header came with it. */
  authorized: boolean;
  /** Date.now() at arrival. */
  at: number;
  /** HTTP status answered (set when the answer is sent). */
  status?: number;
  /** For interaction routes: the interaction it belongs to. */
  interactionId?: string;
}

export type InteractionEvent =
  | { kind: 'callback'; at: number; type: number; data: Json | undefined }
  | { kind: 'edit'; at: number; messageId: string; body: Json }
  | { kind: 'followup'; at: number; messageId: string; body: Json }
  | { kind: 'delete'; at: number; messageId: string };

/** Rule for `failNext`. */
export interface FailRule {
  method?: string;
  /** Matched against `RestCall.path` (string: substring). */
  path?: string | RegExp;
  status: number;
  /** Default `{ message, code: 0 }`. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Any other condition on the request (e.g. on its body). */
  match?: (call: RestCall) => boolean;
  /** How many matching requests fail. Default 1. */
  times?: number;
  /**
   * The request is carried out (e.g. the message is created) and then answered with the failure,
   * as when a response is lost on the way back: the client cannot tell it worked.
   */
  applied?: boolean;
}

export interface SlashCommandInput {
  name: string;
  /** `{ texto: '…' }` (strings → type 3, booleans → 5, integers → 4, other numbers → 10), or raw options. */
  options?: Record<string, string | number | boolean> | Json[];
  user?: FakeUser;
  /** Default: the first guild; null for a DM with the bot. */
  guildId?: string | null;
  channelId?: string;
  locale?: string;
}

export interface ButtonClickInput {
  customId: string;
  /** The message the button is on: an object (e.g. `ix.original`), an id from `messages`, or omitted (a synthetic old message). */
  message?: Json | string;
  user?: FakeUser;
  guildId?: string | null;
  channelId?: string;
  locale?: string;
}

export interface AutocompleteInput {
  name: string;
  /** The options typed so far, by name; `focused` names the one being typed. */
  options: Record<string, string>;
  focused: string;
  user?: FakeUser;
  guildId?: string | null;
  channelId?: string;
  locale?: string;
}

export interface UserMessageInput {
  channelId: string;
  /** As typed; a mention of the bot is `<@bot id>` (see `FakeDiscord.mention`). */
  content: string;
  user?: FakeUser;
  /** Reply to this message (Discord's message_reference). */
  replyTo?: string;
}

export interface ModalSubmitInput {
  customId: string;
  /** Text input values by custom_id, sent as label components (Discord's current modal shape). */
  fields: Record<string, string>;
  /** The message whose button opened the modal, if any. */
  message?: Json | string;
  user?: FakeUser;
  guildId?: string | null;
  channelId?: string;
  locale?: string;
}

const DISCORD_EPOCH = 1420070400000n;
let snowflakeCounter = 0n;

/** A valid, increasing snowflake (discord.js derives timestamps from them). */
export function snowflake(): string {
  snowflakeCounter = (snowflakeCounter + 1n) & 0xfffn;
  return String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (1n << 17n) | snowflakeCounter);
}

let userCounter = 0;
/** A user object (unique id). */
export function makeUser(username = `aluno${++userCounter}`): FakeUser {
  return { id: snowflake(), username, global_name: username, discriminator: '0', avatar: null };
}

/** Flag bits Discord keeps on interaction messages. */
const EPHEMERAL = 64;
const LOADING = 128;

export class FakeInteraction {
  readonly events: InteractionEvent[] = [];
  /** The reply (@original) as it is now; undefined before a reply/defer, or after deletion. */
  original: Json | undefined;
  /** True once @original was deleted. */
  deleted = false;
  readonly followUps: Json[] = [];
  readonly dispatchedAt = Date.now();

  constructor(
    readonly id: string,
    readonly token: string,
    /** 2 = application command, 3 = message component, 5 = modal submit. */
    readonly type: number,
    readonly user: FakeUser,
    readonly payload: Json,
    private readonly changes: EventEmitter,
  ) {}

  get callback(): Extract<InteractionEvent, { kind: 'callback' }> | undefined {
    return this.events.find((e): e is Extract<InteractionEvent, { kind: 'callback' }> => e.kind === 'callback');
  }

  /** Edits of @original (the message id the original had), in order. */
  get edits(): Array<Extract<InteractionEvent, { kind: 'edit' }>> {
    const originalId = this.originalId;
    return this.events.filter((e): e is Extract<InteractionEvent, { kind: 'edit' }> => e.kind === 'edit' && e.messageId === originalId);
  }

  /** Whether the first response was ephemeral (flag 64). */
  get ephemeral(): boolean {
    const flags = Number(this.callback?.data?.flags ?? 0);
    return (flags & EPHEMERAL) !== 0;
  }

  /** Choices answered to an autocomplete (callback type 8), if any. */
  get choices(): Json[] | undefined {
    const cb = this.callback;
    return cb?.type === 8 ? ((cb.data?.choices ?? []) as Json[]) : undefined;
  }

  /** Data of the modal shown (callback type 9), if any. */
  get modal(): Json | undefined {
    const cb = this.callback;
    return cb?.type === 9 ? cb.data : undefined;
  }

  /** Every message body the bot sent for this interaction (reply/update data, edits, follow-ups). */
  get messageBodies(): Json[] {
    const out: Json[] = [];
    for (const e of this.events) {
      if (e.kind === 'callback' && (e.type === 4 || e.type === 7) && e.data) out.push(e.data);
      if (e.kind === 'edit' || e.kind === 'followup') out.push(e.body);
    }
    return out;
  }

  /** @internal */
  originalId: string | undefined;

  /** @internal */
  record(event: InteractionEvent): void {
    this.events.push(event);
    this.changes.emit('change');
  }

  /** Resolves with the first truthy value of `check()`, re-evaluated after every REST event; rejects after `timeoutMs`. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    return waitUntil(this.changes, check, timeoutMs, () => `interaction ${this.id}: ${JSON.stringify(this.events.map((e) => e.kind))}`);
  }
}

function waitUntil<T>(
  changes: EventEmitter,
  check: () => T | undefined | null | false,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const test = (): boolean => {
      const value = check();
      if (value) {
        cleanup();
        resolve(value);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fakeDiscord: condition not met after ${timeoutMs} ms (${describe()})`));
    }, timeoutMs);
    const listener = () => void test();
    const cleanup = () => {
      clearTimeout(timer);
      changes.off('change', listener);
    };
    changes.on('change', listener);
    test();
  });
}

export interface FakeDiscord {
  /** `http://127.0.0.1:<port>/api`: the discord.js `rest.api` option / DISCORD_API_URL. */
  readonly apiUrl: string;
  readonly port: number;
  readonly applicationId: string;
  readonly token: string;
  readonly botUser: FakeUser;
  /** The first guild and its first channel (defaults for interactions). */
  readonly guildId: string;
  readonly channelId: string;
  /** Every REST call, in arrival order. */
  readonly requests: RestCall[];
  /** IDENTIFY payloads received. */
  readonly identifies: Json[];
  /** RESUME attempts received, and whether the session could be resumed. */
  readonly resumes: Array<{ sessionId: string; seq: number; accepted: boolean; replayed: number }>;
  /** Open gateway sessions that completed IDENTIFY. */
  readonly sessions: number;
  /** Registered commands. */
  readonly commands: { readonly global: Json[]; guild(id: string): Json[] };
  /** Every message the bot created through interactions, by id (current state). */
  readonly messages: Map<string, Json>;
  readonly interactions: Map<string, FakeInteraction>;
  slashCommand(input: SlashCommandInput): FakeInteraction;
  clickButton(input: ButtonClickInput): FakeInteraction;
  submitModal(input: ModalSubmitInput): FakeInteraction;
  autocomplete(input: AutocompleteInput): FakeInteraction;
  /** A message a user writes (MESSAGE_CREATE, gated by the session's intents as Discord gates it). */
  userMessage(input: UserMessageInput): Json;
  /** `<@bot id>`: how a user mentions the bot in a message. */
  readonly mention: string;
  /** Threads started on messages, by thread id (= the starter message's id). */
  readonly threads: Map<string, Json>;
  /** Every message in a channel or thread that is not an interaction response (the bot's and users'), oldest first. */
  messagesIn(channelId: string): Json[];
  /** Intents of the latest IDENTIFY. */
  readonly intents: number;
  /** Sends a gateway dispatch (op 0) to every identified session (kept for resumable sessions that are away). */
  dispatch(event: string, data: unknown): void;
  /** Drops every gateway connection (see the header): close code (default 4000), or `abrupt`; `resumable: false` invalidates the sessions. */
  disconnectGateway(options?: { code?: number; abrupt?: boolean; resumable?: boolean }): void;
  /** Sends op 7 RECONNECT to every identified session (the client closes and resumes). */
  requestReconnect(): void;
  failNext(rule: FailRule): void;
  /** Messages the bot created in channels and DMs, in order (deduplicated creates are not repeated). */
  readonly channelMessages: ChannelMessage[];
  /** Lets the bot post in one more channel (e.g. a thread), optionally under a given guild. */
  addChannel(id: string, options?: { guildId?: string; name?: string }): void;
  /** Makes posting in `channelId` fail with 403 50013 Missing Permissions (or lifts it). */
  denyChannel(channelId: string, denied?: boolean): void;
  /** Closes (or opens) a user's DMs: messages to their DM channel fail with 403 50007. */
  setDmsClosed(userId: string, closed?: boolean): void;
  /** Resolves with the first channel message matching `check` (arrived or arriving); rejects after `timeoutMs`. */
  waitForChannelMessage(check: (m: ChannelMessage) => boolean, timeoutMs?: number): Promise<ChannelMessage>;
  /** Forgets recorded requests, identifies, resumes, interactions and messages (keeps sessions and commands): between load-test rounds. */
  reset(): void;
  /** Resolves once a session is identified (READY and GUILD_CREATEs sent). */
  waitForSession(timeoutMs?: number): Promise<void>;
  /** Resolves with the first truthy `check()`, re-evaluated after every REST call and gateway event. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Closes gateway sessions and every HTTP connection, then the server. */
  close(): Promise<void>;
}

/** One gateway session (IDENTIFY → READY), alive across a disconnect until it is resumed or invalidated. */
interface GatewaySession {
  id: string;
  seq: number;
  identified: boolean;
  /** Dispatches sent (or kept while away), for RESUME replays; the last HISTORY_LIMIT. */
  history: Json[];
}

const HISTORY_LIMIT = 1000;

/** Permission bits the fake checks (Discord's values). */
export const PERMISSIONS = {
  viewChannel: 1n << 10n,
  sendMessages: 1n << 11n,
  readMessageHistory: 1n << 16n,
  manageThreads: 1n << 34n,
  createPublicThreads: 1n << 35n,
  sendMessagesInThreads: 1n << 38n,
} as const;
/** Gateway intents the fake honours. */
export const INTENTS = { guilds: 1 << 0, guildMessages: 1 << 9, messageContent: 1 << 15 } as const;

interface GuildState {
  id: string;
  name: string;
  channels: Array<{ id: string; name: string }>;
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const applicationId = options.applicationId ?? '100000000000000001';
  const token = options.token ?? 'fake-bot-token';
  const identifyToken = options.identifyToken ?? token;
  const strict = options.strictLimits ?? true;
  const ackDeadlineMs = options.ackDeadlineMs ?? 3000;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41_250;
  const botUser: FakeUser = { id: applicationId, username: options.botName ?? 'pergunta', global_name: null, discriminator: '0', avatar: null, bot: true };
  const guilds: GuildState[] = (options.guilds ?? [{}]).map((g, i) => ({
    id: g.id ?? snowflake(),
    name: g.name ?? `Disciplina ${i + 1}`,
    channels: (g.channels ?? [{}]).map((c, j) => ({ id: c.id ?? snowflake(), name: c.name ?? (j === 0 ? 'geral' : `canal-${j}`) })),
  }));
  const firstGuild = guilds[0];
  const firstChannel = firstGuild?.channels[0];
  if (!firstGuild || !firstChannel) throw new Error('fakeDiscord: at least one guild with one channel is needed');

  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  const requests: RestCall[] = [];
  const identifies: Json[] = [];
  const globalCommands: Json[] = [];
  const guildCommands = new Map<string, Json[]>();
  const messages = new Map<string, Json>();
  const interactions = new Map<string, FakeInteraction>();
  const byToken = new Map<string, FakeInteraction>();
  const failRules: FailRule[] = [];
  const httpSockets = new Set<Socket>();
  const sessions = new Map<WebSocket, GatewaySession>();
  /** Sessions whose socket closed uncleanly, by session id: RESUME can pick them up. */
  const resumable = new Map<string, GatewaySession>();
  const resumes: FakeDiscord['resumes'] = [];
  const channelMessages: ChannelMessage[] = [];
  /** Channels added with addChannel (threads), by id → guild. */
  const extraChannels = new Map<string, { guildId: string; name: string }>();
  const deniedChannels = new Set<string>();
  const closedDms = new Set<string>();
  /** DM channel id by recipient, and recipient by DM channel id. */
  const dmByUser = new Map<string, string>();
  const dmRecipient = new Map<string, string>();
  /** `enforce_nonce` memory: `channel\nnonce` → the message created, and when. */
  const nonces = new Map<string, { message: Json; at: number }>();
  const nonceWindowMs = options.nonceWindowMs ?? 5 * 60_000;
  let restSeq = 0;
  let closed = false;
  const botPermissions = BigInt(options.botPermissions ?? '2248473465835073');
  /** Threads by id (= their starter message's id). */
  const threads = new Map<string, Json>();
  const channelLog = new Map<string, Json[]>();
  let intents = 0;
  const logMessage = (message: Json) => {
    const list = channelLog.get(String(message.channel_id));
    if (list) list.push(message);
    else channelLog.set(String(message.channel_id), [message]);
  };
  const has = (bit: bigint) => (botPermissions & bit) === bit;

  // ---------------------------------------------------------------- helpers
  const now = () => Date.now();
  const channelById = (id: string) => {
    for (const g of guilds) for (const c of g.channels) if (c.id === id) return { guild: g, channel: c };
    return undefined;
  };
  /** The channel object Discord sends for a guild text channel or a thread. */
  const channelObject = (id: string): Json | undefined => {
    const thread = threads.get(id);
    if (thread) return thread;
    const found = channelById(id);
    if (!found) return undefined;
    return { id, type: 0, guild_id: found.guild.id, name: found.channel.name, position: 0, permission_overwrites: [], nsfw: false, parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0, flags: 0 };
  };

  function makeMessage(ix: FakeInteraction | undefined, body: Json, id = snowflake()): Json {
    const channelId = String(ix?.payload.channel_id ?? firstChannel!.id);
    const guildId = ix ? (ix.payload.guild_id as string | undefined) : firstGuild!.id;
    const message: Json = {
      id,
      type: ix?.type === 2 ? 20 : 0,
      channel_id: channelId,
      ...(guildId ? { guild_id: guildId } : {}),
      author: botUser,
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      flags: 0,
      application_id: applicationId,
      webhook_id: applicationId,
    };
    applyBody(message, body);
    return message;
  }

  function applyBody(message: Json, body: Json): void {
    for (const key of ['content', 'embeds', 'components', 'attachments'] as const) {
      if (body[key] !== undefined && body[key] !== null) message[key] = body[key];
    }
    if (body.flags !== undefined && body.flags !== null) {
      message.flags = (Number(message.flags) & EPHEMERAL) | (Number(body.flags) & ~LOADING);
    }
  }

  const discordError = (message: string, code: number, errors?: unknown) => ({ message, code, ...(errors ? { errors } : {}) });

  // ---------------------------------------------------------------- validation (Discord's limits)
  function validateMessage(body: Json): string[] {
    const problems: string[] = [];
    if (typeof body.content === 'string' && body.content.length > 2000) problems.push(`content: ${body.content.length} > 2000`);
    const embeds = Array.isArray(body.embeds) ? (body.embeds as Json[]) : [];
    if (embeds.length > 10) problems.push(`embeds: ${embeds.length} > 10`);
    let total = 0;
    embeds.forEach((embed, i) => {
      const len = (v: unknown) => (typeof v === 'string' ? v.length : 0);
      const check = (name: string, value: unknown, max: number) => {
        if (len(value) > max) problems.push(`embeds[${i}].${name}: ${len(value)} > ${max}`);
        total += len(value);
      };
      check('title', embed.title, 256);
      check('description', embed.description, 4096);
      check('footer.text', (embed.footer as Json | undefined)?.text, 2048);
      check('author.name', (embed.author as Json | undefined)?.name, 256);
      const fields = Array.isArray(embed.fields) ? (embed.fields as Json[]) : [];
      if (fields.length > 25) problems.push(`embeds[${i}].fields: ${fields.length} > 25`);
      fields.forEach((f, j) => {
        if (len(f.name) === 0 || len(f.value) === 0) problems.push(`embeds[${i}].fields[${j}]: empty name or value`);
        check(`fields[${j}].name`, f.name, 256);
        check(`fields[${j}].value`, f.value, 1024);
      });
      if (typeof embed.url === 'string' && !/^https?:\/\//.test(embed.url)) problems.push(`embeds[${i}].url: not http(s)`);
    });
    if (total > 6000) problems.push(`embeds: ${total} characters in total > 6000`);
    const rows = Array.isArray(body.components) ? (body.components as Json[]) : [];
    if (rows.length > 5) problems.push(`components: ${rows.length} rows > 5`);
    const customIds = new Set<string>();
    rows.forEach((row, i) => {
      if (row.type !== 1) return;
      const items = Array.isArray(row.components) ? (row.components as Json[]) : [];
      if (items.length === 0 || items.length > 5) problems.push(`components[${i}]: ${items.length} buttons (1..5)`);
      items.forEach((b, j) => {
        if (b.type !== 2) return;
        const where = `components[${i}].components[${j}]`;
        if (typeof b.label === 'string' && b.label.length > 80) problems.push(`${where}.label: ${b.label.length} > 80`);
        if (!b.label && !b.emoji) problems.push(`${where}: needs a label or an emoji`);
        if (b.style === 5) {
          if (typeof b.url !== 'string' || b.url.length > 512 || !/^https?:\/\//.test(b.url)) problems.push(`${where}.url: invalid`);
          if (b.custom_id !== undefined) problems.push(`${where}: link buttons have no custom_id`);
        } else {
          const id = b.custom_id;
          if (typeof id !== 'string' || id.length === 0 || id.length > 100) problems.push(`${where}.custom_id: invalid`);
          else if (customIds.has(id)) problems.push(`${where}.custom_id: duplicate ${id}`);
          else customIds.add(id);
        }
      });
    });
    return problems;
  }

  function validateModal(data: Json): string[] {
    const problems: string[] = [];
    if (typeof data.title !== 'string' || data.title.length === 0 || data.title.length > 45) problems.push('title: 1..45');
    if (typeof data.custom_id !== 'string' || data.custom_id.length === 0 || data.custom_id.length > 100) problems.push('custom_id: 1..100');
    const comps = Array.isArray(data.components) ? (data.components as Json[]) : [];
    if (comps.length === 0 || comps.length > 5) problems.push(`components: ${comps.length} (1..5)`);
    for (const c of comps) {
      const input = (c.type === 18 ? c.component : Array.isArray(c.components) ? (c.components as Json[])[0] : undefined) as Json | undefined;
      const label = c.type === 18 ? c.label : input?.label;
      if (typeof label !== 'string' || label.length === 0 || label.length > 45) problems.push('label: 1..45');
      if (input?.type === 4) {
        if (typeof input.max_length === 'number' && input.max_length > 4000) problems.push('text input max_length > 4000');
        if (typeof input.custom_id !== 'string' || input.custom_id.length > 100) problems.push('text input custom_id');
      }
    }
    return problems;
  }

  function validateCommand(cmd: Json): string[] {
    const problems: string[] = [];
    const nameOk = (n: unknown) => typeof n === 'string' && /^[-_\p{L}\p{N}]{1,32}$/u.test(n) && n === n.toLowerCase();
    const descOk = (d: unknown) => typeof d === 'string' && d.length >= 1 && d.length <= 100;
    if (!nameOk(cmd.name)) problems.push(`name ${String(cmd.name)}`);
    if ((cmd.type ?? 1) === 1 && !descOk(cmd.description)) problems.push('description: 1..100');
    const opts = Array.isArray(cmd.options) ? (cmd.options as Json[]) : [];
    if (opts.length > 25) problems.push('options: > 25');
    for (const o of opts) {
      if (!nameOk(o.name)) problems.push(`option name ${String(o.name)}`);
      if (!descOk(o.description)) problems.push(`option ${String(o.name)} description: 1..100`);
      if (typeof o.max_length === 'number' && (o.max_length < 1 || o.max_length > 6000)) problems.push('option max_length: 1..6000');
    }
    return problems;
  }

  // ---------------------------------------------------------------- REST
  async function readBody(req: IncomingMessage): Promise<string> {
    const parts: Buffer[] = [];
    for await (const chunk of req) parts.push(chunk as Buffer);
    return Buffer.concat(parts).toString('utf8');
  }

  function send(res: ServerResponse, call: RestCall, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    call.status = status;
    if (res.destroyed || res.writableEnded) return;
    if (body === undefined) {
      res.writeHead(status, headers);
      res.end();
    } else {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
      res.end(text);
    }
    changes.emit('change');
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    let path = url.pathname.replace(/^\/api/, '').replace(/^\/v\d+/, '');
    path = path.split('/').map((p) => decodeURIComponent(p)).join('/');
    const raw = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    let body: unknown;
    if (raw && contentType.includes('application/json')) {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = undefined;
      }
    }
    const call: RestCall = {
      seq: ++restSeq,
      method: req.method ?? 'GET',
      path,
      query: Object.fromEntries(url.searchParams),
      body,
      authorized: req.headers.authorization === `Bot ${token}`,
      at: now(),
    };
    requests.push(call);

    const latency = typeof options.restLatencyMs === 'function' ? options.restLatencyMs(call) : (options.restLatencyMs ?? 0);
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (closed) return;

    const rule = failRules.find(
      (r) =>
        (!r.method || r.method.toUpperCase() === call.method) &&
        (!r.path || (typeof r.path === 'string' ? call.path.includes(r.path) : r.path.test(call.path))) &&
        (!r.match || r.match(call)),
    );
    if (rule) {
      rule.times = (rule.times ?? 1) - 1;
      if (rule.times <= 0) failRules.splice(failRules.indexOf(rule), 1);
      if (rule.applied) {
        // Carried out against a response that goes nowhere; the client gets the failure.
        const lost = { destroyed: false, writableEnded: false, writeHead: () => lost, end: () => lost } as unknown as ServerResponse;
        route(call, lost);
      }
      send(res, call, rule.status, rule.body ?? discordError(`fakeDiscord: injected ${rule.status}`, 0), rule.headers);
      return;
    }
    if (contentType.includes('multipart/form-data')) {
      send(res, call, 400, discordError('fakeDiscord: multipart bodies (files) are not supported', 50035));
      return;
    }
    route(call, res);
  }

  function createChannelMessage(channelId: string, call: RestCall, res: ServerResponse): void {
    const body = (call.body ?? {}) as Json;
    const recipient = dmRecipient.get(channelId) ?? null;
    const guildChannel = channelById(channelId);
    const extra = extraChannels.get(channelId);
    const thread = threads.get(channelId);
    if (!recipient && !guildChannel && !extra && !thread) return send(res, call, 404, discordError('Unknown Channel', 10003));
    if (deniedChannels.has(channelId)) return send(res, call, 403, discordError('Missing Permissions', 50013));
    // A thread a moderator locked takes messages only from those with Manage Threads (the bot's
    // role here never has it); archived and locked, Discord answers 50083. Sending in an archived
    // thread that is not locked unarchives it, as Discord does.
    const threadState = thread?.thread_metadata as Json | undefined;
    if (threadState?.locked === true && !has(PERMISSIONS.manageThreads)) {
      return threadState.archived === true
        ? send(res, call, 400, discordError('Thread is archived', 50083))
        : send(res, call, 403, discordError('Missing Permissions', 50013));
    }
    if (threadState?.archived === true) threadState.archived = false;
    // In a server, the bot's role decides (a thread needs Send Messages in Threads); a DM needs none.
    const inThread = thread !== undefined || extra !== undefined;
    if (!recipient && (!has(PERMISSIONS.viewChannel) || !has(inThread ? PERMISSIONS.sendMessagesInThreads : PERMISSIONS.sendMessages))) {
      return send(res, call, 403, discordError('Missing Permissions', 50013));
    }
    if (recipient && closedDms.has(recipient)) return send(res, call, 403, discordError('Cannot send messages to this user', 50007));
    if (strict) {
      const problems = validateMessage(body);
      if (typeof body.content !== 'string' && !(Array.isArray(body.embeds) && body.embeds.length > 0) && !(Array.isArray(body.components) && body.components.length > 0)) {
        problems.push('Cannot send an empty message');
      }
      if (body.nonce !== undefined && !(typeof body.nonce === 'number' || (typeof body.nonce === 'string' && body.nonce.length <= 25))) problems.push('nonce: at most 25 characters');
      if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
    }
    const nonce = body.nonce === undefined ? undefined : String(body.nonce);
    const nonceKey = nonce === undefined ? undefined : `${channelId}\n${nonce}`;
    if (nonceKey && body.enforce_nonce === true) {
      const earlier = nonces.get(nonceKey);
      if (earlier && call.at - earlier.at <= nonceWindowMs) return send(res, call, 200, earlier.message);
    }
    const reference = (body.message_reference ?? undefined) as Json | undefined;
    let referenced: Json | undefined;
    if (reference?.message_id !== undefined) {
      referenced = messages.get(String(reference.message_id));
      if (!referenced && reference.fail_if_not_exists !== false) {
        return send(res, call, 400, discordError('Invalid Form Body', 50035, { message_reference: 'Unknown message' }));
      }
    }
    // Whom it pings: parse [] with an explicit users list pings exactly those users in the content.
    const allowed = (body.allowed_mentions ?? undefined) as Json | undefined;
    const inContent = [...String(body.content ?? '').matchAll(/<@!?(\d+)>/g)].map((x) => x[1]!);
    const parse = Array.isArray(allowed?.parse) ? (allowed.parse as string[]) : ['users', 'roles', 'everyone'];
    const users = Array.isArray(allowed?.users) ? (allowed.users as string[]) : [];
    const mentions = allowed === undefined || parse.includes('users') ? inContent : inContent.filter((id) => users.includes(id));
    const message: Json = {
      id: snowflake(),
      type: referenced ? 19 : 0,
      channel_id: channelId,
      ...(guildChannel ? { guild_id: guildChannel.guild.id } : extra ? { guild_id: extra.guildId } : thread ? { guild_id: thread.guild_id } : {}),
      author: botUser,
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: mentions.map((id) => ({ id, username: `user${id.slice(-4)}`, global_name: null, discriminator: '0', avatar: null })),
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      flags: 0,
      ...(nonce !== undefined ? { nonce } : {}),
      ...(referenced ? { message_reference: { type: 0, message_id: referenced.id, channel_id: referenced.channel_id, ...(referenced.guild_id ? { guild_id: referenced.guild_id } : {}) } } : {}),
    };
    applyBody(message, body);
    messages.set(String(message.id), message);
    if (nonceKey) nonces.set(nonceKey, { message, at: call.at });
    channelMessages.push({ channelId, body, message, mentions, dm: recipient !== null, recipientId: recipient, at: call.at });
    logMessage(message);
    if (thread) thread.message_count = Number(thread.message_count) + 1;
    // The bot's own message comes back over the gateway like anyone's (GuildMessages intent).
    if (!recipient && (intents & INTENTS.guildMessages) !== 0) dispatch('MESSAGE_CREATE', message);
    return send(res, call, 200, message);
  }

  function route(call: RestCall, res: ServerResponse): void {
    const { method, path } = call;
    const body = (call.body ?? {}) as Json;
    let m: RegExpMatchArray | null;

    // Interaction callback (authenticated by the interaction token).
    if ((m = path.match(/^\/interactions\/(\d+)\/([^/]+)\/callback$/)) && method === 'POST') {
      const ix = interactions.get(m[1]!);
      if (!ix || ix.token !== m[2]) return send(res, call, 404, discordError('Unknown interaction', 10062));
      call.interactionId = ix.id;
      if (now() - ix.dispatchedAt > ackDeadlineMs) return send(res, call, 404, discordError('Unknown interaction', 10062));
      if (ix.callback) return send(res, call, 400, discordError('Interaction has already been acknowledged.', 40060));
      const type = Number(body.type);
      const data = (body.data ?? undefined) as Json | undefined;
      if (strict && (type === 4 || type === 7) && data) {
        const problems = validateMessage(data);
        if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
      }
      if (strict && type === 9) {
        const problems = validateModal(data ?? {});
        if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
      }
      if (![4, 5, 6, 7, 9, 8].includes(type)) return send(res, call, 400, discordError('Invalid interaction response type', 50035));
      if (type === 8) {
        const choices = Array.isArray(data?.choices) ? (data.choices as Json[]) : null;
        const bad =
          ix.type !== 4 ||
          !choices ||
          choices.length > 25 ||
          choices.some((c) => typeof c.name !== 'string' || c.name.length < 1 || c.name.length > 100 || typeof c.value !== 'string' || c.value.length > 100);
        if (bad) return send(res, call, 400, discordError('Invalid Form Body', 50035, ['autocomplete choices: at most 25, name 1..100, value ≤ 100']));
      } else if (ix.type === 4) {
        return send(res, call, 400, discordError('Interaction has already been acknowledged.', 40060));
      }
      ix.record({ kind: 'callback', at: call.at, type, data });
      let message: Json | undefined;
      if (type === 4 || type === 5) {
        // A deferred reply is a "loading" message ("Bot is thinking…") until its first edit.
        message = makeMessage(ix, type === 4 ? (data ?? {}) : {});
        message.flags = (Number(data?.flags ?? 0) & EPHEMERAL) | (type === 5 ? LOADING : 0);
        ix.original = message;
        ix.originalId = String(message.id);
        messages.set(String(message.id), message);
      } else if ((type === 6 || type === 7) && ix.payload.message) {
        const target = messages.get(String((ix.payload.message as Json).id));
        ix.originalId = String((ix.payload.message as Json).id);
        if (target) {
          if (type === 7 && data) applyBody(target, data);
          ix.original = target;
        }
      }
      if (call.query.with_response === 'true') {
        return send(res, call, 200, {
          interaction: {
            id: ix.id,
            type: ix.type,
            activity_instance_id: null,
            response_message_id: message?.id ?? null,
            response_message_loading: type === 5,
            response_message_ephemeral: (Number(data?.flags ?? 0) & EPHEMERAL) !== 0,
          },
          resource: { type, ...(message ? { message } : {}) },
        });
      }
      return send(res, call, 204);
    }

    // Interaction webhooks (follow-ups and @original).
    if ((m = path.match(/^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/([^/]+))?$/))) {
      const ix = byToken.get(m[2]!);
      if (!ix || m[1] !== applicationId) return send(res, call, 404, discordError('Unknown Webhook', 10015));
      call.interactionId = ix.id;
      const messageRef = m[3];
      if (!messageRef) {
        if (method !== 'POST') return send(res, call, 405, discordError('405: Method Not Allowed', 0));
        if (!ix.callback) return send(res, call, 404, discordError('Unknown Webhook', 10015));
        if (strict) {
          const problems = validateMessage(body);
          if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
        }
        const message = makeMessage(ix, { ...body, flags: Number(body.flags ?? 0) & EPHEMERAL });
        messages.set(String(message.id), message);
        ix.followUps.push(message);
        ix.record({ kind: 'followup', at: call.at, messageId: String(message.id), body });
        return send(res, call, 200, message);
      }
      const messageId = messageRef === '@original' ? ix.originalId : messageRef;
      const message = messageId ? messages.get(messageId) : undefined;
      if (!messageId || !message || (messageRef === '@original' && ix.deleted)) return send(res, call, 404, discordError('Unknown Message', 10008));
      if (method === 'GET') return send(res, call, 200, message);
      if (method === 'PATCH') {
        if (strict) {
          const problems = validateMessage(body);
          if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
        }
        applyBody(message, body);
        message.flags = Number(message.flags) & ~LOADING;
        message.edited_timestamp = new Date().toISOString();
        ix.record({ kind: 'edit', at: call.at, messageId, body });
        return send(res, call, 200, message);
      }
      if (method === 'DELETE') {
        messages.delete(messageId);
        if (messageId === ix.originalId) {
          ix.deleted = true;
          ix.original = undefined;
        }
        ix.record({ kind: 'delete', at: call.at, messageId });
        return send(res, call, 204);
      }
      return send(res, call, 405, discordError('405: Method Not Allowed', 0));
    }

    // Everything else needs the bot token.
    if (!call.authorized) return send(res, call, 401, discordError('401: Unauthorized', 0));

    if ((m = path.match(/^\/channels\/(\d+)$/)) && method === 'GET') {
      const channel = channelObject(m[1]!);
      return channel ? send(res, call, 200, channel) : send(res, call, 404, discordError('Unknown Channel', 10003));
    }
    if ((m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)\/threads$/)) && method === 'POST') {
      const [, channelId, messageId] = m as unknown as [string, string, string];
      const channel = channelObject(channelId);
      if (!channel) return send(res, call, 404, discordError('Unknown Channel', 10003));
      if (threads.has(channelId)) return send(res, call, 400, discordError('Cannot execute action on this channel type', 50024));
      if (!has(PERMISSIONS.viewChannel) || !has(PERMISSIONS.createPublicThreads)) return send(res, call, 403, discordError('Missing Permissions', 50013));
      const starter = messages.get(messageId);
      if (!starter || String(starter.channel_id) !== channelId || (Number(starter.flags) & EPHEMERAL) !== 0) return send(res, call, 404, discordError('Unknown Message', 10008));
      if (threads.has(messageId)) return send(res, call, 400, discordError('A thread has already been created for this message', 160004));
      const name = typeof body.name === 'string' ? body.name : '';
      if (strict && (name.length < 1 || name.length > 100)) return send(res, call, 400, discordError('Invalid Form Body', 50035, ['name: 1..100']));
      const archive = Number(body.auto_archive_duration ?? 4320);
      if (strict && ![60, 1440, 4320, 10080].includes(archive)) return send(res, call, 400, discordError('Invalid Form Body', 50035, ['auto_archive_duration: 60, 1440, 4320 or 10080']));
      const thread: Json = {
        id: messageId,
        type: 11,
        guild_id: channel.guild_id,
        parent_id: channelId,
        owner_id: botUser.id,
        name,
        last_message_id: null,
        rate_limit_per_user: 0,
        message_count: 0,
        member_count: 1,
        total_message_sent: 0,
        flags: 0,
        thread_metadata: { archived: false, auto_archive_duration: archive, archive_timestamp: new Date().toISOString(), locked: false, create_timestamp: new Date().toISOString() },
        member: { id: messageId, user_id: botUser.id, join_timestamp: new Date().toISOString(), flags: 0 },
      };
      threads.set(messageId, thread);
      starter.thread = thread;
      dispatch('THREAD_CREATE', { ...thread, newly_created: true });
      return send(res, call, 201, thread);
    }
    if ((m = path.match(/^\/channels\/(\d+)\/typing$/)) && method === 'POST') {
      return channelObject(m[1]!) ? send(res, call, 204) : send(res, call, 404, discordError('Unknown Channel', 10003));
    }
    if ((m = path.match(/^\/channels\/(\d+)\/messages$/)) && method === 'POST') return createChannelMessage(m[1]!, call, res);
    if ((m = path.match(/^\/channels\/(\d+)\/messages\/(\d+)$/)) && method === 'PATCH') {
      const channelId = m[1]!;
      if (!channelObject(channelId) && !dmRecipient.has(channelId) && !extraChannels.has(channelId)) return send(res, call, 404, discordError('Unknown Channel', 10003));
      if (strict) {
        const problems = validateMessage(body);
        if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
      }
      const message = messages.get(m[2]!);
      if (!message || String(message.channel_id) !== channelId) return send(res, call, 404, discordError('Unknown Message', 10008));
      if ((message.author as Json | undefined)?.id !== botUser.id) return send(res, call, 403, discordError('Cannot edit a message authored by another user', 50005));
      applyBody(message, body);
      message.edited_timestamp = new Date().toISOString();
      if ((intents & INTENTS.guildMessages) !== 0 && !dmRecipient.has(channelId)) dispatch('MESSAGE_UPDATE', message);
      return send(res, call, 200, message);
    }

    if ((path === '/gateway/bot' || path === '/gateway') && method === 'GET') {
      const url = `ws://127.0.0.1:${port}/gateway`;
      if (path === '/gateway') return send(res, call, 200, { url });
      return send(res, call, 200, {
        url,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      });
    }
    if (path === '/users/@me' && method === 'GET') return send(res, call, 200, botUser);
    if (path === '/users/@me/channels' && method === 'POST') {
      const recipient = typeof body.recipient_id === 'string' ? body.recipient_id : '';
      if (!/^\d{5,25}$/.test(recipient)) return send(res, call, 400, discordError('Invalid Form Body', 50035, { recipient_id: 'not a snowflake' }));
      let id = dmByUser.get(recipient);
      if (!id) {
        id = snowflake();
        dmByUser.set(recipient, id);
        dmRecipient.set(id, recipient);
      }
      return send(res, call, 200, { id, type: 1, last_message_id: null, flags: 0, recipients: [{ id: recipient, username: `user${recipient.slice(-4)}`, global_name: null, discriminator: '0', avatar: null }] });
    }
    if (path === '/applications/@me' && method === 'GET') {
      return send(res, call, 200, { id: applicationId, name: botUser.username, description: '', bot_public: true, bot_require_code_grant: false, flags: 0, bot: botUser });
    }
    if ((m = path.match(/^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/))) {
      if (m[1] !== applicationId) return send(res, call, 403, discordError('Missing Access', 50001));
      const guildId = m[2];
      if (guildId && !guilds.some((g) => g.id === guildId)) return send(res, call, 403, discordError('Missing Access', 50001));
      const list = guildId ? (guildCommands.get(guildId) ?? []) : globalCommands;
      const stored = (cmd: Json): Json => ({
        id: snowflake(),
        application_id: applicationId,
        ...(guildId ? { guild_id: guildId } : {}),
        version: snowflake(),
        type: 1,
        default_member_permissions: null,
        nsfw: false,
        ...cmd,
      });
      if (method === 'GET') return send(res, call, 200, list);
      if (method === 'PUT') {
        if (!Array.isArray(call.body)) return send(res, call, 400, discordError('Invalid Form Body', 50035));
        const cmds = call.body as Json[];
        if (strict) {
          const problems = cmds.flatMap(validateCommand);
          if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
        }
        const next = cmds.map(stored);
        if (guildId) guildCommands.set(guildId, next);
        else globalCommands.splice(0, globalCommands.length, ...next);
        return send(res, call, 200, next);
      }
      if (method === 'POST') {
        if (strict) {
          const problems = validateCommand(body);
          if (problems.length) return send(res, call, 400, discordError('Invalid Form Body', 50035, problems));
        }
        const cmd = stored(body);
        const next = [...list.filter((c) => c.name !== body.name), cmd];
        if (guildId) guildCommands.set(guildId, next);
        else globalCommands.splice(0, globalCommands.length, ...next);
        return send(res, call, 201, cmd);
      }
    }
    return send(res, call, 404, discordError(`fakeDiscord: no route for ${method} ${path}`, 0));
  }

  // ---------------------------------------------------------------- gateway
  const wss = new WebSocketServer({ noServer: true });

  function sendFrame(ws: WebSocket, frame: Json): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  }

  function sendDispatch(ws: WebSocket, t: string, d: unknown): void {
    const session = sessions.get(ws);
    if (!session) return;
    sendFrame(ws, record(session, t, d));
  }

  /** Numbers a dispatch in the session's sequence and keeps it for a later RESUME. */
  function record(session: GatewaySession, t: string, d: unknown): Json {
    session.seq += 1;
    const frame = { op: 0, t, s: session.seq, d };
    session.history.push(frame);
    if (session.history.length > HISTORY_LIMIT) session.history.splice(0, session.history.length - HISTORY_LIMIT);
    return frame;
  }

  function guildCreatePayload(g: GuildState): Json {
    return {
      id: g.id,
      name: g.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: snowflake(),
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [{ id: g.id, name: '@everyone', color: 0, hoist: false, position: 0, permissions: String(botPermissions), managed: false, mentionable: false, flags: 0 }],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      preferred_locale: 'pt-BR',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      joined_at: new Date().toISOString(),
      large: false,
      unavailable: false,
      member_count: 2,
      voice_states: [],
      // The bot's own member: discord.js builds `guild.members.me` from it.
      members: [{ user: botUser, roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0, nick: null, avatar: null, premium_since: null, pending: false }],
      channels: g.channels.map((c, i) => ({ id: c.id, type: 0, guild_id: g.id, name: c.name, position: i, permission_overwrites: [], nsfw: false, parent_id: null, topic: null, last_message_id: null, rate_limit_per_user: 0 })),
      threads: [...threads.values()].filter((t) => t.guild_id === g.id),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  wss.on('connection', (ws) => {
    sessions.set(ws, { id: '', seq: 0, identified: false, history: [] });
    sendFrame(ws, { op: 10, d: { heartbeat_interval: heartbeatIntervalMs }, s: null, t: null });
    ws.on('message', (raw: Buffer) => {
      let frame: Json;
      try {
        frame = JSON.parse(raw.toString('utf8')) as Json;
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      const session = sessions.get(ws);
      if (!session) return;
      switch (frame.op) {
        case 1:
          sendFrame(ws, { op: 11, d: null, s: null, t: null });
          break;
        case 2: {
          const d = (frame.d ?? {}) as Json;
          identifies.push(d);
          intents = Number(d.intents ?? 0);
          if (d.token !== identifyToken && d.token !== `Bot ${identifyToken}`) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          session.identified = true;
          session.id = randomBytes(16).toString('hex');
          sendDispatch(ws, 'READY', {
            v: 10,
            user: { ...botUser, verified: true, mfa_enabled: false, flags: 0 },
            guilds: guilds.map((g) => ({ id: g.id, unavailable: true })),
            session_id: session.id,
            resume_gateway_url: `ws://127.0.0.1:${port}/gateway`,
            shard: [0, 1],
            application: { id: applicationId, flags: 0 },
            private_channels: [],
            relationships: [],
            presences: [],
            user_settings: {},
            guild_join_requests: [],
            geo_ordered_rtc_regions: [],
          });
          for (const g of guilds) sendDispatch(ws, 'GUILD_CREATE', guildCreatePayload(g));
          changes.emit('change');
          break;
        }
        case 6: {
          const d = (frame.d ?? {}) as Json;
          const sessionId = String(d.session_id ?? '');
          const seq = Number(d.seq ?? 0);
          const away = resumable.get(sessionId);
          const tokenOk = d.token === token || d.token === `Bot ${token}`;
          if (!away || !tokenOk || seq > away.seq) {
            resumes.push({ sessionId, seq, accepted: false, replayed: 0 });
            sendFrame(ws, { op: 9, d: false, s: null, t: null });
            break;
          }
          resumable.delete(sessionId);
          away.identified = true;
          sessions.set(ws, away);
          const missed = away.history.filter((f) => Number(f.s) > seq);
          resumes.push({ sessionId, seq, accepted: true, replayed: missed.length });
          for (const f of missed) sendFrame(ws, f);
          sendDispatch(ws, 'RESUMED', null);
          changes.emit('change');
          break;
        }
        default:
          break; // presence updates, member requests...: ignored
      }
    });
    ws.on('close', (code: number) => {
      const session = sessions.get(ws);
      sessions.delete(ws);
      // The client's own clean close ends the session; anything else leaves it resumable.
      if (session?.identified && code !== 1000 && code !== 1001 && !closed && !invalidated.has(ws)) {
        session.identified = false;
        resumable.set(session.id, session);
      }
      changes.emit('change');
    });
  });

  function dispatch(event: string, data: unknown): void {
    for (const [ws, session] of sessions) if (session.identified) sendDispatch(ws, event, data);
    // Kept (and numbered) for sessions that are away, to be replayed when they resume.
    for (const session of resumable.values()) record(session, event, data);
  }

  /** Sockets dropped with `resumable: false`: their sessions end with them. */
  const invalidated = new WeakSet<WebSocket>();
  function disconnectGateway(opts: { code?: number; abrupt?: boolean; resumable?: boolean } = {}): void {
    if (opts.resumable === false) resumable.clear();
    for (const ws of [...sessions.keys()]) {
      if (opts.resumable === false) invalidated.add(ws);
      if (opts.abrupt) ws.terminate();
      else ws.close(opts.code ?? 4000, 'fakeDiscord: disconnected');
    }
  }

  function requestReconnect(): void {
    for (const [ws, session] of sessions) if (session.identified) sendFrame(ws, { op: 7, d: null, s: null, t: null });
  }

  // ---------------------------------------------------------------- interactions
  function interactionBase(type: number, input: { user?: FakeUser; guildId?: string | null; channelId?: string; locale?: string }, data: Json, message?: Json) {
    const user = input.user ?? defaultUser;
    const guildId = input.guildId === undefined ? firstGuild!.id : input.guildId;
    const id = snowflake();
    const itoken = `fake-interaction-${id}-${randomBytes(12).toString('hex')}`;
    const locale = input.locale ?? 'pt-BR';
    let payload: Json;
    if (guildId) {
      const guild = guilds.find((g) => g.id === guildId);
      const channelId = input.channelId ?? guild?.channels[0]?.id ?? firstChannel!.id;
      const channelName = channelById(channelId)?.channel.name ?? 'canal';
      payload = {
        guild_id: guildId,
        guild: { id: guildId, locale: 'pt-BR', features: [] },
        guild_locale: 'pt-BR',
        channel_id: channelId,
        channel: threads.get(channelId) ?? { id: channelId, type: 0, guild_id: guildId, name: channelName, position: 0, permission_overwrites: [], nsfw: false, parent_id: null, flags: 0 },
        member: {
          user,
          roles: [],
          joined_at: new Date().toISOString(),
          deaf: false,
          mute: false,
          flags: 0,
          pending: false,
          nick: null,
          avatar: null,
          premium_since: null,
          communication_disabled_until: null,
          permissions: '2248473465835073',
        },
        authorizing_integration_owners: { '0': guildId },
        context: 0,
      };
    } else {
      const channelId = input.channelId ?? snowflake();
      payload = {
        channel_id: channelId,
        channel: { id: channelId, type: 1, recipients: [user], flags: 0 },
        user,
        authorizing_integration_owners: { '0': firstGuild!.id },
        context: 1,
      };
    }
    Object.assign(payload, {
      id,
      application_id: applicationId,
      type,
      token: itoken,
      version: 1,
      app_permissions: String(botPermissions),
      locale,
      entitlements: [],
      attachment_size_limit: 10_485_760,
      data,
      ...(message ? { message } : {}),
    });
    const ix = new FakeInteraction(id, itoken, type, user, payload, changes);
    interactions.set(id, ix);
    byToken.set(itoken, ix);
    dispatch('INTERACTION_CREATE', payload);
    return ix;
  }

  function resolveMessage(ref: Json | string | undefined, channelId: string | undefined): Json {
    if (typeof ref === 'string') {
      const found = messages.get(ref);
      if (!found) throw new Error(`fakeDiscord: no message ${ref}`);
      return found;
    }
    if (ref) return ref;
    // A message the bot sent long ago (e.g. before a restart): the fake does not know it.
    return makeMessage(undefined, { channel_id: channelId ?? firstChannel!.id });
  }

  const defaultUser = makeUser('aluna');

  function slashCommand(input: SlashCommandInput): FakeInteraction {
    const options: Json[] = Array.isArray(input.options)
      ? input.options
      : Object.entries(input.options ?? {}).map(([name, value]) => ({
          name,
          value,
          type: typeof value === 'string' ? 3 : typeof value === 'boolean' ? 5 : Number.isInteger(value) ? 4 : 10,
        }));
    const registered = [...globalCommands, ...[...guildCommands.values()].flat()].find((c) => c.name === input.name);
    return interactionBase(2, input, { id: registered?.id ?? snowflake(), name: input.name, type: 1, options });
  }

  function clickButton(input: ButtonClickInput): FakeInteraction {
    const message = resolveMessage(input.message, input.channelId);
    return interactionBase(3, { ...input, channelId: input.channelId ?? String(message.channel_id) }, { custom_id: input.customId, component_type: 2 }, message);
  }

  function submitModal(input: ModalSubmitInput): FakeInteraction {
    let n = 0;
    const components = Object.entries(input.fields).map(([customId, value]) => ({
      type: 18,
      id: ++n,
      component: { type: 4, id: ++n, custom_id: customId, value },
    }));
    const message = input.message === undefined ? undefined : resolveMessage(input.message, input.channelId);
    const channelId = input.channelId ?? (message ? String(message.channel_id) : undefined);
    return interactionBase(5, { ...input, ...(channelId ? { channelId } : {}) }, { custom_id: input.customId, components }, message);
  }

  function autocomplete(input: AutocompleteInput): FakeInteraction {
    const registered = [...globalCommands, ...[...guildCommands.values()].flat()].find((c) => c.name === input.name);
    const options = Object.entries(input.options).map(([name, value]) => ({ name, value, type: 3, ...(name === input.focused ? { focused: true } : {}) }));
    return interactionBase(4, input, { id: registered?.id ?? snowflake(), name: input.name, type: 1, options });
  }

  const mention = `<@${botUser.id}>`;

  function userMessage(input: UserMessageInput): Json {
    const user = input.user ?? defaultUser;
    const channel = channelObject(input.channelId);
    const guildId = channel?.guild_id as string | undefined;
    const mentionsBot = new RegExp(`<@!?${botUser.id}>`).test(input.content);
    const message: Json = {
      id: snowflake(),
      type: input.replyTo ? 19 : 0,
      channel_id: input.channelId,
      ...(guildId ? { guild_id: guildId } : {}),
      author: user,
      member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
      content: input.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: mentionsBot ? [{ ...botUser, member: { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 } }] : [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      components: [],
      pinned: false,
      flags: 0,
      ...(input.replyTo ? { message_reference: { type: 0, message_id: input.replyTo, channel_id: input.channelId, ...(guildId ? { guild_id: guildId } : {}) } } : {}),
    };
    logMessage(message);
    messages.set(String(message.id), message);
    // Discord's gating: no GuildMessages intent, no event; without MessageContent, no content
    // unless the message mentions the bot.
    if ((intents & INTENTS.guildMessages) !== 0) {
      const visible = (intents & INTENTS.messageContent) !== 0 || mentionsBot;
      dispatch('MESSAGE_CREATE', visible ? message : { ...message, content: '', embeds: [], attachments: [], components: [] });
    }
    return message;
  }

  // ---------------------------------------------------------------- server
  const server = createServer((req, res) => {
    handleRest(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(discordError(`fakeDiscord: ${String(err)}`, 0)));
      }
    });
  });
  server.on('connection', (socket) => {
    httpSockets.add(socket);
    socket.on('close', () => httpSockets.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    if (!(req.url ?? '').startsWith('/gateway')) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    port,
    applicationId,
    token,
    botUser,
    guildId: firstGuild.id,
    channelId: firstChannel.id,
    requests,
    identifies,
    resumes,
    get sessions() {
      return [...sessions.values()].filter((s) => s.identified).length;
    },
    commands: {
      get global() {
        return globalCommands;
      },
      guild: (id: string) => guildCommands.get(id) ?? [],
    },
    messages,
    interactions,
    slashCommand,
    clickButton,
    submitModal,
    autocomplete,
    userMessage,
    mention,
    threads,
    messagesIn: (channelId: string) => [...(channelLog.get(channelId) ?? [])],
    get intents() {
      return intents;
    },
    dispatch,
    disconnectGateway,
    requestReconnect,
    failNext(rule) {
      failRules.push({ ...rule });
    },
    channelMessages,
    addChannel(id, opts = {}) {
      extraChannels.set(id, { guildId: opts.guildId ?? firstGuild.id, name: opts.name ?? 'thread' });
    },
    denyChannel(channelId, denied = true) {
      if (denied) deniedChannels.add(channelId);
      else deniedChannels.delete(channelId);
    },
    setDmsClosed(userId, closedDm = true) {
      if (closedDm) closedDms.add(userId);
      else closedDms.delete(userId);
    },
    waitForChannelMessage(check, timeoutMs = 5000) {
      return waitUntil(changes, () => channelMessages.find(check), timeoutMs, () => `${channelMessages.length} channel messages`);
    },
    reset() {
      requests.length = 0;
      identifies.length = 0;
      resumes.length = 0;
      interactions.clear();
      byToken.clear();
      messages.clear();
      failRules.length = 0;
      channelLog.clear();
      channelMessages.length = 0;
      nonces.clear();
    },
    waitForSession(timeoutMs = 5000) {
      return waitUntil(changes, () => [...sessions.values()].some((s) => s.identified), timeoutMs, () => 'no identified session').then(() => undefined);
    },
    waitFor(check, timeoutMs = 5000) {
      return waitUntil(changes, check, timeoutMs, () => `${requests.length} REST calls`);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const ws of sessions.keys()) ws.terminate();
      wss.close();
      for (const s of httpSockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
