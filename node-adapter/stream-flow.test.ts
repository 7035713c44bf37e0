import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { passthroughStream, type StreamEnd } from '../src/pipeline/passthrough-stream';
import type { ChunkSource, UpstreamResponse } from '../src/pipeline/transport';
import { translatedWithFaultyEncoder } from '../src/providers/translators/test-replies';
import { undiciTransport } from './undici-transport';

/** The reply streams over undici's transport, as the Node gateway drives them. */
const EVENTS = 'data: {"a":1}\n\ndata: [DONE]\n\n';
const anthropicSse = readFileSync(
  new URL('../src/providers/translators/fixtures/anthropic/stream-text.sse', import.meta.url),
);
let server: Server;
let origin: string;
let connections = 0;
const transport = undiciTransport();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    if (req.url === '/early') {
      // The headers and every event in one write; after the last event, a keep-alive
      // comment and then the end, later.
      res.write(EVENTS);
      setTimeout(() => res.write(': ping\n\n'), 50);
      setTimeout(() => res.end(), 100);
    } else {
      res.flushHeaders();
      setTimeout(() => res.end(anthropicSse), 20);
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await transport.close();
});

const call = (path: string): Promise<UpstreamResponse> =>
  transport({
    url: `${origin}${path}`,
    method: 'GET',
    headers: {},
    firstByteTimeoutMs: 5000,
    idleTimeoutMs: 500,
  });

describe('reply streams over undici', () => {
  it('a stream whose last event came with the headers is still read to its end, and its connection reused', async () => {
    const before = connections;
    for (let round = 0; round < 2; round++) {
      const res = await call('/early');
      let upstreamEnded = false;
      const source: ChunkSource = (sink) =>
        res.stream({
          data: (chunk) => sink.data(chunk),
          end: () => ((upstreamEnded = true), sink.end()),
          error: (err) => sink.error(err),
        });
      const ends: string[] = [];
      const stream = passthroughStream(source, {
        mayDrop: false,
        inspect: (event) => (event.data === '[DONE]' ? 'done' : undefined),
        // Synchronous, as an attempt's onEnd is before it is committed.
        onEnd: (end) => void ends.push(end.outcome),
        errorEvent: () => 'data: {"error":{}}\n\n',
      });
      expect(await new Response(stream).text()).toBe(EVENTS);
      expect(ends).toEqual(['complete']);
      for (let i = 0; i < 100 && !upstreamEnded; i++) await new Promise((r) => setTimeout(r, 10));
      expect(upstreamEnded).toBe(true);
    }
    expect(connections - before).toBe(1);
  });

  it('a fault in the translating sink ends the stream as an error of its own, not as an upstream reset', async () => {
    const res = await call('/anthropic');
    const ends: StreamEnd[] = [];
    const stream = translatedWithFaultyEncoder(res.stream, ends, 'a fault of the encoder');
    await expect(new Response(stream).text()).rejects.toThrow('a fault of the encoder');
    expect(ends).toHaveLength(1);
    expect(ends[0]?.outcome).toBe('error');
    expect(String(ends[0]?.error)).toContain('a fault of the encoder');
  });
});
