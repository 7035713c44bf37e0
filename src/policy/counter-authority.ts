import {
  CLOCK_SLACK_MS,
  FOREVER,
  LEASE_TTL_MS,
  subjectKey,
  windowCounterId,
  type Demand,
  type Grant,
  type LeaseReturn,
  type Reconciliation,
  type Subject,
} from './counters';
import { SpendCounter } from './spend-counter';
import { WindowCounter } from './window-counter';
import { merged } from '../util/merged';

/**
 * The counter authority: the one place that decides how many requests, tokens and dollars each
 * key and team may still spend. Holders (request-serving processes) ask it for leases and spend
 * them locally; it never waits on anything but the first load of a budget's past spend. Pure
 * and runtime-neutral: the clock and the spend loader are injected, so the Node primary hosts it
 * over IPC and a Durable Object can host the same code.
 */
export interface AuthorityOptions {
  /** A monotonic clock in ms. */
  now(): number;
  /**
   * What `subject` spent in [from, to) and was settled before this call: the authority adds every
   * later settlement itself. May answer synchronously.
   */
  loadSpend(subject: Subject, from: number, to: number): number | Promise<number>;
  /** Wall-clock ms, for budget periods; Date.now by default. */
  wallNow?(): number;
  /**
   * Asks a holder to hand back its leases of a counter now. Without it, a request is refused
   * when what is free does not cover it, even if other holders' leases would.
   */
  recall?(holder: string, counter: string): void;
  /**
   * For hosts that cannot tell when a holder dies (a Worker isolate vanishes without a word): a
   * budget lease not handed back this long after its grant is taken as its holder's death, as
   * `dropHolder` would, at the next sweep. Live holders hand leases back within about
   * LEASE_TTL_MS; window leases need nothing of the kind (they leave the minute by themselves).
   */
  abandonAfterMs?: number;
}

/** A refused demand that other holders' leases could cover: it waits for them to come back. */
interface Waiter {
  holder: string;
  demand: Demand;
  deadline: number;
  resolve(grant: Grant): void;
}

/** Recalled holders answer at once; past their leases' TTL (and a sweep) nothing more will come. */
const RECALL_WAIT_MS = LEASE_TTL_MS + CLOCK_SLACK_MS + 300;

/** A holder counts towards a counter's fair share this long after it last asked. */
const ACTIVE_HOLDER_MS = 5_000;
/** Idle budgets are forgotten (and reloaded when needed) after this long. */
const SPEND_IDLE_MS = 10 * 60_000;

export class CounterAuthority {
  private readonly windows = new Map<string, WindowCounter>();
  private readonly spends = new Map<string, SpendCounter>();
  /** Budget counters by subject key, to settle requests that reserved nothing from them. */
  private readonly spendsBySubject = new Map<string, Set<string>>();
  /** Per counter: holder → when it last asked. */
  private readonly holders = new Map<string, Map<string, number>>();
  private lastLease = 0;
  private waiters: Waiter[] = [];

  constructor(private readonly options: AuthorityOptions) {}

  private wallNow(): number {
    return this.options.wallNow?.() ?? Date.now();
  }

  acquire(
    holder: string,
    demands: readonly Demand[],
    returns: readonly LeaseReturn[],
  ): Grant[] | Promise<Grant[]> {
    this.release(returns);
    const loads: Promise<void>[] = [];
    for (const demand of demands) {
      if (demand.dimension !== 'spend') continue;
      const loading = this.spendCounter(demand).loading;
      if (loading !== undefined) loads.push(loading);
    }
    const answer = (): Grant[] | Promise<Grant[]> => {
      const grants = demands.map((demand) => this.decide(holder, demand));
      return grants.some((g) => g instanceof Promise) ? Promise.all(grants) : (grants as Grant[]);
    };
    return loads.length === 0 ? answer() : Promise.all(loads).then(answer);
  }

  release(returns: readonly LeaseReturn[]): void {
    for (const r of returns) {
      const window = this.windows.get(r.counter);
      if (window !== undefined) window.close(r.lease, r.used, r.lastUseMs);
      else this.spends.get(r.counter)?.close(r.lease, r.used);
    }
    if (returns.length > 0) this.wake();
  }

