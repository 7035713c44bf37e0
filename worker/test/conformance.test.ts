import { afterAll, beforeAll, describe } from 'vitest';
import type { Harness } from '../../test/conformance/harness';
import { suites } from '../../test/conformance/suites';
import { startWorkerdHarness } from './harness';

/** The conformance suites against the Worker in workerd; test/conformance.test.ts runs them on Node. */
const h = {} as Harness;
let close: (() => void) | undefined;

beforeAll(async () => {
  const started = await startWorkerdHarness();
  close = started.close;
  Object.assign(h, started);
});
afterAll(() => close?.());

for (const [name, suite] of Object.entries(suites)) describe(`workerd: ${name}`, () => suite(h));
