import type { KeyRow } from '../db/keys-repo';

/** A key's policy, compiled for the hot path: lookups are Map and Set reads, nothing more. */
export interface KeyPolicy {
  id: string;
  name: string;
  /** undefined: every model. */
  models: ReadonlySet<string> | undefined;
  expiresAt: number | undefined;
}

export interface PolicySnapshot {
  version: number;
  /** Live keys by the SHA-256 (hex) of the key. */
  byHash: ReadonlyMap<string, KeyPolicy>;
}

export function compileSnapshot(version: number, rows: readonly KeyRow[]): PolicySnapshot {
  const byHash = new Map<string, KeyPolicy>();
  for (const row of rows) {
    if (row.revokedAt !== null) continue;
    byHash.set(row.keyHash, {
      id: row.id,
      name: row.name,
      models: row.models.includes('*') ? undefined : new Set(row.models),
      expiresAt: row.expiresAt ?? undefined,
    });
  }
  return { version, byHash };
}

export function mayUseModel(key: KeyPolicy, model: string): boolean {
  return key.models === undefined || key.models.has(model);
}
