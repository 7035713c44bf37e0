import { env } from 'cloudflare:test';
import { drizzle } from 'drizzle-orm/d1';
import { describe, expect, it } from 'vitest';
import { schema } from '../../src/db/schema';
import type { Logger } from '../../src/deps';
import type { Reconciliation } from '../../src/policy/counters';
import type { UsageRecord } from '../../src/usage/record';
import { usageRecord } from '../../test/fixtures/usage-record';
import { usageWriter } from '../usage-writer';

/** The Worker's usage writer on D1: batches, waitUntil, retries, and settling at once. */
function rig() {
  const db = drizzle(env.DB, { schema });
  const batches: number[] = [];
  let failures = 0;
  const batch = db.batch.bind(db);
  db.batch = ((statements: Parameters<typeof batch>[0]) => {
    if (failures > 0) {
      failures--;
      return Promise.reject(new Error('D1 is unavailable'));
    }
    batches.push(statements.length);
    return batch(statements);
  }) as unknown as typeof db.batch;
  const kept: Promise<unknown>[] = [];
  const settled: Reconciliation[] = [];
  const logged: string[] = [];
  const log: Logger = {
    info: () => {},
    warn: () => {},
    error: (event) => logged.push(event),
  };
  const writer = usageWriter({
    db,
    settle: (reconciliation) => settled.push(reconciliation),
    background: (work) => kept.push(work),
    log,
  });
  return {
    writer,
    batches,
    settled,
    logged,
    failNext: (n: number) => (failures = n),
    /** Waits for everything the writer asked to outlive its requests. */
    drain: async () => {
      while (kept.length > 0) await kept.shift();
    },
  };
}

const record = (keyId: string, i: number): UsageRecord =>
  usageRecord({ requestId: `${keyId}-${i}`, createdAt: Date.now(), keyId });

async function stored(keyId: string): Promise<number> {
  const row = await env.DB.prepare('select count(*) as n from usage_records where key_id = ?')
    .bind(keyId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe('the usage writer', () => {
  it('writes the records of requests ending together as one D1 batch, kept alive by waitUntil', async () => {
    const { writer, batches, settled, drain } = rig();
    for (let i = 0; i < 7; i++) writer.record(record('key_batch', i), []);
    // Nothing waits on the reply's side: the write is in the background.
    expect(writer.settled()).toBeUndefined();
    expect(await stored('key_batch')).toBe(0);
    await drain();
    expect(await stored('key_batch')).toBe(7);
    // Seven rows: two multi-row INSERTs, one batch (one transaction).
    expect(batches).toEqual([2]);
    expect(settled).toEqual([]);
  });

  it('settles a request that reserved at once, before its record is written', () => {
    const { writer, settled } = rig();
    const reservation = {
      counter: 'k:key_settle|t',
      dimension: 'tokens' as const,
      lease: 3,
      amount: 50,
      settledLocally: -10,
    };
    writer.record(record('key_settle', 0), [reservation]);
    expect(settled).toEqual([
      expect.objectContaining({ keyId: 'key_settle', tokens: 7, reservations: [reservation] }),
    ]);
  });

  it('keeps the records D1 refused and writes them on a retry', async () => {
    const { writer, logged, failNext, drain } = rig();
    failNext(1);
    writer.record(record('key_retry', 0), []);
    writer.record(record('key_retry', 1), []);
    await drain();
    expect(logged).toEqual(['usage_write_failed']);
    expect(await stored('key_retry')).toBe(2);
  });
});
