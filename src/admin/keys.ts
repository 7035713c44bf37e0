import { z } from 'zod';
import type { GatewayConfig } from '../config/compile';
import type { GatewayDb } from '../db/database';
import {
  getKey,
  insertKey,
  listKeys,
  revokeKey,
  updateKey,
  type KeyInfo,
  type KeyPatch,
} from '../db/keys-repo';
import { getTeam } from '../db/teams-repo';
import { GatewayError } from '../errors/gateway-error';
import { newId, randomToken, sha256Hex } from '../util/crypto';
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

/** Keys are `vk-` and 43 characters of base64url: 256 random bits, so SHA-256 needs no salt. */
export const KEY_PREFIX = 'vk-';

const modelsField = z
  .array(z.string().min(1).max(200))
  .min(1, 'list at least one model, or "*" for all');

export const createKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  models: modelsField,
  expires_at: expiresAtField,
  /** The team whose limits apply on top of the key's own. */
  team_id: z.string().min(1).max(100).nullish(),
  ...limitFields,
});
export type CreateKeyInput = z.infer<typeof createKeyInput>;

export const updateKeyInput = createKeyInput.partial();
export type UpdateKeyInput = z.infer<typeof updateKeyInput>;

export function keyView(info: KeyInfo, spent = 0, now = Date.now()) {
  return {
    id: info.id,
    object: 'virtual_key' as const,
    name: info.name,
    key_prefix: info.keyPrefix,
    models: info.models,
    team_id: info.teamId,
    limits: limitsView(info),
    budget: budgetView(info, spent, now),
    created_at: new Date(info.createdAt).toISOString(),
    expires_at: iso(info.expiresAt),
    revoked_at: iso(info.revokedAt),
  };
}

/** First issue in zod's terms → one GatewayError naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  // An unknown field has no path of its own: name the field itself.
  const path = issue?.code === 'unrecognized_keys' ? [...issue.path, ...issue.keys] : issue?.path;
  const param = path?.map(String).join('.').slice(0, 100) || null;
  throw new GatewayError('invalid_request', `${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, {
    param,
  });
}

/** Model names must be configured (or "*"): a typo would otherwise fail only at request time. */
export function checkModels(config: GatewayConfig, models: readonly string[] | undefined): void {
  // "*" already means every model: names beside it would read as a restriction that is not one.
  if (models !== undefined && models.includes('*') && models.some((model) => model !== '*')) {
    throw new GatewayError(
      'invalid_request',
      'models: "*" means every model; list it alone, or list model names without it',
      { param: 'models' },
    );
  }
  const unknown = (models ?? []).filter((model) => model !== '*' && !config.routes.has(model));
  if (unknown.length > 0) {
    throw new GatewayError('invalid_request', `models: not configured: ${unknown.join(', ')}`, {
      param: 'models',
    });
  }
}

async function checkTeam(db: GatewayDb, teamId: string | null | undefined): Promise<void> {
  if (teamId === undefined || teamId === null) return;
  const team = await getTeam(db, teamId);
  if (team === undefined || team.deletedAt !== null) {
    throw new GatewayError('invalid_request', `team_id: no live team with id '${teamId}'`, {
      param: 'team_id',
    });
  }
}

export async function createKey(db: GatewayDb, config: GatewayConfig, input: CreateKeyInput) {
  checkModels(config, input.models);
  await checkTeam(db, input.team_id);
  const key = KEY_PREFIX + randomToken(32);
  const info: KeyInfo = {
    id: newId('key'),
    name: input.name,
    keyPrefix: key.slice(0, 10),
    models: [...new Set(input.models)],
    expiresAt: toEpochMs(input.expires_at) ?? null,
    createdAt: Date.now(),
    revokedAt: null,
    teamId: input.team_id ?? null,
    ...newLimitColumns(input),
  };
  await insertKey(db, { ...info, keyHash: await sha256Hex(key) });
  return { ...keyView(info), key };
}

export async function updateKeyById(
  db: GatewayDb,
  config: GatewayConfig,
  id: string,
  input: UpdateKeyInput,
) {
  const current = await getKey(db, id);
  if (current === undefined || current.revokedAt !== null) {
    throw new GatewayError('not_found', `No live key with id '${id}'.`);
  }
  checkModels(config, input.models);
  await checkTeam(db, input.team_id);
  const patch: KeyPatch = sharedPatch(input, current);
  if (input.team_id !== undefined) patch.teamId = input.team_id;
  const updated = Object.keys(patch).length === 0 ? current : await updateKey(db, id, patch);
  if (updated === undefined) throw new GatewayError('not_found', `No live key with id '${id}'.`);
  return keyViewOf(db, updated);
}

async function keyViewOf(db: GatewayDb, info: KeyInfo) {
  const now = Date.now();
  return keyView(info, await spentInPeriod(db, { kind: 'key', id: info.id }, info, now), now);
}

export async function listKeyViews(db: GatewayDb) {
  const keys = await listKeys(db);
  const now = Date.now();
  const spent = await spentInPeriods(db, 'key', keys, now);
  return keys.map((info) => keyView(info, spent(info.id), now));
}

export async function keyViewById(db: GatewayDb, id: string) {
  const info = await getKey(db, id);
  if (info === undefined) throw new GatewayError('not_found', `No key with id '${id}'.`);
  return keyViewOf(db, info);
}

export async function revokeKeyById(db: GatewayDb, id: string) {
  if (!(await revokeKey(db, id, Date.now()))) {
    throw new GatewayError('not_found', `No live key with id '${id}'.`);
  }
  return { id, object: 'virtual_key', revoked: true };
}
