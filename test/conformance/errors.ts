import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSpec } from '../helpers/openapi';
import { openaiError } from '../mocks/scripted-upstream';
import { UPSTREAM_SECRET } from './config';
import { anthropicClient, lastBody, openaiClient, type Harness } from './harness';

/**
 * Bad input and failing upstreams: each gets OpenAI's error shape, the right status, and no secret.
 * One file over 400 lines on purpose: its last test reads the log that every request of the
 * suite wrote, so the cases and their shared key, prompt and helpers stay together.
 */
export function errorsSuite(h: Harness): void {
  let key: string;
  let client: OpenAI;
  const PROMPT = 'my-private-prompt-text-4711';

  beforeAll(async () => {
    key = (await h.createKey({ name: 'errors', models: ['gpt-test', 'dead', 'demo'] })).key;
    client = openaiClient(h, key);
  });

  async function post(path: string, body: string, headers: Record<string, string> = {}) {
    const res = await h.fetch(`${h.baseURL}${path}`, {
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
      const doomed = await h.createKey({ name: 'doomed', models: ['*'] });
      const res = await h.fetch(`${h.url}/admin/keys/${doomed.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${h.adminKey}` },
      });
      expect(res.status).toBe(200);
      // Every serving process refuses it within a second (README, "Running it"): eight at
      // once, so that on Node both workers answer.
      const revokedAt = Date.now();
      for (;;) {
        const probes = await Promise.all(
          Array.from({ length: 8 }, () =>
            h.fetch(`${h.baseURL}/models`, { headers: { authorization: `Bearer ${doomed.key}` } }),
          ),
        );
        await Promise.all(probes.map((probe) => probe.text()));
        if (probes.every((probe) => probe.status === 401)) break;
        expect(Date.now() - revokedAt).toBeLessThan(1000);
      }
      expect(
        await post('/chat/completions', chat(), { authorization: `Bearer ${doomed.key}` }),
      ).toMatchObject({ status: 401, error: { code: 'invalid_api_key' } });
    });

    it('accepts the key as x-api-key too', async () => {
      const res = await h.fetch(`${h.baseURL}/models`, { headers: { 'x-api-key': key } });
      expect(res.status).toBe(200);
    });

    it('401 for an expired key', async () => {
      const expired = await h.createKey({
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
      const narrow = await h.createKey({ name: 'narrow', models: ['demo'] });
      const narrowClient = openaiClient(h, narrow.key);
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

    // The passthrough forwards the text: an upstream reading the first `model` would serve one
    // the key's policy never saw (JSON.parse, and so Vidai, keeps the last).
    it('400 for a top-level key given twice, escaped or not, so no model slips past a key', async () => {
      const narrow = await h.createKey({ name: 'one-model', models: ['demo'] });
      const messages = JSON.stringify([{ role: 'user', content: PROMPT }]);
      for (const body of [
        `{"model":"gpt-test","model":"demo","messages":${messages}}`,
        `{"model":"gpt-test","messages":${messages},"\\u006dodel":"demo"}`,
      ]) {
        const refused = await post('/chat/completions', body, {
          authorization: `Bearer ${narrow.key}`,
        });
        expect(refused).toMatchObject({
          status: 400,
          error: { code: 'invalid_request', param: 'model' },
        });
        expect(refused.error.message).not.toContain(PROMPT);
      }
      // A key repeated inside a value is the value's business; the same name at two levels is two keys.
      const nested = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${narrow.key}`, 'content-type': 'application/json' },
        body: `{"model":"demo","metadata":{"model":"a","model":"b"},"messages":[{"role":"user","content":"x","content":"model"}]}`,
      });
      expect(nested.status).toBe(200);
    });

    it('400 naming the field for a count that is not a safe positive integer', async () => {
      for (const [field, value] of [
        ['max_tokens', 1e308],
        ['max_completion_tokens', 2 ** 53],
        ['n', 1e308],
        ['n', 1.5],
      ] as const) {
        expect(await post('/chat/completions', chat({ [field]: value }))).toMatchObject({
          status: 400,
          error: { code: 'invalid_request', param: field },
        });
      }
      // Anthropic's max_tokens, and the fields bound for a translated (Gemini) upstream.
      const res = await h.fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-test',
          max_tokens: 1e308,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error' },
      });
      expect(
        await post(
          '/embeddings',
          JSON.stringify({ model: 'gpt-test', input: 'x', dimensions: 1e308 }),
        ),
      ).toMatchObject({
        status: 400,
        error: { param: 'dimensions' },
      });
    });

    it('400 naming the field for stream_options that is not an object of booleans, or comes without stream', async () => {
      const seen = h.upstreams.openai.requests.length + h.upstreams.anthropic.requests.length;
      const cases: [Record<string, unknown>, string][] = [
        [{ stream: true, stream_options: 'x' }, 'stream_options'],
        [{ stream: true, stream_options: [true] }, 'stream_options'],
        [
          { stream: true, stream_options: { include_usage: 'yes' } },
          'stream_options.include_usage',
        ],
        [
          { stream: true, stream_options: { include_obfuscation: 1 } },
          'stream_options.include_obfuscation',
        ],
        [{ stream_options: { include_usage: true } }, 'stream_options'],
        [{ stream: false, stream_options: {} }, 'stream_options'],
        [{ model: 'claude-test', stream: true, stream_options: 'x' }, 'stream_options'],
      ];
      for (const [extra, param] of cases) {
        const refused = await post('/chat/completions', chat(extra));
        expect([extra, refused]).toMatchObject([
          extra,
          { status: 400, error: { code: 'invalid_request', type: 'invalid_request_error', param } },
        ]);
      }
      const withoutStream = await post('/chat/completions', chat({ stream_options: {} }));
      expect(withoutStream.error.message).toBe(
        "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      );
      // As OpenAI's SDK raises it.
      const err = await client.chat.completions
        .create({
          model: 'gpt-test',
          messages: [{ role: 'user', content: 'x' }],
          stream: false,
          stream_options: { include_usage: true },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('stream_options');
      expect(h.upstreams.openai.requests.length + h.upstreams.anthropic.requests.length).toBe(seen);
      // What OpenAI accepts still passes: null, or an object of booleans with a stream.
      for (const extra of [
        { stream_options: null },
        { stream: true, stream_options: { include_usage: false, include_obfuscation: true } },
      ]) {
        const res = await h.fetch(`${h.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: chat(extra),
        });
        expect([extra, res.status]).toEqual([extra, 200]);
        await res.text();
      }
    });

    it('the token estimate of the largest valid counts is a finite number, never NaN', async () => {
      const small = await h.createKey({ name: 'tpm-huge', models: ['gpt-test'], tpm: 1000 });
      const res = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${small.key}`, 'content-type': 'application/json' },
        body: chat({ max_tokens: Number.MAX_SAFE_INTEGER, n: Number.MAX_SAFE_INTEGER }),
      });
      // Not a retryable 429: no wait makes this request fit the limit.
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('request_too_large');
      expect(error.message).toContain(`may take ${Number.MAX_SAFE_INTEGER} tokens`);
    });

    it('400 for embeddings input of a type OpenAI does not accept', async () => {
      for (const input of [{ a: 1 }, 42, true, [], [1, 'a'], [[]], [[1.5]], [-1], [{}], [['a']]]) {
        expect(
          await post('/embeddings', JSON.stringify({ model: 'gpt-test', input })),
        ).toMatchObject({
          status: 400,
          error: { code: 'invalid_request', param: 'input' },
        });
      }
    });

    it('404 for an unknown model, as the SDK’s NotFoundError', async () => {
      const wide = await h.createKey({ name: 'wide', models: ['*'] });
      const wideClient = openaiClient(h, wide.key);
      await expect(
        wideClient.chat.completions.create({
          model: 'no-such-model',
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    });

    it('413 for a body over the limit, declared or chunked, and the upstream never sees it', async () => {
      const seen = h.upstreams.openai.requests.length;
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
      const res = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: chunked,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect(h.upstreams.openai.requests.length).toBe(seen);
    });

    it('reads gzip and deflate bodies, zlib-wrapped or raw, whole or in pieces', async () => {
      const body = chat({ metadata: { format: 'compressed' } });
      const packed = async (format: 'gzip' | 'deflate' | 'deflate-raw') =>
        new Uint8Array(
          await new Response(
            new Blob([body]).stream().pipeThrough(new CompressionStream(format)),
          ).arrayBuffer(),
        );
      const cases = [
        ['gzip', await packed('gzip')],
        ['deflate', await packed('deflate')],
        ['deflate', await packed('deflate-raw')],
        ['Deflate', await packed('deflate-raw')],
      ] as const;
      for (const [encoding, bytes] of cases) {
        // Whole, and a byte at a time for the first bytes (the format is told by them).
        const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)];
        for (const sent of [
          bytes,
          new ReadableStream<Uint8Array>({
            pull: (controller) => {
              const piece = pieces.shift();
              if (piece === undefined) controller.close();
              else controller.enqueue(piece);
            },
          }),
        ]) {
          const res = await h.fetch(`${h.baseURL}/chat/completions`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${key}`,
              'content-type': 'application/json',
              'content-encoding': encoding,
            },
            body: sent,
            duplex: 'half',
          } as RequestInit);
          expect([encoding, bytes[0], res.status]).toEqual([encoding, bytes[0], 200]);
          await res.text();
          expect(lastBody(h.upstreams.openai)).toMatchObject({
            metadata: { format: 'compressed' },
          });
        }
      }
      expect(
        await post('/chat/completions', 'not deflate at all', { 'content-encoding': 'deflate' }),
      ).toMatchObject({ status: 400, error: { code: 'invalid_request' } });
    });

    it('404 in OpenAI’s shape for an unknown path', async () => {
      const res = await h.fetch(`${h.url}/v2/whatever`);
      expect(res.status).toBe(404);
      assertMatchesSpec('ErrorResponse', await res.json());
    });
  });

  describe('upstream failures', () => {
    it('upstream 429 stays 429 with its Retry-After', async () => {
      h.upstreams.openai.script(
        openaiError(429, 'Rate limit reached', {
          type: 'requests',
          code: 'rate_limit_exceeded',
          headers: { 'retry-after': '7' },
        }),
      );
      const result = await post('/chat/completions', chat());
      expect(result.status).toBe(429);
      expect(result.headers.get('retry-after')).toBe('7');
      // Longer than the request's time left: returned, not waited for.
      h.upstreams.openai.script(
        openaiError(429, 'slow down', { headers: { 'retry-after-ms': '4500' } }),
      );
      const viaSdk = await client.chat.completions
        .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] })
        .catch((err: unknown) => err);
      expect(viaSdk).toBeInstanceOf(OpenAI.RateLimitError);
      expect(
        (viaSdk as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'),
      ).toBe('5');
    });

    it('upstream 5xx becomes 502 once the retry has failed too', async () => {
      for (const status of [500, 503]) {
        const seen = h.upstreams.openai.requests.length;
        h.upstreams.openai.script(
          openaiError(status, 'The server had an error'),
          openaiError(status, 'The server had an error'),
        );
        const result = await post('/chat/completions', chat());
        expect(result).toMatchObject({ status: 502, error: { code: 'upstream_error' } });
        expect(result.headers.get('x-vidai-attempts')).toBe('2');
        expect(h.upstreams.openai.requests.length - seen).toBe(2);
      }
    });

    it('upstream 400 keeps its status and explanation, with anything key-like removed', async () => {
      h.upstreams.openai.script(
        openaiError(400, "Invalid value for 'temperature' (key sk-proj-abcdefghijklmnop)"),
      );
      const result = await post('/chat/completions', chat());
      expect(result.status).toBe(400);
      expect(result.error.message).toContain("Invalid value for 'temperature'");
      expect(result.error.message).not.toContain('sk-proj-abcdefghijklmnop');
    });

    it('a model of the wrong kind is the provider’s 404 or 403, in the caller’s shape, and not the target’s fault', async () => {
      const wide = openaiClient(h);
      const calls = [
        // An embeddings model asked for a chat completion, through the network and the built-in mock.
        () =>
          wide.chat.completions.create({
            model: 'embed-test',
            messages: [{ role: 'user', content: 'x' }],
          }),
        // A chat model asked for embeddings.
        () => wide.embeddings.create({ model: 'gpt-test', input: 'x' }),
        () => wide.embeddings.create({ model: 'demo', input: 'x' }),
      ];
      const expected = [
        [OpenAI.NotFoundError, 404, 'model', /This is not a chat model/],
        [OpenAI.PermissionDeniedError, 403, null, /not allowed to generate embeddings/],
        [OpenAI.PermissionDeniedError, 403, null, /not allowed to generate embeddings/],
      ] as const;
      const requestIds: string[] = [];
      for (const [i, call] of calls.entries()) {
        const seen = h.upstreams.openai.requests.length;
        const err = await call().catch((e: unknown) => e);
        const [kind, status, param, message] = expected[i]!;
        expect(err).toBeInstanceOf(kind);
        const apiError = err as InstanceType<typeof OpenAI.APIError>;
        expect(apiError).toMatchObject({
          status,
          param,
          type: 'invalid_request_error',
          code: 'upstream_invalid_request',
        });
        expect(apiError.message).toMatch(message);
        // Never retried, never sent elsewhere.
        expect(apiError.headers?.get('x-vidai-attempts')).toBe('1');
        expect(h.upstreams.openai.requests.length - seen).toBe(i === 2 ? 0 : 1);
        requestIds.push(apiError.headers?.get('x-request-id') ?? '');
      }
      // Through translation too, as Anthropic's error type for the status.
      const viaAnthropic = await anthropicClient(h)
        .messages.create({
          model: 'embed-test',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
        })
        .catch((e: unknown) => e);
      expect(viaAnthropic).toBeInstanceOf(Anthropic.NotFoundError);
      expect((viaAnthropic as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
        type: 'error',
        error: {
          type: 'not_found_error',
          message: expect.stringMatching(/This is not a chat model/),
        },
      });
      // A failure of the target would be logged as one (and counted by its breaker): none is.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const failed = h
        .output()
        .split('\n')
        .filter((line) => line.includes('upstream_attempt_failed'));
      for (const id of requestIds) expect(failed.filter((line) => line.includes(id))).toEqual([]);
    });

    it('upstream 401 becomes 502 and says nothing the upstream said about its key', async () => {
      h.upstreams.openai.script(
        openaiError(401, `Incorrect API key provided: ${UPSTREAM_SECRET.slice(0, 12)}****`),
      );
      const result = await post('/chat/completions', chat());
      expect(result).toMatchObject({ status: 502, error: { code: 'upstream_auth_failed' } });
      expect(result.error.message).not.toContain('Incorrect API key');
    });

    it('504 when the upstream does not answer in time', async () => {
      h.upstreams.openai.script({ hang: true });
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
      h.upstreams.openai.script({ reset: true }, { reset: true });
      expect((await post('/chat/completions', chat())).status).toBe(502);
    });

    it('a stream cut mid-way ends with an error the SDK raises, never a clean finish', async () => {
      h.upstreams.openai.script({ cutAfterBytes: 900 });
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

      h.upstreams.openai.script({ cutAfterBytes: 900 });
      const res = await h.fetch(`${h.baseURL}/chat/completions`, {
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
      const output = h.output();
      expect(output.length).toBeGreaterThan(0);
      for (const secret of [UPSTREAM_SECRET, key, h.adminKey, PROMPT])
        expect(output).not.toContain(secret);
    });
  });
}
