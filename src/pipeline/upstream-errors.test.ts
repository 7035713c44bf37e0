import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../errors/gateway-error';
import { StreamCutError } from './passthrough-stream';
import { classifyFailure } from './retry';
import { readerSource, TransportError, type UpstreamResponse } from './transport';
import {
  asGatewayError,
  retryAfterSeconds,
  transportGatewayError,
  upstreamHttpError,
  upstreamStreamError,
} from './upstream-errors';
import { redactSecrets } from '../util/redact';
import { compileConfig } from '../config/compile';
import { parseConfig } from '../config/schema';

/** An UpstreamResponse from a status, headers and a body (or a body read that fails). */
function upstream(
  status: number,
  body: string | Error = '',
  headers: Record<string, string> = {},
): UpstreamResponse {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    header: (name) => lower.get(name.toLowerCase()) ?? null,
    bytes: async () => {
      if (body instanceof Error) throw body;
      return new TextEncoder().encode(body);
    },
    stream: (sink) =>
      readerSource(new Response(typeof body === 'string' ? body : '').body!.getReader())(sink),
    discard: () => {},
  };
}

function headers(values: Record<string, string>): Pick<UpstreamResponse, 'header'> {
  return { header: (name) => values[name] ?? null };
}

const openaiError = (message: string) =>
  JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } });

describe('redactSecrets', () => {
  it('removes OpenAI-style sk- keys', () => {
    const out = redactSecrets('Incorrect API key provided: sk-proj-AbC123xyz_789-QQ (check it)');
    expect(out).toBe('Incorrect API key provided: [redacted] (check it)');
    expect(out).not.toContain('AbC123');
  });

  it('removes other prefixed keys (pk_, rk-, api_key-)', () => {
    expect(redactSecrets('pk_live_abcdef12 and rk-testtoken9 and api_key-zzzzzz99')).toBe(
      '[redacted] and [redacted] and [redacted]',
    );
  });

  it('removes Bearer tokens', () => {
    const out = redactSecrets('header was "Authorization: Bearer abc.def/ghi" here');
    expect(out).not.toContain('abc.def');
    expect(out).toContain('[redacted]');
    expect(out.startsWith('header was "Authorization: ')).toBe(true);
  });

  it('removes long opaque tokens', () => {
    const token = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7';
    const out = redactSecrets(`token ${token} is invalid`);
    expect(out).toBe('token [redacted] is invalid');
  });

  it('keeps ordinary words and short identifiers', () => {
    const text = "Invalid value for 'temperature': expected a number between 0 and 2.";
    expect(redactSecrets(text)).toBe(text);
  });

  it('redacts key query values but keeps the parameter name and the rest of the URL', () => {
    const out = redactSecrets('GET https://x.example/v1/models?alt=sse&key=abc123&b=2 failed');
    expect(out).toBe('GET https://x.example/v1/models?alt=sse&key=[redacted]&b=2 failed');
  });

  it('redacts api_key, token and sig query values', () => {
    expect(redactSecrets('/p?api_key=s3cr3t')).toBe('/p?api_key=[redacted]');
    expect(redactSecrets('/p?a=1&token=t0k')).toBe('/p?a=1&token=[redacted]');
    expect(redactSecrets('/p?sig=xyz&x=1')).toBe('/p?sig=[redacted]&x=1');
  });

  it('redacts a Google-style key in a query string', () => {
    const out = redactSecrets(
      'url: https://g.example/v1?key=AIzaSyD-EXAMPLE_key0123456789abcdefghij',
    );
    expect(out).not.toContain('AIza');
    expect(out).toContain('?key=[redacted]');
  });

  it('caps the message length after redaction', () => {
    const out = redactSecrets('word '.repeat(200));
    expect(out).toHaveLength(501);
    expect(out.endsWith('…')).toBe(true);
  });
});

