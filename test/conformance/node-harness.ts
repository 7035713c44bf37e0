import { createMockAnthropic } from '../../src/providers/mock/mock-anthropic';
import { createMockGemini } from '../../src/providers/mock/mock-gemini';
import { createMockOpenAI } from '../../src/providers/mock/mock-openai';
import { startGateway } from '../helpers/gateway';
import { startUpstream } from '../mocks/upstream-server';
import { CONFORMANCE_ENV, conformanceConfig } from './config';
import type { Harness } from './harness';

/** Nothing listens on the discard port on loopback. */
const DEAD = 'http://127.0.0.1:9';

/**
 * The Node build under the conformance suites: the real cluster (dist/main.js, two workers, so
 * every limit holds across processes) in front of real HTTP mock upstreams.
 */
export async function startNodeHarness(): Promise<Harness & { close(): Promise<void> }> {
  const upstreams = {
    openai: await startUpstream(createMockOpenAI({ chunkDelayMs: 5 })),
    anthropic: await startUpstream(createMockAnthropic()),
    gemini: await startUpstream(createMockGemini()),
  };
  const gateway = await startGateway({
    config: conformanceConfig({
      openai: upstreams.openai.url,
      anthropic: upstreams.anthropic.url,
      gemini: upstreams.gemini.url,
      dead: DEAD,
    }),
    workers: 2,
    env: CONFORMANCE_ENV,
  });
  const { key } = await gateway.createKey({ name: 'conformance', models: ['*'] });
  return {
    runtime: 'node',
    url: gateway.url,
    baseURL: gateway.baseURL,
    fetch: (input, init) => fetch(input, init),
    adminKey: gateway.adminKey,
    key,
    upstreams,
    admin: gateway.admin,
    createKey: gateway.createKey,
    query: async (sql, ...params) => gateway.query(sql, ...params),
    output: gateway.output,
    async close() {
      await gateway.stop();
      await Promise.all(Object.values(upstreams).map((upstream) => upstream.close()));
    },
  };
}
