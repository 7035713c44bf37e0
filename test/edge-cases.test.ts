import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import { openaiUpstreamConfig, startGateway, type RunningGateway } from './helpers/gateway';
import { assertMatchesSpec } from './helpers/openapi';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * What a careless or hostile client sends: odd bodies, odd headers, odd methods. Each gets a
 * clear error in the API's own shape, and the upstream never sees what the gateway refused.
 */
let upstream: UpstreamServer;
let gateway: RunningGateway;
let key: string;

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI());
  gateway = await startGateway({
    config: openaiUpstreamConfig(upstream.url, {
      server: '  cors_origins: ["https://app.example.com"]',
    }),
    env: { TEST_UPSTREAM_KEY: 'k' },
  });
  key = (await gateway.createKey({ name: 'edge', models: ['*'] })).key;
});
afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

async function send(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await fetch(`${gateway.baseURL}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function refused(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  const seen = upstream.requests.length;
  const res = await send(path, body, headers);
  expect(upstream.requests.length).toBe(seen);
  const json = JSON.parse(res.text) as ErrorBody;
  if (!path.startsWith('/messages')) assertMatchesSpec('ErrorResponse', json);
  return { status: res.status, error: json.error, raw: json as unknown };
}

const message = [{ role: 'user', content: 'hi' }];

describe('request bodies', () => {
  it('refuses JSON nested deeper than 128 levels with a 400, not a crash', async () => {
    const deep = (n: number) =>
      `{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(await refused('/chat/completions', deep(5000))).toMatchObject({
      status: 400,
      error: { code: 'invalid_request', message: expect.stringContaining('nested') },
    });
    expect((await refused('/messages', deep(5000))).status).toBe(400);
    expect((await send('/chat/completions', deep(100))).status).toBe(200);
    // Brackets inside strings are text, not nesting.
    const inString = JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: '['.repeat(5000) }],
    });
    expect((await send('/chat/completions', inString)).status).toBe(200);
  });

  it('names the field and what is wrong with it', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ model: 123, messages: message }, 'model', /must be a non-empty string/],
      [{ model: 'gpt-test', messages: 'hi' }, 'messages', /must be an array/],
      [{ model: 'gpt-test', messages: [] }, 'messages', /must not be empty/],
      [
        { model: 'gpt-test', messages: message, max_tokens: '10' },
        'max_tokens',
        /positive integer/,
      ],
      [
        { model: 'gpt-test', messages: message, max_completion_tokens: -1 },
        'max_completion_tokens',
        /positive integer/,
      ],
      [{ model: 'gpt-test', messages: message, tools: 'x' }, 'tools', /must be an array/],
      // A model name is echoed in errors and stored in every usage record: it has a bound.
      [{ model: 'm'.repeat(100_000), messages: message }, 'model', /at most 256 characters/],
    ];
    for (const [body, param, text] of cases) {
      const { status, error } = await refused('/chat/completions', JSON.stringify(body));
      expect(status).toBe(400);
      expect(error.param).toBe(param);
      expect(error.message).toMatch(text);
    }
  });

  it('requires max_tokens on /v1/messages, as Anthropic does, in Anthropic’s shape', async () => {
    const { status, raw } = await refused(
      '/messages',
      JSON.stringify({ model: 'gpt-test', messages: message }),
    );
    expect(status).toBe(400);
    expect(raw).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringContaining('max_tokens') },
    });
  });

  it('reads gzip and deflate bodies, and refuses other encodings with 415', async () => {
    const body = JSON.stringify({ model: 'gpt-test', messages: message });
    expect(
      (await send('/chat/completions', gzipSync(body), { 'content-encoding': 'gzip' })).status,
    ).toBe(200);
    expect(JSON.parse(upstream.requests.at(-1)!.body)).toMatchObject({ model: 'upstream-model' });
    expect(await refused('/chat/completions', body, { 'content-encoding': 'br' })).toMatchObject({
      status: 415,
      error: { code: 'unsupported_media_type' },
    });
    expect(
      (await refused('/chat/completions', 'not gzip', { 'content-encoding': 'gzip' })).status,
    ).toBe(400);
  });
});

