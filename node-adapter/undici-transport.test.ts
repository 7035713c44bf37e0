import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import { TransportError } from '../src/pipeline/transport';
import { startUnacceptingServer, type UnacceptingServer } from '../test/mocks/unaccepting-server';
import { startUpstream, type UpstreamServer } from '../test/mocks/upstream-server';
import { undiciTransport } from './undici-transport';

let blackhole: UnacceptingServer;
let upstream: UpstreamServer;
const transport = undiciTransport();

beforeAll(async () => {
  [blackhole, upstream] = await Promise.all([
    startUnacceptingServer(),
    startUpstream(createMockOpenAI()),
  ]);
});

afterAll(async () => {
  blackhole?.close();
  await upstream?.close();
  await transport.close();
});

const request = (url: string, connectTimeoutMs: number) =>
  transport({
    url: `${url}/v1/models`,
    method: 'GET',
    headers: {},
    connectTimeoutMs,
    firstByteTimeoutMs: 10_000,
    idleTimeoutMs: 10_000,
  });

describe('undiciTransport connect timeout', () => {
  it('fails a connection that is not up within the request’s connect timeout, as a connect failure', async () => {
    const started = Date.now();
    const err = await request(blackhole.url, 300).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TransportError).failure).toBe('connect');
    expect(Date.now() - started).toBeLessThan(5000); // far below the 10 s first-byte timeout
  });

  it('keeps one pool per distinct connect timeout, and reuses it', async () => {
    const before = transport.agentCount();
    for (const connectMs of [1234, 1234, 4321]) {
      const res = await request(upstream.url, connectMs);
      expect(res.status).toBe(200);
      await res.bytes();
    }
    expect(transport.agentCount() - before).toBe(2);
  });
});
