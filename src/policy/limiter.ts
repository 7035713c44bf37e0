import { GatewayError } from '../errors/gateway-error';
import {
  budgetPeriod,
  LEASE_TTL_MS,
  WINDOW_MS,
  spendCounterId,
  type CounterClient,
  type Demand,
  type Grant,
  type LeaseReturn,
  type Reservation,
} from './counters';
import { LocalCounter } from './local-counter';
import type { CounterSpec, KeyPolicy } from './snapshot';

/** What a request is expected to take, before it is sent: reserved, then reconciled. */
export interface Estimate {
  tokens: number;
  cost: number;
}

export interface Admission {
  /** Wall-clock time of admission: picks the budget period it is settled in. */
  at: number;
  /** What it took from token and budget counters (requests are never given back). */
  reservations: readonly Reservation[];
}

export interface SettledReservation extends Reservation {
  settledLocally: number;
}

/** Attempts before a request that keeps losing the race for fresh permits is refused anyway. */
const MAX_ATTEMPTS = 20;

/** The header names per dimension, made once (a name built per reply is garbage per reply). */
const rateLimitHeaders = (['requests', 'tokens'] as const).map(
  (kind) =>
    [
      kind,
      {
        limit: `x-ratelimit-limit-${kind}`,
        remaining: `x-ratelimit-remaining-${kind}`,
        reset: `x-ratelimit-reset-${kind}`,
      },
    ] as const,
);

/**
 * The hot-path side of rate limits and budgets in one serving process. A request is admitted
 * synchronously when local leases cover it; only when one runs dry does it wait for the
 * authority (one acquire in flight per counter, shared by every request waiting on it). Leases
 * are topped up in the background before they run dry, and handed back when spent or expired.
 */
export class Limiter {
  private readonly counters = new Map<string, LocalCounter>();
  private readonly periods = new WeakMap<
    CounterSpec,
    { id: string; end: number; budget: Demand['budget'] }
  >();
  private returns: LeaseReturn[] = [];
  private lastSweep = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `now` is a monotonic clock in ms (leases are timed with it); `wallNow` picks budget periods. */
  constructor(
    private readonly client: CounterClient,
    private readonly now: () => number,
    private readonly onError: (err: unknown) => void,
    private readonly wallNow: () => number = Date.now,
  ) {}

  admit(key: KeyPolicy, estimate: Estimate): Admission | Promise<Admission> {
    const at = this.wallNow();
    if (key.counters.length === 0) return { at, reservations: [] };
    return this.tryAdmit(key, estimate, at, 0, undefined);
  }

  private counterFor(spec: CounterSpec, at: number): LocalCounter {
    let id = spec.id;
    let period: { id: string; end: number; budget: Demand['budget'] } | undefined;
    if (spec.dimension === 'spend' && spec.period !== undefined) {
      period = this.periods.get(spec);
      if (period === undefined || at >= period.end) {
        const { start, end } = budgetPeriod(spec.period, at);
        const budget = { subject: spec.subject, start, end };
        period = { id: spendCounterId(spec.subject, spec.period, start), end, budget };
        this.periods.set(spec, period);
      }
      id = period.id;
    }
    let counter = this.counters.get(id);
    if (counter === undefined) {
      counter = new LocalCounter(id, spec, period?.budget);
      this.counters.set(id, counter);
    } else counter.spec = spec;
    return counter;
  }

  private tryAdmit(
    key: KeyPolicy,
    estimate: Estimate,
    at: number,
    attempt: number,
    marks: Map<LocalCounter, number> | undefined,
  ): Admission | Promise<Admission> {
    const now = this.now();
    if (now - this.lastSweep >= LEASE_TTL_MS / 4) this.sweep();
    const specs = key.counters;
    const picks: Array<{ counter: LocalCounter; lease: ReturnType<LocalCounter['find']> }> = [];
    let missing: LocalCounter[] | undefined;
    for (const spec of specs) {
      const counter = this.counterFor(spec, at);
      const need = needOf(spec, estimate);
      // No tokens to reserve (a token count): no lease is needed, and none could be found (one
      // of 0 permits is spent out at once). A budget still refuses a free request once spent.
      if (need === 0 && spec.dimension === 'tokens') {
        picks.push({ counter, lease: undefined });
        continue;
      }
      const lease = counter.find(need, now, this.returns);
      if (lease !== undefined) picks.push({ counter, lease });
      else {
        const mark = marks?.get(counter);
        if (mark !== undefined && counter.refusals > mark && counter.lastRefusedNeed <= need) {
          throw limitError(counter.spec, counter.lastRefusal, need);
        }
        // What is left in its leases is too little for this request: give it back with the
        // acquire, so the authority can grant it (and any reconciled refunds) whole.
        counter.retireAll(this.returns);
        (missing ??= []).push(counter);
      }
    }
    if (missing === undefined) return this.take(specs, picks, estimate, at, now);
    if (attempt >= MAX_ATTEMPTS) throw limitError(missing[0]!.spec, undefined, 0);
    const waitMarks = new Map<LocalCounter, number>();
    for (const counter of missing) waitMarks.set(counter, counter.refusals);
    return this.refill(missing, estimate, now).then(() =>
      this.tryAdmit(key, estimate, at, attempt + 1, waitMarks),
    );
  }

