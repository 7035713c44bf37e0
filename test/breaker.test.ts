import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';
import {
  openaiUpstreamConfig,
  startGateway,
  UPSTREAM_SECRET,
  type RunningGateway,
} from './helpers/gateway';
import { assertMatchesSpec } from './helpers/openapi';
import { openaiError, startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * The per-target circuit breaker through the real gateway: three consecutive failures eject
 * `up/model-a` for 1 s (doubling on a failed probe); while it is out, requests for it fail
 * fast without reaching it, and an alias with a second target goes straight to that one.
 */
let a: UpstreamServer;
let b: UpstreamServer;
let gateway: RunningGateway;
let key: string;

const models = `
  - name: fragile
    provider: up
    model: model-a
    retry: { retries: 0 }
  - name: pair
    targets:
      - { provider: up, model: model-a }
      - { provider: b, model: model-b }
    retry: { retries: 0 }`;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startUpstream(createMockOpenAI()),
    startUpstream(createMockOpenAI()),
  ]);
  gateway = await startGateway({
    config: openaiUpstreamConfig(a.url, {
      providers: `  - id: b\n    kind: openai-compatible\n    base_url: ${b.url}/v1`,
      models,
      breaker: '  failures: 3\n  cooldown_ms: 1000\n  max_cooldown_ms: 10000',
    }),
    env: { TEST_UPSTREAM_KEY: UPSTREAM_SECRET },
  });
  key = (await gateway.createKey({ name: 'breaker', models: ['*'] })).key;
  // Compile the spec validator now: the first use takes seconds, longer than a cooldown.
  assertMatchesSpec('ErrorResponse', { error: { message: '', type: '', param: null, code: null } });
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([a?.close(), b?.close()]);
});

const chat = (model: string) =>
  fetch(`${gateway.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

type HealthEntry = {
  target: string;
  breaker: { state: string; times_opened: number; open_until: string | null };
  last_failure: { code: string } | null;
};

async function healthOf(target: string): Promise<HealthEntry | undefined> {
  const res = await fetch(`${gateway.url}/admin/health`, {
    headers: { authorization: `Bearer ${gateway.adminKey}` },
  });
  const body = (await res.json()) as { data: HealthEntry[] };
  return body.data.find((entry) => entry.target === target);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('circuit breaker', () => {
  it('opens after consecutive failures, probes after the cooldown, and recovers', async () => {
    // A first call warms the gateway's connections, so the failures below come in quick succession.
    expect((await chat('fragile')).status).toBe(200);
    a.script(...Array.from({ length: 3 }, () => openaiError(500, 'down')));
    for (let i = 0; i < 3; i++) expect((await chat('fragile')).status).toBe(502);
    expect(await healthOf('up/model-a')).toMatchObject({
      breaker: { state: 'open', times_opened: 1 },
      last_failure: { code: 'upstream_error' },
    });

    // Open: refused without a call upstream, with a hint of when to come back.
    const seen = a.requests.length;
    const refused = await chat('fragile');
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { error: { code: string } };
    assertMatchesSpec('ErrorResponse', body);
    expect(body.error.code).toBe('provider_unavailable');
    expect(a.requests.length).toBe(seen);

    // An alias with another target skips the ejected one.
    const viaPair = await chat('pair');
    expect(viaPair.status).toBe(200);
    expect(viaPair.headers.get('x-vidai-provider')).toBe('b');
    expect(viaPair.headers.get('x-vidai-attempts')).toBe('1');
    expect(a.requests.length).toBe(seen);

    // After the cooldown one probe goes through; it fails, so the breaker opens for longer.
    await sleep(1200);
    expect((await healthOf('up/model-a'))?.breaker.state).toBe('half_open');
    a.script(openaiError(503, 'still down'));
    expect((await chat('fragile')).status).toBe(502);
    expect(a.requests.length).toBe(seen + 1);
    const reopened = await healthOf('up/model-a');
    expect(reopened?.breaker).toMatchObject({ state: 'open', times_opened: 2 });
    const until = Date.parse(reopened?.breaker.open_until ?? '');
    expect(until - Date.now()).toBeGreaterThan(1100); // 2 s cooldown this time, not 1 s
    expect((await chat('fragile')).status).toBe(503);

    // After the longer cooldown the probe succeeds and the breaker closes.
    await sleep(until - Date.now() + 100);
    const recovered = await chat('fragile');
    expect(recovered.status).toBe(200);
    expect((await healthOf('up/model-a'))?.breaker.state).toBe('closed');
    expect((await chat('fragile')).status).toBe(200);
    expect(a.requests.length).toBe(seen + 3);

    // Operators see each failed attempt and each ejection in the log, by target.
    const lines = gateway.output().split('\n');
    expect(lines.filter((line) => line.includes('"target_ejected"'))).toHaveLength(2);
    expect(
      lines.some(
        (line) => line.includes('"upstream_attempt_failed"') && line.includes('up/model-a'),
      ),
    ).toBe(true);
  });
});
