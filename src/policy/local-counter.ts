import { LEASE_TTL_MS, type Demand, type Grant, type LeaseReturn } from './counters';
import type { CounterSpec } from './snapshot';

/** A lease as its holder keeps it. Times are the holder's monotonic clock. */
export interface LocalLease {
  id: number;
  granted: number;
  remaining: number;
  used: number;
  /** When the acquire that got it was sent: it may be spent until sentAt + LEASE_TTL_MS. */
  sentAt: number;
  lastUseAt: number;
  returned: boolean;
}

/**
 * What one holder knows of one counter: the leases it may spend from, the acquire in flight,
 * its recent demand (to size the next lease), and what the authority last said it had left
 * (for the x-ratelimit-* headers).
 */
export class LocalCounter {
  leases: LocalLease[] = [];
  inflight: Promise<void> | undefined;
  /** Requests waiting for a grant. */
  waiting = 0;
  /** Bumped by every refused grant, with the need that was refused. */
  refusals = 0;
  lastRefusal: Grant | undefined;
  lastRefusedNeed = 0;
  authorityRemaining: number | undefined;
  resetAt = 0;
  lastActive = 0;
  private spentNow = 0;
  private spentBefore = 0;
  private rateSince = 0;

  constructor(
    readonly id: string,
    public spec: CounterSpec,
    readonly budget: Demand['budget'],
  ) {}

  private retire(lease: LocalLease, into: LeaseReturn[]): void {
    if (lease.returned) return;
    lease.returned = true;
    into.push({
      counter: this.id,
      lease: lease.id,
      used: lease.used,
      lastUseMs: lease.used > 0 ? lease.lastUseAt - lease.sentAt : 0,
    });
  }

  /** A lease with `need` left that may be spent now; spent-out and expired leases go to `done`. */
  find(need: number, now: number, done: LeaseReturn[]): LocalLease | undefined {
    let found: LocalLease | undefined;
    let drop = 0;
    for (const lease of this.leases) {
      if (now - lease.sentAt >= LEASE_TTL_MS || lease.remaining <= 0) {
        this.retire(lease, done);
        drop++;
      } else if (found === undefined && lease.remaining >= need) found = lease;
    }
    if (drop > 0) this.leases = this.leases.filter((lease) => !lease.returned);
    return found;
  }

  spend(lease: LocalLease, amount: number, now: number): void {
    lease.remaining -= amount;
    lease.used += amount;
    lease.lastUseAt = now;
    this.lastActive = now;
    if (now - this.rateSince >= LEASE_TTL_MS) {
      this.spentBefore = now - this.rateSince >= 2 * LEASE_TTL_MS ? 0 : this.spentNow;
      this.spentNow = 0;
      this.rateSince = now;
    }
    this.spentNow += amount;
  }

  /** Demand per lease lifetime, lately. */
  rate(): number {
    return Math.max(this.spentNow, this.spentBefore);
  }

  /** What is left in leases that can still be spent `ahead` ms from now. */
  unspent(now: number, ahead = 0): number {
    let left = 0;
    for (const lease of this.leases) {
      if (!lease.returned && now + ahead - lease.sentAt < LEASE_TTL_MS) left += lease.remaining;
    }
    return left;
  }

  demand(need: number, required: boolean): Demand {
    const spec = this.spec;
    let want = Math.max(need * Math.max(1, this.waiting), 2 * this.rate());
    // A budget lease must hold something even for requests that cost nothing (unpriced models).
    if (spec.dimension === 'spend') want = Math.max(want, spec.limit / 1000);
    return {
      counter: this.id,
      dimension: spec.dimension,
      limit: spec.limit,
      need,
      want: Math.min(want, spec.limit),
      required,
      ...(this.budget === undefined ? {} : { budget: this.budget }),
    };
  }

  accept(grant: Grant, need: number, sentAt: number, now: number): void {
    this.authorityRemaining = grant.remaining;
    this.resetAt = now + grant.resetMs;
    if (grant.refused) {
      this.refusals++;
      this.lastRefusal = grant;
      this.lastRefusedNeed = need;
    }
    if (grant.lease === 0 || grant.amount <= 0) return;
    this.leases.push({
      id: grant.lease,
      granted: grant.amount,
      remaining: grant.amount,
      used: 0,
      sentAt,
      lastUseAt: sentAt,
      returned: false,
    });
  }

  /**
   * Settles the difference between what a finished request used and what it reserved against
   * the lease it reserved from, while this holder still has it; returns the part settled here.
   */
  settle(leaseId: number, delta: number): number {
    const lease = this.leases.find((l) => l.id === leaseId && !l.returned);
    if (lease === undefined) return 0;
    const settled = delta > 0 ? Math.min(Math.max(0, lease.remaining), delta) : delta;
    lease.remaining -= settled;
    lease.used += settled;
    return settled;
  }

  /** A request needs more than any lease holds: hand every lease back with the next acquire. */
  retireAll(done: LeaseReturn[]): void {
    for (const lease of this.leases) this.retire(lease, done);
    this.leases = [];
  }

  /** Hands back every lease that is spent out or expired; true when nothing is left to keep. */
  sweep(now: number, done: LeaseReturn[]): boolean {
    this.find(Infinity, now, done);
    return this.leases.length === 0 && this.inflight === undefined && this.waiting === 0;
  }
}
