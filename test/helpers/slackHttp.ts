/**
 * Raw HTTP posts to a Bolt app's `/slack/events`, for what test/fakes/fakeSlack.ts's
 * `postToApp` cannot forge: any body (not JSON, not an object, fields missing), a body changed
 * after it was signed, a signature of an unknown version, one header without the other, a
 * timestamp that is not a number.
 *
 *   await postRaw(url, interactiveBody('not json'), { signingSecret });           // signed, not JSON
 *   await postRaw(url, body, { signingSecret, signedBody: otherBody });           // tampered after signing
 *   await postRaw(url, body, { signingSecret, omit: ['timestamp'] });             // signature only
 *   await postRaw(url, body, { signature: 'v1=abc', timestamp: now });            // unknown version
 */
import { createHmac } from 'node:crypto';

/** Slack's request signature: `v0=` + HMAC-SHA256(secret, `v0:{timestamp}:{raw body}`). */
export function slackSignature(signingSecret: string, timestamp: number | string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

/** The urlencoded body of an interactive request whose `payload` field is `payload` verbatim. */
export function interactiveBody(payload: string): string {
  return new URLSearchParams({ payload }).toString();
}

/** The urlencoded body of a slash command with exactly these fields. */
export function commandBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export interface RawPostOptions {
  /** Signs the request with this secret (unless `signature` is given). */
  signingSecret?: string;
  /** `x-slack-request-timestamp`; default now (seconds). */
  timestamp?: number | string;
  /** Sent as `x-slack-signature` instead of the computed one. */
  signature?: string;
  /** Sign this body but send the real one (a body changed after signing). */
  signedBody?: string;
  /** Leave out one or both signature headers. */
  omit?: Array<'signature' | 'timestamp'>;
  /** Default `application/x-www-form-urlencoded`, exactly as Slack sends it. */
  contentType?: string;
}

export interface RawPostResult {
  status: number;
  text: string;
  json: Record<string, unknown> | undefined;
  ms: number;
}

export async function postRaw(url: string, body: string, opts: RawPostOptions = {}): Promise<RawPostResult> {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/x-www-form-urlencoded' };
  const signature = opts.signature ?? (opts.signingSecret ? slackSignature(opts.signingSecret, timestamp, opts.signedBody ?? body) : undefined);
  if (signature !== undefined && !opts.omit?.includes('signature')) headers['x-slack-signature'] = signature;
  if (!opts.omit?.includes('timestamp')) headers['x-slack-request-timestamp'] = String(timestamp);
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, ms: performance.now() - started };
}
