import { describe, expect, it } from 'vitest';
import { compileConfig } from './compile';
import { ConfigError, parseConfig } from './schema';

function provider(config: ReturnType<typeof compileConfig>, id: string) {
  const found = config.providers.get(id);
  if (!found) throw new Error(id);
  return found;
}

describe('provider rows for the new wire formats', () => {
  const config = compileConfig(
    parseConfig({
      providers: [
        { id: 'claude', kind: 'anthropic', api_key_env: 'A' },
        { id: 'gem', kind: 'gemini', api_key_env: 'G' },
        { id: 'az', kind: 'azure', base_url: 'https://res.openai.azure.com/', api_key_env: 'Z' },
        {
          id: 'az2',
          kind: 'azure',
          base_url: 'https://res.openai.azure.com',
          api_key_env: 'Z',
          api_version: '2025-04-01-preview',
        },
      ],
      models: [{ name: 'x', provider: 'claude' }],
    }),
    { A: 'sk-ant', G: 'AIza', Z: 'azkey' },
  );

  it('sends Anthropic its key as x-api-key, with anthropic-version', () => {
    expect(provider(config, 'claude').headers).toEqual({
      'x-api-key': 'sk-ant',
      'anthropic-version': '2023-06-01',
    });
    expect(provider(config, 'claude').baseUrl).toBe('https://api.anthropic.com/v1');
  });

  it('sends Gemini its key as x-goog-api-key, never in the URL', () => {
    expect(provider(config, 'gem').headers).toEqual({ 'x-goog-api-key': 'AIza' });
    expect(provider(config, 'gem').url('/chat/completions', 'm')).not.toContain('AIza');
  });

  it('builds Azure deployment URLs with the api-version, and sends its key as api-key', () => {
    const az = provider(config, 'az');
    expect(az.headers).toEqual({ 'api-key': 'azkey' });
    expect(az.url('/chat/completions', 'my gpt-4o')).toBe(
      'https://res.openai.azure.com/openai/deployments/my%20gpt-4o/chat/completions?api-version=2024-10-21',
    );
    expect(provider(config, 'az2').url('/embeddings', 'emb')).toBe(
      'https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2025-04-01-preview',
    );
  });

  it('refuses an Azure provider without base_url, and api_version on other kinds', () => {
    const bad = (providers: unknown[]) => () =>
      parseConfig({ providers, models: [{ name: 'x', provider: 'p' }] });
    expect(bad([{ id: 'p', kind: 'azure', api_key_env: 'Z' }])).toThrow(
      /providers\[0\]\.base_url: kind "azure" has no default URL/,
    );
    expect(
      bad([{ id: 'p', kind: 'anthropic', api_key_env: 'A', api_version: '2024-10-21' }]),
    ).toThrow(ConfigError);
    expect(
      bad([{ id: 'p', kind: 'anthropic', api_key_env: 'A', api_version: '2024-10-21' }]),
    ).toThrow(/api_version: kind "anthropic" takes no api_version/);
  });

  it('turns a provider off when its key variable is unset', () => {
    const off = compileConfig(
      parseConfig({
        providers: [{ id: 'gem', kind: 'gemini', api_key_env: 'GEMINI_API_KEY' }],
        models: [{ name: 'g', provider: 'gem' }],
      }),
      {},
    );
    expect(provider(off, 'gem').unavailable).toContain('GEMINI_API_KEY is not set');
  });
});
