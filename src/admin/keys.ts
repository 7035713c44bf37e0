import { z } from 'zod';
import type { GatewayConfig } from '../config/compile';
import type { GatewayDb } from '../db/database';
import { getKey, insertKey, listKeys, revokeKey, type KeyInfo } from '../db/keys-repo';
import { GatewayError } from '../errors/gateway-error';
import { newId, randomToken, sha256Hex } from '../util/crypto';

/** Keys are `vk-` and 43 characters of base64url: 256 random bits, so SHA-256 needs no salt. */
export const KEY_PREFIX = 'vk-';

export const createKeyInput = z.strictObject({
  name: z.string().trim().min(1).max(200),
  models: z.array(z.string().min(1).max(200)).min(1, 'list at least one model, or "*" for all'),
  /** When the key stops working: an ISO 8601 time or epoch milliseconds. */
  expires_at: z.union([z.iso.datetime({ offset: true }), z.number().int().positive()]).nullish(),
});
export type CreateKeyInput = z.infer<typeof createKeyInput>;

export function keyView(info: KeyInfo) {
  return {
    id: info.id,
    object: 'virtual_key' as const,
    name: info.name,
    key_prefix: info.keyPrefix,
    models: info.models,
    created_at: new Date(info.createdAt).toISOString(),
    expires_at: info.expiresAt === null ? null : new Date(info.expiresAt).toISOString(),
    revoked_at: info.revokedAt === null ? null : new Date(info.revokedAt).toISOString(),
  };
}

/** First issue in zod's terms → one GatewayError naming the field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue?.path.map(String).join('.') || null;
  throw new GatewayError('invalid_request', `${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, {
    param,
  });
}

export async function createKey(db: GatewayDb, config: GatewayConfig, input: CreateKeyInput) {
  const unknown = input.models.filter((model) => model !== '*' && !config.routes.has(model));
  if (unknown.length > 0) {
    throw new GatewayError('invalid_request', `models: not configured: ${unknown.join(', ')}`, {
      param: 'models',
    });
  }
  const expiresAt =
    input.expires_at === undefined || input.expires_at === null
      ? null
      : typeof input.expires_at === 'number'
        ? input.expires_at
        : Date.parse(input.expires_at);
  const key = KEY_PREFIX + randomToken(32);
  const info: KeyInfo = {
    id: newId('key'),
    name: input.name,
    keyPrefix: key.slice(0, 10),
    models: [...new Set(input.models)],
    expiresAt,
    createdAt: Date.now(),
    revokedAt: null,
  };
  await insertKey(db, { ...info, keyHash: await sha256Hex(key) });
  return { ...keyView(info), key };
}

export async function listKeyViews(db: GatewayDb) {
  return (await listKeys(db)).map(keyView);
}

export async function keyViewById(db: GatewayDb, id: string) {
  const info = await getKey(db, id);
  if (info === undefined) throw new GatewayError('not_found', `No key with id '${id}'.`);
  return keyView(info);
}

export async function revokeKeyById(db: GatewayDb, id: string) {
  if (!(await revokeKey(db, id, Date.now()))) {
    throw new GatewayError('not_found', `No live key with id '${id}'.`);
  }
  return { id, object: 'virtual_key', revoked: true };
}
