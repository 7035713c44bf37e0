import { z } from 'zod';
import type { GatewayDb } from '../db/database';
import type { BudgetPeriod } from '../db/schema';
import { spendBetween, spendSince } from '../db/usage-repo';
import { GatewayError } from '../errors/gateway-error';
import { budgetPeriod, type Subject } from '../policy/counters';

/**
 * Limits as the admin API takes and shows them, shared by keys and teams. `null` removes a
 * limit on update; a budget without a period is per month.
 */
export const limitFields = {
  rpm: z.number().int().positive().max(1e9).nullish(),
  tpm: z.number().int().positive().max(1e12).nullish(),
  budget_usd: z.number().positive().max(1e9).nullish(),
  budget_period: z.enum(['day', 'month', 'lifetime']).nullish(),
};

/** Date's own range: a later epoch is no time (toISOString throws on it). */
const MAX_EPOCH_MS = 8.64e15;

const epochMs = z.number().int().nonnegative().max(MAX_EPOCH_MS);

const TIME_FORMS =
  'an ISO 8601 time (2026-01-31T00:00:00Z), a date (2026-01-31) or epoch milliseconds';

/** An ISO 8601 time with an offset, or a calendar date (midnight UTC, as Date.parse reads it). */
const isoTime = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => Date.parse(value));

/** A time in a query string: ISO 8601 or epoch milliseconds, written as plain digits. */
export const queryTime = z.union(
  [isoTime, z.string().regex(/^\d+$/).transform(Number).pipe(epochMs)],
  {
    error: TIME_FORMS,
  },
);

/** A whole number in a query string, written as plain digits (not '1e3', ' 100' or ''). */
export function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
}

/** When something stops working: an ISO 8601 time, a date or epoch milliseconds, in the future. */
export const expiresAtField = z
  .union([isoTime, epochMs.positive()], { error: TIME_FORMS })
  .refine((ms) => ms > Date.now(), { message: 'must be in the future' })
  .nullish();

export function toEpochMs(value: string | number | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  return typeof value === 'number' ? value : Date.parse(value);
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

interface LimitInput {
  rpm?: number | null | undefined;
  tpm?: number | null | undefined;
  budget_usd?: number | null | undefined;
  budget_period?: BudgetPeriod | null | undefined;
}

interface LimitColumns {
  rpm: number | null;
  tpm: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriod | null;
}

/** The columns an input sets; on update, a field left out stays as it was. */
export function limitColumns(input: LimitInput, current?: LimitColumns): Partial<LimitColumns> {
  const set: Partial<LimitColumns> = {};
  if (input.rpm !== undefined) set.rpm = input.rpm;
  if (input.tpm !== undefined) set.tpm = input.tpm;
  if (input.budget_usd !== undefined) set.budgetUsd = input.budget_usd;
  if (input.budget_period !== undefined) set.budgetPeriod = input.budget_period;
  const budget = set.budgetUsd !== undefined ? set.budgetUsd : (current?.budgetUsd ?? null);
  const period =
    set.budgetPeriod !== undefined ? set.budgetPeriod : (current?.budgetPeriod ?? null);
  if (budget !== null && period === null) set.budgetPeriod = 'month';
  // A period alone limits nothing: refused rather than stored and silently ignored.
  if (budget === null && input.budget_period !== undefined && input.budget_period !== null) {
    throw new GatewayError(
      'invalid_request',
      'budget_period: needs a budget_usd (a budget period without a budget limits nothing)',
      { param: 'budget_period' },
    );
  }
  return set;
}

/** All four limit columns of a new key or team (absent ones are null). */
export function newLimitColumns(input: LimitInput): LimitColumns {
  const set = limitColumns(input);
  return {
    rpm: set.rpm ?? null,
    tpm: set.tpm ?? null,
    budgetUsd: set.budgetUsd ?? null,
    budgetPeriod: set.budgetPeriod ?? null,
  };
}

interface SharedInput extends LimitInput {
  name?: string | undefined;
  models?: string[] | undefined;
  expires_at?: string | number | null | undefined;
}

/** What an update sets of the fields keys and teams share: name, models, expiry and limits. */
export function sharedPatch(input: SharedInput, current: LimitColumns) {
  const patch: Partial<
    LimitColumns & { name: string; models: string[]; expiresAt: number | null }
  > = limitColumns(input, current);
  if (input.name !== undefined) patch.name = input.name;
  if (input.models !== undefined) patch.models = [...new Set(input.models)];
  if (input.expires_at !== undefined) patch.expiresAt = toEpochMs(input.expires_at) ?? null;
  return patch;
}

export function limitsView(row: LimitColumns) {
  return {
    rpm: row.rpm,
    tpm: row.tpm,
    budget_usd: row.budgetUsd,
    budget_period: row.budgetUsd === null ? null : row.budgetPeriod,
  };
}

/**
 * The current budget period, what was spent in it and what is left. Spend is read from the usage
 * records, so it trails the gateway by the usage writer's flush interval and does not include
 * reservations of requests in flight.
 */
export function budgetView(row: LimitColumns, spent: number, now: number) {
  if (row.budgetUsd === null) return null;
  const period = row.budgetPeriod ?? 'month';
  const { start, end } = budgetPeriod(period, now);
  return {
    period,
    period_start: period === 'lifetime' ? null : new Date(start).toISOString(),
    period_end: period === 'lifetime' ? null : new Date(end).toISOString(),
    spent_usd: microUsd(spent),
    remaining_usd: microUsd(Math.max(0, row.budgetUsd - spent)),
  };
}

/** Dollars to a millionth: sums of float costs carry noise past that. */
function microUsd(usd: number): number {
  return Math.round(usd * 1e6) / 1e6;
}

export async function spentInPeriod(
  db: GatewayDb,
  subject: Subject,
  row: LimitColumns,
  now: number,
): Promise<number> {
  if (row.budgetUsd === null) return 0;
  const { start, end } = budgetPeriod(row.budgetPeriod ?? 'month', now);
  return spendBetween(db, subject, start, end);
}

/** Spend in the current period for many keys or teams: one grouped query per period in use. */
export async function spentInPeriods(
  db: GatewayDb,
  kind: Subject['kind'],
  rows: ReadonlyArray<LimitColumns & { id: string }>,
  now: number,
): Promise<(id: string) => number> {
  const byPeriod = new Map<BudgetPeriod, Map<string, number>>();
  for (const row of rows) {
    if (row.budgetUsd === null) continue;
    const period = row.budgetPeriod ?? 'month';
    if (!byPeriod.has(period)) {
      byPeriod.set(period, await spendSince(db, kind, budgetPeriod(period, now).start));
    }
  }
  const periodOf = new Map(rows.map((row) => [row.id, row.budgetPeriod ?? 'month'] as const));
  return (id) => byPeriod.get(periodOf.get(id) ?? 'month')?.get(id) ?? 0;
}