describe('retryAfterSeconds', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads seconds', () => {
    expect(retryAfterSeconds(headers({ 'retry-after': '30' }))).toBe(30);
    expect(retryAfterSeconds(headers({ 'retry-after': '0' }))).toBe(0);
  });

  it('rounds fractional seconds up', () => {
    expect(retryAfterSeconds(headers({ 'retry-after': '1.2' }))).toBe(2);
  });

  it('reads an HTTP date as seconds from now', () => {
    expect(retryAfterSeconds(headers({ 'retry-after': 'Wed, 01 Jan 2025 00:01:30 GMT' }))).toBe(90);
  });

  it('reads an HTTP date in the past as zero', () => {
    expect(retryAfterSeconds(headers({ 'retry-after': 'Tue, 31 Dec 2024 23:00:00 GMT' }))).toBe(0);
  });

  it('prefers retry-after-ms, rounded up to whole seconds', () => {
    expect(retryAfterSeconds(headers({ 'retry-after-ms': '1500', 'retry-after': '60' }))).toBe(2);
    expect(retryAfterSeconds(headers({ 'retry-after-ms': '20' }))).toBe(1);
  });

  it('falls back to retry-after when retry-after-ms is not a number', () => {
    expect(retryAfterSeconds(headers({ 'retry-after-ms': 'soon', 'retry-after': '7' }))).toBe(7);
  });

  it('is undefined without a header or with an unreadable one', () => {
    expect(retryAfterSeconds(headers({}))).toBeUndefined();
    expect(retryAfterSeconds(headers({ 'retry-after': 'later, maybe' }))).toBeUndefined();
  });
});

describe('a credential Vidai holds, echoed by its upstream', () => {
  // Short and plain, so no pattern would take it for a key (a self-hosted server's token).
  const secret = 'hunter2-up';
  compileConfig(
    parseConfig({
      providers: [
        {
          id: 'local',
          kind: 'openai-compatible',
          base_url: 'http://local.test/v1',
          api_key_env: 'LOCAL_KEY',
        },
      ],
      models: [{ name: 'm', provider: 'local' }],
    }),
    { LOCAL_KEY: secret },
  );

  it('is removed from a 4xx message relayed to the caller', async () => {
    const err = await upstreamHttpError(
      upstream(400, openaiError(`Bad request with key ${secret} (check it)`)),
      'local',
    );
    expect(err.message).not.toContain(secret);
    expect(err.message).toContain('Bad request with key [redacted] (check it)');
  });

  it('is removed from an error event in a stream', () => {
    const err = upstreamStreamError(openaiError(`quota for key ${secret} exceeded`), 'local');
    expect(err.message).not.toContain(secret);
    expect(err.message).toContain('quota for key [redacted] exceeded');
  });
});

