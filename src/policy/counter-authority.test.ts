import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error';
import { CounterAuthority } from './counter-authority';
import { LEASE_TTL_MS, WINDOW_MS, type CounterClient, type Grant, type Subject } from './counters';
import { Limiter } from './limiter';
import type { CounterSpec, KeyPolicy } from './snapshot';

/**
 * The lease algorithm under a simulated cluster: holders (serving processes) with their own
 * Limiter, one authority, messages that take time to arrive, and a virtual clock. Nothing here
 * sleeps: time moves only when the simulation says so.
 */
class Simulation {
  now = 0;
  private events: Array<{ at: number; seq: number; run: () => void }> = [];
  private seq = 0;
  readonly authority: CounterAuthority;
  private readonly limiters = new Map<string, { limiter: Limiter; latencyMs: number }>();

  constructor(options: { spent?: (subject: Subject) => number; recall?: boolean } = {}) {
    this.authority = new CounterAuthority({
      now: () => this.now,
      wallNow: () => 1_800_000_000_000 + this.now,
      loadSpend: (subject) => options.spent?.(subject) ?? 0,
      recall:
        options.recall === false
          ? undefined
          : (holder, counter) => {
              const held = this.limiters.get(holder)!;
              this.at(this.now + held.latencyMs, () => held.limiter.recall(counter));
            },
    });
  }

  at(time: number, run: () => void): void {
    this.events.push({ at: time, seq: this.seq++, run });
  }

  /** A holder whose messages to and from the authority each take `latencyMs`. */
  holder(name: string, latencyMs: number): Limiter {
    const client: CounterClient = {
      acquire: (demands, returns) =>
        new Promise((resolve) => {
          this.at(this.now + latencyMs, () => {
            const grants = this.authority.acquire(name, demands, returns);
            Promise.resolve(grants).then((g) => this.at(this.now + latencyMs, () => resolve(g)));
          });
        }),
      release: (returns) => this.at(this.now + latencyMs, () => this.authority.release(returns)),
    };
    const limiter = new Limiter(
      client,
      () => this.now,
      (err) => {
        throw err;
      },
      () => 1_800_000_000_000 + this.now,
    );
    this.limiters.set(name, { limiter, latencyMs });
    return limiter;
  }

  async run(until: number): Promise<void> {
    for (;;) {
      // Let every promise chain the last event started settle before time moves on.
      for (let i = 0; i < 20; i++) await Promise.resolve();
      this.events.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.events[0];
      if (next === undefined || next.at > until) break;
      this.events.shift();
      this.now = Math.max(this.now, next.at);
      // Hosts tick the authority often: it answers waiting demands whose time is up.
      this.authority.tick();
      next.run();
    }
    this.now = until;
  }
}

function keyWith(
  limits: Partial<Record<'rpm' | 'tpm' | 'budget', number>>,
  team?: typeof limits,
): KeyPolicy {
  const specs = (subject: Subject, l: typeof limits): CounterSpec[] => {
    const out: CounterSpec[] = [];
    const base = `${subject.kind === 'key' ? 'k' : 't'}:${subject.id}`;
    if (l.rpm !== undefined)
      out.push({
        subject,
        dimension: 'requests',
        limit: l.rpm,
        id: `${base}|r`,
        period: undefined,
      });
    if (l.tpm !== undefined)
      out.push({ subject, dimension: 'tokens', limit: l.tpm, id: `${base}|t`, period: undefined });
    if (l.budget !== undefined)
      out.push({ subject, dimension: 'spend', limit: l.budget, id: '', period: 'day' });
    return out;
  };
  return {
    id: 'key_1',
    name: 'k',
    teamId: team ? 'team_1' : undefined,
    models: undefined,
    expiresAt: undefined,
    counters: [
      ...specs({ kind: 'key', id: 'key_1' }, limits),
      ...(team ? specs({ kind: 'team', id: 'team_1' }, team) : []),
    ],
  };
}

interface Outcome {
  admitted: number[];
  refused: GatewayError[];
}

