import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cancel } from '../src/pipeline/cancel';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import {
  TransportError,
  type ChunkReader,
  type ChunkSource,
  type UpstreamRequest,
} from '../src/pipeline/transport';
import { startUnacceptingServer, type UnacceptingServer } from '../test/mocks/unaccepting-server';
import { startUpstream, type UpstreamServer } from '../test/mocks/upstream-server';
import { undiciTransport } from './undici-transport';

let blackhole: UnacceptingServer;
let upstream: UpstreamServer;
/** Writes `BIG` bytes as fast as the client takes them; says how far it got. */
let firehose: { url: string; server: Server; written: number; finished: boolean };
const BIG = 64 * 1024 * 1024;
const transport = undiciTransport();

beforeAll(async () => {
  [blackhole, upstream] = await Promise.all([
    startUnacceptingServer(),
    startUpstream(createMockOpenAI({ chunkDelayMs: 5 })),
  ]);
  const server = createServer((_req, res) => {
    firehose.written = 0;
    firehose.finished = false;
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = () => {
      while (firehose.written < BIG) {
        firehose.written += chunk.byteLength;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end(() => (firehose.finished = true));
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  firehose = { url, server, written: 0, finished: false };
});

afterAll(async () => {
  blackhole?.close();
  await upstream?.close();
  firehose?.server.closeAllConnections();
  firehose?.server.close();
  await transport.close();
});

const call = (url: string, extra: Partial<UpstreamRequest> = {}) =>
  transport({
    url,
    method: 'GET',
    headers: {},
    connectTimeoutMs: 10_000,
    firstByteTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
    ...extra,
  });

const chat = (stream: boolean) => ({
  method: 'POST' as const,
  headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test' },
  body: JSON.stringify({
    model: 'gpt-test',
    messages: [{ role: 'user', content: 'hi' }],
    stream,
  }),
});

async function failure(promise: Promise<unknown>): Promise<TransportError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TransportError);
  return err as TransportError;
}

/** A pushed body read like a reader: paused while it holds a chunk nobody has read yet. */
function readerOf(source: ChunkSource): ChunkReader {
  const held: Uint8Array[] = [];
  let ended = false;
  let failed: unknown;
  let wake = () => {};
  let pause = () => {};
  const hold = (chunk: Uint8Array) => {
    held.push(chunk);
    pause();
    wake();
  };
  const flow = source({
    data: hold,
    end: () => ((ended = true), wake()),
    error: (err) => ((failed = err), wake()),
  });
  pause = () => flow.pause();
  if (held.length > 0) flow.pause();
  return {
    async read() {
      while (held.length === 0 && !ended && failed === undefined)
        await new Promise<void>((resolve) => (wake = resolve));
      const chunk = held.shift();
      if (chunk !== undefined) {
        if (held.length === 0) flow.resume();
        return { done: false, value: chunk };
      }
      if (failed !== undefined) throw failed;
      return { done: true, value: undefined };
    },
    cancel: async () => flow.cancel(),
  };
}

async function readAll(reader: ChunkReader): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read())
    text += decoder.decode(r.value, { stream: true });
  return text;
}

describe('undiciTransport connect timeout', () => {
  it('fails a connection that is not up within the request’s connect timeout, as a connect failure', async () => {
    const started = Date.now();
    const err = await failure(call(`${blackhole.url}/v1/models`, { connectTimeoutMs: 300 }));
    expect(err.failure).toBe('connect');
    expect(Date.now() - started).toBeLessThan(5000); // far below the 10 s first-byte timeout
  });

  it('keeps one pool per distinct connect timeout, and reuses it', async () => {
    const before = transport.agentCount();
    for (const connectMs of [1234, 1234, 4321]) {
      const res = await call(`${upstream.url}/v1/models`, { connectTimeoutMs: connectMs });
      expect(res.status).toBe(200);
      await res.bytes();
    }
    expect(transport.agentCount() - before).toBe(2);
  });
});

