/**
 * The live page (/painel): only with the token (Bearer header or the login form's HTTP-only,
 * SameSite=Strict cookie), 401 otherwise, read-only, rebuilt on request with a short cache, and
 * the report's Content-Security-Policy as a header.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sameSecret, SESSION_COOKIE, startDashboard, type Dashboard } from '../../src/insights/dashboard.js';
import { REPORT_CSP } from '../../src/insights/html.js';
import { recordingLogger } from '../helpers/course.js';

const TOKEN = 'token-do-painel-de-teste-1234567890';
const REPORT = '<!doctype html><html lang="pt-BR"><title>Relatório</title><p>relatório</p></html>';

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.stop();
  dashboard = undefined;
});

async function start(options: { cacheMs?: number; build?: () => Promise<string> } = {}) {
  const { logger, lines } = recordingLogger([TOKEN]);
  let builds = 0;
  dashboard = await startDashboard({
    token: TOKEN,
    port: 0,
    host: '127.0.0.1',
    logger,
    cacheMs: options.cacheMs ?? 60_000,
    build:
      options.build ??
      (async () => {
        builds++;
        return REPORT.replace('relatório</p>', `relatório ${builds}</p>`);
      }),
  });
  return { url: dashboard.url, origin: dashboard.url.replace(/\/painel$/, ''), lines, builds: () => builds };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the live page', () => {
  it('refuses every request without the token with 401 and the login form', async () => {
    const { url } = await start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/painel$/);
    for (const headers of [{} as Record<string, string>, bearer('errado'), bearer(`${TOKEN}x`), { authorization: 'Basic abc' }, { cookie: `${SESSION_COOKIE}=${TOKEN}` }]) {
      const res = await fetch(url, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="painel"');
      const body = await res.text();
      expect(body).toContain('<form method="post" action="/painel/entrar">');
      expect(body).not.toContain('relatório 1');
    }
  });

  it('serves the report with the right Bearer token, with the report’s CSP and no caching by browsers', async () => {
    const { url } = await start();
    const res = await fetch(url, { headers: bearer(TOKEN) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('relatório 1');
    expect(res.headers.get('content-security-policy')).toBe(REPORT_CSP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('logs in through the form: an HTTP-only, SameSite=Strict cookie that is not the token', async () => {
    const { url, origin, lines } = await start();
    const wrong = await fetch(`${origin}/painel/entrar`, { method: 'POST', body: new URLSearchParams({ token: 'chute' }), redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Token incorreto.');
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await fetch(`${origin}/painel/entrar`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/painel');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[0-9a-f]{64}; Path=/painel; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    const page = await fetch(url, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('relatório');
    const forged = await fetch(url, { headers: { cookie: `${SESSION_COOKIE}=${'0'.repeat(64)}` } });
    expect(forged.status).toBe(401);

    const behindTls = await fetch(`${origin}/painel/entrar`, { method: 'POST', body: new URLSearchParams({ token: TOKEN }), redirect: 'manual', headers: { 'x-forwarded-proto': 'https' } });
    expect(behindTls.headers.get('set-cookie')).toMatch(/; Secure$/);
    const logout = await fetch(`${origin}/painel/sair`, { method: 'POST', redirect: 'manual', headers: { cookie: session } });
    expect(logout.headers.get('set-cookie')).toMatch(/^pergunta_painel=; .*Max-Age=0/);

    // Refusals are logged, the token never.
    expect(lines.join('\n')).toContain('live page: refused a wrong token');
    expect(lines.join('\n')).not.toContain(TOKEN);
  });

  it('is read-only: other methods and paths are refused, and a huge form is not read', async () => {
    const { url, origin } = await start();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect((await fetch(url, { method, headers: bearer(TOKEN) })).status, method).toBe(405);
    }
    expect((await fetch(`${origin}/`, { headers: bearer(TOKEN) })).status).toBe(404);
    expect((await fetch(`${origin}/painel/../etc/passwd`, { headers: bearer(TOKEN) })).status).toBe(404);
    expect((await fetch(`${origin}/painel/entrar`, { headers: bearer(TOKEN) })).status).toBe(404);
    const big = await fetch(`${origin}/painel/entrar`, { method: 'POST', body: `token=${'x'.repeat(100_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }).catch(
      (err: unknown) => err,
    );
    if (big instanceof Response) expect(big.status).toBe(401);
    // Still serving.
    expect((await fetch(url, { headers: bearer(TOKEN) })).status).toBe(200);
  });

  it('rebuilds on request, serving a page built moments ago again, one build for simultaneous requests', async () => {
    const cached = await start({ cacheMs: 60_000 });
    await Promise.all(Array.from({ length: 5 }, () => fetch(cached.url, { headers: bearer(TOKEN) }).then((r) => r.text())));
    await fetch(cached.url, { headers: bearer(TOKEN) });
    expect(cached.builds()).toBe(1);
    await dashboard!.stop();

    const fresh = await start({ cacheMs: 0 });
    for (let i = 0; i < 3; i++) await fetch(fresh.url, { headers: bearer(TOKEN) });
    expect(fresh.builds()).toBe(3);
  });

  it('answers 503 in pt-BR when the report cannot be built, and recovers', async () => {
    let fail = true;
    const { url, lines } = await start({
      cacheMs: 0,
      build: async () => {
        if (fail) throw new Error('feedback store unavailable: redis down');
        return REPORT;
      },
    });
    const down = await fetch(url, { headers: bearer(TOKEN) });
    expect(down.status).toBe(503);
    expect(await down.text()).toContain('O relatório não pôde ser gerado agora');
    expect(lines.join('\n')).toContain('live page: the report could not be built');
    fail = false;
    expect((await fetch(url, { headers: bearer(TOKEN) })).status).toBe(200);
  });

  it('never starts without a token; compares secrets whole', async () => {
    await expect(startDashboard({ token: '', port: 0, host: '127.0.0.1', logger: recordingLogger().logger, build: async () => REPORT })).rejects.toThrow(/DASHBOARD_TOKEN/);
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', 'abc')).toBe(false);
  });
});
