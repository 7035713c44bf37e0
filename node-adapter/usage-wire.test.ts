import { describe, expect, it } from 'vitest';
import type { SettledReservation } from '../src/policy/limiter';
import type { UsageRecord } from '../src/usage/record';
import { packUsage, unpackUsage } from './usage-wire';

const record: UsageRecord = {
  requestId: 'req-1',
  createdAt: 1_700_000_000_000,
  keyId: 'key-1',
  teamId: null,
  model: 'gpt-test',
  provider: 'up',
  servedModel: 'upstream-model',
  inputTokens: 12,
  outputTokens: 34,
  cachedInputTokens: 5,
  cacheWriteTokens: 0,
  reasoningTokens: 7,
  costUsd: 0.000123,
  usageEstimated: false,
  status: 200,
  errorCode: 'cancelled',
  latencyMs: 56,
  ttfbMs: null,
  streamed: true,
};
const reservations: SettledReservation[] = [
  {
    counter: 'key:key-1:tokens',
    dimension: 'tokens',
    lease: 3,
    amount: 4200,
    settledLocally: -4154,
  },
  { counter: 'spend:key-1:month:0', dimension: 'spend', lease: 4, amount: 0.01, settledLocally: 0 },
];

describe('usage on the IPC channel', () => {
  it('comes out of JSON as it went in', () => {
    const wire = JSON.parse(JSON.stringify(packUsage(record, reservations))) as ReturnType<
      typeof packUsage
    >;
    expect(unpackUsage(wire)).toEqual({ record, reservations });
  });
});