  /** Answers waiting demands whose time is up; the host calls this every 100 ms or so. */
  tick(): void {
    this.wake();
  }

  /** A grant, or, for a refused demand that leases held elsewhere could cover, a recall and a wait. */
  private decide(holder: string, demand: Demand): Grant | Promise<Grant> {
    const grant = this.grant(holder, demand);
    const recall = this.options.recall;
    if (!grant.refused || recall === undefined) return grant;
    const held = this.heldByOthers(holder, demand);
    if (held.units <= 0 || demand.need > grant.remaining + held.units) return grant;
    for (const other of held.holders) recall(other, demand.counter);
    return new Promise((resolve) => {
      this.waiters.push({
        holder,
        demand,
        deadline: this.options.now() + RECALL_WAIT_MS,
        resolve,
      });
    });
  }

  private heldByOthers(holder: string, demand: Demand): { units: number; holders: Set<string> } {
    const window = this.windows.get(demand.counter);
    if (window !== undefined) return window.heldByOthers(holder, this.options.now());
    const spend = this.spends.get(demand.counter);
    return spend === undefined ? { units: 0, holders: new Set() } : spend.heldByOthers(holder);
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const now = this.options.now();
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      const grant = this.grant(waiter.holder, waiter.demand);
      const held = grant.refused ? this.heldByOthers(waiter.holder, waiter.demand).units : 0;
      if (!grant.refused || now >= waiter.deadline || waiter.demand.need > grant.remaining + held) {
        waiter.resolve(grant);
      } else this.waiters.push(waiter);
    }
  }

  /** Settles a finished request's real tokens and cost against what it reserved. */
  reconcile(rec: Reconciliation): void {
    const now = this.options.now();
    const subjects: Subject[] = [{ kind: 'key', id: rec.keyId }];
    if (rec.teamId !== null) subjects.push({ kind: 'team', id: rec.teamId });
    for (const subject of subjects) {
      const tokensId = windowCounterId(subject, 'tokens');
      const tokens = this.windows.get(tokensId);
      if (tokens !== undefined) {
        const reserved = rec.reservations.find((r) => r.counter === tokensId);
        const delta = rec.tokens - (reserved?.amount ?? 0) - (reserved?.settledLocally ?? 0);
        if (delta > 0) tokens.charge(delta, now);
        else if (delta < 0 && reserved !== undefined) tokens.refund(reserved.lease, -delta);
      }
      for (const id of this.spendsBySubject.get(subjectKey(subject)) ?? []) {
        const spend = this.spends.get(id);
        if (spend === undefined || rec.at < spend.start || rec.at >= spend.end) continue;
        const reserved = rec.reservations.find((r) => r.counter === id);
        const settled = reserved?.settledLocally ?? 0;
        spend.settle(
          reserved?.lease ?? 0,
          (reserved?.amount ?? 0) + settled,
          rec.cost - (reserved?.amount ?? 0) - settled,
        );
      }
    }
  }

  /** A holder is gone (its process died): nothing it held will be spent any more. */
  dropHolder(holder: string): void {
    const now = this.options.now();
    for (const window of this.windows.values()) window.dropHolder(holder, now);
    for (const spend of this.spends.values()) spend.dropHolder(holder);
    for (const seen of this.holders.values()) seen.delete(holder);
    this.wake();
  }

  /** Forgets counters nothing occupies; the host calls this now and then. */
  sweep(): void {
    const now = this.options.now();
    const abandonAfter = this.options.abandonAfterMs;
    if (abandonAfter !== undefined) {
      for (const spend of this.spends.values()) spend.abandon(now - abandonAfter);
    }
    for (const [id, window] of this.windows) {
      if (window.isEmpty(now) && now - window.lastTouched > 2 * ACTIVE_HOLDER_MS) {
        this.windows.delete(id);
        this.holders.delete(id);
      }
    }
    for (const [id, spend] of this.spends) {
      if (spend.loading !== undefined || spend.hasLeases()) continue;
      if (now - spend.lastTouched < SPEND_IDLE_MS && spend.end > this.wallNow()) continue;
      this.spends.delete(id);
      this.holders.delete(id);
    }
    for (const [subject, ids] of this.spendsBySubject) {
      for (const id of ids) if (!this.spends.has(id)) ids.delete(id);
      if (ids.size === 0) this.spendsBySubject.delete(subject);
    }
  }

  private spendCounter(demand: Demand): SpendCounter {
    let spend = this.spends.get(demand.counter);
    if (spend !== undefined) return spend;
    const budget = demand.budget ?? { subject: { kind: 'key', id: '' }, start: 0, end: FOREVER };
    spend = new SpendCounter(budget.start, budget.end);
    this.spends.set(demand.counter, spend);
    const subject = subjectKey(budget.subject);
    let ids = this.spendsBySubject.get(subject);
    if (ids === undefined) this.spendsBySubject.set(subject, (ids = new Set()));
    ids.add(demand.counter);
    const counter = spend;
    const settle = (spent: number) => counter.loaded(spent);
    let loaded: number | Promise<number>;
    try {
      loaded = this.options.loadSpend(budget.subject, budget.start, budget.end);
    } catch (err) {
      loaded = Promise.reject(err);
    }
    if (typeof loaded === 'number') settle(loaded);
    else {
      counter.loading = loaded.then(settle, (err: unknown) => {
        // Not knowing the past spend must not be read as "nothing spent": retry on next demand.
        this.spends.delete(demand.counter);
        throw err;
      });
    }
    return counter;
  }

  /** Active holders of a counter, this one included: a grant is at most an even share of half of what is left. */
  private activeHolders(counter: string, holder: string, now: number): number {
    let seen = this.holders.get(counter);
    if (seen === undefined) this.holders.set(counter, (seen = new Map()));
    seen.set(holder, now);
    let active = 0;
    for (const [other, at] of seen) {
      if (now - at <= ACTIVE_HOLDER_MS) active++;
      else seen.delete(other);
    }
    return active;
  }

  private grant(holder: string, demand: Demand): Grant {
    const now = this.options.now();
    const share = (available: number) =>
      available / (2 * this.activeHolders(demand.counter, holder, now));
    if (demand.dimension === 'spend') {
      const spend = this.spendCounter(demand);
      spend.limit = demand.limit;
      spend.lastTouched = now;
      const available = spend.available();
      const resetMs = Math.max(0, spend.end - this.wallNow());
      if (demand.need > available || available <= 0) {
        if (!demand.required) return nothing(demand, available, resetMs);
        return refusal(demand, available, resetMs, spend.end === FOREVER ? null : resetMs);
      }
      const amount = Math.min(
        available,
        Math.max(demand.need, Math.min(demand.want, share(available))),
      );
      if (amount <= 0) return nothing(demand, available, resetMs);
      const lease = ++this.lastLease;
      spend.grant(lease, holder, amount, now);
      return merged(nothing(demand, available - amount, resetMs), { lease, amount });
    }
    let window = this.windows.get(demand.counter);
    if (window === undefined) this.windows.set(demand.counter, (window = new WindowCounter()));
    window.limit = demand.limit;
    window.lastTouched = now;
    const available = window.available(now);
    if (demand.required && (demand.need > available || available <= 0)) {
      return refusal(demand, available, window.resetMs(now), window.retryAfterMs(demand.need, now));
    }
    const amount = Math.min(
      available,
      Math.max(demand.need, Math.floor(Math.min(demand.want, share(available)))),
    );
    if (amount <= 0) return nothing(demand, available, window.resetMs(now));
    const lease = ++this.lastLease;
    window.grant(lease, holder, amount, now);
    return merged(nothing(demand, available - amount, window.resetMs(now)), { lease, amount });
  }
}

function nothing(demand: Demand, remaining: number, resetMs: number): Grant {
  return {
    counter: demand.counter,
    lease: 0,
    amount: 0,
    remaining,
    resetMs,
    refused: false,
    retryAfterMs: null,
  };
}

function refusal(
  demand: Demand,
  remaining: number,
  resetMs: number,
  retryAfterMs: number | null,
): Grant {
  return merged(nothing(demand, remaining, resetMs), { refused: true, retryAfterMs });
}
