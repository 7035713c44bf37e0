import { applyD1Migrations, env } from 'cloudflare:test';

// The same migrations/ that `wrangler d1 migrations apply` and the Node primary apply.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
