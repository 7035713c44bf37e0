import { describe, expect, it } from 'vitest';
import type { KeyRow } from '../db/keys-repo';
import type { TeamRow } from '../db/teams-repo';
import { compileSnapshot, mayUseModel } from './snapshot';

const key = (over: Partial<KeyRow>): KeyRow => ({
  id: 'key_1',
  name: 'k',
  keyHash: 'h1',
  keyPrefix: 'vk-',
  models: ['*'],
  expiresAt: null,
  createdAt: 0,
  revokedAt: null,
  teamId: null,
  rpm: null,
  tpm: null,
  budgetUsd: null,
  budgetPeriod: null,
  ...over,
});

const team = (over: Partial<TeamRow>): TeamRow => ({
  id: 'team_1',
  name: 't',
  models: ['*'],
  rpm: null,
  tpm: null,
  budgetUsd: null,
  budgetPeriod: null,
  expiresAt: null,
  createdAt: 0,
  deletedAt: null,
  ...over,
});

describe('compileSnapshot', () => {
  it('compiles a key’s own limits, then its team’s, as the counters a request spends from', () => {
    const snapshot = compileSnapshot(
      1,
      [key({ teamId: 'team_1', rpm: 10, budgetUsd: 5, budgetPeriod: 'day' })],
      [team({ tpm: 1000, budgetUsd: 50 })],
    );
    const policy = snapshot.byHash.get('h1')!;
    expect(policy.teamId).toBe('team_1');
    expect(policy.counters.map((c) => [c.subject.kind, c.dimension, c.limit, c.period])).toEqual([
      ['key', 'requests', 10, undefined],
      ['key', 'spend', 5, 'day'],
      ['team', 'tokens', 1000, undefined],
      ['team', 'spend', 50, 'lifetime'],
    ]);
    expect(compileSnapshot(1, [key({})], []).byHash.get('h1')!.counters).toEqual([]);
  });

  it('lets a key use only models both it and its team allow, until the earlier expiry', () => {
    const policy = compileSnapshot(
      1,
      [key({ teamId: 'team_1', models: ['a', 'b'], expiresAt: 2_000 })],
      [team({ models: ['b', 'c'], expiresAt: 1_000 })],
    ).byHash.get('h1')!;
    expect(['a', 'b', 'c'].filter((m) => mayUseModel(policy, m))).toEqual(['b']);
    expect(policy.expiresAt).toBe(1_000);
  });

  it('leaves out revoked keys and keys whose team is deleted or unknown', () => {
    const snapshot = compileSnapshot(
      1,
      [
        key({ keyHash: 'revoked', revokedAt: 1 }),
        key({ keyHash: 'deleted-team', teamId: 'team_1' }),
        key({ keyHash: 'unknown-team', teamId: 'team_x' }),
        key({ keyHash: 'fine' }),
      ],
      [team({ deletedAt: 5 })],
    );
    expect([...snapshot.byHash.keys()]).toEqual(['fine']);
  });
});
