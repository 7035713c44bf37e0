import type { KeyRow } from '../db/keys-repo';
import type { BudgetPeriod } from '../db/schema';
import type { TeamRow } from '../db/teams-repo';
import { windowCounterId, type Dimension, type Subject } from './counters';

/** One limit a request spends from, compiled: the key's or its team's requests, tokens or budget. */
export interface CounterSpec {
  subject: Subject;
  dimension: Dimension;
  /** Per minute for requests and tokens; USD per period for spend. */
  limit: number;
  /** The counter's id; for spend, the id of the current period is derived from this spec. */
  id: string;
  period: BudgetPeriod | undefined;
}

/** A key's policy, compiled for the hot path: lookups are Map and Set reads, nothing more. */
export interface KeyPolicy {
  id: string;
  name: string;
  teamId: string | undefined;
  /** undefined: every model. Already the intersection with the team's models. */
  models: ReadonlySet<string> | undefined;
  /** The earlier of the key's and its team's expiry. */
  expiresAt: number | undefined;
  /** What every request of this key spends from: the key's own limits, then its team's. */
  counters: readonly CounterSpec[];
}

export interface PolicySnapshot {
  version: number;
  /** Live keys by the SHA-256 (hex) of the key. */
  byHash: ReadonlyMap<string, KeyPolicy>;
}

type Limits = Pick<KeyRow, 'rpm' | 'tpm' | 'budgetUsd' | 'budgetPeriod'>;

function counterSpecs(subject: Subject, limits: Limits): CounterSpec[] {
  const specs: CounterSpec[] = [];
  if (limits.rpm !== null) {
    const id = windowCounterId(subject, 'requests');
    specs.push({ subject, dimension: 'requests', limit: limits.rpm, id, period: undefined });
  }
  if (limits.tpm !== null) {
    const id = windowCounterId(subject, 'tokens');
    specs.push({ subject, dimension: 'tokens', limit: limits.tpm, id, period: undefined });
  }
  if (limits.budgetUsd !== null) {
    specs.push({
      subject,
      dimension: 'spend',
      limit: limits.budgetUsd,
      id: '',
      period: limits.budgetPeriod ?? 'lifetime',
    });
  }
  return specs;
}

function modelSet(models: readonly string[]): Set<string> | undefined {
  return models.includes('*') ? undefined : new Set(models);
}

function intersect(
  a: ReadonlySet<string> | undefined,
  b: ReadonlySet<string> | undefined,
): ReadonlySet<string> | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return new Set([...a].filter((model) => b.has(model)));
}

function earlier(a: number | null, b: number | null | undefined): number | undefined {
  if (a === null) return b ?? undefined;
  return b === null || b === undefined ? a : Math.min(a, b);
}

/** Keys whose team is gone (deleted) are left out: they stop working with their team. */
export function compileSnapshot(
  version: number,
  keys: readonly KeyRow[],
  teams: readonly TeamRow[],
): PolicySnapshot {
  const liveTeams = new Map<string, TeamRow>();
  for (const team of teams) if (team.deletedAt === null) liveTeams.set(team.id, team);
  const byHash = new Map<string, KeyPolicy>();
  for (const row of keys) {
    if (row.revokedAt !== null) continue;
    const team = row.teamId === null ? undefined : liveTeams.get(row.teamId);
    if (row.teamId !== null && team === undefined) continue;
    const counters = counterSpecs({ kind: 'key', id: row.id }, row);
    if (team !== undefined) counters.push(...counterSpecs({ kind: 'team', id: team.id }, team));
    byHash.set(row.keyHash, {
      id: row.id,
      name: row.name,
      teamId: team?.id,
      models: intersect(modelSet(row.models), team && modelSet(team.models)),
      expiresAt: earlier(row.expiresAt, team?.expiresAt),
      counters,
    });
  }
  return { version, byHash };
}

export function mayUseModel(key: KeyPolicy, model: string): boolean {
  return key.models === undefined || key.models.has(model);
}
