import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './schema';

const valid = {
  server: { max_body_bytes: 1024, upstream_timeout_ms: 5000 },
  providers: [
    { id: 'demo', kind: 'mock' },
    { id: 'openai', kind: 'openai', api_key_env: 'OPENAI_API_KEY' },
    { id: 'local', kind: 'openai-compatible', base_url: 'http://127.0.0.1:8080/v1/' },
  ],
  models: [
    { name: 'demo', provider: 'demo', model: 'demo-1' },
    { name: 'gpt-4o-mini', provider: 'openai' },
    { name: 'llama', provider: 'local', model: 'llama-3.1-8b' },
  ],
};

/** A deep copy of the valid config with one change applied. */
function withChange(change: (config: typeof valid) => void): unknown {
  const copy = structuredClone(valid);
  change(copy);
  return copy;
}

function issues(document: unknown): string[] {
  try {
    parseConfig(document);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected parseConfig to throw');
}

describe('parseConfig', () => {
  it('accepts a valid config and returns its values', () => {
    const config = parseConfig(valid);
    expect(config.server).toMatchObject({ max_body_bytes: 1024, upstream_timeout_ms: 5000 });
    expect(config.providers.map((p) => p.id)).toEqual(['demo', 'openai', 'local']);
    expect(config.models[2]).toMatchObject({
      name: 'llama',
      provider: 'local',
      model: 'llama-3.1-8b',
    });
  });

  it('fills server defaults when server is absent or partial', () => {
    const { server: _server, ...noServer } = valid;
    expect(parseConfig(noServer).server).toEqual({
      max_body_bytes: 20 * 1024 * 1024,
      upstream_timeout_ms: 600_000,
      connect_timeout_ms: 10_000,
    });
    expect(parseConfig({ ...valid, server: { upstream_timeout_ms: 10 } }).server).toEqual({
      max_body_bytes: 20 * 1024 * 1024,
      upstream_timeout_ms: 10,
      connect_timeout_ms: 10_000,
    });
  });

  it('names the model path when a model uses an unknown provider', () => {
    const found = issues(withChange((c) => (c.models[0]!.provider = 'nope')));
    expect(found).toEqual([
      'models[0].provider: unknown provider "nope"; declared: demo, openai, local',
    ]);
  });

  it('reports duplicate provider ids at the later entry', () => {
    const found = issues(
      withChange((c) => c.providers.push({ id: 'openai', kind: 'groq', api_key_env: 'GROQ' })),
    );
    expect(found).toEqual(['providers[3].id: duplicate provider id "openai"']);
  });

  it('reports duplicate model names at the later entry', () => {
    const found = issues(withChange((c) => c.models.push({ name: 'demo', provider: 'openai' })));
    expect(found).toEqual(['models[3].name: duplicate model name "demo"']);
  });

  it('requires base_url for kind openai-compatible', () => {
    const found = issues(withChange((c) => delete c.providers[2]!.base_url));
    expect(found).toEqual([
      'providers[2].base_url: kind "openai-compatible" has no default URL: base_url is required',
    ]);
  });

  it('requires api_key_env for kind openai', () => {
    const found = issues(withChange((c) => delete c.providers[1]!.api_key_env));
    expect(found).toEqual([
      'providers[1].api_key_env: kind "openai" needs a credential: name its environment variable',
    ]);
  });

  it('does not require api_key_env for local kinds', () => {
    expect(() =>
      parseConfig(withChange((c) => c.providers.push({ id: 'v', kind: 'vllm' }))),
    ).not.toThrow();
  });

  it('rejects a base_url that is not an http(s) URL', () => {
    expect(issues(withChange((c) => (c.providers[2]!.base_url = 'not a url')))).toEqual([
      'providers[2].base_url: must be an http(s) URL',
    ]);
    expect(
      issues(withChange((c) => (c.providers[2]!.base_url = 'ftp://files.example/v1'))),
    ).toEqual(['providers[2].base_url: must be an http(s) URL']);
  });

  it('rejects an unknown provider kind, listing the known ones', () => {
    const found = issues(withChange((c) => (c.providers[0]!.kind = 'skynet')));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(
      /^providers\[0\]\.kind: unknown provider kind "skynet"; one of: mock, openai, /,
    );
  });

  it('rejects an api_key_env that looks like a secret rather than a variable name', () => {
    const found = issues(withChange((c) => (c.providers[1]!.api_key_env = 'sk-proj-abc123')));
    expect(found).toEqual([
      'providers[1].api_key_env: must be the NAME of an environment variable',
    ]);
  });

  it('rejects a provider id with upper case or spaces', () => {
    const found = issues(
      withChange((c) => {
        c.providers[0]!.id = 'My Demo';
        c.models[0]!.provider = 'My Demo';
      }),
    );
    expect(found[0]).toBe('providers[0].id: use lowercase letters, digits, "_", "." or "-"');
  });

  it('rejects an unknown top-level field', () => {
    const found = issues({ ...valid, extra: true });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^\(root\): .*"extra"/);
  });

  it('rejects an unknown field inside a provider and a model', () => {
    const found = issues(
      withChange((c) => {
        Object.assign(c.providers[0]!, { api_key: 'sk-inline' });
        Object.assign(c.models[1]!, { alias: 'x' });
      }),
    );
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^providers\[0\]: .*"api_key"/);
    expect(found[1]).toMatch(/^models\[1\]: .*"alias"/);
  });

  it('requires at least one provider and one model', () => {
    const found = issues({ providers: [], models: [] });
    expect(found.map((issue) => issue.split(':')[0])).toEqual(['providers', 'models']);
  });

  it('rejects a non-positive or fractional server setting', () => {
    const found = issues({ ...valid, server: { max_body_bytes: 0, upstream_timeout_ms: 1.5 } });
    expect(found.map((issue) => issue.split(':')[0])).toEqual([
      'server.max_body_bytes',
      'server.upstream_timeout_ms',
    ]);
  });

  it('reports every problem at once, in a ConfigError message', () => {
    const document = withChange((c) => {
      delete c.providers[1]!.api_key_env;
      c.models[1]!.provider = 'missing';
    });
    expect(() => parseConfig(document)).toThrow(
      /^invalid config:\n {2}providers\[1\]\.api_key_env: .*\n {2}models\[1\]\.provider: unknown provider "missing"/,
    );
  });

  it('rejects a document that is not an object', () => {
    expect(issues(null)).toHaveLength(1);
    expect(issues('providers: []')[0]).toMatch(/^\(root\): /);
  });
});
