import { env, SELF } from 'cloudflare:test';
import { createMockAnthropic } from '../../src/providers/mock/mock-anthropic';
import { createMockGemini } from '../../src/providers/mock/mock-gemini';
import { createMockOpenAI } from '../../src/providers/mock/mock-openai';
import type { Harness } from '../../test/conformance/harness';
import { ConnectionLost, scriptedUpstream } from '../../test/mocks/scripted-upstream';
import { UPSTREAM_HOSTS } from './upstream-hosts';

const GATEWAY = 'http://vidai.test';

/**
 * The Worker under the conformance suites, in workerd: requests go in through SELF.fetch (the
 * Worker's own fetch handler, D1 and Durable Objects as wrangler.toml binds them); the
 * upstream fetches it makes are answered by the same scripted mock handlers the Node tests put
 * behind HTTP servers. The Worker runs in this test's isolate, so replacing the global fetch
 * and watching the console reach it.
 */
export async function startWorkerdHarness(): Promise<Harness & { close(): void }> {
  const upstreams = {
    openai: scriptedUpstream(createMockOpenAI({ chunkDelayMs: 5 })),
    anthropic: scriptedUpstream(createMockAnthropic()),
    gemini: scriptedUpstream(createMockGemini()),
  };
  const byOrigin = new Map<string, (request: Request) => Promise<Response>>([
    [UPSTREAM_HOSTS.openai, upstreams.openai.handle],
    [UPSTREAM_HOSTS.anthropic, upstreams.anthropic.handle],
    [UPSTREAM_HOSTS.gemini, upstreams.gemini.handle],
    [UPSTREAM_HOSTS.dead, () => Promise.reject(new ConnectionLost())],
  ]);
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const request = new Request(input, init);
    const upstream = byOrigin.get(new URL(request.url).origin);
    return upstream === undefined ? realFetch(request) : upstream(request);
  };

  let output = '';
  const methods = ['log', 'info', 'warn', 'error'] as const;
  const originals = methods.map((name) => console[name]);
  for (const name of methods) {
    const original = console[name];
    console[name] = (...args: unknown[]) => {
      output += `${args.map(String).join(' ')}\n`;
      original.apply(console, args);
    };
  }

  const gatewayFetch: typeof fetch = (input, init) =>
    SELF.fetch(input instanceof Request ? input : String(input), init);
  const admin = (path: string, init: RequestInit = {}) =>
    gatewayFetch(`${GATEWAY}/admin${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${env.VIDAI_ADMIN_KEY}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  const createKey = async (body: Record<string, unknown>) => {
    const res = await admin('/keys', { method: 'POST', body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string; key: string };
  };
  const { key } = await createKey({ name: 'conformance', models: ['*'] });
  return {
    runtime: 'workerd',
    url: GATEWAY,
    baseURL: `${GATEWAY}/v1`,
    fetch: gatewayFetch,
    adminKey: env.VIDAI_ADMIN_KEY,
    key,
    upstreams,
    admin,
    createKey,
    async query<T>(sql: string, ...params: unknown[]) {
      return (
        await env.DB.prepare(sql)
          .bind(...params)
          .all<T>()
      ).results;
    },
    output: () => output,
    close() {
      globalThis.fetch = realFetch;
      methods.forEach((name, i) => (console[name] = originals[i]!));
    },
  };
}
