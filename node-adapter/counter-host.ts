import cluster, { type Worker } from 'node:cluster';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../src/deps';
import { usageRecords } from '../src/db/schema';
import { spendCondition, spendSum } from '../src/db/usage-repo';
import { CounterAuthority } from '../src/policy/counter-authority';
import { BatchWriter } from '../src/usage/batch-writer';
import { reconciliationOf, type UsageRecord } from '../src/usage/record';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { openSqlite, rowInserter } from './sqlite';
import { unpackUsage } from './usage-wire';

/**
 * How long a usage record waits before it is written (the most a hard kill of the node can
 * lose). Short, so that each transaction is short: the primary shares a core with a worker, and
 * a write of 100 ms of records under load (1–4 ms at 1,500 req/s) held that worker's requests
 * back for as long, each time.
 */
export const USAGE_FLUSH_MS = 10;
/** Rows of one transaction at most, for the same reason (a backlog is written in slices). */
const MAX_BATCH = 256;
/** After a failed write (the disk full, say), the next try; each failure is logged. */
const RETRY_MS = 1_000;
/** How often the counter authority settles its windows and expired leases. */
const TICK_MS = 100;

/**
 * The cluster primary's control-plane duties: it hosts the counter authority (workers acquire
 * and return leases over IPC) and the usage writer (workers hand it every record as their
 * request ends; it settles the record with the authority and writes records in batches, one
 * transaction each).
 */
function reply(worker: Worker, message: PrimaryMessage): void {
  if (worker.isConnected()) worker.send(message);
}

export function startCounterHost(dbPath: string, log: Logger) {
  const sqlite = openSqlite(dbPath);
  const db = sqlite.db;
  // One statement prepared at start-up, run per row: building a multi-row INSERT per batch
  // with drizzle's query builder was two thirds of the primary's time under load.
  const insertRecord = rowInserter<UsageRecord>(sqlite, usageRecords, ['id']);
  const writer = new BatchWriter<UsageRecord>({
    write: (rows) =>
      db.transaction(() => {
        for (const row of rows) insertRecord(row);
      }),
    maxBatch: MAX_BATCH,
    maxQueued: 1_000_000,
    onError: (err, dropped) =>
      log.error('usage_write_failed', {
        error: err instanceof Error ? err.message : 'unknown',
        dropped,
      }),
  });
  const authority = new CounterAuthority({
    now: () => performance.now(),
    // Synchronous: the writer is flushed first, so the sum includes every record settled so far.
    loadSpend: (subject, from, to) => {
      writer.flush();
      const row = db
        .select({ spent: spendSum })
        .from(usageRecords)
        .where(spendCondition(subject, from, to))
        .get();
      return Number(row?.spent ?? 0);
    },
    recall: (holder, counter) => {
      const worker = cluster.workers?.[holder];
      if (worker !== undefined) reply(worker, { type: 'recall', counter });
    },
  });
  let sweeps = 0;
  let closed = false;
  const timer = setInterval(() => {
    authority.tick();
    if (++sweeps % 50 === 0) authority.sweep();
  }, TICK_MS);
  // Armed by the first record waiting, so an idle primary is not woken for nothing.
  let flushTimer: NodeJS.Timeout | undefined;
  const flushSoon = (ms = USAGE_FLUSH_MS) => {
    flushTimer ??= setTimeout(() => {
      flushTimer = undefined;
      const written = writer.flush();
      if (writer.pending > 0) flushSoon(written === 0 ? RETRY_MS : USAGE_FLUSH_MS);
    }, ms);
  };

  return {
    /** Handles a worker's control-plane message; false when it is not one. */
    handle(worker: Worker, message: WorkerMessage): boolean {
      const holder = String(worker.id);
      if (message.type === 'usage') {
        for (const packed of message.records) {
          const { record, reservations } = unpackUsage(packed);
          writer.add(record);
          authority.reconcile(reconciliationOf(record, reservations));
        }
        flushSoon();
        return true;
      }
      if (message.type === 'acquire') {
        const { id } = message;
        const fail = (err: unknown) => {
          log.error('acquire_failed', { error: err instanceof Error ? err.message : 'unknown' });
          reply(worker, { type: 'grants', id, error: 'counter authority failed' });
        };
        try {
          const grants = authority.acquire(holder, message.demands, message.returns);
          if (Array.isArray(grants)) reply(worker, { type: 'grants', id, grants });
          else grants.then((g) => reply(worker, { type: 'grants', id, grants: g }), fail);
        } catch (err) {
          fail(err);
        }
        return true;
      }
      if (message.type === 'release') {
        authority.release(message.returns);
        return true;
      }
      return false;
    },
    /** A worker is gone and every message it sent has been handled. */
    workerGone(worker: Worker): void {
      authority.dropHolder(String(worker.id));
    },
    /** Writes every waiting record; call when no worker can send any more. */
    close(): void {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      clearTimeout(flushTimer);
      writer.flush();
      sqlite.close();
    },
  };
}
