import { createMockAnthropic } from '../../src/providers/mock/mock-anthropic';
import { createMockGemini } from '../../src/providers/mock/mock-gemini';
import { createMockOpenAI } from '../../src/providers/mock/mock-openai';
import { startUpstream, type UpstreamServer } from '../mocks/upstream-server';
import { startGateway, type RunningGateway } from './gateway';

/**
 * A gateway in front of one mock upstream per wire format (OpenAI, Anthropic, Gemini), each a
 * real HTTP server speaking that provider's documented format, plus the built-in demo model.
 */
export const KEYS = {
  openai: 'sk-openai-upstream-0123456789abcdef0123456789',
  anthropic: 'sk-ant-api03-upstream-0123456789abcdef0123456789',
  gemini: 'AIzaSy-upstream-0123456789abcdef0123456789',
} as const;

/** Public model name → which upstream serves it. */
export const MODELS = {
  'oa-model': 'openai',
  'claude-test': 'anthropic',
  'gemini-test': 'gemini',
  'gemini3-test': 'gemini',
  demo: 'demo',
} as const;

export interface ProviderRig {
  gateway: RunningGateway;
  key: string;
  upstreams: { openai: UpstreamServer; anthropic: UpstreamServer; gemini: UpstreamServer };
  close(): Promise<void>;
}

export async function startProviderRig(): Promise<ProviderRig> {
  const upstreams = {
    openai: await startUpstream(createMockOpenAI()),
    anthropic: await startUpstream(createMockAnthropic()),
    gemini: await startUpstream(createMockGemini()),
  };
  const gateway = await startGateway({
    // One attempt per request and the breaker all but off: these suites check what a
    // translation makes of each upstream reply, failures included.
    config: `
server:
  upstream_timeout_ms: 3000
breaker:
  failures: 1000
  window: 1000
  error_rate: 1
providers:
  - id: oa
    kind: openai-compatible
    base_url: ${upstreams.openai.url}/v1
    api_key_env: TEST_OPENAI_KEY
  - id: an
    kind: anthropic
    base_url: ${upstreams.anthropic.url}/v1
    api_key_env: TEST_ANTHROPIC_KEY
  - id: ge
    kind: gemini
    base_url: ${upstreams.gemini.url}/v1beta
    api_key_env: TEST_GEMINI_KEY
  - id: demo
    kind: mock
models:
  - name: oa-model
    provider: oa
    model: upstream-model
    retry: { retries: 0 }
  - name: claude-test
    provider: an
    model: claude-sonnet-4-5
    retry: { retries: 0 }
  - name: claude-sonnet-4-5
    provider: an
    retry: { retries: 0 }
  - name: gemini-test
    provider: ge
    model: gemini-2.5-flash
    retry: { retries: 0 }
  - name: gemini3-test
    provider: ge
    model: gemini-3-pro-preview
    retry: { retries: 0 }
  - name: demo
    provider: demo
    model: demo-1
    retry: { retries: 0 }
`,
    env: {
      TEST_OPENAI_KEY: KEYS.openai,
      TEST_ANTHROPIC_KEY: KEYS.anthropic,
      TEST_GEMINI_KEY: KEYS.gemini,
    },
  });
  const key = (await gateway.createKey({ name: 'rig', models: ['*'] })).key;
  return {
    gateway,
    key,
    upstreams,
    async close() {
      await gateway.stop();
      await Promise.all(Object.values(upstreams).map((u) => u.close()));
    },
  };
}

export function lastBody(upstream: UpstreamServer): Record<string, unknown> {
  const last = upstream.requests.at(-1);
  if (!last) throw new Error('the upstream saw no request');
  return JSON.parse(last.body) as Record<string, unknown>;
}

/** A 1×1 PNG, base64. */
export const PIXEL_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** OpenAI-format tools the tests offer: one with required arguments, one with none. */
export const weather = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};
export const clock = {
  type: 'function' as const,
  function: { name: 'get_time', parameters: { type: 'object', properties: {} } },
};
