import type { BreakerSettings } from '../config/compile';

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * A circuit breaker for one target, in one process. Closed, it lets everything through and
 * watches outcomes; `failures` consecutive failures, or a failure share of at least
 * `errorRate` over the last `window` outcomes, open it. Open, it refuses until its cooldown
 * ends; then it is half-open and lets exactly one probe through: success closes it, failure
 * opens it again for twice as long (up to the maximum). The doubling is forgotten once the
 * target has stayed closed for a maximum cooldown. State changes happen lazily, when the
 * breaker is asked, so there are no timers.
 */
export class CircuitBreaker {
  private state: BreakerState = 'closed';
  private consecutive = 0;
  /** The last `window` outcomes, true for failure, as a ring. */
  private readonly outcomes: boolean[] = [];
  private next = 0;
  private failuresInWindow = 0;
  private openUntil = 0;
  private probing = false;
  /** Ejections since the target last stayed healthy for a maximum cooldown. */
  private ejections = 0;
  private closedAt = 0;
  /** Times the breaker has opened, for the admin view. */
  private opened = 0;

  constructor(
    private readonly settings: BreakerSettings,
    private readonly now: () => number,
  ) {}

  /** Whether a request may go to the target now; a true answer in half-open state is the probe. */
  tryAcquire(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') {
      if (this.now() < this.openUntil) return false;
      this.state = 'half_open';
      this.probing = false;
    }
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  /** Whether `tryAcquire` would say yes, without taking the probe. */
  available(): boolean {
    if (this.state === 'closed') return true;
    if (this.state === 'open') return this.now() >= this.openUntil;
    return !this.probing;
  }

  onSuccess(): void {
    if (this.state === 'half_open') this.close();
    else if (this.state === 'closed') {
      this.consecutive = 0;
      this.push(false);
      // The rate is judged after every outcome, as the window's share can cross it either way.
      if (this.rateExceeded()) this.open();
    }
  }

  onFailure(): void {
    if (this.state === 'half_open') return this.open();
    if (this.state === 'open') return;
    this.consecutive++;
    this.push(true);
    if (this.consecutive >= this.settings.failures || this.rateExceeded()) this.open();
  }

  private rateExceeded(): boolean {
    const n = this.outcomes.length;
    return n >= this.settings.window && this.failuresInWindow / n >= this.settings.errorRate;
  }

  /** An attempt that ended without a verdict (the caller left): frees the probe slot. */
  onNeutral(): void {
    if (this.state === 'half_open') this.probing = false;
  }

  get timesOpened(): number {
    return this.opened;
  }

  /** When the breaker lets a request through again; 0 when it does now. */
  retryAt(): number {
    return this.state === 'open' ? this.openUntil : 0;
  }

  view() {
    return {
      state: this.state === 'open' && this.now() >= this.openUntil ? 'half_open' : this.state,
      consecutive_failures: this.consecutive,
      window: { outcomes: this.outcomes.length, failures: this.failuresInWindow },
      times_opened: this.opened,
      open_until: this.state === 'open' ? new Date(this.openUntil).toISOString() : null,
    };
  }

  private push(failed: boolean): void {
    if (this.outcomes.length < this.settings.window) this.outcomes.push(failed);
    else {
      if (this.outcomes[this.next]) this.failuresInWindow--;
      this.outcomes[this.next] = failed;
      this.next = (this.next + 1) % this.settings.window;
    }
    if (failed) this.failuresInWindow++;
  }

  private open(): void {
    const now = this.now();
    if (this.state === 'closed' && now - this.closedAt >= this.settings.maxCooldownMs) {
      this.ejections = 0;
    }
    const cooldown = Math.min(
      this.settings.maxCooldownMs,
      this.settings.cooldownMs * 2 ** this.ejections,
    );
    this.ejections++;
    this.opened++;
    this.state = 'open';
    this.openUntil = now + cooldown;
    this.probing = false;
  }

  private close(): void {
    this.state = 'closed';
    this.consecutive = 0;
    this.outcomes.length = 0;
    this.next = 0;
    this.failuresInWindow = 0;
    this.probing = false;
    this.closedAt = this.now();
  }
}