describe('headers and methods', () => {
  it('says an Authorization header is malformed rather than missing', async () => {
    const res = await fetch(`${gateway.baseURL}/models`, {
      headers: { authorization: `Basic ${key}` },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorBody).error.message).toMatch(/malformed/);
  });

  it('answers a known path with the wrong method 405 and Allow, after auth', async () => {
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    assertMatchesSpec('ErrorResponse', await res.json());
    const admin = await gateway.admin('/keys', { method: 'PUT', body: '{}' });
    expect(admin.status).toBe(405);
    expect(admin.headers.get('allow')).toBe('GET, POST');
  });

  it.each([
    ['/healthz', 'POST', 'GET', 'none'],
    ['/v1/chat/completions', 'PUT', 'POST', 'key'],
    ['/v1/embeddings', 'GET', 'POST', 'key'],
    ['/v1/messages', 'GET', 'POST', 'key'],
    ['/v1/messages/count_tokens', 'GET', 'POST', 'key'],
    ['/v1/models', 'POST', 'GET', 'key'],
    ['/v1/models/gpt-test', 'DELETE', 'GET', 'key'],
    ['/admin/keys', 'DELETE', 'GET, POST', 'admin'],
    ['/admin/keys/some-id', 'POST', 'GET, PATCH, DELETE', 'admin'],
    ['/admin/teams', 'PATCH', 'GET, POST', 'admin'],
    ['/admin/teams/some-id', 'PUT', 'GET, PATCH, DELETE', 'admin'],
    ['/admin/usage', 'POST', 'GET', 'admin'],
    ['/admin/health', 'DELETE', 'GET', 'admin'],
  ])('answers %s asked with %s 405 with Allow: %s', async (path, method, allow, auth) => {
    const token = auth === 'key' ? key : auth === 'admin' ? gateway.adminKey : undefined;
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const body = (await res.json()) as Record<string, unknown>;
    if (path.startsWith('/v1/messages')) expect(body).toMatchObject({ type: 'error' });
    else assertMatchesSpec('ErrorResponse', body);
  });

  it('treats a trailing slash as the same route', async () => {
    const res = await fetch(`${gateway.baseURL}/models/`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
  });

  it('answers CORS preflights for configured origins without a key, and exposes its headers', async () => {
    const preflight = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,POST');
    const call = await fetch(`${gateway.baseURL}/models`, {
      headers: { origin: 'https://app.example.com', authorization: `Bearer ${key}` },
    });
    expect(call.headers.get('access-control-expose-headers')).toContain('x-request-id');
    const stranger = await fetch(`${gateway.baseURL}/models`, {
      headers: { origin: 'https://evil.example', authorization: `Bearer ${key}` },
    });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers headers too large for node:http with 431 in OpenAI’s shape', async () => {
    const res = await fetch(`${gateway.baseURL}/models`, {
      headers: { authorization: `Bearer ${key}`, 'x-padding': 'x'.repeat(32 * 1024) },
    });
    expect(res.status).toBe(431);
    assertMatchesSpec('ErrorResponse', await res.json());
  });
});

describe('admin input', () => {
  it('refuses an expiry in the past and a usage range that ends before it starts', async () => {
    const past = await gateway.admin('/keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'x', models: ['*'], expires_at: Date.now() - 1000 }),
    });
    expect(past.status).toBe(400);
    expect(((await past.json()) as ErrorBody).error).toMatchObject({
      param: 'expires_at',
      message: expect.stringContaining('future'),
    });
    const range = await gateway.admin('/usage?from=2030-01-01T00:00:00Z&to=2020-01-01T00:00:00Z');
    expect(range.status).toBe(400);
    expect(((await range.json()) as ErrorBody).error.message).toMatch(/before/);
    const badTime = await gateway.admin('/usage?from=yesterday');
    expect(((await badTime.json()) as ErrorBody).error.message).toMatch(/ISO 8601/);
  });

  it('names the admin endpoints when an admin path is unknown', async () => {
    const res = await gateway.admin('/nope');
    expect(res.status).toBe(404);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('not_found');
    expect(error.message).toContain('/admin/keys');
  });
});

/** Sends raw bytes on a fresh connection and reads the reply until the server closes it. */
function raw(
  request: string,
): Promise<{ status: number; body: unknown; headers: Record<string, string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(gateway.url).port), '127.0.0.1', () =>
      socket.end(request),
    );
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = reply.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({
        status: Number(statusLine.split(' ')[1]),
        body: JSON.parse(body) as unknown,
        headers,
      });
    });
  });
}

describe('requests node:http refuses before routing', () => {
  const bigHeader = (path: string) =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
  const badHeader = (path: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n`;

  it.each(['/v1/messages', '/v1/messages/count_tokens?beta=true', '/v1/messages/'])(
    'answer in Anthropic’s shape on %s',
    async (path) => {
      expect(await raw(bigHeader(path))).toEqual({
        status: 431,
        body: {
          type: 'error',
          error: { type: 'request_too_large', message: 'The request headers are too large.' },
        },
        headers: expect.objectContaining({ 'x-request-id': expect.any(String) }) as unknown,
      });
      expect(await raw(badHeader(path))).toMatchObject({
        status: 400,
        body: { type: 'error', error: { type: 'invalid_request_error' } },
      });
    },
  );

  it.each(['/v1/chat/completions', '/v1/messagesX', '/admin/keys'])(
    'answer in OpenAI’s shape elsewhere (%s)',
    async (path) => {
      const big = await raw(bigHeader(path));
      expect(big).toMatchObject({ status: 431, body: { error: { code: 'headers_too_large' } } });
      assertMatchesSpec('ErrorResponse', big.body);
      const bad = await raw(badHeader(path));
      expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_request' } } });
      assertMatchesSpec('ErrorResponse', bad.body);
      // Labelled like every other reply, each with its own id.
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
      expect(big.headers['x-request-id']).toMatch(uuid);
      expect(bad.headers['x-request-id']).toMatch(uuid);
      expect(bad.headers['x-request-id']).not.toBe(big.headers['x-request-id']);
    },
  );
});
