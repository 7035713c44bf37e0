import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The one schema for D1 and better-sqlite3; `npm run db:generate` turns changes into SQL in
 * migrations/. Times are epoch milliseconds.
 */
export const virtualKeys = sqliteTable('virtual_keys', {
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
});

/**
 * One row whose version the policy tables' triggers bump on every write (see the migration
 * "policy-version-triggers"), so a process knows its compiled snapshot is stale with one read.
 */
export const policyVersion = sqliteTable('policy_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull(),
});

export const schema = { virtualKeys, policyVersion };
