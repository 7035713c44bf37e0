import { describe, expect, it } from 'vitest';
import type { GatewayDb } from '../../src/db/database';
import {
  getKey,
  insertKey,
  listKeys,
  liveKeys,
  readPolicyVersion,
  revokeKey,
  updateKey,
  type NewKeyRow,
} from '../../src/db/keys-repo';
import {
  deleteTeam,
  getTeam,
  insertTeam,
  liveTeams,
  updateTeam,
  type TeamRow,
} from '../../src/db/teams-repo';
import { insertUsage, spendBetween, spendSince, usageSummary } from '../../src/db/usage-repo';
import { PolicyStore } from '../../src/policy/policy-store';
import type { PolicySnapshot } from '../../src/policy/snapshot';
import type { UsageRecord } from '../../src/usage/record';
import { newId, sha256Hex } from '../../src/util/crypto';

/**
 * The policy repositories' contract, run against each runtime's database through the one
 * Drizzle schema: better-sqlite3 on Node (node-adapter/sqlite-repos.test.ts) and D1 in workerd
 * (worker/test/d1-repos.test.ts), both migrated by migrations/. Every test makes its own rows,
 * so the suites may share a database.
 */
export function policyRepoContract(db: () => GatewayDb): void {
  const key = (overrides: Partial<NewKeyRow> = {}): NewKeyRow => {
    const id = newId('key');
    return {
      id,
      name: `key ${id}`,
      keyHash: `hash-${id}`,
      keyPrefix: 'vk-abc',
      models: ['gpt-test', 'demo'],
      expiresAt: null,
      createdAt: Date.now(),
      revokedAt: null,
      teamId: null,
      rpm: null,
      tpm: null,
      budgetUsd: null,
      budgetPeriod: null,
      ...overrides,
    };
  };
  const team = (overrides: Partial<TeamRow> = {}): TeamRow => {
    const id = newId('team');
    return {
      id,
      name: `team ${id}`,
      models: ['*'],
      rpm: null,
      tpm: null,
      budgetUsd: null,
      budgetPeriod: null,
      expiresAt: null,
      createdAt: Date.now(),
      deletedAt: null,
      ...overrides,
    };
  };
  const record = (keyId: string, overrides: Partial<UsageRecord> = {}): UsageRecord => ({
    requestId: crypto.randomUUID(),
    createdAt: 1_000_000,
    keyId,
    teamId: null,
    model: 'gpt-test',
    provider: 'up',
    servedModel: 'upstream-model',
    inputTokens: 10,
    outputTokens: 20,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    costUsd: 0.25,
    usageEstimated: false,
    status: 200,
    errorCode: null,
    latencyMs: 12,
    ttfbMs: 3,
    streamed: true,
    ...overrides,
  });

  describe('keys', () => {
    it('stores a key and reads it back without its hash, JSON and limits intact', async () => {
      const row = key({ rpm: 60, budgetUsd: 1.5, budgetPeriod: 'day', expiresAt: 2e12 });
      await insertKey(db(), row);
      const info = await getKey(db(), row.id);
      const { keyHash: _hash, ...expected } = row;
      expect(info).toEqual(expected);
      expect(info).not.toHaveProperty('keyHash');
      expect((await listKeys(db())).map((k) => k.id)).toContain(row.id);
      expect(await getKey(db(), 'key_none')).toBeUndefined();
    });

    it('updates only live keys, returning the new row', async () => {
      const row = key();
      await insertKey(db(), row);
      const updated = await updateKey(db(), row.id, { models: ['*'], tpm: 1000, name: 'renamed' });
      expect(updated).toMatchObject({ id: row.id, models: ['*'], tpm: 1000, name: 'renamed' });
      expect(await updateKey(db(), 'key_none', { name: 'x' })).toBeUndefined();
      expect(await revokeKey(db(), row.id, 5)).toBe(true);
      expect(await revokeKey(db(), row.id, 6)).toBe(false);
      expect(await updateKey(db(), row.id, { name: 'late' })).toBeUndefined();
      expect((await getKey(db(), row.id))?.revokedAt).toBe(5);
      expect((await liveKeys(db())).map((k) => k.id)).not.toContain(row.id);
    });

    it('rejects a second key with the same hash', async () => {
      const row = key();
      await insertKey(db(), row);
      await expect(insertKey(db(), key({ keyHash: row.keyHash }))).rejects.toThrow();
    });
  });

  describe('teams', () => {
    it('stores, updates and deletes a team; deleted teams are not live', async () => {
      const row = team({ rpm: 5, budgetUsd: 10, budgetPeriod: 'month' });
      await insertTeam(db(), row);
      expect(await getTeam(db(), row.id)).toEqual(row);
      expect(await updateTeam(db(), row.id, { rpm: null, models: ['demo'] })).toMatchObject({
        rpm: null,
        models: ['demo'],
        budgetUsd: 10,
      });
      expect((await liveTeams(db())).map((t) => t.id)).toContain(row.id);
      expect(await deleteTeam(db(), row.id, 7)).toBe(true);
      expect(await deleteTeam(db(), row.id, 8)).toBe(false);
      expect(await updateTeam(db(), row.id, { name: 'late' })).toBeUndefined();
      expect((await liveTeams(db())).map((t) => t.id)).not.toContain(row.id);
    });

    it('refuses a key whose team does not exist', async () => {
      await expect(insertKey(db(), key({ teamId: 'team_missing' }))).rejects.toThrow();
    });
  });

  describe('the policy version', () => {
    it('moves on with every write to keys and teams, in the same statement', async () => {
      const versions = [await readPolicyVersion(db())];
      const bumped = async () => {
        const version = await readPolicyVersion(db());
        expect(version).toBeGreaterThan(versions.at(-1)!);
        versions.push(version);
      };
      const t = team();
      await insertTeam(db(), t);
      await bumped();
      await updateTeam(db(), t.id, { rpm: 3 });
      await bumped();
      const k = key({ teamId: t.id });
      await insertKey(db(), k);
      await bumped();
      await updateKey(db(), k.id, { rpm: 9 });
      await bumped();
      await revokeKey(db(), k.id, 1);
      await bumped();
      await deleteTeam(db(), t.id, 1);
      await bumped();
    });
  });

  describe('usage records', () => {
    it('sums spend per key and team over [from, to), and groups usage in SQL', async () => {
      const t = team();
      await insertTeam(db(), t);
      const a = key({ teamId: t.id });
      const b = key({ teamId: t.id });
      await insertKey(db(), a);
      await insertKey(db(), b);
      // Seven rows: more than one multi-row INSERT holds.
      await insertUsage(db(), [
        record(a.id, { teamId: t.id, createdAt: 1_000 }),
        record(a.id, { teamId: t.id, createdAt: 2_000, costUsd: 0.5 }),
        record(a.id, { teamId: t.id, createdAt: 3_000, model: 'demo', costUsd: 0 }),
        record(a.id, { teamId: t.id, createdAt: 9_000, costUsd: 100 }),
        record(b.id, { teamId: t.id, createdAt: 1_500, errorCode: 'upstream_error', status: 502 }),
        record(b.id, { teamId: t.id, createdAt: 2_500, usageEstimated: true, streamed: false }),
        record(b.id, { teamId: t.id, createdAt: 2_600, reasoningTokens: 7 }),
      ]);
      expect(await spendBetween(db(), { kind: 'key', id: a.id }, 1_000, 9_000)).toBeCloseTo(0.75);
      expect(await spendBetween(db(), { kind: 'team', id: t.id }, 0, 9_000)).toBeCloseTo(1.5);
      expect(await spendBetween(db(), { kind: 'key', id: 'key_none' }, 0, 9_000)).toBe(0);
      const byModel = await usageSummary(db(), {
        groupBy: 'model',
        from: 0,
        to: 9_000,
        teamId: t.id,
        limit: 10,
      });
      expect(byModel).toEqual([
        {
          group: 'demo',
          requests: 1,
          errors: 0,
          inputTokens: 10,
          outputTokens: 20,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 0,
          costUsd: 0,
        },
        {
          group: 'gpt-test',
          requests: 5,
          errors: 1,
          inputTokens: 50,
          outputTokens: 100,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          reasoningTokens: 7,
          costUsd: 1.5,
        },
      ]);
      const page = await usageSummary(db(), {
        groupBy: 'key',
        from: 0,
        to: 10_000,
        teamId: t.id,
        limit: 1,
      });
      const [first] = page;
      const next = await usageSummary(db(), {
        groupBy: 'key',
        from: 0,
        to: 10_000,
        teamId: t.id,
        limit: 1,
        after: first!.group,
      });
      expect([first!.group, next[0]!.group].sort()).toEqual([a.id, b.id].sort());
      const since = await spendSince(db(), 'team', 2_000);
      expect(since.get(t.id)).toBeCloseTo(101);
      const rows = await db().query.usageRecords.findMany({
        where: (u, { eq }) => eq(u.keyId, b.id),
        orderBy: (u, { asc }) => asc(u.createdAt),
      });
      expect(rows.map((r) => [r.usageEstimated, r.streamed, r.errorCode])).toEqual([
        [false, true, 'upstream_error'],
        [true, false, null],
        [false, true, null],
      ]);
    });
  });

  describe('the policy snapshot store', () => {
    it('compiles live keys with their team, and drops revoked keys and deleted teams on refresh', async () => {
      const store = new PolicyStore(db(), (err) => {
        throw err;
      });
      const t = team({ rpm: 4, models: ['demo'] });
      await insertTeam(db(), t);
      const secret = `vk-${crypto.randomUUID()}`;
      const hash = await sha256Hex(secret);
      const k = key({ keyHash: hash, teamId: t.id, tpm: 100 });
      await insertKey(db(), k);
      const loaded = await store.refresh();
      const policy = loaded.byHash.get(hash);
      expect(policy).toMatchObject({ id: k.id, teamId: t.id });
      expect([...(policy?.models ?? [])]).toEqual(['demo']);
      expect(policy?.counters.map((c) => `${c.subject.kind}:${c.dimension}:${c.limit}`)).toEqual([
        'key:tokens:100',
        'team:requests:4',
      ]);
      await deleteTeam(db(), t.id, Date.now());
      expect((await store.refresh()).byHash.has(hash)).toBe(false);
      const alone = key({ keyHash: `${hash}-2` });
      await insertKey(db(), alone);
      expect((await store.refresh()).byHash.has(alone.keyHash)).toBe(true);
      await revokeKey(db(), alone.id, Date.now());
      expect((await store.refresh()).byHash.has(alone.keyHash)).toBe(false);
    });

    it('with a background hook, serves a stale snapshot at once and refreshes it behind the request', async () => {
      const work: Promise<unknown>[] = [];
      const store = new PolicyStore(
        db(),
        (err) => {
          throw err;
        },
        0,
        (refresh) => work.push(refresh),
      );
      await store.refresh();
      const k = key();
      await insertKey(db(), k);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const stale = store.current();
      expect(stale).not.toBeInstanceOf(Promise);
      expect((stale as PolicySnapshot).byHash.has(k.keyHash)).toBe(false);
      expect(store.current()).toBe(stale);
      // One check in flight, however many requests found the snapshot stale.
      expect(work).toHaveLength(1);
      await Promise.all(work);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect((store.current() as PolicySnapshot).byHash.has(k.keyHash)).toBe(true);
    });
  });
}
