/**
 * JSON mode against the fake OpenAI-compatible server (127.0.0.1 only): the LLM client sends
 * `response_format` only when asked, and the judge's per-server memory asks for JSON mode,
 * falls back to prompt-only JSON when the server refuses it, and remembers which.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlm, LlmError, type Llm } from '../../src/answer/llm.js';
import { startFakeOpenAI, type FakeBehavior, type FakeOpenAI, type FakeRequest } from '../fakes/fakeOpenAI.js';

const API_KEY = 'sk-test-jsonmode-0123456789abcdef';

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

function llm(model = 'modelo-fake'): Llm {
  return createLlm({ apiKey: API_KEY, baseURL: fake.baseURL, model, timeoutMs: 5_000, maxRetries: 1, retryBaseDelayMs: 1, temperature: 0 });
}

const responseFormat = (req: FakeRequest): unknown => (req.body as { response_format?: unknown }).response_format;

describe('createLlm: response_format', () => {
  it('sends nothing unless asked, so answers are unchanged', async () => {
    await llm().complete([{ role: 'user', content: 'oi' }]);
    await llm().complete([{ role: 'user', content: 'oi' }], { onDelta: () => {} });
    expect(fake.requests).toHaveLength(2);
    for (const req of fake.requests) expect(req.body).not.toHaveProperty('response_format');
  });

  it('sends it when asked, streaming or not', async () => {
    await llm().complete([{ role: 'user', content: 'responda em JSON' }], { responseFormat: { type: 'json_object' } });
    await llm().complete([{ role: 'user', content: 'responda em JSON' }], { responseFormat: { type: 'json_object' }, onDelta: () => {} });
    expect(fake.requests.map(responseFormat)).toEqual([{ type: 'json_object' }, { type: 'json_object' }]);
    expect(fake.requests.map((r) => r.stream)).toEqual([false, true]);
  });

  it('exposes the base URL and keeps the server’s param and code on a 400, without retrying it', async () => {
    const client = llm();
    expect(client.baseURL).toBe(fake.baseURL);
    fake.setDefault({
      type: 'error',
      status: 400,
      message: "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.",
      param: 'response_format',
      code: 'unsupported_parameter',
    } satisfies FakeBehavior);
    const err = await client.complete([{ role: 'user', content: 'x' }], { responseFormat: { type: 'json_object' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ kind: 'bad-response', status: 400, param: 'response_format', code: 'unsupported_parameter', attempts: 1 });
    expect(fake.requests).toHaveLength(1);
  });

  it('leaves param and code undefined when the server sends none', async () => {
    fake.setDefault({ type: 'error', status: 400, message: 'context too long' });
    const err = await llm().complete([{ role: 'user', content: 'x' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'bad-response', status: 400, param: undefined, code: undefined });
  });
});
