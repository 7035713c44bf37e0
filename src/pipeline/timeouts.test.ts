import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../errors/gateway-error';
import { testConfig, testRoute } from './test-config';
import { Deadline, requestTotalMs } from './timeouts';

const config = testConfig({
  server: { upstream_timeout_ms: 60_000, max_timeout_ms: 120_000 },
  models: [
    { name: 'plain', provider: 'a' },
    {
      name: 'tuned',
      provider: 'a',
      timeouts: { connect: 500, first_byte: 2000, idle: 3000, total: 9000 },
    },
  ],
});

describe('route timeouts', () => {
  it('default to the server’s upstream timeout, and connect to its own default', () => {
    expect(testRoute(config, 'plain').timeouts).toEqual({
      connectMs: 10_000,
      firstByteMs: 60_000,
      idleMs: 60_000,
      totalMs: 60_000,
    });
    expect(testRoute(config, 'tuned').timeouts).toEqual({
      connectMs: 500,
      firstByteMs: 2000,
      idleMs: 3000,
      totalMs: 9000,
    });
  });
});

describe('requestTotalMs', () => {
  const tuned = testRoute(config, 'tuned');
  it('is the alias’s total without the header', () => {
    expect(requestTotalMs(undefined, tuned, config.maxTimeoutMs)).toBe(9000);
  });

  it('takes the header, lower or higher than the alias’s, within the ceiling', () => {
    expect(requestTotalMs('1500', tuned, config.maxTimeoutMs)).toBe(1500);
    expect(requestTotalMs('30000', tuned, config.maxTimeoutMs)).toBe(30_000);
    expect(requestTotalMs('999999999', tuned, config.maxTimeoutMs)).toBe(120_000);
  });

  it('cuts any positive whole number above the ceiling to it, past 2^53 too', () => {
    for (const value of ['99999999999999999999', '9'.repeat(400), ' 0009007199254740993 '])
      expect(requestTotalMs(value, tuned, config.maxTimeoutMs)).toBe(120_000);
  });

  it.each(['', 'soon', '-5', '0', '000', '1.5', '1e3', '12abc'])(
    'refuses %j with a 400',
    (value) => {
      const err = (() => {
        try {
          requestTotalMs(value, tuned, config.maxTimeoutMs);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(400);
    },
  );

  it('the ceiling defaults to the server’s upstream timeout', () => {
    const bare = testConfig({
      server: { upstream_timeout_ms: 5000 },
      models: [{ name: 'm', provider: 'a' }],
    });
    expect(bare.maxTimeoutMs).toBe(5000);
  });
});

describe('Deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts its signal when the time is up, and says so', () => {
    const deadline = new Deadline(1000, undefined);
    vi.advanceTimersByTime(999);
    expect(deadline.signal.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired).toBe(true);
    expect(deadline.timeoutError().status).toBe(504);
  });

  it('aborts when the caller goes away, without calling it a timeout', () => {
    const caller = new AbortController();
    const deadline = new Deadline(1000, caller.signal);
    caller.abort();
    expect(deadline.signal.aborted).toBe(true);
    expect(deadline.expired).toBe(false);
    expect(deadline.callerGone).toBe(true);
  });

  it('sleep ends early when the request ends', async () => {
    const deadline = new Deadline(1000, undefined);
    let woke = false;
    void deadline.sleep(60_000).then(() => (woke = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(woke).toBe(true);
  });

  it('dispose stops the timer', () => {
    const deadline = new Deadline(1000, undefined);
    deadline.dispose();
    vi.advanceTimersByTime(5000);
    expect(deadline.signal.aborted).toBe(false);
  });
});
