import {
  LEASE_TTL_MS,
  subjectKey,
  subjectKeyOfCounter,
  type CounterClient,
  type Demand,
  type Grant,
  type LeaseReturn,
  type Reconciliation,
} from '../src/policy/counters';
import type { CounterObject } from './counter-object';

/** Runs `work` past the end of the current request (Workers' waitUntil); logs its failure. */
export type Background = (work: Promise<unknown>) => void;

/** Groups items by the subject (key or team) whose Durable Object owns their counter. */
function bySubject<T extends { counter: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const subject = subjectKeyOfCounter(item.counter);
    let group = groups.get(subject);
    if (group === undefined) groups.set(subject, (group = []));
    group.push(item);
  }
  return groups;
}

/**
 * An isolate's line to the counter authorities: one Durable Object per key and per team,
 * addressed by name, so a request limited by both its key and its team asks both at once. The
 * isolate is one holder (`holder`, random per isolate). Each call is kept alive past its
 * request with `background`, so a prefetch or a lease handed back is never cut off.
 *
 * A finished request is settled with its key's and team's objects at once (`reconcile`), and
 * the next acquire from the same object waits until that has arrived: the order the Node
 * primary gets from its IPC channel, so that what one request reserved and did not use is free
 * for the next.
 *
 * Isolates have no timers of their own between requests, so the leases they hold would not go
 * back until the next request: after every grant, a sweep (`onLeasesDue`) is scheduled for when
 * the lease has expired, inside the request that got it.
 */
export function durableCounters(
  namespace: DurableObjectNamespace<CounterObject>,
  holder: () => string,
  background: Background,
  onLeasesDue: () => void,
): CounterClient & { reconcile(reconciliation: Reconciliation): void } {
  const stub = (subject: string) => namespace.get(namespace.idFromName(subject));
  /** Per subject: the settlements still on their way. */
  const settling = new Map<string, Promise<void>>();
  let sweepDue = 0;
  let sweeping = false;

  const scheduleSweep = () => {
    sweepDue = performance.now() + LEASE_TTL_MS + 20;
    if (sweeping) return;
    sweeping = true;
    const started = performance.now();
    background(
      (async () => {
        // Later grants push the sweep back; a request keeps it going for a few seconds at most,
        // then the next request with a grant starts another.
        while (performance.now() < sweepDue && performance.now() - started < 5_000) {
          await new Promise((resolve) => setTimeout(resolve, sweepDue - performance.now()));
        }
        sweeping = false;
        onLeasesDue();
      })(),
    );
  };

  return {
    async acquire(demands: readonly Demand[], returns: readonly LeaseReturn[]) {
      const asks = bySubject(demands.map((demand, i) => ({ counter: demand.counter, demand, i })));
      const gives = bySubject(returns);
      const subjects = new Set([...asks.keys(), ...gives.keys()]);
      const grants: Grant[] = new Array<Grant>(demands.length);
      const calls = [...subjects].map(async (subject) => {
        const mine = asks.get(subject) ?? [];
        await settling.get(subject);
        const answer = await stub(subject).acquire(
          holder(),
          mine.map((ask) => ask.demand),
          gives.get(subject) ?? [],
        );
        mine.forEach((ask, j) => {
          const grant = answer[j];
          if (grant !== undefined) grants[ask.i] = grant;
        });
      });
      const done = Promise.all(calls);
      // The caller sees a failure; kept alive only so that a prefetch is not cut off.
      background(done.catch(() => {}));
      await done;
      if (grants.some((grant) => grant.lease !== 0)) scheduleSweep();
      return grants;
    },
    release(returns: readonly LeaseReturn[]) {
      for (const [subject, mine] of bySubject(returns)) background(stub(subject).release(mine));
    },
    reconcile(reconciliation: Reconciliation) {
      const subjects = [subjectKey({ kind: 'key', id: reconciliation.keyId })];
      if (reconciliation.teamId !== null)
        subjects.push(subjectKey({ kind: 'team', id: reconciliation.teamId }));
      for (const subject of subjects) {
        const sent = (settling.get(subject) ?? Promise.resolve()).then(() =>
          stub(subject).reconcile([reconciliation]),
        );
        // An acquire waits for it, but never fails for it (background logs a failure).
        const entry: Promise<void> = sent
          .then(
            () => {},
            () => {},
          )
          .then(() => {
            if (settling.get(subject) === entry) settling.delete(subject);
          });
        settling.set(subject, entry);
        background(sent);
      }
    },
  };
}
