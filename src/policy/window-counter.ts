import { CLOCK_SLACK_MS, LEASE_TTL_MS, WINDOW_MS } from './counters';

/**
 * The authority's record of one sliding-minute counter (a key's or team's requests or tokens).
 * Each grant is an entry that occupies the window from the moment it is granted until
 * WINDOW_MS after the last moment its permits can be spent (grant + TTL + slack, or earlier once
 * the holder says when it last spent). A grant is made only if everything occupying the window
 * plus the grant fits the limit. Since every permit spent in any minute [a, a + 60 s) belongs to
 * an entry still occupying the window when the latest of those entries was granted, spends in
 * any minute never exceed the limit (README "Limits" has the argument).
 */
interface Entry {
  lease: number;
  holder: string;
  granted: number;
  /** Permits that count: granted, less what was returned or refunded. */
  units: number;
  grantedAt: number;
  /** When the entry stops occupying the window. */
  end: number;
  open: boolean;
}

export class WindowCounter {
  limit = 0;
  lastTouched = 0;
  private entries: Entry[] = [];
  private readonly byLease = new Map<number, Entry>();
  private occupied = 0;
  private nextExpiry = Infinity;

  private prune(now: number): void {
    if (now < this.nextExpiry) return;
    let occupied = 0;
    let nextExpiry = Infinity;
    const kept: Entry[] = [];
    for (const entry of this.entries) {
      if (entry.end <= now || entry.units <= 0) {
        if (entry.lease !== 0) this.byLease.delete(entry.lease);
        continue;
      }
      kept.push(entry);
      occupied += entry.units;
      if (entry.end < nextExpiry) nextExpiry = entry.end;
    }
    this.entries = kept;
    this.occupied = occupied;
    this.nextExpiry = nextExpiry;
  }

  available(now: number): number {
    this.prune(now);
    return Math.max(0, this.limit - this.occupied);
  }

  isEmpty(now: number): boolean {
    this.prune(now);
    return this.entries.length === 0;
  }

  private add(entry: Entry): void {
    this.entries.push(entry);
    this.occupied += entry.units;
    if (entry.end < this.nextExpiry) this.nextExpiry = entry.end;
  }

  grant(lease: number, holder: string, units: number, now: number): void {
    const entry: Entry = {
      lease,
      holder,
      granted: units,
      units,
      grantedAt: now,
      end: now + LEASE_TTL_MS + CLOCK_SLACK_MS + WINDOW_MS,
      open: true,
    };
    this.byLease.set(lease, entry);
    this.add(entry);
  }

  /** Usage learnt after the fact (tokens beyond a reservation): it occupies the next minute. */
  charge(units: number, now: number): void {
    if (units <= 0) return;
    this.add({
      lease: 0,
      holder: '',
      granted: units,
      units,
      grantedAt: now,
      end: now + WINDOW_MS,
      open: false,
    });
  }

  private reduce(entry: Entry, units: number): void {
    const cut = Math.min(entry.units, Math.max(0, units));
    entry.units -= cut;
    this.occupied -= cut;
  }

  /** Tokens reserved from a lease but not used by the request: they never happened. */
  refund(lease: number, units: number): void {
    const entry = this.byLease.get(lease);
    if (entry !== undefined) this.reduce(entry, units);
  }

  close(lease: number, used: number, lastUseMs: number): void {
    const entry = this.byLease.get(lease);
    if (entry === undefined || !entry.open) return;
    entry.open = false;
    this.reduce(entry, entry.granted - used);
    if (used > 0) {
      // Every permit of this lease was spent by grantedAt + lastUseMs (the holder measures from
      // when it asked, which was before the grant), so the entry may leave the window earlier.
      entry.end = Math.min(entry.end, entry.grantedAt + lastUseMs + CLOCK_SLACK_MS + WINDOW_MS);
      if (entry.end < this.nextExpiry) this.nextExpiry = entry.end;
    }
  }

  /** A holder that died spends nothing more: its open leases stop occupying a minute from now. */
  dropHolder(holder: string, now: number): void {
    for (const entry of this.entries) {
      if (entry.holder !== holder || !entry.open) continue;
      entry.open = false;
      entry.end = Math.min(entry.end, now + CLOCK_SLACK_MS + WINDOW_MS);
      if (entry.end < this.nextExpiry) this.nextExpiry = entry.end;
    }
  }

  /** Units in open leases of holders other than `holder`, and who holds them. */
  heldByOthers(holder: string, now: number): { units: number; holders: Set<string> } {
    this.prune(now);
    const holders = new Set<string>();
    let units = 0;
    for (const entry of this.entries) {
      if (!entry.open || entry.holder === holder) continue;
      units += entry.units;
      holders.add(entry.holder);
    }
    return { units, holders };
  }

  /** Until `need` more would fit (null: never, it is above the limit). */
  retryAfterMs(need: number, now: number): number | null {
    if (need > this.limit) return null;
    this.prune(now);
    let occupied = this.occupied;
    const byEnd = [...this.entries].sort((a, b) => a.end - b.end);
    for (const entry of byEnd) {
      if (this.limit - occupied >= need) break;
      occupied -= entry.units;
      if (this.limit - occupied >= need) return Math.max(1, entry.end - now);
    }
    return this.limit - occupied >= need ? 1 : WINDOW_MS;
  }

  /** Until the window is empty: OpenAI's "resets to its initial state". */
  resetMs(now: number): number {
    this.prune(now);
    let last = now;
    for (const entry of this.entries) if (entry.end > last) last = entry.end;
    return last - now;
  }
}
