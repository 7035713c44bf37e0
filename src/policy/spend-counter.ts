/**
 * The authority's record of one budget over one period (a key's or team's spend this day,
 * month, or lifetime). `committed` is what was spent before it was loaded, plus every grant,
 * less what holders returned unused, plus the difference between real and reserved cost that
 * holders report as requests finish: so it never falls below what has been spent, and a grant
 * is made only while it fits the budget.
 */
interface SpendLease {
  holder: string;
  granted: number;
  /** The authority's clock when it was granted. */
  grantedAt: number;
  /** What finished requests took from it, as far as the authority has heard. */
  consumed: number;
}

export class SpendCounter {
  limit = 0;
  lastTouched = 0;
  private committed = 0;
  private readonly leases = new Map<number, SpendLease>();
  /** Set until the spend before this counter existed is known. */
  loading: Promise<void> | undefined;
  private pending = 0;

  constructor(
    readonly start: number,
    readonly end: number,
  ) {}

  /** Called once the spend settled before the load began is known. */
  loaded(spent: number): void {
    this.committed += spent + this.pending;
    this.pending = 0;
    this.loading = undefined;
  }

  available(): number {
    return Math.max(0, this.limit - this.committed);
  }

  hasLeases(): boolean {
    return this.leases.size > 0;
  }

  grant(lease: number, holder: string, amount: number, now: number): void {
    this.committed += amount;
    this.leases.set(lease, { holder, granted: amount, grantedAt: now, consumed: 0 });
  }

  /** A finished request: `consumed` came out of `lease` (if any); `delta` is spend beyond what leases cover. */
  settle(lease: number, consumed: number, delta: number): void {
    const held = this.leases.get(lease);
    if (held !== undefined) held.consumed += consumed;
    if (this.loading !== undefined) this.pending += delta;
    else this.committed = Math.max(0, this.committed + delta);
  }

  close(lease: number, used: number): void {
    const held = this.leases.get(lease);
    if (held === undefined) return;
    this.leases.delete(lease);
    this.committed = Math.max(0, this.committed - Math.max(0, held.granted - used));
  }

  /** What leases of holders other than `holder` hold (at most), and who holds them. */
  heldByOthers(holder: string): { units: number; holders: Set<string> } {
    const holders = new Set<string>();
    let units = 0;
    for (const held of this.leases.values()) {
      if (held.holder === holder) continue;
      units += Math.max(0, held.granted - held.consumed);
      holders.add(held.holder);
    }
    return { units, holders };
  }

  /**
   * A holder that died: what its answered requests consumed stays spent; the rest of its leases
   * (unspent, or reserved by requests it never answered) goes back to the budget.
   */
  dropHolder(holder: string): void {
    for (const [lease, held] of this.leases) if (held.holder === holder) this.drop(lease, held);
  }

  /** Leases granted before `before` that never came back: their holders are gone. */
  abandon(before: number): void {
    for (const [lease, held] of this.leases) if (held.grantedAt < before) this.drop(lease, held);
  }

  private drop(lease: number, held: SpendLease): void {
    this.leases.delete(lease);
    this.committed = Math.max(0, this.committed - Math.max(0, held.granted - held.consumed));
  }
}
