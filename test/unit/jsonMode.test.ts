/**
 * JSON mode against the fake OpenAI-compatible server (127.0.0.1 only): the LLM client sends
 * `response_format` only when asked, and the judge's per-server memory asks for JSON mode,
 * falls back to prompt-only JSON when the server refuses it, and remembers which.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLlm, LlmError, type Llm } from '../../src/answer/llm.js';
import { describeServer, JsonModeMemory, refusesResponseFormat } from '../../src/evaluation/jsonMode.js';
import { createLogger } from '../../src/logger.js';
import { startFakeOpenAI, type FakeBehavior, type FakeOpenAI, type FakeRequest } from '../fakes/fakeOpenAI.js';

const API_KEY = 'sk-test-jsonmode-0123456789abcdef';
const logger = createLogger({ level: 'silent' });

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await startFakeOpenAI();
});
afterEach(() => fake.reset());
afterAll(async () => {
  await fake.close();
});

function llm(model = 'modelo-fake', maxRetries = 1): Llm {
  return createLlm({ apiKey: API_KEY, baseURL: fake.baseURL, model, timeoutMs: 5_000, maxRetries, retryBaseDelayMs: 1, temperature: 0 });
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

const OPENAI_REFUSAL: FakeBehavior = {
  type: 'error',
  status: 400,
  message: "Invalid parameter: 'response_format' of type 'json_object' is not supported with this model.",
  param: 'response_format',
};

/** A server that refuses `response_format` with `refusal` and answers `reply` otherwise. */
function refusing(refusal: FakeBehavior = OPENAI_REFUSAL, reply = '{"score": 3}'): (req: FakeRequest) => FakeBehavior {
  return (req) => (responseFormat(req) === undefined ? { type: 'text', text: reply } : refusal);
}

const ask = (memory: JsonModeMemory, client: Llm, text = 'responda em JSON', signal?: AbortSignal) =>
  memory.complete(client, [{ role: 'user', content: text }], { logger, ...(signal ? { signal } : {}) });

