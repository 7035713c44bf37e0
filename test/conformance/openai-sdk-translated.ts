import type OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';
import { MOCK_THINKING } from '../../src/providers/mock/script';
import { splitTokens } from '../../src/providers/mock/tokens';
import { assertMatchesSpec } from '../helpers/openapi';
import { KEYS } from './config';
import { lastBody, openaiClient, type Harness } from './harness';
import { clock, PIXEL_PNG, weather } from './tools';

/** The official OpenAI SDK against Anthropic and Gemini upstreams, through Vidai's translators. */
export function openaiSdkTranslatedSuite(h: Harness): void {
  let client: OpenAI;
  beforeAll(() => {
    client = openaiClient(h);
  });

  const upstreams = [
    { model: 'claude-test', wire: 'anthropic' as const },
    { model: 'gemini-test', wire: 'gemini' as const },
    { model: 'gemini3-test', wire: 'gemini' as const },
  ];

  describe.each(upstreams)('OpenAI SDK → $wire upstream ($model)', ({ model, wire }) => {
    const upstream = () => h.upstreams[wire];

    it('completes, in the spec’s shape, with the upstream’s usage', async () => {
      const completion = await client.chat.completions.create({
        model,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'system', content: 'Be kind.' },
          { role: 'user', content: 'Hello' },
        ],
        max_completion_tokens: 500,
        temperature: 0.5,
        stop: ['###'],
        user: 'user-42',
      });
      assertMatchesSpec('CreateChatCompletionResponse', completion);
      expect(completion.choices[0]?.message.content).toBe(MOCK_REPLY);
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.usage?.completion_tokens).toBe(splitTokens(MOCK_REPLY).length);
      expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
      const sent = lastBody(upstream());
      const headers = upstream().requests.at(-1)?.headers ?? {};
      if (wire === 'anthropic') {
        expect(sent).toMatchObject({
          model: 'claude-sonnet-4-5',
          max_tokens: 500,
          temperature: 0.5,
          stop_sequences: ['###'],
          metadata: { user_id: 'user-42' },
          system: [
            { type: 'text', text: 'Be brief.' },
            { type: 'text', text: 'Be kind.' },
          ],
        });
        expect(headers['x-api-key']).toBe(KEYS.anthropic);
        expect(headers['anthropic-version']).toBe('2023-06-01');
      } else {
        expect(sent).toMatchObject({
          systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Be kind.' }] },
          generationConfig: { maxOutputTokens: 500, temperature: 0.5, stopSequences: ['###'] },
        });
        expect(headers['x-goog-api-key']).toBe(KEYS.gemini);
        expect(upstream().requests.at(-1)?.path).toMatch(
          /\/v1beta\/models\/gemini-[\w.-]+:generateContent$/,
        );
      }
      expect(JSON.stringify(headers)).not.toContain(h.key);
    });

    it('applies the default max_tokens Anthropic requires, and reports length when cut', async () => {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 3,
      });
      expect(completion.choices[0]?.finish_reason).toBe('length');
      expect(completion.usage?.completion_tokens).toBe(3);
      if (wire === 'anthropic') {
        await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
        expect(lastBody(upstream()).max_tokens).toBe(4096);
      }
    });

    it('streams spec-shaped chunks with the whole text, [DONE] once, usage only when asked', async () => {
      const stream = await client.chat.completions.create({
        model,
        stream: true,
        messages: [{ role: 'user', content: 'Stream please' }],
      });
      let text = '';
      for await (const chunk of stream) {
        assertMatchesSpec('CreateChatCompletionStreamResponse', chunk);
        expect(chunk.usage ?? null).toBeNull();
        expect(chunk.choices).toHaveLength(1);
        text += chunk.choices[0]?.delta.content ?? '';
      }
      expect(text).toBe(MOCK_REPLY);

      const withUsage = await client.chat.completions.create({
        model,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Count me' }],
      });
      const usages = [];
      for await (const chunk of withUsage) if (chunk.usage) usages.push(chunk);
      expect(usages).toHaveLength(1);
      expect(usages[0]?.choices).toHaveLength(0);
      expect(usages[0]?.usage?.completion_tokens).toBe(splitTokens(MOCK_REPLY).length);

      const raw = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(raw.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = await raw.text();
      expect(body.split('data: [DONE]').length - 1).toBe(1);
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    });

    it('calls a tool, as JSON and as a stream read by the SDK’s own helper, then answers its result', async () => {
      const request = {
        model,
        messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
        tools: [weather],
      };
      const json = await client.chat.completions.create(request);
      assertMatchesSpec('CreateChatCompletionResponse', json);
      expect(json.choices[0]?.finish_reason).toBe('tool_calls');
      const call = json.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.name).toBe('get_weather');
      expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({
        city: 'example',
        unit: 'c',
      });

      const final = await client.chat.completions.stream(request).finalChatCompletion();
      const streamed = final.choices[0]?.message.tool_calls?.[0];
      expect(final.choices[0]?.finish_reason).toBe('tool_calls');
      expect(streamed?.type === 'function' && JSON.parse(streamed.function.arguments)).toEqual({
        city: 'example',
        unit: 'c',
      });

      // The call as the SDK got it goes back with its result (for Gemini 3 that includes the
      // thought signature Vidai carried in the call id).
      const message = final.choices[0]?.message;
      if (!message?.tool_calls?.[0]) throw new Error('no tool call');
      const answer = await client.chat.completions.create({
        model,
        tools: [weather],
        messages: [
          ...request.messages,
          { role: 'assistant', content: null, tool_calls: message.tool_calls },
          { role: 'tool', tool_call_id: message.tool_calls[0].id, content: '{"temp": 21}' },
        ],
      });
      expect(answer.choices[0]?.finish_reason).toBe('stop');
      expect(answer.choices[0]?.message.content).toBe(MOCK_REPLY);
    });

    it('streams parallel tool calls, and a tool without arguments as {}', async () => {
      const final = await client.chat.completions
        .stream({
          model,
          messages: [{ role: 'user', content: 'Weather and time?' }],
          tools: [weather, clock],
          tool_choice: 'required',
        })
        .finalChatCompletion();
      const calls = final.choices[0]?.message.tool_calls ?? [];
      expect(calls.map((c) => c.type === 'function' && c.function.name)).toEqual([
        'get_weather',
        'get_time',
      ]);
      expect(calls.map((c) => c.type === 'function' && c.function.arguments)).toEqual([
        '{"city":"example","unit":"c"}',
        '{}',
      ]);
      expect(new Set(calls.map((c) => c.id)).size).toBe(2);
      const sent = lastBody(h.upstreams[wire]);
      if (wire === 'anthropic') expect(sent.tool_choice).toEqual({ type: 'any' });
      else expect(sent.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    });

    it('honours a named tool_choice and tool_choice none', async () => {
      const named = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Time?' }],
        tools: [weather, clock],
        tool_choice: { type: 'function', function: { name: 'get_time' } },
      });
      const call = named.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === 'function' && call.function.name).toBe('get_time');
      const none = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Time?' }],
        tools: [weather, clock],
        tool_choice: 'none',
      });
      expect(none.choices[0]?.message.tool_calls).toBeUndefined();
      expect(none.choices[0]?.message.content).toBe(MOCK_REPLY);
    });

    it('sends images given as data URLs and as http URLs', async () => {
      const completion = await client.chat.completions.create({
        model,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in these?' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PIXEL_PNG}` } },
              {
                type: 'image_url',
                image_url: { url: 'https://example.com/cat.jpg', detail: 'low' },
              },
            ],
          },
        ],
      });
      expect(completion.choices[0]?.message.content).toBe(MOCK_REPLY);
      const sent = lastBody(upstream());
      if (wire === 'anthropic') {
        expect((sent.messages as unknown[])[0]).toEqual({
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PIXEL_PNG } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
          ],
        });
      } else {
        expect((sent.contents as unknown[])[0]).toEqual({
          role: 'user',
          parts: [
            { text: 'What is in these?' },
            { inlineData: { mimeType: 'image/png', data: PIXEL_PNG } },
            { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.jpg' } },
          ],
        });
      }
    });

    it('returns thinking as reasoning_content, streamed too, and keeps a tool loop working with it on', async () => {
      const base = { model, reasoning_effort: 'low' as const, max_completion_tokens: 512 };
      const completion = await client.chat.completions.create({
        ...base,
        messages: [{ role: 'user', content: 'Think first' }],
      });
      const message = completion.choices[0]?.message as {
        content: string;
        reasoning_content?: string;
      };
      expect(message.reasoning_content).toBe(MOCK_THINKING);
      expect(message.content).toBe(MOCK_REPLY);
      let reasoning = '';
      const stream = await client.chat.completions.create({
        ...base,
        stream: true,
        messages: [{ role: 'user', content: 'Think first' }],
      });
      for await (const chunk of stream)
        reasoning +=
          (chunk.choices[0]?.delta as { reasoning_content?: string }).reasoning_content ?? '';
      expect(reasoning).toBe(MOCK_THINKING);

      const asked = await client.chat.completions.create({
        ...base,
        tools: [weather],
        messages: [{ role: 'user', content: 'Weather?' }],
      });
      const calls = asked.choices[0]?.message.tool_calls ?? [];
      expect(calls).toHaveLength(1);
      const answered = await client.chat.completions.create({
        ...base,
        tools: [weather],
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: null, tool_calls: calls },
          { role: 'tool', tool_call_id: calls[0]?.id ?? '', content: 'sunny' },
        ],
      });
      expect(answered.choices[0]?.message.content).toBe(MOCK_REPLY);
    });

    it('answers json_schema response formats with the JSON as the message text', async () => {
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'A city, as JSON' }],
        response_format: {
          type: 'json_schema',
          json_schema: {
            name: 'city',
            schema: {
              type: 'object',
              properties: { name: { type: 'string' } },
              required: ['name'],
            },
          },
        },
      });
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      if (wire === 'anthropic') {
        // Anthropic is asked through a forced tool whose input is the answer.
        expect(JSON.parse(completion.choices[0]?.message.content ?? '')).toEqual({
          name: 'example',
        });
        expect(completion.choices[0]?.message.tool_calls).toBeUndefined();
      } else {
        expect(lastBody(upstream()).generationConfig).toMatchObject({
          responseMimeType: 'application/json',
          responseJsonSchema: { required: ['name'] },
        });
      }
    });
  });
}