/** Sends a request at `time` through `limiter`, recording when it was admitted or why not. */
function request(
  sim: Simulation,
  limiter: Limiter,
  key: KeyPolicy,
  time: number,
  outcome: Outcome,
  estimate = { tokens: 1, cost: 0 },
): void {
  sim.at(time, () => {
    const record = () => outcome.admitted.push(sim.now);
    const refuse = (err: unknown) => {
      if (!(err instanceof GatewayError)) throw err;
      outcome.refused.push(err);
    };
    try {
      const admission = limiter.admit(key, estimate);
      if (admission instanceof Promise) admission.then(record, refuse);
      else record();
    } catch (err) {
      refuse(err);
    }
  });
}

function sweepEvery(sim: Simulation, limiters: Limiter[], until: number): void {
  for (let t = 250; t < until; t += 250) for (const l of limiters) sim.at(t, () => l.sweep());
}

/** The most admissions in any window [a, a + 60 s). */
function maxInAnyMinute(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while ((sorted[j] ?? Infinity) < sorted[i]! - WINDOW_MS + 1) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('requests per minute across holders', () => {
  it('admits at most R of a 3R burst spread over two holders, and not many fewer', async () => {
    const sim = new Simulation();
    const holders = [sim.holder('w1', 0.2), sim.holder('w2', 0.3)];
    const key = keyWith({ rpm: 100 });
    const outcome: Outcome = { admitted: [], refused: [] };
    for (let i = 0; i < 300; i++) request(sim, holders[i % 2]!, key, i * 0.01, outcome);
    sweepEvery(sim, holders, 10_000);
    await sim.run(10_000);
    expect(outcome.admitted.length + outcome.refused.length).toBe(300);
    expect(outcome.admitted.length).toBeLessThanOrEqual(100);
    expect(outcome.admitted.length).toBeGreaterThanOrEqual(95);
    expect(outcome.refused.every((e) => e.code === 'rate_limit_exceeded')).toBe(true);
    expect(outcome.refused[0]?.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('never admits more than R in any sliding minute, whatever the traffic (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 2, max: 4 }),
        // Bursts: [time, how many, spread over ms, which holder].
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 180_000 }),
            fc.integer({ min: 1, max: 30 }),
            fc.integer({ min: 0, max: 2_000 }),
            fc.nat(),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 4, maxLength: 4 }),
        async (rpm, holderCount, bursts, latencies) => {
          const arrivals = bursts.flatMap(([time, count, spread, who]) =>
            Array.from(
              { length: count },
              (_, i) => [time + (spread * i) / count, who + i] as const,
            ),
          );
          const sim = new Simulation();
          const holders = Array.from({ length: holderCount }, (_, i) =>
            sim.holder(`w${i}`, latencies[i]! / 10),
          );
          const key = keyWith({ rpm });
          const outcome: Outcome = { admitted: [], refused: [] };
          for (const [time, who] of arrivals) {
            request(sim, holders[who % holderCount]!, key, time, outcome);
          }
          sweepEvery(sim, holders, 200_000);
          await sim.run(200_000);
          expect(outcome.admitted.length + outcome.refused.length).toBe(arrivals.length);
          expect(maxInAnyMinute(outcome.admitted)).toBeLessThanOrEqual(rpm);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a burst right after the window turns over still fits in the sliding minute', async () => {
    const sim = new Simulation();
    const holders = [sim.holder('w1', 0.5), sim.holder('w2', 0.5)];
    const key = keyWith({ rpm: 10 });
    const outcome: Outcome = { admitted: [], refused: [] };
    // 10 at the end of one fixed minute, 10 at the start of the next: a fixed window admits 20.
    for (let i = 0; i < 10; i++) request(sim, holders[i % 2]!, key, 59_000 + i, outcome);
    for (let i = 0; i < 10; i++) request(sim, holders[i % 2]!, key, 60_500 + i, outcome);
    sweepEvery(sim, holders, 130_000);
    await sim.run(130_000);
    expect(maxInAnyMinute(outcome.admitted)).toBeLessThanOrEqual(10);
    expect(outcome.admitted.length).toBe(10);
  });

  it('a team limit caps all its keys together', async () => {
    const sim = new Simulation();
    const holder = sim.holder('w1', 0.1);
    const a = keyWith({ rpm: 100 }, { rpm: 5 });
    const b = { ...keyWith({ rpm: 100 }, { rpm: 5 }), id: 'key_2' };
    b.counters = b.counters.map((spec) =>
      spec.subject.kind === 'key'
        ? { ...spec, subject: { kind: 'key', id: 'key_2' }, id: 'k:key_2|r' }
        : spec,
    );
    const outcome: Outcome = { admitted: [], refused: [] };
    for (let i = 0; i < 6; i++) request(sim, holder, i % 2 ? a : b, i, outcome);
    await sim.run(1000);
    expect(outcome.admitted.length).toBe(5);
    expect(outcome.refused[0]?.message).toContain("key's team");
  });

  it('a dead holder’s unspent leases stop counting a minute later', async () => {
    const sim = new Simulation();
    const dead = sim.holder('dead', 0.1);
    const alive = sim.holder('alive', 0.1);
    const key = keyWith({ rpm: 4 });
    const outcome: Outcome = { admitted: [], refused: [] };
    request(sim, dead, key, 0, outcome);
    sim.at(10, () => sim.authority.dropHolder('dead'));
    for (let t = 20; t < 70_000; t += 5_000) request(sim, alive, key, t, outcome);
    await sim.run(70_000);
    expect(maxInAnyMinute(outcome.admitted)).toBeLessThanOrEqual(4);
    expect(outcome.admitted.length).toBeGreaterThanOrEqual(4);
  });
});