describe('upstreamHttpError', () => {
  it('maps 429 to upstream_rate_limited and keeps Retry-After', async () => {
    const err = await upstreamHttpError(
      upstream(429, openaiError('Rate limit reached for gpt-4o'), { 'Retry-After': '20' }),
      'openai',
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.code).toBe('upstream_rate_limited');
    expect(err.status).toBe(429);
    expect(err.upstreamStatus).toBe(429);
    expect(err.headers).toEqual({ 'retry-after': '20' });
    expect(err.message).toBe(
      'Provider "openai" is rate limiting requests: Rate limit reached for gpt-4o',
    );
  });

  it('turns retry-after-ms on a 429 into a Retry-After in seconds', async () => {
    const err = await upstreamHttpError(upstream(429, '', { 'retry-after-ms': '2500' }), 'openai');
    expect(err.headers).toEqual({ 'retry-after': '3' });
  });

  it('sends no Retry-After on a 429 without one', async () => {
    const err = await upstreamHttpError(upstream(429, 'slow down'), 'groq');
    expect(err.headers).toEqual({});
    expect(err.message).toBe('Provider "groq" is rate limiting requests');
  });

  it.each([
    [
      401,
      openaiError('Incorrect API key provided: sk-proj-****abcd. You can find your key at ...'),
    ],
    [
      403,
      JSON.stringify({
        error: {
          message: 'Project `proj_abcd` does not have access to model `gpt-4o`',
          type: 'invalid_request_error',
          param: null,
          code: 'model_not_found',
        },
      }),
    ],
    [
      403,
      '{"type":"error","error":{"type":"permission_error","message":"Incorrect key abcd lacks permission"}}',
    ],
    [403, '{"error":{"code":403,"message":"Incorrect API key abcd","status":"PERMISSION_DENIED"}}'],
    [403, 'Forbidden abcd'],
  ])(
    'maps %i to upstream_auth_failed 502 without the upstream words (%s)',
    async (status, said) => {
      const err = await upstreamHttpError(upstream(status, said), 'openai');
      expect(err.code).toBe('upstream_auth_failed');
      expect(err.status).toBe(502);
      expect(err.upstreamStatus).toBe(status);
      expect(err.message).toBe('Provider "openai" refused the gateway\'s credential.');
      expect(err.message).not.toContain('Incorrect');
      expect(err.message).not.toContain('abcd');
    },
  );

  it('maps 400 to upstream_invalid_request 400 with the redacted upstream message', async () => {
    const said = "Invalid 'messages[0].content': key sk-live-ABCDEFGH1234 is not text";
    const err = await upstreamHttpError(upstream(400, openaiError(said)), 'openai');
    expect(err.code).toBe('upstream_invalid_request');
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      'Provider "openai" rejected the request: Invalid \'messages[0].content\': key [redacted] is not text',
    );
  });

  it('takes a 403 that is about the request (OpenAI’s, for a chat model’s embeddings) as a rejection, not a credential failure', async () => {
    const said = openaiError('You are not allowed to generate embeddings from this model');
    const err = await upstreamHttpError(upstream(403, said), 'openai');
    expect(err).toMatchObject({
      code: 'upstream_invalid_request',
      status: 403,
      upstreamStatus: 403,
    });
    expect(err.message).toBe(
      'Provider "openai" rejected the request: You are not allowed to generate embeddings from this model',
    );
    expect(classifyFailure(err)).toBe('final');
  });

  it('passes on the upstream’s param when it names a field, and only then', async () => {
    const body = (param: unknown) =>
      JSON.stringify({
        error: { message: 'no', type: 'invalid_request_error', param, code: null },
      });
    expect((await upstreamHttpError(upstream(404, body('model')), 'x')).param).toBe('model');
    expect((await upstreamHttpError(upstream(400, body('messages[0].content')), 'x')).param).toBe(
      'messages[0].content',
    );
    expect((await upstreamHttpError(upstream(400, body('a b <script>')), 'x')).param).toBeNull();
    expect((await upstreamHttpError(upstream(400, body(7)), 'x')).param).toBeNull();
  });

  it('keeps other 4xx statuses such as 404 and 422', async () => {
    expect((await upstreamHttpError(upstream(404, openaiError('no such model')), 'x')).status).toBe(
      404,
    );
    expect((await upstreamHttpError(upstream(422, ''), 'x')).status).toBe(422);
  });

  it('reads the Anthropic and Gemini error shapes', async () => {
    const anthropic = JSON.stringify({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: field required' },
    });
    const gemini = JSON.stringify([{ error: { code: 400, message: 'API key not valid' } }]);
    const flat = JSON.stringify({ message: 'flat message' });
    const plain = JSON.stringify({ error: 'plain string error' });
    expect((await upstreamHttpError(upstream(400, anthropic), 'a')).message).toMatch(
      /: max_tokens: field required$/,
    );
    expect((await upstreamHttpError(upstream(400, gemini), 'g')).message).toMatch(
      /: API key not valid$/,
    );
    expect((await upstreamHttpError(upstream(400, flat), 'f')).message).toMatch(/: flat message$/);
    expect((await upstreamHttpError(upstream(400, plain), 'p')).message).toMatch(
      /: plain string error$/,
    );
  });

  it('does not echo a body that is not JSON', async () => {
    const err = await upstreamHttpError(upstream(400, '<html>secret proxy page</html>'), 'p');
    expect(err.message).toBe('Provider "p" rejected the request');
  });

  it('survives a body that cannot be read', async () => {
    const err = await upstreamHttpError(upstream(400, new TransportError('reset')), 'p');
    expect(err.code).toBe('upstream_invalid_request');
    expect(err.message).toBe('Provider "p" rejected the request');
  });

  it.each([500, 502, 503])('maps %i to upstream_error 502', async (status) => {
    const err = await upstreamHttpError(
      upstream(status, openaiError('internal detail at 10.0.0.7')),
      'openai',
    );
    expect(err.code).toBe('upstream_error');
    expect(err.status).toBe(502);
    expect(err.upstreamStatus).toBe(status);
    expect(err.message).toBe(`Provider "openai" failed (HTTP ${status}).`);
  });

  it('maps 529 (Anthropic overloaded) to upstream_overloaded 503', async () => {
    const body = JSON.stringify({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const err = await upstreamHttpError(upstream(529, body), 'anthropic');
    expect(err.code).toBe('upstream_overloaded');
    expect(err.status).toBe(503);
    expect(err.upstreamStatus).toBe(529);
  });

  it('maps stream error events by their type or code', () => {
    const overloaded = upstreamStreamError(
      '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
      'a',
    );
    expect(overloaded.code).toBe('upstream_overloaded');
    const limited = upstreamStreamError(
      '{"error":{"code":429,"message":"Resource exhausted","status":"RESOURCE_EXHAUSTED"}}',
      'g',
    );
    expect(limited.code).toBe('upstream_rate_limited');
    expect(limited.message).toContain('Resource exhausted');
    const invalid = upstreamStreamError(
      '{"type":"error","error":{"type":"invalid_request_error","message":"bad key sk-ant-api03-abcdefghijklmnop"}}',
      'a',
    );
    expect(invalid.code).toBe('upstream_invalid_request');
    expect(invalid.message).not.toContain('abcdefghijklmnop');
    expect(upstreamStreamError('not json', 'x').code).toBe('upstream_error');
  });

  it('says a server error in a stream was reported there, not "HTTP 500", and redacts it', () => {
    for (const data of [
      '{"error":{"message":"upstream exploded sk-proj-SECRET123456","type":"server_error"}}',
      '{"type":"error","error":{"type":"api_error","message":"upstream exploded sk-proj-SECRET123456"}}',
    ]) {
      const err = upstreamStreamError(data, 'p');
      expect(err).toMatchObject({ code: 'upstream_error', upstreamStatus: 500 });
      expect(err.message).toBe(
        'Provider "p" reported an error in the stream: upstream exploded [redacted]',
      );
    }
    expect(upstreamStreamError('not json', 'p').message).toBe(
      'Provider "p" reported an error in the stream.',
    );
  });

  it('maps 408 to upstream_timeout 504', async () => {
    const err = await upstreamHttpError(upstream(408, openaiError('timeout')), 'openai');
    expect(err.code).toBe('upstream_timeout');
    expect(err.status).toBe(504);
    expect(err.upstreamStatus).toBe(408);
  });
});

describe('transportGatewayError', () => {
  it.each([
    ['first_byte_timeout', 'upstream_timeout', 504],
    ['idle_timeout', 'upstream_timeout', 504],
    ['connect', 'upstream_unreachable', 502],
    ['reset', 'upstream_error', 502],
    ['aborted', 'cancelled', 499],
  ] as const)('maps a %s failure to %s %i', (failure, code, status) => {
    const cause = new TransportError(failure);
    const err = transportGatewayError(cause, 'openai');
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.cause).toBe(cause);
  });

  it('converts cut streams to upstream_error, telling a body that was not SSE', () => {
    expect(asGatewayError(new StreamCutError(), 'p')).toMatchObject({
      code: 'upstream_error',
      status: 502,
      message: 'The stream from provider "p" ended before it was complete.',
    });
    expect(asGatewayError(new StreamCutError(true), 'p')).toMatchObject({
      code: 'upstream_error',
      message: 'Provider "p" sent a stream Vidai could not read.',
    });
  });

  it('converts only upstream failures in asGatewayError', () => {
    const other = new Error('boom');
    expect(asGatewayError(other, 'p')).toBe(other);
    expect(asGatewayError(new TransportError('connect'), 'p')).toMatchObject({
      code: 'upstream_unreachable',
    });
  });
});
