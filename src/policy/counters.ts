import type { BudgetPeriod } from '../db/schema';

/**
 * The counter protocol between request-serving processes (holders) and the counter authority
 * (the cluster primary on Node; a Durable Object per key on Workers, issue 6). Every message is
 * plain JSON, so it can cross IPC or a DO stub unchanged. See counter-authority.ts for the
 * algorithm and README "Limits" for the bound it gives.
 */

/** Requests and tokens are limited per sliding minute. */
export const WINDOW_MS = 60_000;
/** A holder spends a lease only within this long after it sent the acquire that got it. */
export const LEASE_TTL_MS = 1_000;
/**
 * The authority counts a lease as spendable this much longer than its TTL: covers runtimes
 * whose clock lags while code runs (Workers advance time only at I/O).
 */
export const CLOCK_SLACK_MS = 50;
/** For JSON: a lifetime budget's period never ends. */
export const FOREVER = Number.MAX_SAFE_INTEGER;

export type Dimension = 'requests' | 'tokens' | 'spend';

export interface Subject {
  kind: 'key' | 'team';
  id: string;
}

/** One counter a holder wants permits from. */
export interface Demand {
  counter: string;
  dimension: Dimension;
  /** The limit from the holder's policy snapshot: per minute, or USD per budget period. */
  limit: number;
  /** What a waiting request needs now; 0 for a prefetch. */
  need: number;
  /** What the holder would like, to serve its next requests locally. */
  want: number;
  /** A request waits on this: refuse (with a retry time) rather than grant nothing. */
  required: boolean;
  /** spend only: whose spend, over which period (the authority loads what was spent before). */
  budget?: { subject: Subject; start: number; end: number };
}

export interface Grant {
  counter: string;
  /** The lease id; 0 when nothing was granted. */
  lease: number;
  amount: number;
  /** What the authority can still grant after this grant. */
  remaining: number;
  /** Until the window is empty again, or the budget period ends (ms). */
  resetMs: number;
  /** A required demand that could not be met. */
  refused: boolean;
  /** When refused: ms until the need could be met; null when waiting cannot help. */
  retryAfterMs: number | null;
}

/** A lease its holder is done with: how much it spent, and when it last spent (ms after it asked). */
export interface LeaseReturn {
  counter: string;
  lease: number;
  used: number;
  lastUseMs: number;
}

/** What one request reserved from a counter. */
export interface Reservation {
  counter: string;
  dimension: Dimension;
  lease: number;
  amount: number;
}

/**
 * A finished request's real usage, against what it reserved. `settledLocally` is the part of
 * (actual - reserved) its holder already settled against the still-open lease it reserved from.
 */
export interface Reconciliation {
  keyId: string;
  teamId: string | null;
  /** Wall-clock time the request was admitted: picks the budget period. */
  at: number;
  tokens: number;
  cost: number;
  reservations: Array<Reservation & { settledLocally: number }>;
}

/** How a holder reaches the authority. */
export interface CounterClient {
  acquire(demands: readonly Demand[], returns: readonly LeaseReturn[]): Promise<readonly Grant[]>;
  release(returns: readonly LeaseReturn[]): void;
}

export function subjectKey(subject: Subject): string {
  return `${subject.kind === 'key' ? 'k' : 't'}:${subject.id}`;
}

/** The subject key a counter id belongs to (what every id starts with): one authority per subject may own it. */
export function subjectKeyOfCounter(counter: string): string {
  const end = counter.indexOf('|');
  return end < 0 ? counter : counter.slice(0, end);
}

export function windowCounterId(subject: Subject, dimension: 'requests' | 'tokens'): string {
  return `${subjectKey(subject)}|${dimension === 'requests' ? 'r' : 't'}`;
}

export function spendCounterId(subject: Subject, period: BudgetPeriod, start: number): string {
  return `${subjectKey(subject)}|s|${period}|${start}`;
}

const DAY_MS = 86_400_000;

/** The budget period containing `at`, in UTC: [start, end). */
export function budgetPeriod(period: BudgetPeriod, at: number): { start: number; end: number } {
  if (period === 'lifetime') return { start: 0, end: FOREVER };
  if (period === 'day') {
    const start = Math.floor(at / DAY_MS) * DAY_MS;
    return { start, end: start + DAY_MS };
  }
  const date = new Date(at);
  return {
    start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
    end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
  };
}
