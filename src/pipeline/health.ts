import type { BreakerSettings, GatewayConfig, RouteTarget } from '../config/compile';
import { CircuitBreaker } from './breaker';

/** Weight of the newest sample in the moving averages: about the last ten requests count. */
const EWMA_ALPHA = 0.2;
/**
 * How fast an old latency estimate fades: a target that was slow and so gets no traffic looks
 * cheaper as its last sample ages, until it is tried again and measured afresh.
 */
const LATENCY_HALF_LIFE_MS = 30_000;

/** What the process knows of one upstream model: its breaker, recent latency and errors. */
export class TargetHealth {
  readonly breaker: CircuitBreaker;
  /** Moving average of time to first byte, ms; undefined until the first success. */
  latencyMs: number | undefined;
  /** Moving average of failure (1) and success (0). */
  errorRate = 0;
  inflight = 0;
  requests = 0;
  failures = 0;
  lastFailure: { at: number; code: string } | undefined;
  private sampledAt = 0;

  constructor(
    readonly key: string,
    readonly provider: string,
    readonly model: string,
    settings: BreakerSettings,
    private readonly now: () => number,
  ) {
    this.breaker = new CircuitBreaker(settings, now);
  }

  /** The latency estimate now: the moving average, faded by the age of its last sample. */
  recentLatencyMs(): number {
    if (this.latencyMs === undefined) return 0;
    return this.latencyMs * 0.5 ** ((this.now() - this.sampledAt) / LATENCY_HALF_LIFE_MS);
  }

  succeeded(latencyMs: number): void {
    this.requests++;
    this.latencyMs =
      this.latencyMs === undefined
        ? latencyMs
        : this.latencyMs + EWMA_ALPHA * (latencyMs - this.latencyMs);
    this.sampledAt = this.now();
    this.errorRate *= 1 - EWMA_ALPHA;
    this.breaker.onSuccess();
  }

  failed(code: string): void {
    this.requests++;
    this.failures++;
    this.errorRate += EWMA_ALPHA * (1 - this.errorRate);
    this.lastFailure = { at: this.now(), code };
    this.breaker.onFailure();
  }
}

/**
 * The health of every target in this process (one per Node worker, one per Worker isolate):
 * the dispatch loop writes it, strategies and the admin API read it. Created once per app.
 */
export class HealthRegistry {
  private readonly targets = new Map<string, TargetHealth>();
  private readonly aliases = new Map<string, string[]>();

  constructor(
    config: Pick<GatewayConfig, 'routes' | 'breaker'>,
    private readonly now: () => number = Date.now,
  ) {
    for (const route of config.routes.values()) {
      for (const target of route.targets) {
        this.of(target, config.breaker);
        const names = this.aliases.get(target.key) ?? [];
        if (!names.includes(route.name)) names.push(route.name);
        this.aliases.set(target.key, names);
      }
    }
  }

  get(target: RouteTarget): TargetHealth {
    const health = this.targets.get(target.key);
    if (health === undefined) throw new Error(`no health entry for ${target.key}`);
    return health;
  }

  /** Every target's state, for GET /admin/health. */
  view() {
    return [...this.targets.values()].map((health) => ({
      target: health.key,
      provider: health.provider,
      model: health.model,
      aliases: this.aliases.get(health.key) ?? [],
      breaker: health.breaker.view(),
      latency_ms: health.latencyMs === undefined ? null : Math.round(health.latencyMs),
      error_rate: Math.round(health.errorRate * 1000) / 1000,
      inflight: health.inflight,
      requests: health.requests,
      failures: health.failures,
      last_failure:
        health.lastFailure === undefined
          ? null
          : { at: new Date(health.lastFailure.at).toISOString(), code: health.lastFailure.code },
    }));
  }

  private of(target: RouteTarget, settings: BreakerSettings): TargetHealth {
    let health = this.targets.get(target.key);
    if (health === undefined) {
      health = new TargetHealth(target.key, target.provider.id, target.model, settings, this.now);
      this.targets.set(target.key, health);
    }
    return health;
  }
}
