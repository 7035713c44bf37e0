import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { schema } from '../src/db/schema';

/** migrations/ sits at the package root, beside both node-adapter/ and dist/. */
export const migrationsFolder = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'migrations',
);

export interface SqliteHandle {
  db: BetterSQLite3Database<typeof schema>;
  close(): void;
}

/** WAL so that readers (every worker) never block the writer; a busy timeout for writer contention. */
export function openSqlite(path: string): SqliteHandle {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  return { db: drizzle(sqlite, { schema }), close: () => sqlite.close() };
}

/** Applies migrations/ (drizzle-kit output, the same files wrangler applies to D1). */
export function migrateSqlite(path: string): void {
  const handle = openSqlite(path);
  try {
    migrate(handle.db, { migrationsFolder });
  } finally {
    handle.close();
  }
}
