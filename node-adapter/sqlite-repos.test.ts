import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inArray } from 'drizzle-orm';
import { afterAll, describe, expect, test } from 'vitest';
import { usageRecords } from '../src/db/schema';
import type { UsageRecord } from '../src/usage/record';
import { policyRepoContract } from '../test/contract/policy-repos';
import { migrateSqlite, openSqlite, rowInserter } from './sqlite';

/** The policy repositories (and the usage writer's inserter) on better-sqlite3, migrated as the primary migrates; D1 runs the same contract (worker/test/d1-repos.test.ts). */
const dir = mkdtempSync(join(tmpdir(), 'vidai-repos-'));
const path = join(dir, 'vidai.db');
migrateSqlite(path);
const sqlite = openSqlite(path);
afterAll(() => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('policy repositories on SQLite', () => policyRepoContract(() => sqlite.db));

const record = (over: Partial<UsageRecord>): UsageRecord => ({
  requestId: 'inserter_1',
  createdAt: 1_764_806_400_000,
  keyId: 'key_a',
  teamId: 'team_a',
  model: 'gpt-4o-mini',
  provider: 'openai',
  servedModel: 'gpt-4o-mini-2024-07-18',
  inputTokens: 12,
  outputTokens: 34,
  cachedInputTokens: 5,
  cacheWriteTokens: 6,
  reasoningTokens: 7,
  costUsd: 0.000123,
  usageEstimated: false,
  status: 200,
  errorCode: null,
  latencyMs: 89,
  ttfbMs: 45,
  streamed: true,
  ...over,
});

test('rowInserter writes rows that drizzle reads back unchanged, column encodings included', () => {
  const insert = rowInserter<UsageRecord>(sqlite, usageRecords, ['id']);
  const rows = [
    record({}),
    record({
      requestId: 'inserter_2',
      teamId: null,
      provider: null,
      servedModel: null,
      usageEstimated: true,
      status: 502,
      errorCode: 'upstream_error',
      ttfbMs: null,
      streamed: false,
    }),
  ];
  for (const row of rows) insert(row);
  const mine = inArray(usageRecords.requestId, ['inserter_1', 'inserter_2']);
  const read = sqlite.db.select().from(usageRecords).where(mine).orderBy(usageRecords.id).all();
  expect(read.map(({ id: _id, ...rest }) => rest)).toEqual(rows);
  // Booleans are stored as SQLite integers, as drizzle's own insert stores them.
  expect(
    sqlite.client
      .prepare(
        "select usage_estimated, streamed from usage_records where request_id like 'inserter_%' order by id",
      )
      .raw()
      .all(),
  ).toEqual([
    [0, 1],
    [1, 0],
  ]);
});

test('rowInserter refuses a row missing a field, as drizzle does, instead of storing NULL', () => {
  const insert = rowInserter<UsageRecord>(sqlite, usageRecords, ['id']);
  const { ttfbMs: _dropped, ...partial } = record({ requestId: 'inserter_3' });
  expect(() => insert(partial as UsageRecord)).toThrow(/no value for "ttfbMs"/);
});
