import { defineConfig } from 'vitest/config';

/** `npm test` runs both projects: Node (unit and end-to-end tests of the built adapter) and workerd (worker/vitest.config.ts). */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: [
            'src/**/*.test.ts',
            'node-adapter/**/*.test.ts',
            'bench/**/*.test.ts',
            'test/**/*.test.ts',
          ],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
          // Before the workerd project, not beside it: some Node tests measure under load.
          sequence: { groupOrder: 0 },
        },
      },
      './worker/vitest.config.ts',
    ],
  },
});
