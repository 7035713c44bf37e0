import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { getTableColumns, is, Param, Placeholder, sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { schema } from '../src/db/schema';

/** migrations/ sits at the package root, beside both node-adapter/ and dist/. */
export const migrationsFolder = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'migrations',
);

export interface SqliteHandle {
  db: BetterSQLite3Database<typeof schema>;
  client: Database.Database;
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
  return { db: drizzle(sqlite, { schema }), client: sqlite, close: () => sqlite.close() };
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

/**
 * Inserts one row of `table` per call (all columns but `skip`, e.g. an autoincrement id) through
 * a statement prepared once on better-sqlite3. The SQL and each column's encoding are drizzle's,
 * so the schema stays their one home; what is skipped is drizzle's per-run matching of every
 * parameter against its placeholder classes, a third of a row's cost in the usage writer
 * (17.6 against 12.0 µs per row, measured with 60,000 rows).
 */
export function rowInserter<Row extends object>(
  handle: SqliteHandle,
  table: SQLiteTable,
  skip: readonly string[],
): (row: Row) => void {
  const names = Object.keys(getTableColumns(table)).filter((name) => !skip.includes(name));
  const query = handle.db
    .insert(table)
    .values(Object.fromEntries(names.map((name) => [name, sql.placeholder(name)])))
    .toSQL();
  const fields = query.params.map((param) => {
    if (!is(param, Param) || !is(param.value, Placeholder)) {
      throw new Error('rowInserter: every parameter must be a column placeholder');
    }
    return { name: param.value.name, encoder: param.encoder };
  });
  const statement = handle.client.prepare(query.sql);
  return (row) => {
    const values = row as Record<string, unknown>;
    const params = new Array<unknown>(fields.length);
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const value = values[field.name];
      // As drizzle's own run: a missing field is an error, never a silent NULL.
      if (value === undefined) throw new Error(`rowInserter: no value for "${field.name}"`);
      params[i] = field.encoder.mapToDriverValue(value);
    }
    statement.run(params);
  };
}
