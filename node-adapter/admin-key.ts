import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir } from './sqlite';

export interface AdminKey {
  key: string;
  /** Where it came from, for the start-up banner (never the key itself). */
  source: 'VIDAI_ADMIN_KEY' | 'file' | 'generated';
}

/**
 * VIDAI_ADMIN_KEY wins; otherwise the key kept beside the database, made on first run with
 * 0600 permissions (created exclusively, so two starting processes cannot both write one).
 */
export function ensureAdminKey(fromEnv: string | undefined, path: string): AdminKey {
  if (fromEnv) return { key: fromEnv, source: 'VIDAI_ADMIN_KEY' };
  try {
    return { key: readFileSync(path, 'utf8').trim(), source: 'file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  ensureDir(dirname(path));
  const key = `vidai-admin-${randomBytes(32).toString('base64url')}`;
  try {
    writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return ensureAdminKey(undefined, path);
    throw err;
  }
  chmodSync(path, 0o600);
  return { key, source: 'generated' };
}

/** Reads the admin key without creating one (the CLI and workers). */
export function readAdminKey(fromEnv: string | undefined, path: string): string | undefined {
  if (fromEnv) return fromEnv;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}
