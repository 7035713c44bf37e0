import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchTransport } from './fetch-transport';
import { TransportError, type UpstreamResponse } from './transport';

/** In-process handlers ignore the request's signal; the transport must not wait on them past a timeout. */
const request = {
  url: 'http://x.test/v1',
  method: 'POST' as const,
  headers: {},
  firstByteTimeoutMs: 1000,
  idleTimeoutMs: 500,
};

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** What the streamed body's sink is told at its end: the failure, or 'ended'. */
function streamFailure(response: UpstreamResponse): Promise<unknown> {
  return new Promise((resolve) => {
    response.stream({ data() {}, end: () => resolve('ended'), error: resolve });
  });
}

describe('fetchTransport over a handler that ignores aborts', () => {
  it('gives up on the headers at the first-byte timeout', async () => {
    const transport = fetchTransport(() => new Promise<Response>(() => {}));
    const pending = transport(request).catch((err: unknown) => err);
    await vi.advanceTimersByTimeAsync(1000);
    expect(await pending).toMatchObject({ failure: 'first_byte_timeout' });
  });

  it('errors a silent body at the idle timeout', async () => {
    const transport = fetchTransport(async () => new Response(new ReadableStream({})));
    const pending = streamFailure(await transport(request));
    await vi.advanceTimersByTimeAsync(500);
    const err = await pending;
    expect(err).toBeInstanceOf(TransportError);
    expect(err).toMatchObject({ failure: 'idle_timeout' });
  });

  it('errors the body when the caller aborts mid-stream', async () => {
    const caller = new AbortController();
    const transport = fetchTransport(async () => new Response(new ReadableStream({})));
    const pending = streamFailure(await transport({ ...request, signal: caller.signal }));
    caller.abort();
    expect(await pending).toMatchObject({ failure: 'aborted' });
  });
});
