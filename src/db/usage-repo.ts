import { and, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Subject } from '../policy/counters';
import type { UsageRecord } from '../usage/record';
import type { GatewayDb } from './database';
import { usageRecords as u } from './schema';

/** Rows per INSERT: 20 columns each keeps a statement within D1's 100 bound parameters. */
const ROWS_PER_INSERT = 5;

/**
 * Multi-row INSERTs for `rows`, for the caller to run together: the Worker as one D1 batch (a
 * transaction). The Node primary runs one prepared statement per row in a transaction instead.
 */
export function usageInserts<D extends GatewayDb>(db: D, rows: readonly UsageRecord[]) {
  const inserts = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    inserts.push(db.insert(u).values(rows.slice(i, i + ROWS_PER_INSERT)));
  }
  return inserts;
}

/** Inserts records, statement by statement: serves any database. */
export async function insertUsage(db: GatewayDb, rows: readonly UsageRecord[]): Promise<void> {
  for (const insert of usageInserts(db, rows)) await insert;
}

/** The spend of a key or team in [from, to), summed in SQL (an index covers it). */
export function spendCondition(subject: Subject, from: number, to: number): SQL | undefined {
  return and(
    eq(subject.kind === 'key' ? u.keyId : u.teamId, subject.id),
    gte(u.createdAt, from),
    lt(u.createdAt, to),
  );
}

export const spendSum = sql<number>`coalesce(sum(${u.costUsd}), 0)`;

export async function spendBetween(
  db: GatewayDb,
  subject: Subject,
  from: number,
  to: number,
): Promise<number> {
  const rows = await db
    .select({ spent: spendSum })
    .from(u)
    .where(spendCondition(subject, from, to));
  return Number(rows[0]?.spent ?? 0);
}

export type UsageGroup = 'key' | 'team' | 'model';

const groupColumns: Record<UsageGroup, SQL<string>> = {
  key: sql<string>`${u.keyId}`,
  team: sql<string>`coalesce(${u.teamId}, '')`,
  model: sql<string>`${u.model}`,
};

export interface UsageQuery {
  groupBy: UsageGroup;
  from: number;
  to: number;
  keyId?: string | undefined;
  teamId?: string | undefined;
  model?: string | undefined;
  /** Keyset pagination: groups after this one. */
  after?: string | undefined;
  limit: number;
}

export interface UsageRow {
  group: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  costUsd: number;
}

/** Usage and spend per key, team or model over [from, to), aggregated in SQL, `limit` groups at a time. */
export async function usageSummary(db: GatewayDb, query: UsageQuery): Promise<UsageRow[]> {
  const group = groupColumns[query.groupBy];
  const rows = await db
    .select({
      group,
      requests: sql<number>`count(*)`,
      errors: sql<number>`sum(case when ${u.errorCode} is null then 0 else 1 end)`,
      inputTokens: sql<number>`sum(${u.inputTokens})`,
      outputTokens: sql<number>`sum(${u.outputTokens})`,
      cachedInputTokens: sql<number>`sum(${u.cachedInputTokens})`,
      cacheWriteTokens: sql<number>`sum(${u.cacheWriteTokens})`,
      reasoningTokens: sql<number>`sum(${u.reasoningTokens})`,
      costUsd: sql<number>`sum(${u.costUsd})`,
    })
    .from(u)
    .where(
      and(
        gte(u.createdAt, query.from),
        lt(u.createdAt, query.to),
        query.keyId === undefined ? undefined : eq(u.keyId, query.keyId),
        query.teamId === undefined ? undefined : eq(u.teamId, query.teamId),
        query.model === undefined ? undefined : eq(u.model, query.model),
        query.after === undefined ? undefined : sql`${group} > ${query.after}`,
      ),
    )
    .groupBy(group)
    .orderBy(group)
    .limit(query.limit);
  return rows.map((row) => ({
    group: row.group,
    requests: Number(row.requests),
    errors: Number(row.errors),
    inputTokens: Number(row.inputTokens),
    outputTokens: Number(row.outputTokens),
    cachedInputTokens: Number(row.cachedInputTokens),
    cacheWriteTokens: Number(row.cacheWriteTokens),
    reasoningTokens: Number(row.reasoningTokens),
    costUsd: Number(row.costUsd),
  }));
}

/** Spend since `from` of every key (or team) that spent anything: one grouped query. */
export async function spendSince(
  db: GatewayDb,
  kind: Subject['kind'],
  from: number,
): Promise<Map<string, number>> {
  const column = kind === 'key' ? u.keyId : u.teamId;
  const rows = await db
    .select({ id: column, spent: spendSum })
    .from(u)
    .where(gte(u.createdAt, from))
    .groupBy(column);
  const spent = new Map<string, number>();
  for (const row of rows) if (row.id !== null) spent.set(row.id, Number(row.spent));
  return spent;
}
