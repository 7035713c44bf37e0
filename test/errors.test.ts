import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import {
  openaiUpstreamConfig,
  startGateway,
  UPSTREAM_SECRET,
  type RunningGateway,
} from './helpers/gateway';
import { assertMatchesSpec } from './helpers/openapi';
import { openaiError, startUpstream, type UpstreamServer } from './mocks/upstream-server';

/** Bad input and failing upstreams: each gets OpenAI's error shape, the right status, and no secret. */
let upstream: UpstreamServer;
let gateway: RunningGateway;
let key: string;
let client: OpenAI;
const PROMPT = 'my-private-prompt-text-4711';

const deadPort = 9; // discard port: nothing listens there on loopback

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI({ chunkDelayMs: 5 }));
  gateway = await startGateway({
    config: openaiUpstreamConfig(upstream.url, {
      timeoutMs: 1000,
      maxBodyBytes: 65536,
      providers: `  - id: dead\n    kind: openai-compatible\n    base_url: http://127.0.0.1:${deadPort}/v1`,
      models: '  - name: dead\n    provider: dead',
    }),
    env: { TEST_UPSTREAM_KEY: UPSTREAM_SECRET },
  });
  key = (await gateway.createKey({ name: 'errors', models: ['gpt-test', 'dead', 'demo'] })).key;
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.baseURL}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
  });
  const json = (await res.json()) as {
    error: { message: string; type: string; param: string | null; code: string };
  };
  assertMatchesSpec('ErrorResponse', json);
  return { status: res.status, headers: res.headers, error: json.error };
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: PROMPT }], ...extra });

