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

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;
}

/** From OpenAI's `usage` object (chat: prompt/completion tokens; embeddings: prompt tokens). */
export function usageFromOpenAI(usage: unknown): TokenUsage | undefined {
  if (!isObject(usage)) return undefined;
  const prompt = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completion = isObject(usage.completion_tokens_details)
    ? usage.completion_tokens_details
    : {};
  return {
    inputTokens: count(usage.prompt_tokens),
    outputTokens: count(usage.completion_tokens),
    cachedInputTokens: count(prompt.cached_tokens),
    cacheWriteTokens: count(prompt.cache_write_tokens),
    reasoningTokens: count(completion.reasoning_tokens),
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
