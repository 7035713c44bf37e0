import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core';
import type { schema } from './schema';

/**
 * The database as the core sees it: Drizzle over D1 (async) or better-sqlite3 (sync). Repository
 * functions always `await`, so one implementation serves both.
 */
export type GatewayDb = BaseSQLiteDatabase<'sync' | 'async', unknown, typeof schema>;
