import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error';
import { CounterAuthority } from './counter-authority';
import { LEASE_TTL_MS, type Subject } from './counters';
import { inProcessCounters } from './in-process-counters';
import { formatDuration, Limiter, type Admission, type Estimate } from './limiter';
import type { KeyPolicy } from './snapshot';

/** One holder and its authority in one process, on a clock the test moves by hand. */
function setup(options: { tpm?: number; budget?: number; spentBefore?: number } = {}) {
  let now = 1_000;
  const wall = () => Date.UTC(2026, 11, 3, 12) + now;
  const loads: Subject[] = [];
  const authority = new CounterAuthority({
    now: () => now,
    wallNow: wall,
    loadSpend: (subject) => {
      loads.push(subject);
      return options.spentBefore ?? 0;
    },
  });
  const limiter = new Limiter(
    inProcessCounters(authority),
    () => now,
    (err) => {
      throw err;
    },
    wall,
  );
  const subject: Subject = { kind: 'key', id: 'key_1' };
  const key: KeyPolicy = {
    id: 'key_1',
    name: 'k',
    teamId: undefined,
    models: undefined,
    expiresAt: undefined,
    counters: [
      ...(options.tpm === undefined
        ? []
        : [
            {
              subject,
              dimension: 'tokens' as const,
              limit: options.tpm,
              id: 'k:key_1|t',
              period: undefined,
            },
          ]),
      ...(options.budget === undefined
        ? []
        : [
            {
              subject,
              dimension: 'spend' as const,
              limit: options.budget,
              id: '',
              period: 'day' as const,
            },
          ]),
    ],
  };
  const admit = (estimate: Estimate) => Promise.resolve(limiter.admit(key, estimate));
  /** What the host does with a finished request's record: settle it with the authority. */
  const finish = (admission: Admission, actual: Estimate) => {
    const reservations = limiter.settle(admission, actual);
    authority.reconcile({
      keyId: 'key_1',
      teamId: null,
      at: admission.at,
      tokens: actual.tokens,
      cost: actual.cost,
      reservations,
    });
  };
  const refusal = (estimate: Estimate) =>
    admit(estimate).then(
      () => undefined,
      (err: unknown) => {
        if (err instanceof GatewayError) return err;
        throw err;
      },
    );
  return {
    limiter,
    key,
    admit,
    finish,
    refusal,
    loads,
    advance: (ms: number) => (now += ms),
  };
}

describe('tokens per minute: reserve the estimate, reconcile with the real usage', () => {
  it('refuses a request whose estimate does not fit, and admits it once a reconciled refund makes room', async () => {
    const t = setup({ tpm: 1000 });
    const first = await t.admit({ tokens: 600, cost: 0 });
    const refused = await t.refusal({ tokens: 600, cost: 0 });
    expect(refused?.code).toBe('tokens_rate_limit_exceeded');
    expect(refused?.status).toBe(429);
    expect(refused?.message).toContain('limit 1000, requested 600');
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(0);
    // It used 100 of the 600 it reserved: the other 500 come back.
    t.finish(first, { tokens: 100, cost: 0 });
    await expect(t.admit({ tokens: 600, cost: 0 })).resolves.toBeDefined();
    expect(await t.refusal({ tokens: 301, cost: 0 })).toBeInstanceOf(GatewayError);
  });

  it('settles with the authority when the lease is already handed back', async () => {
    const t = setup({ tpm: 1000 });
    const first = await t.admit({ tokens: 900, cost: 0 });
    t.advance(LEASE_TTL_MS + 1);
    t.limiter.sweep();
    t.finish(first, { tokens: 200, cost: 0 });
    await expect(t.admit({ tokens: 800, cost: 0 })).resolves.toBeDefined();
  });

  it('charges usage beyond the estimate, so the next minute has less', async () => {
    const t = setup({ tpm: 1000 });
    const first = await t.admit({ tokens: 100, cost: 0 });
    t.advance(LEASE_TTL_MS + 1);
    t.limiter.sweep();
    t.finish(first, { tokens: 700, cost: 0 });
    expect((await t.refusal({ tokens: 400, cost: 0 }))?.code).toBe('tokens_rate_limit_exceeded');
    await expect(t.admit({ tokens: 300, cost: 0 })).resolves.toBeDefined();
  });
});

describe('budgets', () => {
  it('counts what was spent before, refuses with insufficient_quota, and reopens when a reservation is refunded', async () => {
    const t = setup({ budget: 1, spentBefore: 0.7 });
    const first = await t.admit({ tokens: 1, cost: 0.2 });
    expect(t.loads).toEqual([{ kind: 'key', id: 'key_1' }]);
    const refused = await t.refusal({ tokens: 1, cost: 0.2 });
    expect(refused?.code).toBe('insufficient_quota');
    expect(refused?.message).toContain('$1 per day');
    // What the refused request may cost, and what to change.
    expect(refused?.message).toContain('It may cost up to $0.2');
    expect(refused?.message).toContain('A smaller max_tokens may fit.');
    // Retry-After: until the day (UTC) is over, 12 hours after the test's noon.
    expect(Number(refused?.headers['retry-after'])).toBeGreaterThan(11 * 3600);
    t.finish(first, { tokens: 1, cost: 0.05 });
    await expect(t.admit({ tokens: 1, cost: 0.2 })).resolves.toBeDefined();
    expect((await t.refusal({ tokens: 1, cost: 0.06 }))?.code).toBe('insufficient_quota');
  });

  it('refuses even free requests once the budget is spent', async () => {
    const t = setup({ budget: 1, spentBefore: 1 });
    expect((await t.refusal({ tokens: 1, cost: 0 }))?.code).toBe('insufficient_quota');
  });
});

describe('x-ratelimit headers', () => {
  it('report limit, remaining and reset in OpenAI’s format', async () => {
    const t = setup({ tpm: 1000 });
    expect(t.limiter.headers(t.key)).toEqual({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '0ms',
    });
    await t.admit({ tokens: 250, cost: 0 });
    const headers = t.limiter.headers(t.key)!;
    expect(headers['x-ratelimit-remaining-tokens']).toBe('750');
    // A per-minute limit is back within the minute: the lease's unspent second is not counted.
    expect(headers['x-ratelimit-reset-tokens']).toBe('1m0s');
  });

  it('formats durations like OpenAI', () => {
    expect(formatDuration(20)).toBe('20ms');
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(360_000)).toBe('6m0s');
    expect(formatDuration(61_050)).toBe('1m1.05s');
  });
});
