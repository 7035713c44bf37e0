import Anthropic from '@anthropic-ai/sdk';
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { servesShippedConfigOffline } from '../../test/conformance/shipped-config';

/**
 * Two isolates of the deployable bundle (gateway-a and gateway-b in worker/vitest.config.ts:
 * `wrangler deploy --dry-run` output, the shipped config), sharing one D1 database and one
 * Durable Object namespace, as Cloudflare runs a Worker whose requests land on several isolates.
 */
const isolates = { a: env.GATEWAY_A, b: env.GATEWAY_B };
const ORIGIN = 'http://vidai.test';

function call(isolate: Fetcher, path: string, key: string, init: RequestInit = {}) {
  return isolate.fetch(`${ORIGIN}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
}

async function createKey(body: Record<string, unknown>) {
  const res = await call(isolates.a, '/admin/keys', env.VIDAI_ADMIN_KEY, {
    method: 'POST',
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; key: string };
}

const chat = (isolate: Fetcher, key: string) =>
  call(isolate, '/v1/chat/completions', key, {
    method: 'POST',
    body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] }),
  });

async function usageOf(keyId: string, count: number) {
  for (let waited = 0; ; waited += 50) {
    const { results } = await env.DB.prepare(
      'select status, error_code from usage_records where key_id = ?',
    )
      .bind(keyId)
      .all<{ status: number; error_code: string | null }>();
    if (results.length >= count || waited > 10_000) return results;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  // Both isolates are up and each is its own: their process-wide state (breakers) differs.
  const instances = await Promise.all(
    Object.values(isolates).map(async (isolate) => {
      const res = await call(isolate, '/admin/health', env.VIDAI_ADMIN_KEY);
      return ((await res.json()) as { instance: string }).instance;
    }),
  );
  expect(new Set(instances).size).toBe(2);
});

describe('a rate limit across isolates', () => {
  it('admits at most R of a 3R burst split over two isolates, through the key’s Durable Object', async () => {
    const R = 20;
    const { id, key } = await createKey({ name: 'burst', models: ['*'], rpm: R });
    const responses = await Promise.all(
      Array.from({ length: 3 * R }, async (_, i) => {
        const via = i % 2 === 0 ? 'a' : 'b';
        const res = await chat(isolates[via], key);
        await res.text();
        return { via, status: res.status };
      }),
    );
    const admitted = responses.filter((r) => r.status === 200);
    expect(responses.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    // A counter per isolate would admit up to 2R here.
    expect(admitted.length).toBeLessThanOrEqual(R);
    // Both isolates spent from the shared counter, and not many permits were stranded.
    expect(new Set(admitted.map((r) => r.via))).toEqual(new Set(['a', 'b']));
    expect(admitted.length).toBeGreaterThanOrEqual(R / 2);

    // Every request with a valid key leaves a record in D1, refusals included.
    const rows = await usageOf(id, 3 * R);
    expect(rows).toHaveLength(3 * R);
    expect(rows.filter((r) => r.status === 200)).toHaveLength(admitted.length);
    expect(rows.filter((r) => r.error_code === 'rate_limit_exceeded')).toHaveLength(
      3 * R - admitted.length,
    );
  });

  it('a key made on one isolate works at once on the other, and its team’s limit holds across both', async () => {
    const res = await call(isolates.b, '/admin/teams', env.VIDAI_ADMIN_KEY, {
      method: 'POST',
      body: JSON.stringify({ name: 'pair', rpm: 6 }),
    });
    const team = (await res.json()) as { id: string };
    const one = await createKey({ name: 'one', models: ['*'], team_id: team.id });
    const two = await createKey({ name: 'two', models: ['*'], team_id: team.id });
    const responses = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const r = await chat(i % 2 ? isolates.a : isolates.b, i % 4 < 2 ? one.key : two.key);
        await r.text();
        return r.status;
      }),
    );
    expect(responses.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
    expect(responses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
  });
});

describe('the shipped config, offline', () => {
  it('serves the demo model to the Anthropic SDK with no provider key, and says which key Claude needs (as on Node)', async () => {
    const { key } = await createKey({ name: 'offline', models: ['*'] });
    const client = new Anthropic({
      baseURL: ORIGIN,
      apiKey: key,
      maxRetries: 0,
      fetch: (input, init) => isolates.b.fetch(String(input), init),
    });
    await servesShippedConfigOffline(client);
  });
});