describe('JsonModeMemory', () => {
  it('asks for JSON mode and keeps asking when the server accepts it', async () => {
    const memory = new JsonModeMemory();
    const client = llm();
    expect(memory.state(client)).toBe('unknown');
    const replies = await Promise.all([1, 2, 3, 4].map((i) => ask(memory, client, `pergunta ${i}`)));
    expect(replies).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(memory.state(client)).toBe('json-object');
    expect(fake.requests.map(responseFormat)).toEqual(Array.from({ length: 4 }, () => ({ type: 'json_object' })));
  });

  it('falls back to prompt-only after one refusal, for concurrent calls and later ones, and remembers it per base URL + model', async () => {
    fake.setDefault(refusing());
    const memory = new JsonModeMemory();
    const client = llm();
    const replies = await Promise.all([1, 2, 3, 4, 5].map((i) => ask(memory, client, `pergunta ${i}`)));
    expect(replies).toEqual(Array.from({ length: 5 }, () => '{"score": 3}'));
    expect(memory.state(client)).toBe('prompt-only');
    // One rejected call: the probe. The calls made meanwhile waited for it and went without.
    expect(fake.requests.filter((r) => responseFormat(r) !== undefined)).toHaveLength(1);
    expect(fake.requests).toHaveLength(6);
    expect(fake.requests[0] && responseFormat(fake.requests[0])).toEqual({ type: 'json_object' });

    // Remembered for the same server and model, whatever client object asks.
    fake.reset();
    fake.setDefault(refusing());
    await ask(memory, llm());
    expect(fake.requests.map(responseFormat)).toEqual([undefined]);

    // Another model on the same server is another server.
    fake.reset();
    fake.setDefault(refusing());
    const other = llm('outro-modelo');
    expect(memory.state(other)).toBe('unknown');
    await ask(memory, other);
    expect(fake.requests.map(responseFormat)).toEqual([{ type: 'json_object' }, undefined]);
  });

  it('falls back on a refusal it cannot read only once a call without response_format succeeds', async () => {
    // A body the client cannot read as an OpenAI error: the message says nothing.
    fake.setDefault(refusing({ type: 'error', status: 422, body: { detail: [{ loc: ['body', 'response_format'], msg: 'extra' }] } }));
    const memory = new JsonModeMemory();
    const client = llm();
    expect(await ask(memory, client)).toBe('{"score": 3}');
    expect(memory.state(client)).toBe('prompt-only');
    expect(fake.requests.map(responseFormat)).toEqual([{ type: 'json_object' }, undefined]);
  });

  it('does not remember anything when the 400 is about the call itself', async () => {
    fake.setDefault({ type: 'error', status: 400, message: "This model's maximum context length is 8192 tokens." });
    const memory = new JsonModeMemory();
    const client = llm();
    const err = await ask(memory, client).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmError);
    expect((err as LlmError).message).toContain('maximum context length');
    expect(memory.state(client)).toBe('unknown');
    expect(fake.requests.map(responseFormat)).toEqual([{ type: 'json_object' }, undefined]);

    // The next call probes again.
    fake.reset();
    expect(await ask(memory, client)).toBe('ok');
    expect(memory.state(client)).toBe('json-object');
  });

  it('stays unknown when the probe fails for another reason, and the next call probes', async () => {
    fake.enqueue({ type: 'error', status: 503, message: 'sobrecarregado' });
    const memory = new JsonModeMemory();
    const client = llm('modelo-fake', 0);
    await expect(ask(memory, client)).rejects.toMatchObject({ kind: 'unavailable', status: 503 });
    expect(memory.state(client)).toBe('unknown');
    expect(await ask(memory, client)).toBe('ok');
    expect(memory.state(client)).toBe('json-object');
    expect(fake.requests.map(responseFormat)).toEqual([{ type: 'json_object' }, { type: 'json_object' }]);
  });

  it('switches a server that accepted JSON mode when it later refuses it by name; its other 400s are the call’s', async () => {
    const memory = new JsonModeMemory();
    const client = llm();
    await ask(memory, client);
    expect(memory.state(client)).toBe('json-object');

    fake.enqueue({ type: 'error', status: 400, message: 'context too long' });
    await expect(ask(memory, client)).rejects.toMatchObject({ status: 400 });
    expect(memory.state(client)).toBe('json-object');
    expect(fake.requests).toHaveLength(2);

    fake.setDefault(refusing({ type: 'error', status: 400, message: 'Unsupported parameter: response_format' }));
    expect(await ask(memory, client)).toBe('{"score": 3}');
    expect(memory.state(client)).toBe('prompt-only');
    expect(fake.requests.slice(2).map(responseFormat)).toEqual([{ type: 'json_object' }, undefined]);
  });

  it('lets a call waiting for the probe give up when its signal aborts', async () => {
    fake.enqueue({ type: 'stall' });
    const memory = new JsonModeMemory();
    const client = llm();
    const probeController = new AbortController();
    const probe = ask(memory, client, 'primeira', probeController.signal);
    await fake.waitForRequests(1);
    const controller = new AbortController();
    const waiting = ask(memory, client, 'outra', controller.signal);
    controller.abort(new Error('desisti'));
    await expect(waiting).rejects.toThrow('desisti');
    expect(fake.requests).toHaveLength(1);
    probeController.abort(new Error('sonda cancelada'));
    await expect(probe).rejects.toThrow('sonda cancelada');
    expect(memory.state(client)).toBe('unknown');
  });
});

describe('refusesResponseFormat and describeServer', () => {
  const rejection = (message: string, o: { status?: number; param?: string; code?: string } = {}) =>
    new LlmError('bad-response', `LLM server rejected the request: ${message}`, { status: o.status ?? 400, ...o });

  it('recognises the ways servers refuse response_format', () => {
    expect(refusesResponseFormat(rejection('400 fake error 400', { param: 'response_format' }))).toBe(true);
    expect(refusesResponseFormat(rejection('400 bad', { code: 'unsupported_parameter' }))).toBe(true);
    expect(refusesResponseFormat(rejection("400 'response_format.type' must be 'json_schema' or 'text'"))).toBe(true);
    expect(refusesResponseFormat(rejection('400 Unrecognized request argument supplied: response_format'))).toBe(true);
    expect(refusesResponseFormat(rejection('422 response format not supported', { status: 422 }))).toBe(true);
    expect(refusesResponseFormat(rejection('400 maximum context length exceeded'))).toBe(false);
    expect(refusesResponseFormat(new LlmError('unavailable', 'response_format', { status: 500 }))).toBe(false);
    expect(refusesResponseFormat(new Error('response_format'))).toBe(false);
  });

  it('describes a server without credentials or query', () => {
    expect(describeServer('http://usuario:senha@127.0.0.1:8000/v1?key=segredo#x')).toBe('http://127.0.0.1:8000/v1');
    expect(describeServer(undefined)).toBe('(default)');
    expect(describeServer('não é url')).toBe('(invalid URL)');
  });
});
