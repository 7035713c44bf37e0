import { describe, expect, it } from 'vitest';
import { costOf, maxPrice, tablePrice, type Price } from './cost';
import { estimateTokens } from './estimate';
import { priceTable } from './price-table';
import { usageFromOpenAI, type TokenUsage } from './usage';

const sonnet: Price = { input: 3, cachedInput: 0.3, cacheWrite: 3.75, output: 15 };

function usage(partial: Partial<TokenUsage>): TokenUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    reasoningTokens: 0,
    ...partial,
  };
}

describe('cost', () => {
  it('prices each input token once: uncached at input, cached at cache read, written at cache write', () => {
    // 10,000 input tokens of which 6,000 read from the cache and 3,000 written to it.
    const cost = costOf(
      usage({
        inputTokens: 10_000,
        cachedInputTokens: 6_000,
        cacheWriteTokens: 3_000,
        outputTokens: 500,
      }),
      sonnet,
    );
    const expected = (1_000 * 3 + 6_000 * 0.3 + 3_000 * 3.75 + 500 * 15) / 1e6;
    expect(cost).toBeCloseTo(expected, 12);
    expect(cost).toBeCloseTo(0.02355, 12);
  });

  it('counts reasoning tokens once, as the output tokens they are part of', () => {
    const plain = costOf(usage({ inputTokens: 100, outputTokens: 1_000 }), sonnet);
    const reasoning = costOf(
      usage({ inputTokens: 100, outputTokens: 1_000, reasoningTokens: 800 }),
      sonnet,
    );
    expect(reasoning).toBe(plain);
  });

  it('never prices more cached tokens than there are input tokens', () => {
    const cost = costOf(
      usage({ inputTokens: 100, cachedInputTokens: 500, cacheWriteTokens: 50 }),
      sonnet,
    );
    expect(cost).toBeCloseTo((100 * 0.3) / 1e6, 15);
  });

  it('prices OpenAI usage with cached prompt tokens from the wire format', () => {
    const wire = usageFromOpenAI({
      prompt_tokens: 2_006,
      completion_tokens: 300,
      prompt_tokens_details: { cached_tokens: 1_920 },
      completion_tokens_details: { reasoning_tokens: 128 },
    });
    const cost = costOf(wire!, tablePrice('gpt-4o-2024-08-06')!);
    expect(cost).toBeCloseTo((86 * 2.5 + 1_920 * 1.25 + 300 * 10) / 1e6, 12);
  });

  it('finds table prices for dated snapshots, -latest aliases and vendor-prefixed ids', () => {
    expect(tablePrice('claude-sonnet-4-5-20250929')).toEqual(sonnet);
    expect(tablePrice('mistral-large-latest')?.output).toBe(1.5);
    expect(tablePrice('openai/gpt-4o-mini')?.input).toBe(0.15);
    expect(tablePrice('no-such-model')).toBeUndefined();
  });

  it('ships current models of OpenAI, Anthropic, Google, Mistral and others, each row sane', () => {
    for (const prefix of ['gpt-', 'claude-', 'gemini-', 'mistral-', 'deepseek-', 'grok-']) {
      expect(Object.keys(priceTable).some((id) => id.startsWith(prefix))).toBe(true);
    }
    for (const [id, [input, cached, write, output]] of Object.entries(priceTable)) {
      expect(cached, id).toBeLessThanOrEqual(input);
      expect(write, id).toBeGreaterThanOrEqual(input);
      expect(Math.min(input, output), id).toBeGreaterThanOrEqual(0);
    }
  });

  it('takes the dearest price column by column for a route with several targets', () => {
    const cheap: Price = { input: 1, cachedInput: 0.5, cacheWrite: 1, output: 20 };
    expect(maxPrice([sonnet, undefined, cheap])).toEqual({
      ...sonnet,
      cachedInput: 0.5,
      output: 20,
    });
    expect(maxPrice([undefined])).toBeUndefined();
  });
});

describe('estimate', () => {
  it('reserves the prompt at four characters a token plus max_tokens (or the default) times n', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    const raw = JSON.stringify(body);
    expect(estimateTokens('chat', body, raw, 4096)).toEqual({
      input: Math.ceil(raw.length / 4),
      output: 4096,
    });
    expect(estimateTokens('chat', { ...body, max_tokens: 50, n: 3 }, raw, 4096).output).toBe(150);
    expect(estimateTokens('chat', { ...body, max_completion_tokens: 70 }, raw, 4096).output).toBe(
      70,
    );
  });

  it('counts an inline image as a flat number of tokens, not as its base64 text', () => {
    const image = `data:image/png;base64,${'A'.repeat(400_000)}`;
    const body = {
      model: 'm',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this?' },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
    };
    const { input } = estimateTokens('chat', body, JSON.stringify(body), 10);
    expect(input).toBeGreaterThan(1000);
    expect(input).toBeLessThan(1100);
  });

  it('reserves no output for embeddings', () => {
    expect(estimateTokens('embeddings', { input: 'hello' }, '{"input":"hello"}', 4096).output).toBe(
      0,
    );
  });
});