describe('the authority', () => {
  const demand = (need: number, want: number) => ({
    counter: 'k:key_1|r',
    dimension: 'requests' as const,
    limit: 10,
    need,
    want,
    required: need > 0,
  });

  it('counts a lease until a minute after its last permit can be spent, not after it was granted', () => {
    let now = 0;
    const authority = new CounterAuthority({ now: () => now, loadSpend: () => 0 });
    const [lease] = authority.acquire('a', [demand(1, 5)], []) as Grant[];
    expect(lease).toMatchObject({ amount: 5 });
    // Holder a spends 1 at once and 4 at 990 ms, then hands the lease back.
    now = 1_000;
    authority.release([{ counter: 'k:key_1|r', lease: lease!.lease, used: 5, lastUseMs: 990 }]);
    // A minute after the grant, the 4 spent at 990 ms still occupy [990, 60 990).
    now = 60_001;
    const [late] = authority.acquire('b', [demand(1, 10)], []) as Grant[];
    // What was free before this grant: 10 less the 5 of holder a.
    expect(late!.amount + late!.remaining).toBe(5);
    now = 61_100;
    const [after] = authority.acquire('b', [demand(1, 10)], []) as Grant[];
    expect(after!.amount).toBeGreaterThan(0);
  });

  it('refuses a required demand with the time until it fits, and never grants above the limit', () => {
    let now = 0;
    const authority = new CounterAuthority({ now: () => now, loadSpend: () => 0 });
    const grants = authority.acquire('a', [demand(10, 10)], []) as Grant[];
    expect(grants[0]!.amount).toBe(10);
    now = 5_000;
    const [refused] = authority.acquire('a', [demand(1, 1)], []) as Grant[];
    expect(refused!.refused).toBe(true);
    expect(refused!.retryAfterMs).toBe(61_050 - 5_000);
    const [tooBig] = authority.acquire('a', [{ ...demand(11, 11) }], []) as Grant[];
    expect(tooBig!.retryAfterMs).toBeNull();
  });
});

