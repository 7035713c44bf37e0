import { describe, expect, it } from 'vitest';
// @ts-expect-error a plain ES module script, without types
import { nodeOnlyProblems } from '../scripts/worker-bundle.mjs';

/** The bundle check the workerd project's setup runs (`npm run build:worker`): it must be able to fail. */
describe('the Worker bundle check', () => {
  const meta = (inputs: string[], imports: string[]) => ({
    inputs: Object.fromEntries(inputs.map((input) => [input, {}])),
    outputs: { 'dist/worker/index.js': { imports: imports.map((path) => ({ path })) } },
  });

  it('passes a bundle of Web-only modules', () => {
    expect(
      nodeOnlyProblems(
        meta(['src/app.ts', 'node_modules/hono/dist/index.js'], ['cloudflare:workers']),
      ),
    ).toEqual([]);
  });

  it('names a Node-only package bundled in, and a Node built-in imported', () => {
    const problems = nodeOnlyProblems(
      meta(['node_modules/undici/index.js'], ['node:fs', 'better-sqlite3']),
    ) as string[];
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/undici[\s\S]*node:fs[\s\S]*better-sqlite3/);
  });
});