  private take(
    specs: readonly CounterSpec[],
    picks: Array<{ counter: LocalCounter; lease: ReturnType<LocalCounter['find']> }>,
    estimate: Estimate,
    at: number,
    now: number,
  ): Admission {
    const reservations: Reservation[] = [];
    let prefetch: LocalCounter[] | undefined;
    picks.forEach(({ counter, lease }, i) => {
      if (lease === undefined) return;
      const spec = specs[i]!;
      const need = needOf(spec, estimate);
      counter.spend(lease, need, now);
      if (spec.dimension !== 'requests') {
        reservations.push({
          counter: counter.id,
          dimension: spec.dimension,
          lease: lease.id,
          amount: need,
        });
      }
      // Top up before running dry, for counters in steady use.
      const rate = counter.rate();
      if (counter.inflight === undefined && rate >= 2 * need && rate > 0) {
        if (counter.unspent(now, LEASE_TTL_MS / 4) < rate / 2) (prefetch ??= []).push(counter);
      }
    });
    if (prefetch !== undefined) {
      void this.send(
        prefetch.map((counter) => ({ counter, need: 0, required: false })),
        now,
      ).catch(this.onError);
    }
    return { at, reservations };
  }

  private refill(missing: LocalCounter[], estimate: Estimate, now: number): Promise<void> {
    const waits: Promise<void>[] = [];
    const fresh: Array<{ counter: LocalCounter; need: number; required: boolean }> = [];
    for (const counter of missing) {
      counter.waiting++;
      if (counter.inflight !== undefined) waits.push(counter.inflight);
      else fresh.push({ counter, need: needOf(counter.spec, estimate), required: true });
    }
    if (fresh.length > 0) waits.push(this.send(fresh, now));
    return Promise.all(waits).then(
      () => {
        for (const counter of missing) counter.waiting--;
      },
      (err: unknown) => {
        for (const counter of missing) counter.waiting--;
        throw new GatewayError('internal_error', 'The gateway could not check its rate limits.', {
          cause: err,
        });
      },
    );
  }

  private send(
    asks: Array<{ counter: LocalCounter; need: number; required: boolean }>,
    sentAt: number,
  ): Promise<void> {
    const demands = asks.map(({ counter, need, required }) => counter.demand(need, required));
    const returns = this.takeReturns();
    const sent = this.client.acquire(demands, returns).then((grants: readonly Grant[]) => {
      const now = this.now();
      asks.forEach(({ counter, need }, i) => {
        const grant = grants[i];
        if (grant !== undefined) counter.accept(grant, need, sentAt, now);
      });
    });
    const done = sent.finally(() => {
      for (const { counter } of asks) if (counter.inflight === done) counter.inflight = undefined;
    });
    for (const { counter } of asks) counter.inflight = done;
    return done;
  }

  private takeReturns(): LeaseReturn[] {
    const returns = this.returns;
    this.returns = [];
    return returns;
  }

  /**
   * After the call: the difference between real and reserved usage is settled against the
   * leases it came from while this process still holds them; the rest goes to the authority.
   */
  settle(admission: Admission, actual: Estimate): SettledReservation[] {
    return admission.reservations.map((reservation) => {
      const real = reservation.dimension === 'tokens' ? actual.tokens : actual.cost;
      const counter = this.counters.get(reservation.counter);
      const settledLocally =
        counter === undefined ? 0 : counter.settle(reservation.lease, real - reservation.amount);
      return { settledLocally, ...reservation };
    });
  }

