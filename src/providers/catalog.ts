/**
 * Providers as data (DESIGN §3). A row says how to reach one kind of provider: its wire format,
 * default base URL and how the credential travels. Code exists once per wire format; a new
 * OpenAI-compatible provider is a new row, never a new branch.
 */
export type WireFormat = 'openai' | 'anthropic' | 'gemini';

/** How the credential travels: `Authorization: Bearer`, a named header (x-api-key, x-goog-api-key, api-key), or not at all. */
export type AuthStyle = { type: 'bearer' } | { type: 'header'; name: string } | { type: 'none' };

/**
 * Where an operation's URL comes from. `base`: base URL + operation path (OpenAI style).
 * `azure-deployment`: `{base}/openai/deployments/{model}{path}?api-version=…`, the model
 * being the deployment name. Anthropic and Gemini URLs are built by their translators.
 */
export type EndpointStyle = { type: 'base' } | { type: 'azure-deployment'; apiVersion: string };

export interface CatalogRow {
  format: WireFormat;
  label: string;
  /** Default base URL; rows without one need `base_url` in the config. */
  baseUrl?: string;
  auth: AuthStyle;
  /** Whether a provider of this kind can work without a credential (local servers). */
  credential: 'required' | 'optional';
  /**
   * How a stream reports usage: `stream_options` means the server honours
   * `stream_options.include_usage` (so Vidai asks for it); `always` means it sends usage in its
   * last chunk unasked and rejects or ignores the option.
   */
  streamUsage: 'stream_options' | 'always';
  /** Built into the gateway, served in-process (the demo model). */
  builtin?: 'mock-openai';
  /** Headers sent on every request to this kind of provider (e.g. `anthropic-version`). */
  headers?: Readonly<Record<string, string>>;
  endpoint?: EndpointStyle;
  /**
   * The field a translated request carries its output limit in, for OpenAI-format rows:
   * OpenAI's own API wants `max_completion_tokens` (reasoning models refuse `max_tokens`);
   * most compatible servers know only `max_tokens`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
  /** Anthropic requires `max_tokens`: used when the caller sent no limit. */
  defaultMaxTokens?: number;
}

const openaiCompatible = {
  format: 'openai',
  auth: { type: 'bearer' },
  credential: 'required',
  streamUsage: 'stream_options',
} as const;

export const catalog = {
  mock: {
    ...openaiCompatible,
    label: 'Vidai built-in mock (no credential, canned text)',
    baseUrl: 'http://vidai.mock/v1',
    auth: { type: 'none' },
    credential: 'optional',
    builtin: 'mock-openai',
  },
  openai: {
    ...openaiCompatible,
    label: 'OpenAI',
    baseUrl: 'https://api.openai.com/v1',
    maxTokensField: 'max_completion_tokens',
  },
  // https://learn.microsoft.com/azure/ai-foundry/openai/reference
  azure: {
    ...openaiCompatible,
    label: 'Azure OpenAI (base_url https://<resource>.openai.azure.com; model = deployment name)',
    auth: { type: 'header', name: 'api-key' },
    endpoint: { type: 'azure-deployment', apiVersion: '2024-10-21' },
    maxTokensField: 'max_completion_tokens',
  },
  // https://docs.anthropic.com/en/api/messages
  anthropic: {
    format: 'anthropic',
    label: 'Anthropic',
    baseUrl: 'https://api.anthropic.com/v1',
    auth: { type: 'header', name: 'x-api-key' },
    headers: { 'anthropic-version': '2023-06-01' },
    credential: 'required',
    streamUsage: 'always',
    defaultMaxTokens: 4096,
  },
  // https://ai.google.dev/api/generate-content
  gemini: {
    format: 'gemini',
    label: 'Google Gemini (Generative Language API, API key)',
    baseUrl: 'https://generativelanguage.googleapis.com/v1beta',
    auth: { type: 'header', name: 'x-goog-api-key' },
    credential: 'required',
    streamUsage: 'always',
  },
  'openai-compatible': {
    ...openaiCompatible,
    label: 'Any OpenAI-compatible server (base_url required)',
    credential: 'optional',
  },
  vllm: {
    ...openaiCompatible,
    label: 'vLLM',
    baseUrl: 'http://127.0.0.1:8000/v1',
    credential: 'optional',
  },
  ollama: {
    ...openaiCompatible,
    label: 'Ollama',
    baseUrl: 'http://127.0.0.1:11434/v1',
    credential: 'optional',
  },
  groq: { ...openaiCompatible, label: 'Groq', baseUrl: 'https://api.groq.com/openai/v1' },
  mistral: {
    ...openaiCompatible,
    label: 'Mistral',
    baseUrl: 'https://api.mistral.ai/v1',
    streamUsage: 'always',
  },
  deepseek: { ...openaiCompatible, label: 'DeepSeek', baseUrl: 'https://api.deepseek.com/v1' },
  together: { ...openaiCompatible, label: 'Together AI', baseUrl: 'https://api.together.xyz/v1' },
  openrouter: { ...openaiCompatible, label: 'OpenRouter', baseUrl: 'https://openrouter.ai/api/v1' },
  xai: { ...openaiCompatible, label: 'xAI', baseUrl: 'https://api.x.ai/v1' },
  fireworks: {
    ...openaiCompatible,
    label: 'Fireworks AI',
    baseUrl: 'https://api.fireworks.ai/inference/v1',
  },
} as const satisfies Record<string, CatalogRow>;

export type ProviderKind = keyof typeof catalog;
export const providerKinds = Object.keys(catalog) as [ProviderKind, ...ProviderKind[]];

export function catalogRow(kind: ProviderKind): CatalogRow {
  return catalog[kind];
}
