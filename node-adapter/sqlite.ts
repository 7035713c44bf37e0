import { mkdirSync, statSync } from 'node:fs';
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

/**
 * Creates a directory and its missing parents one level at a time. (Node's recursive mkdir
 * spins forever under a path it cannot create, such as one inside /proc.)
 */
export function ensureDir(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) throw new Error(`${at} is not a directory`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) break;
      at = parent;
    }
  }
  for (const path of missing.reverse()) mkdirSync(path);
}

/** WAL so that readers (every worker) never block the writer; a busy timeout for writer contention. */
export function openSqlite(path: string): SqliteHandle {
  ensureDir(dirname(path));
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
