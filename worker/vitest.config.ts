import { fileURLToPath } from 'node:url';
import { defineWorkersProject, readD1Migrations } from '@cloudflare/vitest-pool-workers/config';
import { CONFORMANCE_ENV, conformanceConfig } from '../test/conformance/config';
import { UPSTREAM_HOSTS } from './test/upstream-hosts';

const root = fileURLToPath(new URL('..', import.meta.url));

export default defineWorkersProject(async () => ({
  test: {
    name: 'workerd',
    root,
    include: ['worker/test/**/*.test.ts'],
    setupFiles: ['worker/test/setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    poolOptions: {
      workers: {
        wrangler: { configPath: `${root}/wrangler.toml` },
        isolatedStorage: false,
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(`${root}/migrations`),
            VIDAI_ADMIN_KEY: 'admin-workerd-test-key',
            // The Worker under test gets the conformance suites' config and upstream secrets.
            VIDAI_CONFIG: conformanceConfig(UPSTREAM_HOSTS),
            ...CONFORMANCE_ENV,
          },
        },
      },
    },
  },
}));
