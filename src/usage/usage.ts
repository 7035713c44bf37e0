import { isObject, parseObjectAt } from '../util/json';

/**
 * Token usage in one shape for every provider. `inputTokens` counts all input tokens, cached
 * and cache-written ones included; `cachedInputTokens` and `cacheWriteTokens` say how many of
 * them were read from or written to a prompt cache, so each input token is priced exactly once.
 */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

/** No tokens used: a request refused before any model call, or a token count (it is free). */
export const NO_TOKENS: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
};

/**
 * Token counts as a provider reported them, or undefined if any is not a count (negative, not
 * a number): usage that cannot be trusted is treated as missing, so the record is an estimate
 * rather than free. `required` counts must be present; the others may be absent (or null): 0.
 */
export function readCounts<K extends string>(
  source: Record<string, unknown>,
  required: readonly K[],
  optional: readonly K[] = [],
): Record<K, number> | undefined {
  const out = {} as Record<K, number>;
  for (const name of required) {
    const value = source[name];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
    out[name] = Math.floor(value);
  }
  for (const name of optional) {
    const value = source[name];
    if (value === undefined || value === null) out[name] = 0;
    else if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
    else out[name] = Math.floor(value);
  }
  return out;
}

/** From OpenAI's `usage` object (chat: prompt/completion tokens; embeddings: prompt tokens). */
export function usageFromOpenAI(usage: unknown): TokenUsage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isObject(usage.completion_tokens_details)
    ? usage.completion_tokens_details
    : {};
  const top = readCounts(usage, ['prompt_tokens'], ['completion_tokens']);
  const cache = readCounts(prompt, [], ['cached_tokens', 'cache_write_tokens']);
  const reasoning = readCounts(completion, [], ['reasoning_tokens']);
  if (top === undefined || cache === undefined || reasoning === undefined) return undefined;
  return {
    inputTokens: top.prompt_tokens,
    outputTokens: top.completion_tokens,
    cachedInputTokens: cache.cached_tokens,
    cacheWriteTokens: cache.cache_write_tokens,
    reasoningTokens: reasoning.reasoning_tokens,
  };
}

/**
 * The usage of an OpenAI JSON response, read without parsing the whole body: OpenAI puts
 * `usage` last, so the last `"usage"` key is the top-level one in practice; a body where that
 * is not so falls back to a full parse.
 */
export function usageFromOpenAIBody(text: string): TokenUsage | undefined {
  const at = text.lastIndexOf('"usage"');
  if (at === -1) return undefined;
  const fast = usageFromOpenAI(parseObjectAt(text, at + 7));
  if (fast && (fast.inputTokens > 0 || fast.outputTokens > 0)) return fast;
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? usageFromOpenAI(parsed.usage) : undefined;
  } catch {
    return undefined;
  }
}