describe('undiciTransport replies', () => {
  it('reads a whole body, and headers by lowercase name', async () => {
    const res = await call(`${upstream.url}/v1/chat/completions`, chat(false));
    expect(res.status).toBe(200);
    expect(res.header('content-type')).toContain('application/json');
    expect(res.header('x-not-sent')).toBeNull();
    const body = JSON.parse(new TextDecoder().decode(await res.bytes())) as { object: string };
    expect(body.object).toBe('chat.completion');
  });

  it('streams a body chunk by chunk to its end', async () => {
    const res = await call(`${upstream.url}/v1/chat/completions`, chat(true));
    expect(res.header('content-type')).toContain('text/event-stream');
    const text = await readAll(readerOf(res.stream));
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('gives error statuses as replies, with their bodies', async () => {
    upstream.script({ status: 429, headers: { 'retry-after': '3' }, body: '{"error":{}}' });
    const res = await call(`${upstream.url}/v1/chat/completions`, chat(false));
    expect(res.status).toBe(429);
    expect(res.header('retry-after')).toBe('3');
    expect(new TextDecoder().decode(await res.bytes())).toBe('{"error":{}}');
  });
});

describe('undiciTransport failures', () => {
  it('no headers within the first-byte timeout: first_byte_timeout', async () => {
    upstream.script({ hang: true });
    const err = await failure(call(`${upstream.url}/v1/models`, { firstByteTimeoutMs: 200 }));
    expect(err.failure).toBe('first_byte_timeout');
  });

  it('a body that goes quiet longer than the idle timeout: idle_timeout, for bytes and streams', async () => {
    upstream.script({ stallAfterBytes: 600 }, { stallAfterBytes: 600 });
    const url = `${upstream.url}/v1/chat/completions`;
    const whole = await call(url, { ...chat(true), idleTimeoutMs: 200 });
    expect((await failure(whole.bytes())).failure).toBe('idle_timeout');
    const streamed = await call(url, { ...chat(true), idleTimeoutMs: 200 });
    expect((await failure(readAll(readerOf(streamed.stream)))).failure).toBe('idle_timeout');
  });

  it('a connection reset before the reply or cut in the body: reset', async () => {
    upstream.script({ reset: true });
    expect((await failure(call(`${upstream.url}/v1/models`))).failure).toBe('reset');
    upstream.script({ cutAfterBytes: 600 });
    const res = await call(`${upstream.url}/v1/chat/completions`, chat(true));
    expect((await failure(readAll(readerOf(res.stream)))).failure).toBe('reset');
  });

  it('an abort before the reply fails the call at once and closes the upstream request', async () => {
    const index = upstream.requests.length;
    upstream.script({ hang: true });
    const signal = new Cancel();
    const pending = failure(call(`${upstream.url}/v1/models`, { signal }));
    while (upstream.requests.length <= index) await new Promise((r) => setTimeout(r, 5));
    signal.abort();
    expect((await pending).failure).toBe('aborted');
    await upstream.requests[index]!.closed;
  });

  it('an abort mid-stream errors the stream as aborted and closes the upstream request', async () => {
    const index = upstream.requests.length;
    upstream.script({ stallAfterBytes: 600 });
    const signal = new Cancel();
    const res = await call(`${upstream.url}/v1/chat/completions`, { ...chat(true), signal });
    const reader = readerOf(res.stream);
    expect((await reader.read()).done).toBe(false);
    signal.abort();
    expect((await failure(reader.read())).failure).toBe('aborted');
    await upstream.requests[index]!.closed;
  });

  it('an already aborted signal fails without sending anything', async () => {
    const signal = new Cancel();
    signal.abort();
    const before = upstream.requests.length;
    expect((await failure(call(`${upstream.url}/v1/models`, { signal }))).failure).toBe('aborted');
    expect(upstream.requests.length).toBe(before);
  });
});

/** Waits until the firehose has written nothing more for a while (blocked, finished or cut). */
async function writerSettles(): Promise<void> {
  let last = -1;
  while (firehose.written !== last && !firehose.finished) {
    last = firehose.written;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('undiciTransport back-pressure', () => {
  it('a stream read slowly holds the upstream back instead of buffering its whole body', async () => {
    const res = await call(`${firehose.url}/big`);
    const reader = readerOf(res.stream);
    expect((await reader.read()).done).toBe(false);
    // Not reading: the upstream fills the socket buffers (a few MB) and must wait there.
    await writerSettles();
    expect(firehose.finished).toBe(false);
    expect(firehose.written).toBeLessThan(BIG / 4);
    let total = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) total += r.value.byteLength;
    expect(total + 64 * 1024).toBeGreaterThanOrEqual(BIG);
  });

  it('cancelling a stream cuts the upstream call', async () => {
    const res = await call(`${firehose.url}/big`);
    const reader = readerOf(res.stream);
    await reader.read();
    await reader.cancel();
    await writerSettles();
    expect(firehose.finished).toBe(false);
    expect(firehose.written).toBeLessThan(BIG / 4);
  });
});
