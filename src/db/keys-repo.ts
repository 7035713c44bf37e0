import { and, eq, isNull } from 'drizzle-orm';
import type { GatewayDb } from './database';
import { policyVersion, virtualKeys } from './schema';

export type KeyRow = typeof virtualKeys.$inferSelect;
export type NewKeyRow = typeof virtualKeys.$inferInsert;
/** A key as the admin API shows it: everything but the hash. */
export type KeyInfo = Omit<KeyRow, 'keyHash'>;
/** What an admin may change on a live key. */
export type KeyPatch = Partial<
  Pick<
    KeyRow,
    'name' | 'models' | 'expiresAt' | 'teamId' | 'rpm' | 'tpm' | 'budgetUsd' | 'budgetPeriod'
  >
>;

const infoColumns = {
  id: virtualKeys.id,
  name: virtualKeys.name,
  keyPrefix: virtualKeys.keyPrefix,
  models: virtualKeys.models,
  expiresAt: virtualKeys.expiresAt,
  createdAt: virtualKeys.createdAt,
  revokedAt: virtualKeys.revokedAt,
  teamId: virtualKeys.teamId,
  rpm: virtualKeys.rpm,
  tpm: virtualKeys.tpm,
  budgetUsd: virtualKeys.budgetUsd,
  budgetPeriod: virtualKeys.budgetPeriod,
};

export async function insertKey(db: GatewayDb, row: NewKeyRow): Promise<void> {
  await db.insert(virtualKeys).values(row);
}

export async function listKeys(db: GatewayDb): Promise<KeyInfo[]> {
  return db.select(infoColumns).from(virtualKeys).orderBy(virtualKeys.createdAt, virtualKeys.id);
}

export async function getKey(db: GatewayDb, id: string): Promise<KeyInfo | undefined> {
  const rows = await db.select(infoColumns).from(virtualKeys).where(eq(virtualKeys.id, id));
  return rows[0];
}

/** Changes a live key; undefined when there is no such live key. */
export async function updateKey(
  db: GatewayDb,
  id: string,
  patch: KeyPatch,
): Promise<KeyInfo | undefined> {
  const rows = await db
    .update(virtualKeys)
    .set(patch)
    .where(and(eq(virtualKeys.id, id), isNull(virtualKeys.revokedAt)))
    .returning(infoColumns);
  return rows[0];
}

/** Marks a key revoked; false when there is no such live key. */
export async function revokeKey(db: GatewayDb, id: string, at: number): Promise<boolean> {
  const rows = await db
    .update(virtualKeys)
    .set({ revokedAt: at })
    .where(and(eq(virtualKeys.id, id), isNull(virtualKeys.revokedAt)))
    .returning({ id: virtualKeys.id });
  return rows.length > 0;
}

export async function liveKeys(db: GatewayDb): Promise<KeyRow[]> {
  return db.select().from(virtualKeys).where(isNull(virtualKeys.revokedAt));
}

export async function readPolicyVersion(db: GatewayDb): Promise<number> {
  const rows = await db
    .select({ version: policyVersion.version })
    .from(policyVersion)
    .where(eq(policyVersion.id, 1));
  return rows[0]?.version ?? 0;
}
