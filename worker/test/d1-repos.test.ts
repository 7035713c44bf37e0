import { env } from 'cloudflare:test';
import { drizzle } from 'drizzle-orm/d1';
import { describe } from 'vitest';
import { schema } from '../../src/db/schema';
import { policyRepoContract } from '../../test/contract/policy-repos';

/** The policy repositories on D1, migrated by the setup file; SQLite runs the same contract (node-adapter/sqlite-repos.test.ts). */
const db = drizzle(env.DB, { schema });

describe('policy repositories on D1', () => policyRepoContract(() => db));
