import type { D1Migration } from '@cloudflare/vitest-pool-workers/config';

declare module 'cloudflare:test' {
  interface ProvidedEnv extends Env {
    TEST_MIGRATIONS: D1Migration[];
    VIDAI_ADMIN_KEY: string;
    /** Two more isolates of the deployable Worker (worker/vitest.config.ts). */
    GATEWAY_A: Fetcher;
    GATEWAY_B: Fetcher;
  }
}
