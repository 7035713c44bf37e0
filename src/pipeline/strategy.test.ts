import { describe, expect, it } from 'vitest';
import { HealthRegistry } from './health';
import { cost, orderTargets } from './strategy';
import { seededRandom, testConfig, testRoute } from './test-config';

const config = testConfig({
  models: [
    {
      name: 'ordered',
      targets: [{ provider: 'a' }, { provider: 'b' }, { provider: 'c' }],
    },
    {
      name: 'weighted',
      strategy: 'weighted',
      targets: [
        { provider: 'a', weight: 6 },
        { provider: 'b', weight: 3 },
        { provider: 'c', weight: 1 },
        { provider: 'd', weight: 0 },
      ],
    },
    {
      name: 'fast',
      strategy: 'latency',
      targets: [{ provider: 'a' }, { provider: 'b' }, { provider: 'c' }],
    },
  ],
});

const providers = (name: string, health: HealthRegistry, random: () => number) =>
  orderTargets(testRoute(config, name), health, random).map((target) => target.provider.id);

describe('orderTargets', () => {
  it('fallback keeps the config order', () => {
    expect(providers('ordered', new HealthRegistry(config), Math.random)).toEqual(['a', 'b', 'c']);
  });

  it('weighted: first picks follow the weights over many draws', () => {
    const health = new HealthRegistry(config);
    const random = seededRandom(42);
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const first = providers('weighted', health, random)[0] ?? '';
      counts[first] = (counts[first] ?? 0) + 1;
    }
    // sd of a share p over n draws is sqrt(p(1-p)/n) ≤ 0.0036 here; allow 5 sd.
    expect(Math.abs((counts.a ?? 0) / n - 0.6)).toBeLessThan(0.018);
    expect(Math.abs((counts.b ?? 0) / n - 0.3)).toBeLessThan(0.018);
    expect(Math.abs((counts.c ?? 0) / n - 0.1)).toBeLessThan(0.018);
    expect(counts.d).toBe(0);
  });

  it('weighted: every target appears once, weight-0 standbys last', () => {
    const health = new HealthRegistry(config);
    const random = seededRandom(7);
    for (let i = 0; i < 100; i++) {
      const order = providers('weighted', health, random);
      expect([...order].sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(order[3]).toBe('d');
    }
  });

  it('weighted: the fallback after a pick follows the remaining weights', () => {
    const health = new HealthRegistry(config);
    const random = seededRandom(9);
    let bAfterA = 0;
    let afterA = 0;
    for (let i = 0; i < 20_000; i++) {
      const order = providers('weighted', health, random);
      if (order[0] !== 'a') continue;
      afterA++;
      if (order[1] === 'b') bAfterA++;
    }
    // Without a, b has 3 of the remaining 4 weight.
    expect(Math.abs(bAfterA / afterA - 0.75)).toBeLessThan(0.03);
  });

  it('latency: of two draws the cheaper wins, so the slowest target is never first', () => {
    const health = new HealthRegistry(config);
    const route = testRoute(config, 'fast');
    const [a, b, c] = route.targets.map((target) => health.get(target));
    a?.succeeded(100);
    b?.succeeded(300);
    c?.succeeded(900);
    const random = seededRandom(1);
    const firsts = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const order = orderTargets(route, health, random).map((target) => target.provider.id);
      firsts.add(order[0] ?? '');
      expect(order.slice(1)).toEqual(['a', 'b', 'c'].filter((id) => id !== order[0]));
    }
    expect(firsts).toEqual(new Set(['a', 'b']));
  });

  it('latency: a target that fails or is busy costs more; an unmeasured one costs least', () => {
    // A fixed clock: samples taken a millisecond apart would fade apart and cost differently.
    const health = new HealthRegistry(config, () => 1_000_000);
    const [a, b, c] = testRoute(config, 'fast').targets.map((target) => health.get(target));
    if (!a || !b || !c) throw new Error('targets');
    a.succeeded(100);
    b.succeeded(100);
    expect(cost(a)).toBe(cost(b));
    b.failed('upstream_error');
    expect(cost(b)).toBeGreaterThan(cost(a));
    a.inflight = 3;
    expect(cost(a)).toBeGreaterThan(cost(b));
    expect(cost(c)).toBeLessThan(Math.min(cost(a), cost(b)));
  });

  it('latency: an old sample fades, so a target once slow is tried again in time', () => {
    const clock = { now: 1_000_000 };
    const health = new HealthRegistry(config, () => clock.now);
    const route = testRoute(config, 'fast');
    const [a, b] = route.targets.map((target) => health.get(target));
    if (!a || !b) throw new Error('targets');
    a.succeeded(900);
    b.succeeded(100);
    expect(cost(a)).toBeGreaterThan(cost(b));
    // b keeps serving, so its sample stays fresh; a's, unused, ages.
    for (let t = 0; t < 100; t++) {
      clock.now += 1000;
      b.succeeded(100);
    }
    expect(a.recentLatencyMs()).toBeCloseTo(900 * 0.5 ** (100 / 30), 6);
    expect(cost(a)).toBeLessThan(cost(b));
    expect(a.latencyMs).toBe(900);
  });

  it('latency: a target with an open breaker is not drawn first', () => {
    const health = new HealthRegistry(config);
    const route = testRoute(config, 'fast');
    const a = health.get(route.targets[0]!);
    for (let i = 0; i < 5; i++) a.failed('upstream_error');
    expect(a.breaker.available()).toBe(false);
    const random = seededRandom(3);
    for (let i = 0; i < 200; i++) expect(providers('fast', health, random)[0]).not.toBe('a');
  });
});
