import { describe, expect, it } from 'vitest';
import { catalog } from '../providers/catalog';
import { compileConfig, routeUnavailable, type Route } from './compile';
import { parseConfig } from './schema';

const file = parseConfig({
  server: { max_body_bytes: 4096, upstream_timeout_ms: 1234 },
  providers: [
    { id: 'demo', kind: 'mock' },
    { id: 'openai', kind: 'openai', api_key_env: 'OPENAI_API_KEY' },
    { id: 'groq', kind: 'groq', api_key_env: 'GROQ_API_KEY' },
    { id: 'local', kind: 'openai-compatible', base_url: 'http://127.0.0.1:8080/v1///' },
    { id: 'local-keyed', kind: 'vllm', api_key_env: 'VLLM_KEY' },
  ],
  models: [
    { name: 'demo', provider: 'demo', model: 'demo-1' },
    { name: 'gpt-4o-mini', provider: 'openai' },
    { name: 'llama', provider: 'groq', model: 'llama-3.1-8b-instant' },
    { name: 'local', provider: 'local' },
  ],
});

describe('compileConfig', () => {
  it('compiles routes with the upstream model name, defaulting to the public name', () => {
    const config = compileConfig(file, {});
    expect([...config.routes.keys()]).toEqual(['demo', 'gpt-4o-mini', 'llama', 'local']);
    const models = [...config.routes.values()].map((r) => r.targets.map((t) => t.model));
    expect(models).toEqual([['demo-1'], ['gpt-4o-mini'], ['llama-3.1-8b-instant'], ['local']]);
    expect(config.routes.get('llama')?.targets[0]?.provider.id).toBe('groq');
  });

  it('carries the server settings', () => {
    const config = compileConfig(file, {});
    expect(config.maxBodyBytes).toBe(4096);
    expect(config.upstreamTimeoutMs).toBe(1234);
  });

  it('marks a provider whose api_key_env is unset as unavailable, naming the variable', () => {
    const openai = compileConfig(file, {}).providers.get('openai');
    expect(openai?.unavailable).toBe(
      'provider "openai" has no credential (OPENAI_API_KEY is not set)',
    );
    expect(openai?.headers).toEqual({});
  });

  it('treats an empty variable as unset', () => {
    const openai = compileConfig(file, { OPENAI_API_KEY: '' }).providers.get('openai');
    expect(openai?.unavailable).toMatch(/OPENAI_API_KEY is not set/);
  });

  it('sends the secret as a Bearer authorization header when the variable is set', () => {
    const config = compileConfig(file, { OPENAI_API_KEY: 'sk-test-123', GROQ_API_KEY: 'gsk_9' });
    const openai = config.providers.get('openai');
    expect(openai?.unavailable).toBeUndefined();
    expect(openai?.headers).toEqual({ authorization: 'Bearer sk-test-123' });
    expect(config.providers.get('groq')?.headers).toEqual({ authorization: 'Bearer gsk_9' });
  });

  it('does not leak the secret into the unavailable reason of another provider', () => {
    const config = compileConfig(file, { OPENAI_API_KEY: 'sk-test-123' });
    expect(config.providers.get('groq')?.unavailable).not.toContain('sk-test-123');
    expect(config.providers.get('groq')?.unavailable).toMatch(/GROQ_API_KEY/);
  });

  it('keeps providers with an optional credential available without it', () => {
    const config = compileConfig(file, {});
    expect(config.providers.get('demo')?.unavailable).toBeUndefined();
    expect(config.providers.get('local')?.unavailable).toBeUndefined();
    expect(config.providers.get('local-keyed')?.unavailable).toBeUndefined();
    expect(config.providers.get('local-keyed')?.headers).toEqual({});
    expect(compileConfig(file, { VLLM_KEY: 'k' }).providers.get('local-keyed')?.headers).toEqual({
      authorization: 'Bearer k',
    });
  });

  it('sends no auth header for the mock, whose auth style is none', () => {
    expect(compileConfig(file, { X: 'y' }).providers.get('demo')?.headers).toEqual({});
  });

  it('strips trailing slashes from base_url', () => {
    expect(compileConfig(file, {}).providers.get('local')?.baseUrl).toBe(
      'http://127.0.0.1:8080/v1',
    );
  });

  it('uses the catalog base URL when none is configured', () => {
    const config = compileConfig(file, {});
    expect(config.providers.get('openai')?.baseUrl).toBe('https://api.openai.com/v1');
    expect(config.providers.get('groq')?.baseUrl).toBe(catalog.groq.baseUrl);
    expect(config.providers.get('openai')?.row).toBe(catalog.openai);
  });

  it('shares one provider object between the provider map and its routes', () => {
    const config = compileConfig(file, {});
    expect(config.routes.get('gpt-4o-mini')?.targets[0]?.provider).toBe(
      config.providers.get('openai'),
    );
  });
});

describe('routeUnavailable', () => {
  it('is undefined when the route has a usable provider', () => {
    const route = compileConfig(file, { OPENAI_API_KEY: 'k' }).routes.get('gpt-4o-mini');
    expect(routeUnavailable(route!)).toBeUndefined();
  });

  it("gives the first target's reason when none is usable", () => {
    const route = compileConfig(file, {}).routes.get('gpt-4o-mini');
    expect(routeUnavailable(route!)).toBe(
      'provider "openai" has no credential (OPENAI_API_KEY is not set)',
    );
  });

  it('says so for a route with no targets', () => {
    const template = compileConfig(file, {}).routes.get('demo')!;
    const route: Route = { ...template, name: 'empty', targets: [], usable: [] };
    expect(routeUnavailable(route)).toBe('no targets');
  });
});
