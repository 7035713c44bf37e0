import { describe, expect, it } from 'vitest';
import type { SettledReservation } from '../src/policy/limiter';
import { usageRecord } from '../test/fixtures/usage-record';
import { packUsage, unpackUsage } from './usage-wire';

const record = usageRecord({
  keyId: 'key-1',
  model: 'gpt-test',
  provider: 'up',
  servedModel: 'upstream-model',
  inputTokens: 12,
  outputTokens: 34,
  cachedInputTokens: 5,
  reasoningTokens: 7,
  costUsd: 0.000123,
  errorCode: 'cancelled',
  latencyMs: 56,
  ttfbMs: null,
  streamed: true,
});
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
