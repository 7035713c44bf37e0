import { z } from 'zod';
import type { GatewayConfig } from '../config/compile';
import type { GatewayDb } from '../db/database';
import {
  deleteTeam,
  getTeam,
  insertTeam,
  listTeams,
  updateTeam,
  type TeamPatch,
  type TeamRow,
} from '../db/teams-repo';
import { GatewayError } from '../errors/gateway-error';
import { newId } from '../util/crypto';
import { checkModels } from './keys';
import {
  budgetView,
  expiresAtField,
  iso,
  limitFields,
  limitsView,
  newLimitColumns,
  sharedPatch,
  spentInPeriod,
  spentInPeriods,
  toEpochMs,
} from './limits';

/** A team: limits (and allowed models, expiry) that apply to all its keys together. */
export const createTeamInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  models: z.array(z.string().min(1).max(200)).min(1).default(['*']),
  expires_at: expiresAtField,
  ...limitFields,
});
export type CreateTeamInput = z.infer<typeof createTeamInput>;

export const updateTeamInput = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  models: z.array(z.string().min(1).max(200)).min(1).optional(),
  expires_at: expiresAtField,
  ...limitFields,
});
export type UpdateTeamInput = z.infer<typeof updateTeamInput>;

export function teamView(team: TeamRow, spent = 0, now = Date.now()) {
  return {
    id: team.id,
    object: 'team' as const,
    name: team.name,
    models: team.models,
    limits: limitsView(team),
    budget: budgetView(team, spent, now),
    created_at: new Date(team.createdAt).toISOString(),
    expires_at: iso(team.expiresAt),
    deleted_at: iso(team.deletedAt),
  };
}

export async function createTeam(db: GatewayDb, config: GatewayConfig, input: CreateTeamInput) {
  checkModels(config, input.models);
  const team: TeamRow = {
    id: newId('team'),
    name: input.name,
    models: [...new Set(input.models)],
    ...newLimitColumns(input),
    expiresAt: toEpochMs(input.expires_at) ?? null,
    createdAt: Date.now(),
    deletedAt: null,
  };
  await insertTeam(db, team);
  return teamView(team);
}

async function teamViewOf(db: GatewayDb, team: TeamRow) {
  const now = Date.now();
  return teamView(team, await spentInPeriod(db, { kind: 'team', id: team.id }, team, now), now);
}

export async function updateTeamById(
  db: GatewayDb,
  config: GatewayConfig,
  id: string,
  input: UpdateTeamInput,
) {
  const current = await getTeam(db, id);
  if (current === undefined || current.deletedAt !== null) {
    throw new GatewayError('not_found', `No live team with id '${id}'.`);
  }
  checkModels(config, input.models);
  const patch: TeamPatch = sharedPatch(input, current);
  const updated = Object.keys(patch).length === 0 ? current : await updateTeam(db, id, patch);
  if (updated === undefined) throw new GatewayError('not_found', `No live team with id '${id}'.`);
  return teamViewOf(db, updated);
}

export async function listTeamViews(db: GatewayDb) {
  const teams = await listTeams(db);
  const now = Date.now();
  const spent = await spentInPeriods(db, 'team', teams, now);
  return teams.map((team) => teamView(team, spent(team.id), now));
}

export async function teamViewById(db: GatewayDb, id: string) {
  const team = await getTeam(db, id);
  if (team === undefined) throw new GatewayError('not_found', `No team with id '${id}'.`);
  return teamViewOf(db, team);
}

/** Deleting a team stops its keys (they are refused like revoked keys) on every worker within a second. */
export async function deleteTeamById(db: GatewayDb, id: string) {
  if (!(await deleteTeam(db, id, Date.now()))) {
    throw new GatewayError('not_found', `No live team with id '${id}'.`);
  }
  return { id, object: 'team', deleted: true };
}
