import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './schema';
import { compileConfig } from './compile';

const providers = [
  { id: 'a', kind: 'openai-compatible', base_url: 'http://a.test/v1' },
  { id: 'b', kind: 'openai', api_key_env: 'B_KEY' },
];

function issues(document: Record<string, unknown>): string[] {
  try {
    parseConfig({ providers, ...document });
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('model entries', () => {
  it('keep the single provider/model shorthand: one target, fallback strategy', () => {
    const config = compileConfig(
      parseConfig({ providers, models: [{ name: 'm', provider: 'a', model: 'up-m' }] }),
      {},
    );
    const route = config.routes.get('m');
    expect(route?.strategy).toBe('fallback');
    expect(route?.targets.map((t) => [t.key, t.weight, t.params])).toEqual([
      ['a/up-m', 1, undefined],
    ]);
    expect(route?.retry).toEqual({
      attempts: 2,
      retries: 1,
      backoffMs: 250,
      maxBackoffMs: 8000,
      maxRetryAfterMs: 30_000,
    });
  });

  it('compile targets with weights and params, and leave out those without a credential', () => {
    const config = compileConfig(
      parseConfig({
        providers,
        models: [
          {
            name: 'm',
            strategy: 'weighted',
            targets: [
              { provider: 'a', model: 'x', weight: 3, params: { temperature: 0 } },
              { provider: 'b', model: 'y' },
            ],
            retry: { retries: 2 },
          },
        ],
      }),
      {},
    );
    const route = config.routes.get('m');
    expect(route?.targets).toHaveLength(2);
    expect(route?.usable.map((t) => t.key)).toEqual(['a/x']);
    expect(route?.targets[0]?.params).toEqual({ temperature: 0 });
    expect(route?.retry.attempts).toBe(3);
  });

  it('refuse both provider and targets, or neither', () => {
    expect(
      issues({ models: [{ name: 'm', provider: 'a', targets: [{ provider: 'a' }] }] }),
    ).toEqual([
      'models[0].targets: give either provider (one target) or targets (a list), not both',
    ]);
    expect(issues({ models: [{ name: 'm' }] })[0]).toMatch(/^models\[0\]\.targets: give either/);
  });

  it('name the bad target, strategy or parameter', () => {
    expect(
      issues({ models: [{ name: 'm', targets: [{ provider: 'a' }, { provider: 'zz' }] }] }),
    ).toEqual(['models[0].targets[1].provider: unknown provider "zz"; declared: a, b']);
    expect(issues({ models: [{ name: 'm', provider: 'a', strategy: 'random' }] })[0]).toMatch(
      /^models\[0\]\.strategy: unknown strategy; one of: fallback, weighted, latency/,
    );
    expect(
      issues({ models: [{ name: 'm', targets: [{ provider: 'a', params: { model: 'x' } }] }] })[0],
    ).toMatch(/^models\[0\]\.targets\[0\]\.params: params may not set model or stream/);
    expect(
      issues({ models: [{ name: 'm', provider: 'a', timeouts: { first_byte: -1 } }] })[0],
    ).toMatch(/^models\[0\]\.timeouts\.first_byte:/);
    expect(
      issues({
        models: [{ name: 'm', targets: [{ provider: 'a', weight: 0 }], strategy: 'weighted' }],
      }),
    ).toEqual(['models[0].targets: strategy weighted needs at least one target with weight > 0']);
  });

  it('checks the breaker section', () => {
    expect(
      issues({
        models: [{ name: 'm', provider: 'a' }],
        breaker: { cooldown_ms: 5000, max_cooldown_ms: 1000 },
      }),
    ).toEqual(['breaker.max_cooldown_ms: must be at least cooldown_ms']);
  });
});