describe('authentication', () => {
  it('401 without a key, with an unknown key, and with a revoked key', async () => {
    expect((await post('/chat/completions', chat(), { authorization: '' })).status).toBe(401);
    const unknown = await post('/chat/completions', chat(), {
      authorization: 'Bearer vk-not-a-real-key',
    });
    expect(unknown).toMatchObject({ status: 401, error: { code: 'invalid_api_key' } });
    const doomed = await gateway.createKey({ name: 'doomed', models: ['*'] });
    const res = await fetch(`${gateway.url}/admin/keys/${doomed.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${gateway.adminKey}` },
    });
    expect(res.status).toBe(200);
    expect(
      (await post('/chat/completions', chat(), { authorization: `Bearer ${doomed.key}` })).status,
    ).toBe(401);
  });

  it('accepts the key as x-api-key too', async () => {
    const res = await fetch(`${gateway.baseURL}/models`, { headers: { 'x-api-key': key } });
    expect(res.status).toBe(200);
  });

  it('401 for an expired key', async () => {
    const expired = await gateway.createKey({
      name: 'old',
      models: ['*'],
      expires_at: Date.now() + 300,
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await post('/chat/completions', chat(), {
      authorization: `Bearer ${expired.key}`,
    });
    expect(result).toMatchObject({ status: 401, error: { code: 'key_expired' } });
  });

  it('403 for a model the key may not use, as the SDK’s PermissionDeniedError', async () => {
    const narrow = await gateway.createKey({ name: 'narrow', models: ['demo'] });
    const narrowClient = new OpenAI({
      baseURL: gateway.baseURL,
      apiKey: narrow.key,
      maxRetries: 0,
    });
    await expect(
      narrowClient.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});

describe('bad requests', () => {
  it('400 for malformed JSON, for a body that is not an object, and for missing fields', async () => {
    expect(await post('/chat/completions', '{"model": "gpt-test", ')).toMatchObject({
      status: 400,
      error: { code: 'invalid_json' },
    });
    expect((await post('/chat/completions', '[1,2]')).status).toBe(400);
    expect(await post('/chat/completions', '{"messages":[]}')).toMatchObject({
      status: 400,
      error: { param: 'model' },
    });
    expect(await post('/chat/completions', '{"model":"gpt-test"}')).toMatchObject({
      status: 400,
      error: { param: 'messages' },
    });
    expect(await post('/chat/completions', chat({ stream: 'yes' }))).toMatchObject({
      status: 400,
      error: { param: 'stream' },
    });
    expect(await post('/embeddings', '{"model":"gpt-test"}')).toMatchObject({
      status: 400,
      error: { param: 'input' },
    });
  });

  it('404 for an unknown model, as the SDK’s NotFoundError', async () => {
    const wide = await gateway.createKey({ name: 'wide', models: ['*'] });
    const wideClient = new OpenAI({ baseURL: gateway.baseURL, apiKey: wide.key, maxRetries: 0 });
    await expect(
      wideClient.chat.completions.create({
        model: 'no-such-model',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('413 for a body over the limit, declared or chunked, and the upstream never sees it', async () => {
    const seen = upstream.requests.length;
    const big = chat({ padding: 'x'.repeat(70_000) });
    expect(await post('/chat/completions', big)).toMatchObject({
      status: 413,
      error: { code: 'body_too_large' },
    });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(upstream.requests.length).toBe(seen);
  });

  it('404 in OpenAI’s shape for an unknown path', async () => {
    const res = await fetch(`${gateway.url}/v2/whatever`);
    expect(res.status).toBe(404);
    assertMatchesSpec('ErrorResponse', await res.json());
  });
});

describe('upstream failures', () => {
  it('upstream 429 stays 429 with its Retry-After', async () => {
    upstream.script(
      openaiError(429, 'Rate limit reached', {
        type: 'requests',
        code: 'rate_limit_exceeded',
        headers: { 'retry-after': '7' },
      }),
    );
    const result = await post('/chat/completions', chat());
    expect(result.status).toBe(429);
    expect(result.headers.get('retry-after')).toBe('7');
    upstream.script(openaiError(429, 'slow down', { headers: { 'retry-after-ms': '1500' } }));
    const viaSdk = await client.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
      .catch((err: unknown) => err);
    expect(viaSdk).toBeInstanceOf(OpenAI.RateLimitError);
    expect((viaSdk as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after')).toBe(
      '2',
    );
  });

  it('upstream 5xx becomes 502 once the retry has failed too', async () => {
    for (const status of [500, 503]) {
      const seen = upstream.requests.length;
      upstream.script(
        openaiError(status, 'The server had an error'),
        openaiError(status, 'The server had an error'),
      );
      const result = await post('/chat/completions', chat());
      expect(result).toMatchObject({ status: 502, error: { code: 'upstream_error' } });
      expect(result.headers.get('x-vidai-attempts')).toBe('2');
      expect(upstream.requests.length - seen).toBe(2);
    }
  });

  it('upstream 400 keeps its status and explanation, with anything key-like removed', async () => {
    upstream.script(
      openaiError(400, "Invalid value for 'temperature' (key sk-proj-abcdefghijklmnop)"),
    );
    const result = await post('/chat/completions', chat());
    expect(result.status).toBe(400);
    expect(result.error.message).toContain("Invalid value for 'temperature'");
    expect(result.error.message).not.toContain('sk-proj-abcdefghijklmnop');
  });

  it('upstream 401 becomes 502 and says nothing the upstream said about its key', async () => {
    upstream.script(
      openaiError(401, `Incorrect API key provided: ${UPSTREAM_SECRET.slice(0, 12)}****`),
    );
    const result = await post('/chat/completions', chat());
    expect(result).toMatchObject({ status: 502, error: { code: 'upstream_auth_failed' } });
    expect(result.error.message).not.toContain('Incorrect API key');
  });

  it('504 when the upstream does not answer in time', async () => {
    upstream.script({ hang: true });
    expect(await post('/chat/completions', chat())).toMatchObject({
      status: 504,
      error: { code: 'upstream_timeout' },
    });
  });

  it('502 when the upstream is unreachable or resets the connection', async () => {
    expect(await post('/chat/completions', chat({ model: 'dead' }))).toMatchObject({
      status: 502,
      error: { code: 'upstream_unreachable' },
    });
    upstream.script({ reset: true }, { reset: true });
    expect((await post('/chat/completions', chat())).status).toBe(502);
  });

  it('a stream cut mid-way ends with an error the SDK raises, never a clean finish', async () => {
    upstream.script({ cutAfterBytes: 900 });
    const stream = await client.chat.completions.create({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: 'x' }],
    });
    let text = '';
    const failure = await (async () => {
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    })().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(text.length).toBeGreaterThan(0);

    upstream.script({ cutAfterBytes: 900 });
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: chat({ stream: true }),
    });
    const body = await res.text();
    expect(body).not.toContain('[DONE]');
    const events = body.split('\n\n').filter(Boolean);
    const last = JSON.parse(events.at(-1)?.replace(/^data: /, '') ?? '{}') as unknown;
    assertMatchesSpec('ErrorResponse', last);
    for (const event of events.slice(0, -1)) JSON.parse(event.replace(/^data: /, ''));
  });
});

describe('secrets', () => {
  it('no key, upstream credential or prompt appears in any log line', async () => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const output = gateway.output();
    expect(output.length).toBeGreaterThan(0);
    for (const secret of [UPSTREAM_SECRET, key, gateway.adminKey, PROMPT])
      expect(output).not.toContain(secret);
  });
});
