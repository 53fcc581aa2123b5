/**
 * Slack's side of a burst, on its own thread: signs and posts many requests to the app at once
 * from a worker thread, and reports each one's status, body and time to the response.
 *
 * In production Slack is another machine: its clients do not share the bot's event loop. Posting
 * from the test's own thread would charge the bot with the cost of 200 `fetch` clients (their
 * timings measured on a loop the bot keeps busy). The worker has its own event loop, so the
 * times it measures are the app's acknowledgement latency as Slack would see it (over loopback).
 *
 *   const results = await postBurstOffThread(url, bodies, signingSecret);
 *   results[i].status; results[i].ms; results[i].json;
 */
import { Worker } from 'node:worker_threads';

export interface BurstResult {
  status: number;
  text: string;
  json: Record<string, unknown> | undefined;
  /** From the request's start to the complete response, ms (measured in the worker). */
  ms: number;
  /** Network error, if the request failed outright. */
  error?: string;
}

/** Plain JavaScript (CommonJS, node built-ins only): the worker needs no TypeScript loader. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const { url, bodies, signingSecret, contentType } = workerData;
async function one(body) {
  const ts = Math.floor(Date.now() / 1000);
  const signature = 'v0=' + createHmac('sha256', signingSecret).update('v0:' + ts + ':' + body).digest('hex');
  const started = performance.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-slack-signature': signature, 'x-slack-request-timestamp': String(ts) },
      body,
    });
    const text = await res.text();
    return { status: res.status, text, ms: performance.now() - started };
  } catch (err) {
    return { status: 0, text: '', ms: performance.now() - started, error: String(err && err.cause ? err.cause : err) };
  }
}
Promise.all(bodies.map(one)).then((results) => parentPort.postMessage(results));
`;

/**
 * Posts every body to `url` at once, signed; resolves with the results in order. Bodies are
 * urlencoded (commands and actions, see fakeSlack's `formBody`) unless `contentType` says
 * otherwise (`application/json` for Events API callbacks).
 */
export function postBurstOffThread(
  url: string,
  bodies: string[],
  signingSecret: string,
  timeoutMs = 60_000,
  contentType = 'application/x-www-form-urlencoded',
): Promise<BurstResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { url, bodies, signingSecret, contentType } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`offThreadPoster: no answer to ${bodies.length} requests after ${timeoutMs} ms`));
    }, timeoutMs);
    worker.once('message', (raw: Array<Omit<BurstResult, 'json'>>) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(
        raw.map((r) => {
          let json: Record<string, unknown> | undefined;
          try {
            json = r.text ? (JSON.parse(r.text) as Record<string, unknown>) : undefined;
          } catch {
            json = undefined;
          }
          return { ...r, json };
        }),
      );
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
