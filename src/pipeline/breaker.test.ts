import { describe, expect, it } from 'vitest';
import type { BreakerSettings } from '../config/compile';
import { CircuitBreaker } from './breaker';

const settings: BreakerSettings = {
  failures: 3,
  errorRate: 0.5,
  window: 10,
  cooldownMs: 1000,
  maxCooldownMs: 8000,
};

function breaker(overrides: Partial<BreakerSettings> = {}) {
  const clock = { now: 1_000_000 };
  const b = new CircuitBreaker({ ...settings, ...overrides }, () => clock.now);
  const fail = (n: number) => {
    for (let i = 0; i < n; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
    }
  };
  return { b, clock, fail };
}

describe('CircuitBreaker', () => {
  it('stays closed below the consecutive-failure threshold, and a success resets the count', () => {
    const { b, fail } = breaker();
    fail(2);
    b.onSuccess();
    fail(2);
    expect(b.view().state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('opens after `failures` consecutive failures and refuses until the cooldown ends', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    expect(b.view().state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(b.retryAt()).toBe(clock.now + 1000);
    clock.now += 999;
    expect(b.tryAcquire()).toBe(false);
  });

  it('opens on the error rate over a full window, without consecutive failures', () => {
    const { b } = breaker({ failures: 100, window: 10, errorRate: 0.5 });
    for (let i = 0; i < 10; i++) {
      expect(b.tryAcquire()).toBe(true);
      if (i % 2 === 0) b.onFailure();
      else b.onSuccess();
    }
    expect(b.view().state).toBe('open');
  });

  it('does not judge the error rate before the window is full', () => {
    const { b, fail } = breaker({ failures: 100, window: 10 });
    fail(5);
    expect(b.view().state).toBe('closed');
  });

  it('forgets outcomes that slid out of the window', () => {
    const { b, fail } = breaker({ failures: 100, window: 4, errorRate: 0.75 });
    fail(2);
    for (let i = 0; i < 4; i++) b.onSuccess();
    fail(2);
    expect(b.view()).toMatchObject({ state: 'closed', window: { outcomes: 4, failures: 2 } });
  });

  it('after the cooldown lets exactly one probe through; its success closes the breaker', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    clock.now += 1000;
    expect(b.view().state).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.onSuccess();
    expect(b.view()).toMatchObject({ state: 'closed', consecutive_failures: 0 });
    expect(b.tryAcquire()).toBe(true);
  });

  it('a failed probe opens it again for twice as long, up to the maximum', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    const cooldowns: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.now = b.retryAt();
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
      cooldowns.push(b.retryAt() - clock.now);
    }
    expect(cooldowns).toEqual([2000, 4000, 8000, 8000, 8000]);
    expect(b.view().times_opened).toBe(6);
  });

  it('a probe that ends without a verdict frees the slot for another probe', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    clock.now += 1000;
    expect(b.tryAcquire()).toBe(true);
    b.onNeutral();
    expect(b.available()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });

  it('forgets earlier ejections once the target has stayed closed for a maximum cooldown', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    clock.now = b.retryAt();
    b.tryAcquire();
    b.onFailure(); // second ejection: 2 s
    clock.now = b.retryAt();
    b.tryAcquire();
    b.onSuccess();
    fail(3); // soon after: the third ejection lasts 4 s
    expect(b.retryAt() - clock.now).toBe(4000);
    clock.now = b.retryAt();
    b.tryAcquire();
    b.onSuccess();
    clock.now += 8000;
    fail(3); // after a healthy stretch: back to 1 s
    expect(b.retryAt() - clock.now).toBe(1000);
  });

  it('available() answers without taking the probe', () => {
    const { b, clock, fail } = breaker();
    fail(3);
    expect(b.available()).toBe(false);
    clock.now += 1000;
    expect(b.available()).toBe(true);
    expect(b.available()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
    expect(b.available()).toBe(false);
  });
});
