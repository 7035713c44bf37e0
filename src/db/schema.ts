import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The one schema for D1 and better-sqlite3; `npm run db:generate` turns changes into SQL in
 * migrations/. Times are epoch milliseconds; money is USD.
 */

/** Budget periods: a calendar day or month in UTC, or the key's whole life. */
export type BudgetPeriod = 'day' | 'month' | 'lifetime';

/**
 * Limits a key and a team both carry. Null means "no limit". Requests and tokens are counted
 * per sliding minute; spend per budget period.
 */
const limitColumns = {
  rpm: integer('rpm'),
  tpm: integer('tpm'),
  budgetUsd: real('budget_usd'),
  budgetPeriod: text('budget_period').$type<BudgetPeriod>(),
};

export const teams = sqliteTable('teams', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Public model names the team's keys may use; ["*"] means all. */
  models: text('models', { mode: 'json' }).$type<string[]>().notNull(),
  ...limitColumns,
  expiresAt: integer('expires_at'),
  createdAt: integer('created_at').notNull(),
  /** A deleted team's keys stop working; the row stays so usage keeps its name. */
  deletedAt: integer('deleted_at'),
});

export const virtualKeys = sqliteTable(
  'virtual_keys',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    /** SHA-256 of the key, hex; the key itself is shown once, at creation, and never stored. */
    keyHash: text('key_hash').notNull().unique(),
    /** The first characters of the key, so a person can tell keys apart. */
    keyPrefix: text('key_prefix').notNull(),
    /** Public model names the key may use; ["*"] means all. */
    models: text('models', { mode: 'json' }).$type<string[]>().notNull(),
    expiresAt: integer('expires_at'),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
    /** The team whose limits apply on top of the key's own. */
    teamId: text('team_id').references(() => teams.id),
    ...limitColumns,
  },
  (table) => [index('virtual_keys_team_idx').on(table.teamId)],
);

/**
 * One row per request that reached an inference route with a valid key, written in batches by
 * the usage writer (never on the request path). Input tokens include cached and cache-write
 * tokens (see src/usage/usage.ts), so each input token is priced exactly once.
 */
export const usageRecords = sqliteTable(
  'usage_records',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    requestId: text('request_id').notNull(),
    createdAt: integer('created_at').notNull(),
    keyId: text('key_id').notNull(),
    teamId: text('team_id'),
    /** The model the caller asked for (the public name). */
    model: text('model').notNull(),
    /** Who served it: the provider id and the model name it was sent. Null if none did. */
    provider: text('provider'),
    servedModel: text('served_model'),
    inputTokens: integer('input_tokens').notNull(),
    outputTokens: integer('output_tokens').notNull(),
    cachedInputTokens: integer('cached_input_tokens').notNull(),
    cacheWriteTokens: integer('cache_write_tokens').notNull(),
    reasoningTokens: integer('reasoning_tokens').notNull(),
    costUsd: real('cost_usd').notNull(),
    /** True when the upstream reported no usage (e.g. a stream cut short) and the reservation stands. */
    usageEstimated: integer('usage_estimated', { mode: 'boolean' }).notNull(),
    /** The HTTP status the caller got; a stream that failed after it began keeps its 200. */
    status: integer('status').notNull(),
    /** The error code, for failures (including mid-stream ones and cancellations). */
    errorCode: text('error_code'),
    latencyMs: integer('latency_ms').notNull(),
    /** Until the upstream's first byte; null when no upstream answered. */
    ttfbMs: integer('ttfb_ms'),
    streamed: integer('streamed', { mode: 'boolean' }).notNull(),
  },
  (table) => [
    index('usage_records_created_idx').on(table.createdAt),
    index('usage_records_key_created_idx').on(table.keyId, table.createdAt),
    index('usage_records_team_created_idx').on(table.teamId, table.createdAt),
    index('usage_records_model_created_idx').on(table.model, table.createdAt),
  ],
);

/**
 * One row whose version the policy tables' triggers bump on every write (see the migrations
 * "policy-version-triggers" and "team-version-triggers"), so a process knows its compiled
 * snapshot is stale with one read.
 */
export const policyVersion = sqliteTable('policy_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull(),
});

export const schema = { teams, virtualKeys, usageRecords, policyVersion };
