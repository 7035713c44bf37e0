import { afterAll, beforeAll, describe } from 'vitest';
import type { Harness } from './conformance/harness';
import { startNodeHarness } from './conformance/node-harness';
import { suites } from './conformance/suites';

/** The conformance suites against the Node build; worker/test/conformance.test.ts runs them in workerd. */
const h = {} as Harness;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const started = await startNodeHarness();
  close = started.close;
  Object.assign(h, started);
});
afterAll(() => close?.());

for (const [name, suite] of Object.entries(suites)) describe(`node: ${name}`, () => suite(h));
