/**
 * The one gateway config every conformance suite runs against, on both runtimes: an
 * OpenAI-compatible upstream (`up`, also reached as `oa` with another credential), Anthropic,
 * Gemini, an unreachable provider and the built-in demo. Only the upstreams' base URLs differ
 * by runtime. Retries are off where a suite checks what one upstream reply becomes, and the
 * breaker is all but off, so suites can fail an upstream many times in a row.
 */
export interface UpstreamUrls {
  openai: string;
  anthropic: string;
  gemini: string;
  /** Where nothing answers. */
  dead: string;
}

export const UPSTREAM_SECRET = 'sk-upstream-secret-ABCDEF0123456789abcdef0123456789';

/** The upstream credentials, by the variable the config names (Node: env; Worker: secrets). */
export const KEYS = {
  openai: 'sk-openai-upstream-0123456789abcdef0123456789',
  anthropic: 'sk-ant-api03-upstream-0123456789abcdef0123456789',
  gemini: 'AIzaSy-upstream-0123456789abcdef0123456789',
} as const;

export const CONFORMANCE_ENV: Record<string, string> = {
  TEST_UPSTREAM_KEY: UPSTREAM_SECRET,
  TEST_OPENAI_KEY: KEYS.openai,
  TEST_ANTHROPIC_KEY: KEYS.anthropic,
  TEST_GEMINI_KEY: KEYS.gemini,
};

/** Every model the config serves, sorted (what a key for all models lists). */
export const CONFORMANCE_MODELS = [
  'claude-sonnet-4-5',
  'claude-test',
  'dead',
  'demo',
  'embed-test',
  'gemini-test',
  'gemini3-test',
  'gpt-priced',
  'gpt-test',
  'oa-model',
  'same-name',
];

/** gpt-priced costs $1,000 per million output tokens ($0.001 a token), and nothing for input. */
export const OUTPUT_USD_PER_TOKEN = 0.001;

export function conformanceConfig(urls: UpstreamUrls): string {
  return `
server:
  upstream_timeout_ms: 2000
  max_body_bytes: 65536
breaker:
  failures: 1000
  window: 1000
  error_rate: 1
providers:
  - id: up
    kind: openai-compatible
    base_url: ${urls.openai}/v1
    api_key_env: TEST_UPSTREAM_KEY
  - id: oa
    kind: openai-compatible
    base_url: ${urls.openai}/v1
    api_key_env: TEST_OPENAI_KEY
  - id: an
    kind: anthropic
    base_url: ${urls.anthropic}/v1
    api_key_env: TEST_ANTHROPIC_KEY
  - id: ge
    kind: gemini
    base_url: ${urls.gemini}/v1beta
    api_key_env: TEST_GEMINI_KEY
  - id: dead
    kind: openai-compatible
    base_url: ${urls.dead}/v1
  - id: demo
    kind: mock
models:
  - name: gpt-test
    provider: up
    model: upstream-model
  - name: gpt-priced
    provider: up
    model: upstream-model
    price: { input: 0, output: 1000 }
  - name: same-name
    provider: up
  - name: embed-test
    provider: up
    model: upstream-embedding
  - name: dead
    provider: dead
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
`;
}
