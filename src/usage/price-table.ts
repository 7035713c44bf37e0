/**
 * Prices of current models, USD per million tokens, as the providers publish them (standard
 * tier, short-context rates; checked 2026-12). Columns: input, cached input (cache read),
 * cache write, output. Where a provider has no separate cache write price the input price is
 * used (OpenAI, Google: writing the cache costs nothing extra). Keyed by the model id the
 * provider is sent; dated snapshots ("-2025-08-07", "-20250929") and "-latest" fall back to
 * the base id. Any model can be priced, or re-priced, per model in the config (README "Prices").
 */
export type PriceRow = readonly [
  input: number,
  cachedInput: number,
  cacheWrite: number,
  output: number,
];

export const priceTable: Readonly<Record<string, PriceRow>> = {
  // OpenAI — https://developers.openai.com/api/docs/pricing
  'gpt-5.5': [5, 0.5, 5, 30],
  'gpt-5.4': [2.5, 0.25, 2.5, 15],
  'gpt-5.4-mini': [0.75, 0.075, 0.75, 4.5],
  'gpt-5.4-nano': [0.2, 0.02, 0.2, 1.25],
  'gpt-5': [1.25, 0.125, 1.25, 10],
  'gpt-5-mini': [0.25, 0.025, 0.25, 2],
  'gpt-5-nano': [0.05, 0.005, 0.05, 0.4],
  'gpt-4.1': [2, 0.5, 2, 8],
  'gpt-4.1-mini': [0.4, 0.1, 0.4, 1.6],
  'gpt-4.1-nano': [0.1, 0.025, 0.1, 0.4],
  'gpt-4o': [2.5, 1.25, 2.5, 10],
  'gpt-4o-mini': [0.15, 0.075, 0.15, 0.6],
  o3: [2, 0.5, 2, 8],
  'o4-mini': [1.1, 0.275, 1.1, 4.4],
  'text-embedding-3-small': [0.02, 0.02, 0.02, 0],
  'text-embedding-3-large': [0.13, 0.13, 0.13, 0],

  // Anthropic — https://platform.claude.com/docs/en/about-claude/pricing (5-minute cache writes)
  'claude-fable-5-1': [10, 0.25, 12.5, 50],
  'claude-opus-5': [5, 0.5, 6.25, 25],
  'claude-opus-4-8': [5, 0.5, 6.25, 25],
  'claude-opus-4-7': [5, 0.5, 6.25, 25],
  'claude-opus-4-6': [5, 0.5, 6.25, 25],
  'claude-opus-4-5': [5, 0.5, 6.25, 25],
  'claude-opus-4-1': [15, 1.5, 18.75, 75],
  'claude-sonnet-5-5': [2, 0.1, 2.5, 10],
  'claude-sonnet-5': [2, 0.2, 2.5, 10],
  'claude-sonnet-4-6': [3, 0.3, 3.75, 15],
  'claude-sonnet-4-5': [3, 0.3, 3.75, 15],
  'claude-sonnet-4': [3, 0.3, 3.75, 15],
  'claude-haiku-5-5': [0.1, 0.01, 0.125, 0.5],
  'claude-haiku-4-5': [1, 0.1, 1.25, 5],
  'claude-3-5-haiku': [0.8, 0.08, 1, 4],

  // Google Gemini — https://ai.google.dev/gemini-api/docs/pricing (prompts up to 200k tokens)
  'gemini-3-pro-preview': [2, 0.2, 2, 12],
  'gemini-3-flash-preview': [0.5, 0.05, 0.5, 3],
  'gemini-2.5-pro': [1.25, 0.125, 1.25, 10],
  'gemini-2.5-flash': [0.3, 0.03, 0.3, 2.5],
  'gemini-2.5-flash-lite': [0.1, 0.01, 0.1, 0.4],
  'gemini-2.0-flash': [0.1, 0.025, 0.1, 0.4],

  // Mistral — https://mistral.ai/pricing#api-pricing
  'mistral-large': [0.5, 0.5, 0.5, 1.5],
  'mistral-medium': [0.4, 0.4, 0.4, 2],
  'mistral-small': [0.1, 0.1, 0.1, 0.3],
  codestral: [0.3, 0.3, 0.3, 0.9],
  'ministral-8b': [0.1, 0.1, 0.1, 0.1],
  'mistral-embed': [0.1, 0.1, 0.1, 0],

  // DeepSeek — https://api-docs.deepseek.com/quick_start/pricing (cache hit, cache miss)
  'deepseek-chat': [0.27, 0.07, 0.27, 1.1],
  'deepseek-reasoner': [0.55, 0.14, 0.55, 2.19],

  // xAI — https://docs.x.ai/docs/models
  'grok-4': [3, 0.75, 3, 15],
  'grok-3-mini': [0.3, 0.075, 0.3, 0.5],

  // Groq — https://groq.com/pricing
  'llama-3.3-70b-versatile': [0.59, 0.59, 0.59, 0.79],
  'llama-3.1-8b-instant': [0.05, 0.05, 0.05, 0.08],
};
