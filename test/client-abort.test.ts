import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import {
  openaiUpstreamConfig,
  startGateway,
  UPSTREAM_SECRET,
  type RunningGateway,
} from './helpers/gateway';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * A caller that goes away takes its upstream call with it: the gateway cuts the upstream
 * connection at once instead of waiting out the (here one-minute) timeout, whether the caller
 * left before the reply began or in the middle of a stream.
 */
let upstream: UpstreamServer;
let gateway: RunningGateway;
let key: string;

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI({ chunkDelayMs: 5 }));
  gateway = await startGateway({
    config: openaiUpstreamConfig(upstream.url, { timeoutMs: 60_000 }),
    env: { TEST_UPSTREAM_KEY: UPSTREAM_SECRET },
  });
  key = (await gateway.createKey({ name: 'abort', models: ['gpt-test'] })).key;
});

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const chat = (stream: boolean) =>
  JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream });

async function upstreamRequest(index: number) {
  while (upstream.requests.length <= index) await new Promise((r) => setTimeout(r, 10));
  return upstream.requests[index]!;
}

function call(stream: boolean, controller: AbortController) {
  return fetch(`${gateway.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: chat(stream),
    signal: controller.signal,
  });
}

describe('a caller that goes away', () => {
  it('before the reply began: the upstream call is cut, and its record says cancelled (499)', async () => {
    const index = upstream.requests.length;
    upstream.script({ hang: true });
    const controller = new AbortController();
    const pending = call(false, controller).catch((err: unknown) => err);
    const sent = await upstreamRequest(index);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await sent.closed; // the test's own timeout is far below the gateway's 60 s
    await gateway.usageRows(1, "streamed = 0 and status = 499 and error_code = 'cancelled'");
  });

  it('in the middle of a stream: the upstream call is cut, and its record says cancelled', async () => {
    const index = upstream.requests.length;
    upstream.script({ stallAfterBytes: 1000 }); // a few events, then silence
    const controller = new AbortController();
    const res = await call(true, controller);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    const sent = await upstreamRequest(index);
    controller.abort();
    await sent.closed;
    await gateway.usageRows(1, "streamed = 1 and status = 499 and error_code = 'cancelled'");
  });
});

describe('a caller that goes away in the middle of its request body', () => {
  it('is recorded as cancelled (499), not as a server error, and is not logged as one', async () => {
    const { port } = new URL(gateway.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${key}\r\nContent-Type: application/json\r\n` +
        'x-request-id: mid-body\r\nContent-Length: 100\r\n\r\n{"model"',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    socket.destroy();
    await gateway.usageRows(
      1,
      "request_id = 'mid-body' and status = 499 and error_code = 'cancelled'",
    );
    expect(gateway.output()).not.toMatch(/request_failed/);
  });
});
