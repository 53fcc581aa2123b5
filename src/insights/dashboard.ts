/**
 * The live report for TAs: `npm start` serves the report at `/painel` on DASHBOARD_PORT
 * (DASHBOARD_HOST) when DASHBOARD_TOKEN is set, and never listens without it.
 *
 * - Access: the token in an `Authorization: Bearer <token>` header (scripts), or typed once in a
 *   login form that sets an HTTP-only, SameSite=Strict cookie for `/painel` (people). The cookie
 *   holds an HMAC of the token, not the token, so changing the token ends every session.
 *   Comparisons take the same time whatever the guess (SHA-256 digests, timingSafeEqual).
 *   Anything else gets 401 and the login form.
 * - Read-only: GET/HEAD of the report, POST of the login form and of "sair"; nothing changes data.
 * - Fresh: the report is rebuilt on request, reusing one built less than `cacheMs` ago (default
 *   5 s), so a burst of reloads costs one build; concurrent requests share it.
 * - Same page as `npm run report`, with the same Content-Security-Policy sent as a header too.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import { escapeHtml, REPORT_CSP } from './html.js';

export const DASHBOARD_PATH = '/painel';
const LOGIN_PATH = `${DASHBOARD_PATH}/entrar`;
const LOGOUT_PATH = `${DASHBOARD_PATH}/sair`;
export const SESSION_COOKIE = 'pergunta_painel';
const SESSION_SECONDS = 12 * 3600;
const MAX_FORM_BYTES = 4096;

export interface DashboardOptions {
  token: string;
  port: number;
  host: string;
  logger: Logger;
  /** The report page, built from the store as it is now. */
  build: () => Promise<string>;
  /** A page built less than this long ago is served again (ms). Default 5000. */
  cacheMs?: number;
}

export interface Dashboard {
  readonly port: number;
  /** `http://host:port/painel` */
  readonly url: string;
  stop(): Promise<void>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Equal strings, in a time that does not depend on where they differ (nor on their lengths). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function sessionValue(token: string): string {
  return createHmac('sha256', token).update('pergunta:painel:sessao').digest('hex');
}

function cookieOf(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const LOGIN_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

function loginPage(message: string | null): string {
  return `<!doctype html>
<html lang="pt-BR">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Painel do pergunta — entrar</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:420px;margin:64px auto;padding:0 16px;color:#1f2328}label,input,button{display:block;width:100%;font:inherit}input{margin:6px 0 12px;padding:8px;box-sizing:border-box}button{padding:8px;cursor:pointer}.erro{color:#b2182b}</style></head>
<body><h1>Painel do pergunta</h1>
<p>O relatório da disciplina para os monitores. Digite o token de acesso que a coordenação enviou.</p>
${message ? `<p class="erro" role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="${LOGIN_PATH}"><label for="token">Token de acesso</label><input id="token" name="token" type="password" autocomplete="current-password" required autofocus><button type="submit">Entrar</button></form>
</body></html>
`;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}, head = false): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(head ? undefined : body);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  return new Promise((resolve) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(parts).toString('utf8'))));
    req.on('error', () => resolve(null));
  });
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { token, logger } = options;
  if (!token) throw new Error('the live page needs DASHBOARD_TOKEN');
  const log = logger.child({ component: 'painel' });
  const session = sessionValue(token);
  const cacheMs = options.cacheMs ?? 5_000;
  let cached: { html: string; at: number } | null = null;
  let building: Promise<string> | null = null;

  const page = async (): Promise<string> => {
    if (cached && Date.now() - cached.at < cacheMs) return cached.html;
    building ??= options
      .build()
      .then((html) => {
        cached = { html, at: Date.now() };
        return html;
      })
      .finally(() => {
        building = null;
      });
    return building;
  };

  const authorized = (req: IncomingMessage): 'yes' | 'no' | 'wrong' => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(.+)$/i.exec(header.trim());
      return match && sameSecret(match[1]!, token) ? 'yes' : 'wrong';
    }
    const cookie = cookieOf(req, SESSION_COOKIE);
    if (cookie !== undefined) return sameSecret(cookie, session) ? 'yes' : 'wrong';
    return 'no';
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://painel.local');
    const method = req.method ?? 'GET';
    const secure = req.headers['x-forwarded-proto'] === 'https';
    const cookie = (value: string, maxAge: number) =>
      `${SESSION_COOKIE}=${value}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;

    if (url.pathname === DASHBOARD_PATH || url.pathname === `${DASHBOARD_PATH}/`) {
      if (method !== 'GET' && method !== 'HEAD') return send(res, 405, 'Método não permitido.', { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      const auth = authorized(req);
      if (auth !== 'yes') {
        if (auth === 'wrong') log.warn({ from: req.socket.remoteAddress }, 'live page: refused a wrong token');
        return send(res, 401, loginPage(auth === 'wrong' ? 'Token incorreto ou sessão expirada.' : null), { 'www-authenticate': 'Bearer realm="painel"', 'content-security-policy': LOGIN_CSP }, method === 'HEAD');
      }
      let html: string;
      try {
        html = await page();
      } catch (err) {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'live page: the report could not be built');
        return send(res, 503, 'O relatório não pôde ser gerado agora (o banco de respostas não respondeu). Tente de novo em instantes.', { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '30' });
      }
      return send(res, 200, html, { 'content-security-policy': REPORT_CSP }, method === 'HEAD');
    }
    if (url.pathname === LOGIN_PATH && method === 'POST') {
      const form = await readForm(req);
      const given = form?.get('token') ?? '';
      if (!form || !sameSecret(given, token)) {
        log.warn({ from: req.socket.remoteAddress }, 'live page: refused a wrong token');
        return send(res, 401, loginPage('Token incorreto.'), { 'content-security-policy': LOGIN_CSP });
      }
      return send(res, 303, '', { location: DASHBOARD_PATH, 'set-cookie': cookie(session, SESSION_SECONDS) });
    }
    if (url.pathname === LOGOUT_PATH && method === 'POST') {
      return send(res, 303, '', { location: DASHBOARD_PATH, 'set-cookie': cookie('', 0) });
    }
    return send(res, 404, 'Não encontrado.', { 'content-type': 'text/plain; charset=utf-8' });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'live page: request failed');
      if (!res.headersSent) send(res, 500, 'Erro interno.', { 'content-type': 'text/plain; charset=utf-8' });
      else res.destroy();
    });
  });
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}${DASHBOARD_PATH}`;
  return {
    port,
    url,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
