import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { StreamCutError } from './openai-stream';
import { classifyFailure, retryDelayMs } from './retry';
import { readerSource, TransportError, type ChunkSink } from './transport';
import { transportGatewayError, upstreamHttpError } from './upstream-errors';

const policy: RetryPolicy = {
  attempts: 5,
  retries: 3,
  backoffMs: 100,
  maxBackoffMs: 1000,
  maxRetryAfterMs: 30_000,
};

function reply(status: number, headers: Record<string, string> = {}) {
  return {
    status,
    header: (name: string) => headers[name] ?? null,
    bytes: async () => new TextEncoder().encode('{}'),
    stream: (sink: ChunkSink) => readerSource(new Response('').body!.getReader())(sink),
    discard: () => {},
  };
}

describe('classifyFailure', () => {
  it.each([408, 429, 500, 502, 503, 504, 529])('retries an upstream %i', async (status) => {
    expect(classifyFailure(await upstreamHttpError(reply(status), 'p'))).toBe('retry');
  });

  it.each([400, 404, 409, 413, 422])(
    'never retries nor falls back on an upstream %i',
    async (status) => {
      expect(classifyFailure(await upstreamHttpError(reply(status), 'p'))).toBe('final');
    },
  );

  it.each([401, 403, 501, 505])('falls back without retrying on an upstream %i', async (status) => {
    expect(classifyFailure(await upstreamHttpError(reply(status), 'p'))).toBe('fallback');
  });

  it.each(['connect', 'first_byte_timeout', 'idle_timeout', 'reset'] as const)(
    'retries a %s failure, raw or mapped',
    (failure) => {
      const raw = new TransportError(failure);
      expect(classifyFailure(raw)).toBe('retry');
      expect(classifyFailure(transportGatewayError(raw, 'p'))).toBe('retry');
    },
  );

  it('stops when the caller went away, and on gateway-side errors', () => {
    expect(classifyFailure(new TransportError('aborted'))).toBe('final');
    expect(classifyFailure(new GatewayError('invalid_request', 'bad'))).toBe('final');
    expect(classifyFailure(new Error('bug'))).toBe('final');
  });

  it('retries a stream that ended before it was complete', () => {
    expect(classifyFailure(new StreamCutError())).toBe('retry');
  });
});

describe('retryDelayMs', () => {
  it('draws uniformly below base·2^(n-1) (full jitter)', () => {
    expect(retryDelayMs(1, policy, undefined, () => 0.999)).toBe(99);
    expect(retryDelayMs(2, policy, undefined, () => 0.999)).toBe(199);
    expect(retryDelayMs(3, policy, undefined, () => 0.5)).toBe(200);
    expect(retryDelayMs(3, policy, undefined, () => 0)).toBe(0);
  });

  it('never exceeds the cap', () => {
    expect(retryDelayMs(10, policy, undefined, () => 0.999)).toBe(999);
  });

  it('waits at least what Retry-After asked', () => {
    expect(retryDelayMs(1, policy, 2500, () => 0.5)).toBe(2500);
    expect(retryDelayMs(4, policy, 10, () => 0.9)).toBe(720);
  });

  it('reads Retry-After and retry-after-ms from the upstream reply, in ms', async () => {
    expect(
      (await upstreamHttpError(reply(429, { 'retry-after-ms': '250' }), 'p')).retryAfterMs,
    ).toBe(250);
    expect((await upstreamHttpError(reply(503, { 'retry-after': '2' }), 'p')).retryAfterMs).toBe(
      2000,
    );
    expect((await upstreamHttpError(reply(500), 'p')).retryAfterMs).toBeUndefined();
  });
});
