import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import { policyRepoContract } from '../test/contract/policy-repos';
import { migrateSqlite, openSqlite } from './sqlite';

/** The policy repositories on better-sqlite3, migrated as the primary migrates; D1 runs the same contract (worker/test/d1-repos.test.ts). */
const dir = mkdtempSync(join(tmpdir(), 'vidai-repos-'));
const path = join(dir, 'vidai.db');
migrateSqlite(path);
const sqlite = openSqlite(path);
afterAll(() => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('policy repositories on SQLite', () => policyRepoContract(() => sqlite.db));
