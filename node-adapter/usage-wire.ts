import type { Dimension } from '../src/policy/counters';
import type { SettledReservation } from '../src/policy/limiter';
import type { UsageRecord } from '../src/usage/record';

/**
 * A usage record and its reservations as they cross the IPC channel: values in a fixed field
 * order, as JSON arrays. Every request sends one; as objects, their keys were most of the
 * bytes process.send wrote (and the primary parsed), at every request.
 */
const recordFields = [
  'requestId',
  'createdAt',
  'keyId',
  'teamId',
  'model',
  'provider',
  'servedModel',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  'costUsd',
  'usageEstimated',
  'status',
  'errorCode',
  'latencyMs',
  'ttfbMs',
  'streamed',
] as const satisfies readonly (keyof UsageRecord)[];

// Every field of a record is in the list: a field added to the schema must be added here.
type Missing = Exclude<keyof UsageRecord, (typeof recordFields)[number]>;
const complete: Missing extends never ? true : Missing = true;
void complete;

type PackedReservation = [string, Dimension, number, number, number];
export type PackedUsage = [unknown[], PackedReservation[]];

export function packUsage(
  record: UsageRecord,
  reservations: readonly SettledReservation[],
): PackedUsage {
  return [
    recordFields.map((field) => record[field]),
    reservations.map((r) => [r.counter, r.dimension, r.lease, r.amount, r.settledLocally]),
  ];
}

export function unpackUsage([values, reservations]: PackedUsage): {
  record: UsageRecord;
  reservations: SettledReservation[];
} {
  const record: Record<string, unknown> = {};
  recordFields.forEach((field, i) => (record[field] = values[i]));
  return {
    record: record as UsageRecord,
    reservations: reservations.map(([counter, dimension, lease, amount, settledLocally]) => ({
      counter,
      dimension,
      lease,
      amount,
      settledLocally,
    })),
  };
}
