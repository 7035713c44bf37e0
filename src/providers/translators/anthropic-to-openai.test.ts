import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors/gateway-error';
import { anthropicMessage, hubRequest } from './anthropic-to-openai';
import { estimateInputTokens } from './estimate-tokens';

describe('Anthropic request → hub', () => {
  it('turns tool results into tool messages, with images they returned after them as user content', () => {
    const hub = hubRequest({
      model: 'm',
      max_tokens: 100,
      system: [
        { type: 'text', text: 'One.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Two.' },
      ],
      messages: [
        { role: 'user', content: 'Screenshot please' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'private', signature: 's' },
            { type: 'tool_use', id: 'toolu_1', name: 'shot', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_1',
              is_error: true,
              content: [
                { type: 'text', text: 'partial' },
                {
                  type: 'image',
                  source: { type: 'base64', media_type: 'image/png', data: 'AAAA' },
                },
              ],
            },
            { type: 'text', text: 'What do you see?' },
          ],
        },
      ],
    });
    expect(hub.messages).toEqual([
      { role: 'system', content: 'One.' },
      { role: 'system', content: 'Two.' },
      { role: 'user', content: [{ type: 'text', text: 'Screenshot please' }] },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'shot', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Error: partial' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          { type: 'text', text: 'What do you see?' },
        ],
      },
    ]);
  });

  it('maps tool_choice, thinking budgets, stop sequences and the user id', () => {
    const hub = hubRequest({
      model: 'm',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 't', input_schema: { type: 'object' } }],
      tool_choice: { type: 'tool', name: 't', disable_parallel_tool_use: true },
      thinking: { type: 'enabled', budget_tokens: 16000 },
      stop_sequences: ['END'],
      metadata: { user_id: 'u-1' },
      top_k: 5,
    });
    expect(hub).toEqual({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      max_tokens: 100,
      stop: ['END'],
      user: 'u-1',
      tools: [{ type: 'function', function: { name: 't', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 't' } },
      parallel_tool_calls: false,
      reasoning_effort: 'high',
    });
  });

  it('refuses Anthropic server tools and unknown blocks with a 400 naming the field', () => {
    const server = () =>
      hubRequest({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      });
    expect(server).toThrow(GatewayError);
    expect(server).toThrow(/only served by Anthropic/);
    try {
      hubRequest({
        model: 'm',
        messages: [{ role: 'user', content: [{ type: 'container_upload' }] }],
      });
    } catch (err) {
      expect(err).toMatchObject({ status: 400, param: 'messages[0].content[0]' });
    }
  });
});

describe('hub reply → Anthropic message', () => {
  it('splits usage back into uncached input, cache reads and cache writes', () => {
    const message = anthropicMessage({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '' } }],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: 100,
        completion_tokens: 5,
        total_tokens: 105,
        prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 },
      },
    });
    expect(message).toMatchObject({
      id: 'msg_chatcmpl1',
      content: [{ type: 'tool_use', id: 'c1', name: 'f', input: {} }],
      stop_reason: 'tool_use',
      usage: {
        input_tokens: 30,
        output_tokens: 5,
        cache_read_input_tokens: 60,
        cache_creation_input_tokens: 10,
      },
    });
  });
});

describe('token estimate', () => {
  it('grows with the text and counts images', () => {
    const small = estimateInputTokens({ messages: [{ role: 'user', content: 'hi' }] });
    const large = estimateInputTokens({ messages: [{ role: 'user', content: 'hi '.repeat(400) }] });
    const image = estimateInputTokens({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    });
    expect(large).toBeGreaterThan(small + 250);
    expect(image).toBeGreaterThanOrEqual(1600);
  });
});