describe('recall', () => {
  const spend = (need: number, want: number) => ({
    counter: 'k:key_1|s|day|0',
    dimension: 'spend' as const,
    limit: 1,
    need,
    want,
    required: true,
    budget: { subject: { kind: 'key' as const, id: 'key_1' }, start: 0, end: 86_400_000 },
  });

  function authorityWithRecall() {
    let now = 0;
    const recalls: Array<[string, string]> = [];
    const authority = new CounterAuthority({
      now: () => now,
      wallNow: () => 1_000,
      loadSpend: () => 0,
      recall: (holder, counter) => recalls.push([holder, counter]),
    });
    return { authority, recalls, advance: (ms: number) => (now += ms) };
  }

  it('asks other holders for their leases instead of refusing what the budget still covers', async () => {
    const { authority, recalls } = authorityWithRecall();
    const [a] = authority.acquire('a', [spend(0.1, 0.6)], []) as Grant[];
    expect(a!.amount).toBe(0.5);
    const waiting = authority.acquire('b', [spend(0.6, 0.6)], []);
    expect(waiting).toBeInstanceOf(Promise);
    expect(recalls).toEqual([['a', 'k:key_1|s|day|0']]);
    // Holder a had spent 0.1 of its 0.5 and hands the lease back.
    authority.release([{ counter: 'k:key_1|s|day|0', lease: a!.lease, used: 0.1, lastUseMs: 5 }]);
    const [b] = await waiting;
    expect(b!.refused).toBe(false);
    expect(b!.amount).toBeGreaterThanOrEqual(0.6);
  });

  it('refuses after the recalled leases’ lifetime if they never come back', async () => {
    const { authority, advance } = authorityWithRecall();
    authority.acquire('a', [spend(0.5, 0.5)], []);
    const waiting = authority.acquire('b', [spend(0.6, 0.6)], []);
    advance(LEASE_TTL_MS);
    authority.tick();
    let settled = false;
    void Promise.resolve(waiting).then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    advance(1_000);
    authority.tick();
    const [b] = await waiting;
    expect(b!.refused).toBe(true);
  });

  it('refuses at once what even every lease back would not cover', () => {
    const { authority, recalls } = authorityWithRecall();
    authority.acquire('a', [spend(0.5, 0.5)], []);
    const [b] = authority.acquire('b', [spend(1.1, 1.1)], []) as Grant[];
    expect(b!.refused).toBe(true);
    expect(recalls).toEqual([]);
  });
});

describe('holders that vanish without a word (Worker isolates)', () => {
  const spend = (need: number) => ({
    counter: 'k:key_1|s|day|0',
    dimension: 'spend' as const,
    limit: 1,
    need,
    want: need,
    required: true,
    budget: { subject: { kind: 'key' as const, id: 'key_1' }, start: 0, end: 86_400_000 },
  });

  function authorityAbandoning(abandonAfterMs: number | undefined) {
    let now = 0;
    const authority = new CounterAuthority({
      now: () => now,
      wallNow: () => 1_000,
      loadSpend: () => 0,
      ...(abandonAfterMs === undefined ? {} : { abandonAfterMs }),
    });
    return { authority, at: (ms: number) => (now = ms) };
  }

  it('a budget lease never handed back returns to the budget once it is taken as abandoned', () => {
    const { authority, at } = authorityAbandoning(30_000);
    const [held] = authority.acquire('gone', [spend(0.5)], []) as Grant[];
    expect(held!.amount).toBe(0.5);
    at(5_000);
    authority.sweep();
    expect((authority.acquire('b', [spend(0.6)], []) as Grant[])[0]!.refused).toBe(true);
    at(30_001);
    authority.sweep();
    const [later] = authority.acquire('b', [spend(0.6)], []) as Grant[];
    expect(later).toMatchObject({ refused: false, amount: 0.6 });
  });

  it('keeps what the vanished holder’s answered requests consumed', () => {
    const { authority, at } = authorityAbandoning(30_000);
    const [held] = authority.acquire('gone', [spend(0.5)], []) as Grant[];
    authority.reconcile({
      keyId: 'key_1',
      teamId: null,
      at: 1_000,
      tokens: 0,
      cost: 0.3,
      reservations: [
        {
          counter: 'k:key_1|s|day|0',
          dimension: 'spend',
          lease: held!.lease,
          amount: 0.3,
          settledLocally: 0,
        },
      ],
    });
    at(30_001);
    authority.sweep();
    const [rest] = authority.acquire('b', [spend(0.7)], []) as Grant[];
    expect(rest).toMatchObject({ refused: false, amount: 0.7 });
    expect((authority.acquire('b', [spend(0.01)], []) as Grant[])[0]!.refused).toBe(true);
  });

  it('without the option, an unreturned lease stays committed (the host reports deaths itself)', () => {
    const { authority, at } = authorityAbandoning(undefined);
    authority.acquire('gone', [spend(0.5)], []);
    at(120_000);
    authority.sweep();
    expect((authority.acquire('b', [spend(0.6)], []) as Grant[])[0]!.refused).toBe(true);
  });
});