  /**
   * Adds OpenAI's x-ratelimit-* headers for a limited key to `into`: for requests and tokens, the tighter of
   * the key's and its team's limits. Remaining is this process's view (what the authority last
   * said it had left, plus the local leases), so it is approximate across processes.
   */
  headers(key: KeyPolicy, into: Record<string, string> = {}): Record<string, string> {
    if (key.counters.length === 0) return into;
    const now = this.now();
    for (const [kind, names] of rateLimitHeaders) {
      let found = false;
      let limit = 0;
      let remaining = 0;
      let resetMs = 0;
      for (const spec of key.counters) {
        if (spec.dimension !== kind) continue;
        const counter = this.counters.get(spec.id);
        const left =
          counter === undefined
            ? spec.limit
            : Math.min(
                spec.limit,
                Math.max(0, (counter.authorityRemaining ?? spec.limit) + counter.unspent(now)),
              );
        if (found && left >= remaining) continue;
        found = true;
        limit = spec.limit;
        remaining = left;
        // The authority's reset counts a lease as spent at the last moment it could be (its
        // grant + TTL + slack + the minute: up to 61.05 s), though `remaining` counts its
        // unspent permits as free. Nothing spent by now is in the sliding minute past
        // now + 60 s, so the limit is back to its initial state by then (OpenAI's "reset").
        resetMs =
          counter === undefined ? 0 : Math.min(WINDOW_MS, Math.max(0, counter.resetAt - now));
      }
      if (!found) continue;
      into[names.limit] = String(limit);
      into[names.remaining] = String(Math.floor(remaining));
      into[names.reset] = formatDuration(resetMs);
    }
    return into;
  }

  /** The authority wants this counter's leases back (another process needs what they hold). */
  recall(counterId: string): void {
    this.counters.get(counterId)?.retireAll(this.returns);
    if (this.returns.length > 0) this.client.release(this.takeReturns());
  }

  /** Hands spent-out and expired leases back and forgets idle counters. */
  sweep(): void {
    const now = this.now();
    this.lastSweep = now;
    for (const [id, counter] of this.counters) {
      const idle = counter.sweep(now, this.returns);
      if (idle && now - counter.lastActive > 120_000) this.counters.delete(id);
    }
    if (this.returns.length > 0) this.client.release(this.takeReturns());
  }

  startSweeping(intervalMs: number): void {
    this.stopSweeping();
    this.timer = setInterval(() => {
      try {
        this.sweep();
      } catch (err) {
        this.onError(err);
      }
    }, intervalMs);
    (this.timer as { unref?: () => void }).unref?.();
  }

  stopSweeping(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function needOf(spec: CounterSpec, estimate: Estimate): number {
  return spec.dimension === 'requests'
    ? 1
    : spec.dimension === 'tokens'
      ? estimate.tokens
      : estimate.cost;
}

/** OpenAI's reset format: "20ms", "1.5s", "6m0s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.ceil(ms)}ms`;
  const seconds = Math.ceil(ms) / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(3))}s`;
}

const periodWords = { day: 'per day', month: 'per month', lifetime: 'in total' } as const;

function retryHeaders(ms: number | null | undefined): Record<string, string> {
  if (ms === null || ms === undefined) return {};
  return {
    'retry-after': String(Math.max(1, Math.ceil(ms / 1000))),
    'retry-after-ms': String(Math.ceil(ms)),
  };
}

/** The 429 for a refused counter, in OpenAI's terms. */
export function limitError(
  spec: CounterSpec,
  refusal: Grant | undefined,
  need: number,
): GatewayError {
  const whose = spec.subject.kind === 'key' ? 'this API key' : "this API key's team";
  if (spec.dimension === 'tokens' && need > spec.limit) {
    // No wait would help: say what to change instead of a 429 clients would retry forever.
    return new GatewayError(
      'request_too_large',
      `Request too large for the tokens-per-minute limit of ${whose}: it may take ${need} tokens (the prompt as estimated plus max_tokens, or the gateway's default when max_tokens is unset) and the limit is ${spec.limit}. Set a smaller max_tokens or shorten the prompt.`,
      { param: 'max_tokens' },
    );
  }
  const retryMs = refusal === undefined ? LEASE_TTL_MS : refusal.retryAfterMs;
  const headers = retryHeaders(retryMs);
  const later = retryMs === null ? '' : ` Please try again in ${formatDuration(retryMs)}.`;
  if (spec.dimension === 'spend') {
    // What was reserved is the worst case, so say what it is made of: often max_tokens was not
    // set, and the gateway's default reservation is what does not fit.
    const cost =
      need > 0
        ? ` It may cost up to $${Number(need.toPrecision(3))}: the prompt as estimated plus max_tokens (or the gateway's default when max_tokens is unset), at the model's dearest price. A smaller max_tokens may fit.`
        : '';
    return new GatewayError(
      'insufficient_quota',
      `You exceeded your current quota: what is left of the budget of $${spec.limit} ${periodWords[spec.period ?? 'lifetime']} for ${whose} cannot cover this request.${cost}`,
      { headers },
    );
  }
  if (spec.dimension === 'tokens') {
    return new GatewayError(
      'tokens_rate_limit_exceeded',
      `Rate limit reached for tokens per minute (TPM) on ${whose}: limit ${spec.limit}, requested ${need}.${later}`,
      { headers },
    );
  }
  return new GatewayError(
    'rate_limit_exceeded',
    `Rate limit reached for requests per minute (RPM) on ${whose}: limit ${spec.limit}.${later}`,
    { headers },
  );
}
