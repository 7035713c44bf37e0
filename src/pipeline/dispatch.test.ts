import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../errors/gateway-error';
import { createMockOpenAI, MOCK_REPLY } from '../providers/mock/mock-openai';
import { dispatch, type Dispatched } from './dispatch';
import { fetchTransport } from './fetch-transport';
import { HealthRegistry } from './health';
import type { StreamEnd } from './openai-stream';
import type { ForwardPlan } from './plan';
import { testConfig, testRoute } from './test-config';
import type { UpstreamRequest } from './transport';

/** An upstream's scripted behaviour for one request; past the script, the mock answers. */
type Step =
  Response | 'hang' | 'silent-body' | 'comments-only' | 'broken-body' | 'cut-after-first-event';

const mock = createMockOpenAI();

function upstreams() {
  const scripts = new Map<string, Step[]>();
  const seen: { host: string; request: UpstreamRequest; body: string }[] = [];
  const hang = (signal: AbortSignal) =>
    new Promise<Response>((_, reject) =>
      signal.addEventListener('abort', () => reject(new DOMException('gone', 'AbortError'))),
    );
  const network = fetchTransport(async (request) => {
    const host = new URL(request.url).hostname.split('.')[0] ?? '';
    const step = scripts.get(host)?.shift();
    if (step === undefined) return mock(request);
    if (step instanceof Response) return step;
    if (step === 'hang') return hang(request.signal);
    if (step === 'silent-body') return new Response(new ReadableStream({}), { status: 200 });
    if (step === 'comments-only') {
      // Keep-alive comments (as some upstreams send while they think), and never an event.
      const ping = new TextEncoder().encode(': ping\n\n');
      return new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(ping);
            c.enqueue(ping);
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    }
    if (step === 'broken-body') {
      return new Response(new ReadableStream({ pull: (c) => c.error(new TypeError('reset')) }));
    }
    const event = {
      id: 'c1',
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { content: 'Hi' } }],
    };
    return new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(event)}\n\n`));
        },
        pull: (c) => c.error(new TypeError('cut')),
      }),
      { headers: { 'content-type': 'text/event-stream' } },
    );
  });
  return {
    script: (host: string, ...steps: Step[]) =>
      scripts.set(host, [...(scripts.get(host) ?? []), ...steps]),
    seen,
    hosts: () => seen.map((entry) => entry.host),
    transport: async (request: UpstreamRequest) => {
      const host = new URL(request.url).hostname.split('.')[0] ?? '';
      seen.push({ host, request, body: request.body ?? '' });
      return network(request);
    },
  };
}

const config = testConfig({
  breaker: { failures: 3, cooldown_ms: 10_000 },
  models: [
    { name: 'one', provider: 'a', model: 'm', retry: { retries: 2, backoff_ms: 100 } },
    {
      name: 'pair',
      targets: [
        { provider: 'a', model: 'm' },
        { provider: 'b', params: { temperature: 0.5 } },
      ],
      retry: { retries: 1, backoff_ms: 100 },
      timeouts: { connect: 700, first_byte: 1000, idle: 2000, total: 30_000 },
    },
    {
      name: 'capped',
      targets: [{ provider: 'a' }, { provider: 'b' }, { provider: 'c' }],
      retry: { retries: 2, attempts: 4, backoff_ms: 10 },
    },
  ],
});

function planFor(stream = false, signal?: AbortSignal) {
  const ends: StreamEnd[] = [];
  const usages: unknown[] = [];
  const body = { model: 'x', stream, messages: [{ role: 'user', content: 'hello there' }] };
  const plan: ForwardPlan = {
    inbound: 'openai',
    op: 'chat',
    body,
    raw: JSON.stringify(body),
    clientHeaders: {},
    stream,
    signal,
    timeoutMs: 60_000,
    onUsage: (usage) => usages.push(usage),
    onEnd: (end) => void ends.push(end),
    streamErrorEvent: (error) =>
      `data: {"error":"${error instanceof Error ? error.message : 'x'}"}\n\n`,
  };
  return { plan, ends, usages };
}

function run(
  name: string,
  plan: ForwardPlan,
  net: ReturnType<typeof upstreams>,
  health = new HealthRegistry(config),
  totalMs?: number,
) {
  const route = testRoute(config, name);
  return dispatch(route, plan, {
    transport: net.transport,
    health,
    totalMs: totalMs ?? route.timeouts.totalMs,
    random: () => 0.5,
  });
}

async function failure(promise: Promise<Dispatched>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof GatewayError))
    throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err;
}

const status = (code: number, headers: Record<string, string> = {}) =>
  new Response(
    JSON.stringify({ error: { message: `status ${code}`, type: 'x', param: null, code: null } }),
    {
      status: code,
      headers: { 'content-type': 'application/json', ...headers },
    },
  );

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('dispatch: retries and fallback', () => {
  it('serves from the first target with one attempt, one usage report and one end', async () => {
    const net = upstreams();
    const { plan, ends, usages } = planFor();
    const result = await run('pair', plan, net);
    expect(result.attempts).toBe(1);
    expect(result.target.provider.id).toBe('a');
    expect(ends).toEqual([{ outcome: 'complete' }]);
    expect(usages).toHaveLength(1);
  });

  it('retries a 503 on the same target after a jittered backoff', async () => {
    const net = upstreams();
    net.script('a', status(503));
    const { plan } = planFor();
    const pending = run('one', plan, net);
    await vi.advanceTimersByTimeAsync(0);
    expect(net.hosts()).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(49); // random 0.5 × 100 ms
    expect(net.hosts()).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    const result = await pending;
    expect(net.hosts()).toEqual(['a', 'a']);
    expect(result.attempts).toBe(2);
  });

  it('honours retry-after-ms before retrying a 429', async () => {
    const net = upstreams();
    net.script('a', status(429, { 'retry-after-ms': '5000' }));
    const { plan } = planFor();
    const pending = run('one', plan, net);
    await vi.advanceTimersByTimeAsync(4999);
    expect(net.hosts()).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(1);
    expect((await pending).attempts).toBe(2);
  });

  it('does not wait out a Retry-After longer than max_retry_after_ms: falls back at once', async () => {
    const net = upstreams();
    net.script('a', status(429, { 'retry-after': '120' }));
    const { plan } = planFor();
    const result = await run('pair', plan, net);
    expect(net.hosts()).toEqual(['a', 'b']);
    expect(result.target.provider.id).toBe('b');
  });

  it('returns the 429 with its Retry-After when no target is left', async () => {
    const net = upstreams();
    net.script('a', status(429, { 'retry-after': '120' }));
    const err = await failure(run('one', planFor().plan, net));
    expect(err.status).toBe(429);
    expect(err.headers).toMatchObject({ 'retry-after': '120', 'x-vidai-attempts': '1' });
  });

  it('falls back once a target’s retries are spent, with the target’s params', async () => {
    const net = upstreams();
    net.script('a', status(500), status(502));
    const { plan } = planFor();
    const pending = run('pair', plan, net);
    await vi.advanceTimersByTimeAsync(100);
    const result = await pending;
    expect(net.hosts()).toEqual(['a', 'a', 'b']);
    expect(result.attempts).toBe(3);
    expect(JSON.parse(net.seen[2]?.body ?? '{}')).toMatchObject({
      temperature: 0.5,
      model: 'pair',
    });
    expect(JSON.parse(net.seen[0]?.body ?? '{}')).not.toHaveProperty('temperature');
    expect(plan.body).not.toHaveProperty('temperature');
  });

  it('never retries a 400 nor falls back on it, and ends the plan once with the error', async () => {
    const net = upstreams();
    net.script('a', status(400));
    const { plan, ends } = planFor();
    const err = await failure(run('pair', plan, net));
    expect(net.hosts()).toEqual(['a']);
    expect(err).toMatchObject({ status: 400, code: 'upstream_invalid_request' });
    expect(err.headers['x-vidai-attempts']).toBe('1');
    expect(ends).toHaveLength(1);
    expect(ends[0]?.outcome).toBe('error');
  });

  it('neither falls back on nor counts against a target its provider’s answer for a model of the wrong kind', async () => {
    const wrongKind = new Response(
      JSON.stringify({
        error: {
          message: 'You are not allowed to generate embeddings from this model',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      }),
      { status: 403, headers: { 'content-type': 'application/json' } },
    );
    const net = upstreams();
    const health = new HealthRegistry(config);
    net.script('a', wrongKind);
    const err = await failure(run('pair', planFor().plan, net, health));
    expect(net.hosts()).toEqual(['a']);
    expect(err).toMatchObject({ status: 403, code: 'upstream_invalid_request' });
    expect(health.get(testRoute(config, 'pair').targets[0]!).failures).toBe(0);
  });

  it('falls back without retrying when a target refuses the gateway’s credential', async () => {
    const net = upstreams();
    net.script('a', status(401));
    const result = await run('pair', planFor().plan, net);
    expect(net.hosts()).toEqual(['a', 'b']);
    expect(result.attempts).toBe(2);
  });

  it('stops at the attempt limit and reports the last attempt’s error', async () => {
    const net = upstreams();
    net.script('a', status(500), status(500), status(500));
    net.script('b', status(503));
    const pending = failure(run('capped', planFor().plan, net));
    await vi.advanceTimersByTimeAsync(1000);
    const err = await pending;
    expect(net.hosts()).toEqual(['a', 'a', 'a', 'b']);
    expect(err.message).toContain('HTTP 503');
    expect(err.headers['x-vidai-attempts']).toBe('4');
  });

  it('sends the route’s timeouts to the transport, and the attempt’s own signal', async () => {
    const net = upstreams();
    const caller = new AbortController();
    await run('pair', planFor(false, caller.signal).plan, net);
    const sent = net.seen[0]?.request;
    expect(sent).toMatchObject({
      connectTimeoutMs: 700,
      firstByteTimeoutMs: 1000,
      idleTimeoutMs: 2000,
    });
    expect(sent?.signal).not.toBe(caller.signal);
  });
});

describe('dispatch: timeouts and the caller', () => {
  it('falls back when the first target does not answer within the first-byte timeout', async () => {
    const net = upstreams();
    net.script('a', 'hang', 'hang');
    const pending = run('pair', planFor().plan, net);
    await vi.advanceTimersByTimeAsync(2200);
    const result = await pending;
    expect(net.hosts()).toEqual(['a', 'a', 'b']);
    expect(result.target.provider.id).toBe('b');
  });

  it('504 once the total deadline passes with nothing sent', async () => {
    const net = upstreams();
    net.script('a', 'hang');
    const { plan, ends } = planFor();
    const pending = failure(run('one', plan, net, undefined, 300));
    await vi.advanceTimersByTimeAsync(300);
    const err = await pending;
    expect(err).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(err.message).toContain('300 ms');
    expect(net.hosts()).toEqual(['a']);
    expect(ends).toHaveLength(1);
  });

  it('stops at once when the caller goes away, without counting it against the target', async () => {
    const net = upstreams();
    net.script('a', 'hang');
    const caller = new AbortController();
    const health = new HealthRegistry(config);
    const pending = failure(run('pair', planFor(false, caller.signal).plan, net, health));
    await vi.advanceTimersByTimeAsync(10);
    caller.abort();
    const err = await pending;
    expect(err.status).toBe(499);
    expect(net.hosts()).toEqual(['a']);
    const a = health.get(testRoute(config, 'pair').targets[0]!);
    expect(a.failures).toBe(0);
    expect(a.inflight).toBe(0);
  });
});

describe('dispatch: breakers', () => {
  it('skips a target whose breaker is open, and refuses fast when every one is', async () => {
    const net = upstreams();
    const health = new HealthRegistry(config);
    net.script('a', status(500), status(500), status(500));
    const failing = failure(run('one', planFor().plan, net, health));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await failing).headers['x-vidai-attempts']).toBe('3');
    expect(net.hosts()).toEqual(['a', 'a', 'a']);
    const viaPair = await run('pair', planFor().plan, net, health);
    expect(viaPair.target.provider.id).toBe('b');
    expect(viaPair.attempts).toBe(1);
    const err = await failure(run('one', planFor().plan, net, health));
    expect(err).toMatchObject({ status: 503, code: 'provider_unavailable' });
    expect(err.headers['retry-after']).toBe('10');
    expect(err.headers['x-vidai-attempts']).toBe('0');
    expect(net.hosts()).toEqual(['a', 'a', 'a', 'b']);
  });
});

describe('dispatch: streams', () => {
  async function text(result: Dispatched) {
    return new Response(result.reply.body).text();
  }

  // Keep-alive comments (some upstreams send them while they think) are no first event either.
  it.each(['silent-body', 'comments-only'] as const)(
    'falls back when no event arrives within the first-byte timeout (%s)',
    async (step) => {
      const net = upstreams();
      net.script('a', step, step);
      const { plan, ends } = planFor(true);
      const pending = run('pair', plan, net);
      await vi.advanceTimersByTimeAsync(2100);
      const result = await pending;
      expect(result.target.provider.id).toBe('b');
      expect(result.attempts).toBe(3);
      const body = await text(result);
      expect(body).toContain('[DONE]');
      expect(ends).toEqual([{ outcome: 'complete' }]);
    },
  );

  it('retries a stream that breaks before its first event; the failed try reports nothing', async () => {
    const net = upstreams();
    net.script('a', 'broken-body');
    const { plan, ends, usages } = planFor(true);
    const pending = run('pair', plan, net);
    await vi.advanceTimersByTimeAsync(200);
    const result = await pending;
    expect(result.attempts).toBe(2);
    const body = await text(result);
    expect(body).not.toContain('error');
    const content = [...body.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join('');
    expect(content).toBe(MOCK_REPLY);
    expect(ends).toEqual([{ outcome: 'complete' }]);
    expect(usages).toHaveLength(1);
  });

  it('after the first event, a failure is an error event: no retry, one error end', async () => {
    const net = upstreams();
    net.script('a', 'cut-after-first-event');
    const health = new HealthRegistry(config);
    const { plan, ends } = planFor(true);
    const result = await run('pair', plan, net, health);
    const body = await text(result);
    expect(result.attempts).toBe(1);
    expect(net.hosts()).toEqual(['a']);
    expect(body.trimEnd().endsWith('data: {"error":"upstream reset"}')).toBe(true);
    expect(body).not.toContain('[DONE]');
    expect(ends.map((end) => end.outcome)).toEqual(['error']);
    const a = health.get(testRoute(config, 'pair').targets[0]!);
    expect(a.failures).toBe(1);
    expect(a.inflight).toBe(0);
  });

  it('a stream still running at the deadline ends with a timeout error event', async () => {
    const slow = createMockOpenAI({ chunkDelayMs: 100 });
    const route = testRoute(config, 'one');
    const { plan, ends } = planFor(true);
    const health = new HealthRegistry(config);
    const result = await dispatch(route, plan, {
      transport: fetchTransport(slow),
      health,
      totalMs: 500,
      random: () => 0.5,
    });
    const reading = text(result);
    await vi.advanceTimersByTimeAsync(10_000);
    const body = await reading;
    expect(body).toContain('timeout');
    expect(body).not.toContain('[DONE]');
    expect(ends.map((end) => end.outcome)).toEqual(['error']);
    // The request's own deadline is not the target's failure.
    const target = health.get(route.targets[0]!);
    expect([target.failures, target.inflight]).toEqual([0, 0]);
  });
});
