import type { usageRecords } from '../db/schema';
import type { Reconciliation } from '../policy/counters';
import type { SettledReservation } from '../policy/limiter';

/** One request's usage record, as it is stored (src/db/schema.ts, usage_records). */
export type UsageRecord = Omit<typeof usageRecords.$inferSelect, 'id'>;

/**
 * Where a runtime hands finished requests' records, off the request path. The host settles each
 * record's reservations with the counter authority and writes records in batches.
 */
export interface UsageSink {
  record(record: UsageRecord, reservations: readonly SettledReservation[]): void;
  /**
   * Undefined when every record handed over so far has left this process (so a crash of this
   * process cannot lose it); otherwise resolves when they have. A reply is not finished before.
   */
  settled(): Promise<void> | undefined;
}

/** What the counter authority settles for a finished request: its record against its reservations. */
export function reconciliationOf(
  record: UsageRecord,
  reservations: readonly SettledReservation[],
): Reconciliation {
  return {
    keyId: record.keyId,
    teamId: record.teamId,
    at: record.createdAt,
    tokens: record.inputTokens + record.outputTokens,
    cost: record.costUsd,
    reservations: [...reservations],
  };
}
