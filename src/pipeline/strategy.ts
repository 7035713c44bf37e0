import type { Route, RouteTarget } from '../config/compile';
import type { HealthRegistry, TargetHealth } from './health';

/**
 * The order in which one request tries an alias's targets. The first is the pick; the rest are
 * its fallbacks. Targets whose breaker is open stay in the list: dispatch skips them when it
 * reaches them, so the order is the same whatever the breakers say.
 * - `fallback`: config order.
 * - `weighted`: a weighted draw without replacement, so the first pick follows the weights and
 *   so does each fallback among the rest; weight-0 targets come last, in config order.
 * - `latency`: power of two choices — draw two targets, take the cheaper — then the rest by cost.
 */
export function orderTargets(
  route: Route,
  health: HealthRegistry,
  random: () => number,
): RouteTarget[] {
  const targets = route.usable;
  if (targets.length <= 1) return [...targets];
  switch (route.strategy) {
    case 'fallback':
      return [...targets];
    case 'weighted':
      return weightedOrder(targets, random);
    case 'latency':
      return latencyOrder(targets, health, random);
  }
}

export function weightedOrder(
  targets: readonly RouteTarget[],
  random: () => number,
): RouteTarget[] {
  const pool = targets.filter((target) => target.weight > 0);
  const order: RouteTarget[] = [];
  let total = pool.reduce((sum, target) => sum + target.weight, 0);
  while (pool.length > 0) {
    let point = random() * total;
    let index = pool.length - 1;
    for (let i = 0; i < pool.length; i++) {
      point -= pool[i]?.weight ?? 0;
      if (point < 0) {
        index = i;
        break;
      }
    }
    const [picked] = pool.splice(index, 1);
    if (picked === undefined) break;
    order.push(picked);
    total -= picked.weight;
  }
  return order.concat(targets.filter((target) => target.weight === 0));
}

/**
 * Expected cost of sending one more request: recent time to first byte, scaled by the requests
 * already in flight there (the peak-EWMA idea) and by the recent error rate. A target with no
 * latency sample yet costs least, and an old sample fades, so new, recovered and long-unused
 * targets get tried.
 */
export function cost(health: TargetHealth): number {
  return (health.recentLatencyMs() + 1) * (health.inflight + 1) * (1 + 4 * health.errorRate);
}

function latencyOrder(
  targets: readonly RouteTarget[],
  registry: HealthRegistry,
  random: () => number,
): RouteTarget[] {
  const scored = targets.map((target) => ({ target, health: registry.get(target) }));
  const ready = scored.filter((entry) => entry.health.breaker.available());
  const byCost = (a: (typeof scored)[number], b: (typeof scored)[number]) =>
    cost(a.health) - cost(b.health);
  let first: (typeof scored)[number] | undefined;
  if (ready.length >= 2) {
    const i = Math.floor(random() * ready.length);
    let j = Math.floor(random() * (ready.length - 1));
    if (j >= i) j++;
    const a = ready[i];
    const b = ready[j];
    if (a !== undefined && b !== undefined) first = cost(a.health) <= cost(b.health) ? a : b;
  } else first = ready[0];
  const rest = scored.filter((entry) => entry !== first).sort(byCost);
  return (first === undefined ? rest : [first, ...rest]).map((entry) => entry.target);
}
