import { DurableObject } from 'cloudflare:workers';
import { drizzle } from 'drizzle-orm/d1';
import { schema } from '../src/db/schema';
import { spendBetween } from '../src/db/usage-repo';
import { CounterAuthority } from '../src/policy/counter-authority';
import type { Demand, Grant, LeaseReturn, Reconciliation } from '../src/policy/counters';

/** How often the authority forgets idle counters and abandoned leases. */
const SWEEP_MS = 5_000;
/**
 * A budget lease still out this long after its grant belongs to an isolate that is gone: live
 * isolates hand leases back about a second after they asked (worker/durable-counters.ts), and
 * nothing an isolate does outlives its request by more than waitUntil's 30 s.
 */
const ABANDON_AFTER_MS = 60_000;

/**
 * The counter authority of one key or one team (named by its subject key, `k:<id>` or
 * `t:<id>`), hosting the same code as the Node cluster primary. Isolates reach it over RPC with
 * the same JSON messages the primary gets over IPC. It keeps its counters in memory, as the
 * primary does: a restart of the object forgets the current minute, and budgets are reloaded
 * from the usage records in D1.
 */
export class CounterObject extends DurableObject<Env> {
  private readonly authority: CounterAuthority;
  private lastSweep = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const db = drizzle(env.DB, { schema });
    this.authority = new CounterAuthority({
      now: () => performance.now(),
      loadSpend: (subject, from, to) => spendBetween(db, subject, from, to),
      abandonAfterMs: ABANDON_AFTER_MS,
    });
  }

  private sweep(): void {
    const now = performance.now();
    if (now - this.lastSweep < SWEEP_MS) return;
    this.lastSweep = now;
    this.authority.sweep();
  }

  acquire(
    holder: string,
    demands: readonly Demand[],
    returns: readonly LeaseReturn[],
  ): Grant[] | Promise<Grant[]> {
    this.sweep();
    return this.authority.acquire(holder, demands, returns);
  }

  release(returns: readonly LeaseReturn[]): void {
    this.authority.release(returns);
  }

  reconcile(reconciliations: readonly Reconciliation[]): void {
    for (const reconciliation of reconciliations) this.authority.reconcile(reconciliation);
  }
}
