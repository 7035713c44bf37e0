import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI, MOCK_REPLY } from '../src/providers/mock/mock-openai';
import {
  openaiUpstreamConfig,
  startGateway,
  UPSTREAM_SECRET,
  type RunningGateway,
} from './helpers/gateway';
import { assertMatchesSpec } from './helpers/openapi';
import { startUnacceptingServer, type UnacceptingServer } from './mocks/unaccepting-server';
import { openaiError, startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * Aliases with several targets, against real mock upstreams that fail on cue: retries,
 * Retry-After, fallback, first-byte timeouts, streams, the weighted split, the timeout header.
 * `up` (upstream A) is the first target of each alias, `b` (upstream B) the fallback.
 */
let a: UpstreamServer;
let b: UpstreamServer;
/** Answers like the others, 150 ms late, every time. */
let slow: UpstreamServer;
/** Where connections never complete. */
let hole: UnacceptingServer;
let gateway: RunningGateway;
let client: OpenAI;
let key: string;

const provider = (id: string, url: string) =>
  `  - id: ${id}\n    kind: openai-compatible\n    base_url: ${url}/v1\n    api_key_env: TEST_UPSTREAM_KEY`;

const models = `
  - name: single
    provider: up
    model: model-a
    retry: { retries: 2, backoff_ms: 10 }
  - name: pair
    strategy: fallback
    targets:
      - { provider: up, model: model-a }
      - { provider: b, model: model-b, params: { temperature: 0.25 } }
    retry: { retries: 1, backoff_ms: 10 }
    timeouts: { first_byte: 400 }
  - name: split
    strategy: weighted
    targets:
      - { provider: up, model: model-a, weight: 3 }
      - { provider: b, model: model-b, weight: 1 }
  - name: patient
    provider: up
    model: model-a
    timeouts: { first_byte: 8000, total: 8000 }
  - name: quiet
    provider: up
    model: model-a
    timeouts: { idle: 300 }
  - name: reach
    targets:
      - { provider: hole, model: model-h }
      - { provider: b, model: model-b }
    retry: { retries: 0 }
    timeouts: { connect: 300 }
  - name: fastest
    strategy: latency
    targets:
      - { provider: slow, model: model-s }
      - { provider: b, model: model-b }`;

beforeAll(async () => {
  const late = createMockOpenAI();
  hole = await startUnacceptingServer();
  [a, b, slow] = await Promise.all([
    startUpstream(createMockOpenAI({ chunkDelayMs: 2 })),
    startUpstream(createMockOpenAI({ chunkDelayMs: 2 })),
    startUpstream((request) => new Promise((ok) => setTimeout(() => ok(late(request)), 150))),
  ]);
  gateway = await startGateway({
    config: openaiUpstreamConfig(a.url, {
      providers: [
        provider('b', b.url),
        provider('slow', slow.url),
        provider('hole', hole.url),
      ].join('\n'),
      models,
    }),
    env: { TEST_UPSTREAM_KEY: UPSTREAM_SECRET },
  });
  key = (await gateway.createKey({ name: 'routing', models: ['*'] })).key;
  client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.stop();
  hole?.close();
  await Promise.all([a?.close(), b?.close(), slow?.close()]);
});

function chat(model: string, extra: Record<string, unknown> = {}, headers = {}) {
  return fetch(`${gateway.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra }),
  });
}

/** How many requests each upstream receives while `run` runs. */
async function counting<T>(run: () => Promise<T>) {
  const before = [a.requests.length, b.requests.length];
  const result = await run();
  return {
    result,
    a: a.requests.length - (before[0] ?? 0),
    b: b.requests.length - (before[1] ?? 0),
  };
}

describe('retries', () => {
  it('waits out a 429’s retry-after-ms, then retries the same target and succeeds', async () => {
    a.script(openaiError(429, 'Rate limit reached', { headers: { 'retry-after-ms': '300' } }));
    const started = Date.now();
    const { result: res, a: sentA } = await counting(() => chat('single'));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(res.headers.get('x-vidai-attempts')).toBe('2');
    expect(sentA).toBe(2);
    assertMatchesSpec('CreateChatCompletionResponse', await res.json());
  });

  it('waits out a Retry-After in seconds', async () => {
    a.script(openaiError(429, 'Rate limit reached', { headers: { 'retry-after': '1' } }));
    const started = Date.now();
    const res = await chat('single');
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(res.headers.get('x-vidai-attempts')).toBe('2');
  });

  it('retries a reset connection on the same target', async () => {
    a.script({ reset: true });
    const { result: res, a: sentA } = await counting(() => chat('single'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vidai-attempts')).toBe('2');
    expect(sentA).toBe(2);
  });

  it('never retries a 400, nor falls back on it', async () => {
    a.script(openaiError(400, "Invalid value for 'temperature'"));
    const { result: res, a: sentA, b: sentB } = await counting(() => chat('pair'));
    expect(res.status).toBe(400);
    expect(res.headers.get('x-vidai-attempts')).toBe('1');
    expect([sentA, sentB]).toEqual([1, 0]);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain("Invalid value for 'temperature'");
  });

  it('gives up after the attempt limit and reports the last error', async () => {
    a.script(openaiError(500, 'e1'), openaiError(502, 'e2'), openaiError(503, 'e3'));
    const { result: res, a: sentA } = await counting(() => chat('single'));
    expect(res.status).toBe(502);
    expect(res.headers.get('x-vidai-attempts')).toBe('3');
    expect(sentA).toBe(3);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error).toMatchObject({ code: 'upstream_error' });
    expect(body.error.message).toContain('HTTP 503');
  });
});

describe('fallback', () => {
  it('falls back to the next target when the first keeps failing with 500s', async () => {
    a.script(openaiError(500, 'internal'), openaiError(500, 'internal'));
    const { result: res, a: sentA, b: sentB } = await counting(() => chat('pair'));
    expect(res.status).toBe(200);
    expect([sentA, sentB]).toEqual([2, 1]);
    expect(res.headers.get('x-vidai-provider')).toBe('b');
    expect(res.headers.get('x-vidai-model')).toBe('model-b');
    expect(res.headers.get('x-vidai-attempts')).toBe('3');
    const sent = JSON.parse(b.requests.at(-1)?.body ?? '{}') as Record<string, unknown>;
    expect(sent).toMatchObject({ model: 'model-b', temperature: 0.25 });
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe(MOCK_REPLY);
  });

  it('falls back when the first target hangs past the first-byte timeout', async () => {
    a.script({ hang: true }, { hang: true });
    const started = Date.now();
    const { result: res, b: sentB } = await counting(() => chat('pair'));
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(res.headers.get('x-vidai-provider')).toBe('b');
    expect(sentB).toBe(1);
  });

  it('falls back when a connection cannot be made within the connect timeout', async () => {
    const started = Date.now();
    const res = await chat('reach');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vidai-provider')).toBe('b');
    expect(res.headers.get('x-vidai-attempts')).toBe('2');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('falls back when a stream sends its headers but no event within the first-byte timeout', async () => {
    a.script({ stallAfterBytes: 0 }, { stallAfterBytes: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'pair', stream: true, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    let text = '';
    for await (const chunk of stream) {
      assertMatchesSpec('CreateChatCompletionStreamResponse', chunk);
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe(MOCK_REPLY);
    expect(response.headers.get('x-vidai-provider')).toBe('b');
    expect(response.headers.get('x-vidai-attempts')).toBe('3');
  });

  it('retries a stream that breaks before its first event', async () => {
    a.script({ cutAfterBytes: 10 });
    const res = await chat('pair', { stream: true });
    const body = await res.text();
    expect(res.headers.get('x-vidai-provider')).toBe('up');
    expect(res.headers.get('x-vidai-attempts')).toBe('2');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(body).not.toContain('"error"');
  });

  it('once a stream has begun, a cut is an error event: no fallback, no clean finish', async () => {
    a.script({ cutAfterBytes: 900 });
    const {
      result: res,
      a: sentA,
      b: sentB,
    } = await counting(async () => {
      const response = await chat('pair', { stream: true });
      return { response, body: await response.text() };
    });
    expect([sentA, sentB]).toEqual([1, 0]);
    expect(res.response.headers.get('x-vidai-attempts')).toBe('1');
    expect(res.body).not.toContain('[DONE]');
    const events = res.body.split('\n\n').filter(Boolean);
    expect(events.length).toBeGreaterThan(1);
    const last = JSON.parse(events.at(-1)?.replace(/^data: /, '') ?? '{}') as unknown;
    assertMatchesSpec('ErrorResponse', last);
  });
});

describe('weighted split', () => {
  it('sends traffic in proportion to the weights (3:1 within statistical tolerance)', async () => {
    const total = 400;
    const { a: sentA, b: sentB } = await counting(async () => {
      for (let i = 0; i < total; i += 8) {
        const batch = await Promise.all(Array.from({ length: 8 }, () => chat('split')));
        for (const res of batch) {
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }
      }
    });
    expect(sentA + sentB).toBe(total);
    // Binomial(400, 0.75): sd ≈ 8.7 requests; ±40 is about 4.6 sd.
    expect(Math.abs(sentA - 300)).toBeLessThanOrEqual(40);
  });
});

describe('latency-aware routing', () => {
  it('sends most traffic to the target that answers faster', async () => {
    const before = [slow.requests.length, b.requests.length];
    for (let i = 0; i < 30; i++) {
      const res = await chat('fastest');
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const toSlow = slow.requests.length - (before[0] ?? 0);
    const toFast = b.requests.length - (before[1] ?? 0);
    expect(toSlow + toFast).toBe(30);
    // Both are tried while unmeasured; after that the slow one costs ~150 ms vs a few ms.
    expect(toSlow).toBeGreaterThanOrEqual(1);
    expect(toSlow).toBeLessThanOrEqual(3);
  });
});

describe('timeouts and headers', () => {
  it('a stream that goes quiet past the idle timeout ends with an error event', async () => {
    a.script({ stallAfterBytes: 900 });
    const res = await chat('quiet', { stream: true });
    const body = await res.text();
    expect(res.status).toBe(200);
    expect(body).not.toContain('[DONE]');
    const last = JSON.parse(
      body
        .trimEnd()
        .split('\n\n')
        .at(-1)
        ?.replace(/^data: /, '') ?? '{}',
    ) as {
      error?: { code: string };
    };
    assertMatchesSpec('ErrorResponse', last);
    expect(last.error?.code).toBe('upstream_timeout');
  });

  it('x-vidai-timeout-ms shortens the total timeout: 504 when nothing was sent in time', async () => {
    a.script({ hang: true });
    const started = Date.now();
    const res = await chat('patient', {}, { 'x-vidai-timeout-ms': '300' });
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(4000);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assertMatchesSpec('ErrorResponse', body);
    expect(body.error.code).toBe('upstream_timeout');
    expect(body.error.message).toContain('300 ms');
  });

  it('refuses a timeout header that is not a number of milliseconds', async () => {
    const res = await chat('single', {}, { 'x-vidai-timeout-ms': 'soon' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string } };
    expect(body.error.message).toContain('x-vidai-timeout-ms');
  });

  it('returns the caller’s x-request-id, on success and on failure', async () => {
    const ok = await chat('single', {}, { 'x-request-id': 'req-routing-1' });
    expect(ok.headers.get('x-request-id')).toBe('req-routing-1');
    a.script(openaiError(400, 'bad'));
    const failed = await chat('single', {}, { 'x-request-id': 'req-routing-2' });
    expect(failed.status).toBe(400);
    expect(failed.headers.get('x-request-id')).toBe('req-routing-2');
    expect(failed.headers.get('x-vidai-attempts')).toBe('1');
  });

  it('lists every target’s health in the admin API', async () => {
    const res = await fetch(`${gateway.url}/admin/health`, {
      headers: { authorization: `Bearer ${gateway.adminKey}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      instance: string;
      data: { target: string; aliases: string[]; breaker: { state: string }; requests: number }[];
    };
    expect(body.instance).toMatch(/\S/);
    const targetA = body.data.find((entry) => entry.target === 'up/model-a');
    expect(targetA?.aliases).toEqual(['single', 'pair', 'split', 'patient', 'quiet']);
    expect(targetA?.breaker.state).toBe('closed');
    expect(targetA?.requests).toBeGreaterThan(0);
    expect(body.data.map((entry) => entry.target)).toContain('b/model-b');
  });
});
