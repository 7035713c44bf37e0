import { fileURLToPath } from 'node:url';
import { defineWorkersProject, readD1Migrations } from '@cloudflare/vitest-pool-workers/config';
import { CONFORMANCE_ENV, conformanceConfig } from '../test/conformance/config';
import { UPSTREAM_HOSTS } from './test/upstream-hosts';

const root = fileURLToPath(new URL('..', import.meta.url));
/** The bundle `wrangler deploy` would upload (built by worker/test/global-setup.ts). */
const bundle = `${root}/dist/worker-test`;
const ADMIN_KEY = 'admin-workerd-test-key';
/** wrangler.toml's database_id: the isolates share the main Worker's D1. */
const D1_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Two more instances of the deployable Worker, each its own isolate, with the shipped config
 * (no VIDAI_CONFIG) and one Durable Object namespace and one D1 database between them: what
 * Cloudflare runs when requests land on different isolates (worker/test/isolates.test.ts).
 */
function gateway(name: string) {
  return {
    name,
    modules: true,
    scriptPath: `${bundle}/index.js`,
    modulesRules: [{ type: 'Text' as const, include: ['**/*.yaml'] }],
    compatibilityDate: '2025-09-01',
    bindings: { VIDAI_ADMIN_KEY: ADMIN_KEY },
    d1Databases: { DB: D1_ID },
    durableObjects: { COUNTERS: { className: 'CounterObject', scriptName: 'gateway-a' } },
  };
}

export default defineWorkersProject(async () => ({
  test: {
    name: 'workerd',
    root,
    include: ['worker/test/**/*.test.ts'],
    setupFiles: ['worker/test/setup.ts'],
    globalSetup: ['worker/test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    sequence: { groupOrder: 1 },
    poolOptions: {
      workers: {
        wrangler: { configPath: `${root}/wrangler.toml` },
        // One database for every file, which runs its setup (the migrations) in turn.
        isolatedStorage: false,
        singleWorker: true,
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: await readD1Migrations(`${root}/migrations`),
            VIDAI_ADMIN_KEY: ADMIN_KEY,
            // The Worker under test gets the conformance suites' config and upstream secrets.
            VIDAI_CONFIG: conformanceConfig(UPSTREAM_HOSTS),
            ...CONFORMANCE_ENV,
          },
          serviceBindings: { GATEWAY_A: 'gateway-a', GATEWAY_B: 'gateway-b' },
          workers: [gateway('gateway-a'), gateway('gateway-b')],
        },
      },
    },
  },
}));
