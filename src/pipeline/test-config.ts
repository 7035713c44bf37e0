import { compileConfig, type GatewayConfig, type Route } from '../config/compile';
import { parseConfig } from '../config/schema';

/** A compiled config for unit tests, from the same document shape as the YAML file. */
export function testConfig(document: Record<string, unknown>): GatewayConfig {
  return compileConfig(
    parseConfig({
      providers: ['a', 'b', 'c', 'd'].map((id) => ({
        id,
        kind: 'openai-compatible',
        base_url: `http://${id}.test/v1`,
      })),
      ...document,
    }),
    {},
  );
}

export function testRoute(config: GatewayConfig, name: string): Route {
  const route = config.routes.get(name);
  if (route === undefined) throw new Error(`no route ${name}`);
  return route;
}

/** A seeded PRNG (mulberry32), so statistical tests are repeatable. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
