/**
 * Headless Chromium for the tests that open the staff report like a person would: Debian's
 * chromium (test/helpers/services.ts), driven by puppeteer-core (which downloads no browser),
 * with a fresh profile and everything that could reach the network switched off. Every request
 * the page makes is intercepted: the page's own file is served, anything else is refused and
 * recorded, as are console messages, page errors and dialogs (an `alert` would mean injected
 * script ran).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { chromiumPath } from './services.js';

export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface OpenedPage {
  page: Page;
  url: string;
  /** Requests other than the page itself (refused). */
  requests: string[];
  /** Console messages of type error or warning, page errors. */
  errors: string[];
  /** Dialogs the page opened (alert, confirm…). */
  dialogs: string[];
}

export interface TestBrowser {
  open(file: string, viewport?: { width: number; height: number }): Promise<OpenedPage>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(tmpdir(), 'pergunta-chromium-'));
  // headless: true is Chromium's --headless; the rest are the flags above and a fresh profile.
  const browser: Browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`],
  });
  return {
    async open(file, viewport = { width: 1280, height: 900 }) {
      const url = pathToFileURL(path.resolve(file)).href;
      const page = await browser.newPage();
      await page.setViewport(viewport);
      const opened: OpenedPage = { page, url, requests: [], errors: [], dialogs: [] };
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        if (request.url() === url) void request.continue();
        else {
          opened.requests.push(request.url());
          void request.abort('blockedbyclient');
        }
      });
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warn') opened.errors.push(`${message.type()}: ${message.text()}`);
      });
      page.on('pageerror', (err) => opened.errors.push(`pageerror: ${err instanceof Error ? err.message : String(err)}`));
      page.on('dialog', (dialog) => {
        opened.dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await page.goto(url, { waitUntil: 'load' });
      return opened;
    },
    async close() {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
