import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { usageFromOpenAI, usageFromOpenAIBody, type TokenUsage } from './usage';
import { anthropicUsage } from '../providers/translators/openai-to-anthropic';
import { geminiUsage } from '../providers/translators/openai-to-gemini';

/** What the fast path must agree with: the usage of the fully parsed body. */
function slow(text: string): TokenUsage | undefined {
  try {
    const body = JSON.parse(text) as { usage?: unknown } | null;
    return usageFromOpenAI(body?.usage);
  } catch {
    return undefined;
  }
}

function chatBody(content: unknown, usage: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1735689600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    ...extra,
    usage,
  });
}

const fullUsage = {
  prompt_tokens: 1200,
  completion_tokens: 300,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0 },
};

describe('usageFromOpenAI', () => {
  it('maps prompt, completion, cached and reasoning tokens', () => {
    expect(usageFromOpenAI(fullUsage)).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cachedInputTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 256,
    });
  });

  it('maps cache_write_tokens when present', () => {
    expect(
      usageFromOpenAI({ prompt_tokens: 10, prompt_tokens_details: { cache_write_tokens: 6 } }),
    ).toEqual({
      inputTokens: 10,
      outputTokens: 0,
      cachedInputTokens: 0,
      cacheWriteTokens: 6,
      reasoningTokens: 0,
    });
  });

  it('reads an embeddings usage with prompt tokens only', () => {
    expect(usageFromOpenAI({ prompt_tokens: 8, total_tokens: 8 })?.inputTokens).toBe(8);
  });

  it('returns undefined for anything that is not an object', () => {
    for (const value of [null, undefined, 3, 'usage', [1, 2], true]) {
      expect(usageFromOpenAI(value)).toBeUndefined();
    }
  });

  it('rounds fractional counts down and takes absent details as 0', () => {
    expect(
      usageFromOpenAI({
        prompt_tokens: 5,
        completion_tokens: 2.9,
        prompt_tokens_details: null,
        completion_tokens_details: { reasoning_tokens: null },
      }),
    ).toEqual({
      inputTokens: 5,
      outputTokens: 2,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
    });
  });

  it.each([
    { prompt_tokens: -5, completion_tokens: 'lots' },
    { prompt_tokens: -5, completion_tokens: 2 },
    { prompt_tokens: 5, completion_tokens: 'lots' },
    { completion_tokens: 3 },
    { prompt_tokens: 5, completion_tokens: Infinity },
    { prompt_tokens: 5, prompt_tokens_details: { cached_tokens: '7' } },
    { prompt_tokens: 5, completion_tokens_details: { reasoning_tokens: -1 } },
  ])('takes usage that is not counts (%j) as no usage, to be estimated', (usage) => {
    expect(usageFromOpenAI(usage)).toBeUndefined();
  });
});

describe('usageFromOpenAIBody', () => {
  it('reads usage at the end of a chat completion, cached and reasoning tokens included', () => {
    const body = chatBody('Hello!', fullUsage);
    expect(usageFromOpenAIBody(body)).toEqual({
      inputTokens: 1200,
      outputTokens: 300,
      cachedInputTokens: 1024,
      cacheWriteTokens: 0,
      reasoningTokens: 256,
    });
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
  });

  it('reads usage followed by service_tier and system_fingerprint, as OpenAI sends it', () => {
    const body = chatBody('Hi', fullUsage).replace(
      /}$/,
      ',"service_tier":"default","system_fingerprint":"fp_1"}',
    );
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.inputTokens).toBe(1200);
  });

  it('returns undefined for "usage": null', () => {
    const body = chatBody('Hello!', null);
    expect(usageFromOpenAIBody(body)).toBeUndefined();
    expect(slow(body)).toBeUndefined();
  });

  it('returns undefined for a body without usage', () => {
    expect(usageFromOpenAIBody('{"id":"x","choices":[]}')).toBeUndefined();
  });

  it('returns undefined for a body that is not JSON', () => {
    expect(usageFromOpenAIBody('<html>"usage" bad gateway</html>')).toBeUndefined();
  });

  it('is not fooled by braces and a usage key inside a string', () => {
    const body = chatBody('{"usage": 1} and } and {', { prompt_tokens: 3, completion_tokens: 4 });
    expect(body).toContain('{\\"usage\\": 1}');
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.outputTokens).toBe(4);
  });

  it('handles escaped quotes and backslashes in strings', () => {
    const content = 'say \\"hi\\" and "usage" then \\ and \\\\" {';
    const body = chatBody(content, { prompt_tokens: 11, completion_tokens: 12 });
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.inputTokens).toBe(11);
  });

  it('reads the top-level usage when a string value "usage" comes after it', () => {
    const body = JSON.stringify({
      usage: { prompt_tokens: 5, completion_tokens: 6 },
      choices: [{ message: { content: 'usage' } }],
    });
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.inputTokens).toBe(5);
  });

  it('falls back to a full parse when the last usage key counts nothing', () => {
    const body = JSON.stringify({
      usage: { prompt_tokens: 5, completion_tokens: 6 },
      metadata: { usage: {} },
    });
    expect(usageFromOpenAIBody(body)?.inputTokens).toBe(5);
  });

  it('reads a pretty-printed body', () => {
    const body = JSON.stringify(JSON.parse(chatBody('x', fullUsage)), null, 2);
    expect(body).toContain('"usage": {\n');
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.cachedInputTokens).toBe(1024);
  });

  it('reads an embeddings body', () => {
    const body = JSON.stringify({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2] }],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(usageFromOpenAIBody(body)).toEqual(slow(body));
    expect(usageFromOpenAIBody(body)?.inputTokens).toBe(8);
  });

  it('agrees with a full parse for any content when usage comes last (property)', () => {
    const count = fc.nat({ max: 100_000 });
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 60 }),
        fc.option(
          fc.record({
            prompt_tokens: count,
            completion_tokens: count,
            prompt_tokens_details: fc.record({ cached_tokens: count }),
            completion_tokens_details: fc.record({ reasoning_tokens: count }),
          }),
          { nil: null },
        ),
        fc.jsonValue({ maxDepth: 2 }),
        (content, usage, metadata) => {
          const body = chatBody(content, usage, { metadata });
          expect(usageFromOpenAIBody(body)).toEqual(slow(body));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('Anthropic and Gemini usage', () => {
  it('reads valid counts', () => {
    expect(
      anthropicUsage({ input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 2 }),
    ).toMatchObject({ prompt_tokens: 5, completion_tokens: 4 });
    expect(geminiUsage({ promptTokenCount: 3 })).toMatchObject({
      prompt_tokens: 3,
      completion_tokens: 0,
    });
  });

  it.each([
    { input_tokens: -5, output_tokens: 'lots' },
    { input_tokens: 5 },
    { input_tokens: 5, output_tokens: 2, cache_read_input_tokens: -1 },
  ])('takes Anthropic usage that is not counts (%j) as none', (usage) => {
    expect(anthropicUsage(usage)).toBeUndefined();
  });

  it.each([
    { promptTokenCount: -5, candidatesTokenCount: 'lots' },
    { candidatesTokenCount: 2 },
    { promptTokenCount: 5, thoughtsTokenCount: '3' },
  ])('takes Gemini usage that is not counts (%j) as none', (usage) => {
    expect(geminiUsage(usage)).toBeUndefined();
  });
});
