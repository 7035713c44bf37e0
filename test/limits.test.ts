import { Pool, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import { openaiUpstreamConfig, startGateway, type RunningGateway } from './helpers/gateway';
import { burstWithinLimit } from './conformance/limits';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * Requests per minute on the real cluster, with a burst that provably reaches both workers (the
 * counter authority in the primary, recalling leases stranded on the other worker). What limits
 * do whichever runtime serves them is the conformance suite's (test/conformance/limits.ts).
 */
let upstream: UpstreamServer;
let gateway: RunningGateway;
/** Eight kept-alive connections, which the cluster hands to its two workers in turn. */
let pool: Pool;

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI({ chunkDelayMs: 10 }));
  gateway = await startGateway({
    config: openaiUpstreamConfig(upstream.url),
    workers: 2,
    env: { TEST_UPSTREAM_KEY: 'k' },
  });
  pool = new Pool(gateway.url, { connections: 8 });
  await Promise.all(
    Array.from({ length: 8 }, () => undiciFetch(`${gateway.url}/healthz`, { dispatcher: pool })),
  );
});
afterAll(async () => {
  await pool?.close();
  await gateway?.stop();
  await upstream?.close();
});

function chat(key: string, body: Record<string, unknown> = {}) {
  return undiciFetch(`${gateway.baseURL}/chat/completions`, {
    method: 'POST',
    dispatcher: pool,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'hi' }],
      ...body,
    }),
  });
}

describe('requests per minute, across workers', () => {
  it('admits at most R of a burst of 3×R spread over both workers (B = 0), refusing the rest in OpenAI’s terms', async () => {
    const R = 30;
    const { key } = await gateway.createKey({ name: 'burst', models: ['*'], rpm: R });
    const connections = gateway.connectionsByWorker();
    expect([...connections.values()].filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);

    await burstWithinLimit(chat, key, R);
  });
});
