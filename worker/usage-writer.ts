import type { DrizzleD1Database } from 'drizzle-orm/d1';
import type { schema } from '../src/db/schema';
import { usageInserts } from '../src/db/usage-repo';
import type { Logger } from '../src/deps';
import type { Reconciliation } from '../src/policy/counters';
import type { SettledReservation } from '../src/policy/limiter';
import { reconciliationOf, type UsageRecord, type UsageSink } from '../src/usage/record';
import type { Background } from './durable-counters';

/** How long a record waits for others to share its write: the most a crashed isolate can lose. */
export const USAGE_FLUSH_MS = 100;
/** Records per write: 20 statements (D1 binds at most 100 parameters a statement). */
const MAX_BATCH = 100;
/** Records kept for another try when D1 refuses a write, at most (the oldest go first). */
const MAX_QUEUED = 10_000;
const RETRY_MS = [1_000, 4_000];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface UsageWriterOptions {
  db: DrizzleD1Database<typeof schema>;
  /** Settles a finished request with the counter authorities it reserved from. */
  settle(reconciliation: Reconciliation): void;
  background: Background;
  log: Logger;
}

/**
 * Usage records from one isolate, written to D1 in batches off the request path: a record
 * waits up to USAGE_FLUSH_MS for others, then the batch is written as one D1 batch (one
 * transaction). Each request keeps the write of its record alive with waitUntil, so a reply
 * that has gone out still gets its record written when the isolate is idle or being evicted.
 */
export function usageWriter(options: UsageWriterOptions): UsageSink {
  const { db, log } = options;
  let queue: UsageRecord[] = [];
  let flushing: Promise<void> | undefined;

  const write = async (rows: UsageRecord[]) => {
    const [first, ...rest] = usageInserts(db, rows);
    if (first !== undefined) await db.batch([first, ...rest]);
  };

  /** Writes everything waiting; false when D1 kept refusing (the records stay queued). */
  const flush = async (): Promise<boolean> => {
    for (let attempt = 0; queue.length > 0;) {
      const rows = queue.splice(0, MAX_BATCH);
      try {
        await write(rows);
      } catch (err) {
        queue = rows.concat(queue);
        const dropped = Math.max(0, queue.length - MAX_QUEUED);
        if (dropped > 0) queue.splice(0, dropped);
        log.error('usage_write_failed', {
          error: err instanceof Error ? err.message : 'unknown',
          dropped,
        });
        const wait = RETRY_MS[attempt++];
        if (wait === undefined) return false;
        await sleep(wait);
      }
    }
    return true;
  };

  const schedule = (): Promise<void> => {
    flushing ??= sleep(USAGE_FLUSH_MS)
      .then(flush)
      .then((done) => {
        flushing = undefined;
        // Records that came in as the last write finished; after repeated failures they wait
        // for the next request's flush instead.
        if (done && queue.length > 0) return schedule();
      });
    return flushing;
  };

  return {
    record(record: UsageRecord, reservations: readonly SettledReservation[]) {
      // Settled at once, as the Node primary does when the record arrives: the next request may
      // need what this one reserved and did not use. Only requests that reserved have anything
      // to settle.
      if (reservations.length > 0) options.settle(reconciliationOf(record, reservations));
      queue.push(record);
      options.background(schedule());
    },
    // The write is kept alive by waitUntil, not by the reply: nothing to wait for here.
    settled: () => undefined,
  };
}
