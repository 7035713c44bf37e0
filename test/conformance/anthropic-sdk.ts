import Anthropic from '@anthropic-ai/sdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';
import { MOCK_THINKING } from '../../src/providers/mock/script';
import { splitTokens } from '../../src/providers/mock/tokens';
import { KEYS } from './config';
import { anthropicClient, lastBody, type Harness } from './harness';
import { PIXEL_PNG } from './tools';

/**
 * The official Anthropic SDK against /v1/messages, with every upstream wire format behind it:
 * OpenAI-format (translated), Anthropic (passthrough), Gemini (translated through the hub), and
 * the built-in demo model.
 */
export function anthropicSdkSuite(h: Harness): void {
  let client: Anthropic;
  beforeAll(() => {
    client = anthropicClient(h);
  });

  const weather: Anthropic.Tool = {
    name: 'get_weather',
    description: 'Current weather for a city',
    input_schema: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } },
      required: ['city', 'unit'],
    },
  };
  const clock: Anthropic.Tool = {
    name: 'get_time',
    input_schema: { type: 'object', properties: {} },
  };

  const pairings = [
    { model: 'oa-model', wire: 'openai' as const },
    { model: 'claude-test', wire: 'anthropic' as const },
    { model: 'gemini-test', wire: 'gemini' as const },
    { model: 'gemini3-test', wire: 'gemini' as const },
    { model: 'demo', wire: undefined },
  ];

  describe.each(pairings)('Anthropic SDK → $model', ({ model, wire }) => {
    it('creates a message', async () => {
      const message = await client.messages.create({
        model,
        max_tokens: 1024,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'Hello' }],
      });
      expect(message.type).toBe('message');
      expect(message.role).toBe('assistant');
      expect(message.id).toMatch(/^msg_/);
      expect(message.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
      expect(message.stop_reason).toBe('end_turn');
      expect(message.usage.output_tokens).toBe(splitTokens(MOCK_REPLY).length);
      expect(message.usage.input_tokens).toBeGreaterThan(0);
    });

    it('streams text through the SDK’s stream helper, as the real event sequence', async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 1024,
        messages: [{ role: 'user', content: 'Stream please' }],
      });
      const types: string[] = [];
      let text = '';
      stream.on('streamEvent', (event) => types.push(event.type));
      stream.on('text', (delta) => (text += delta));
      const final = await stream.finalMessage();
      expect(text).toBe(MOCK_REPLY);
      expect(final.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
      expect(final.stop_reason).toBe('end_turn');
      expect(final.usage.output_tokens).toBe(splitTokens(MOCK_REPLY).length);
      expect(final.usage.input_tokens).toBeGreaterThan(0);
      const distinct = types.filter((t, i) => t !== types[i - 1]);
      expect(distinct).toEqual([
        'message_start',
        'content_block_start',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    });

    it('uses a tool, streamed and read back by the SDK’s own helpers, then answers its result', async () => {
      const request = {
        model,
        max_tokens: 1024,
        tools: [weather],
        messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
      };
      const json = await client.messages.create(request);
      expect(json.stop_reason).toBe('tool_use');
      const use = json.content.find((b) => b.type === 'tool_use');
      expect(use).toMatchObject({ name: 'get_weather', input: { city: 'example', unit: 'c' } });

      const stream = client.messages.stream(request);
      const fragments: string[] = [];
      stream.on('inputJson', (partial) => fragments.push(partial));
      const final = await stream.finalMessage();
      expect(final.stop_reason).toBe('tool_use');
      const streamed = final.content.find((b) => b.type === 'tool_use');
      expect(streamed).toMatchObject({
        name: 'get_weather',
        input: { city: 'example', unit: 'c' },
      });
      expect(fragments.join('')).toBe('{"city":"example","unit":"c"}');
      if (streamed?.type !== 'tool_use') throw new Error('no tool_use');

      const answer = await client.messages.create({
        ...request,
        messages: [
          ...request.messages,
          { role: 'assistant', content: final.content },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: streamed.id, content: '{"temp": 21}' }],
          },
        ],
      });
      expect(answer.stop_reason).toBe('end_turn');
      expect(answer.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
    });

    it('streams parallel tool uses, a tool without input as {}', async () => {
      const final = await client.messages
        .stream({
          model,
          max_tokens: 1024,
          tools: [weather, clock],
          tool_choice: { type: 'any' },
          messages: [{ role: 'user', content: 'Weather and time?' }],
        })
        .finalMessage();
      const uses = final.content.filter((b) => b.type === 'tool_use');
      expect(uses.map((b) => [b.name, b.input])).toEqual([
        ['get_weather', { city: 'example', unit: 'c' }],
        ['get_time', {}],
      ]);
      expect(final.content.map((_, i) => i)).toEqual(uses.map((_, i) => i));
    });

    it('sends a base64 image', async () => {
      const message = await client.messages.create({
        model,
        max_tokens: 1024,
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'image',
                source: { type: 'base64', media_type: 'image/png', data: PIXEL_PNG },
              },
              { type: 'text', text: 'What is this?' },
            ],
          },
        ],
      });
      expect(message.content).toEqual([{ type: 'text', text: MOCK_REPLY }]);
      if (wire === 'openai') {
        expect((lastBody(h.upstreams.openai).messages as unknown[])[0]).toEqual({
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PIXEL_PNG}` } },
            { type: 'text', text: 'What is this?' },
          ],
        });
      } else if (wire === 'gemini') {
        expect((lastBody(h.upstreams.gemini).contents as unknown[])[0]).toEqual({
          role: 'user',
          parts: [
            { inlineData: { mimeType: 'image/png', data: PIXEL_PNG } },
            { text: 'What is this?' },
          ],
        });
      }
    });

    it('counts tokens', async () => {
      const count = await client.messages.countTokens({
        model,
        system: 'Be brief.',
        messages: [{ role: 'user', content: 'How many tokens is this?' }],
      });
      expect(count.input_tokens).toBeGreaterThan(0);
    });
  });

  describe('Anthropic passthrough', () => {
    it('forwards the body byte for byte, unknown fields and beta headers included', async () => {
      const raw =
        '{"model":"claude-sonnet-4-5",  "max_tokens":64,"messages":[{"role":"user","content":"hi"}],"x_future_field":{"a":[1]}}';
      const res = await h.fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'x-api-key': h.key,
          'content-type': 'application/json',
          'anthropic-version': '2023-06-01',
          'anthropic-beta': 'interleaved-thinking-2025-05-14',
        },
        body: raw,
      });
      expect(res.status).toBe(200);
      const seen = h.upstreams.anthropic.requests.at(-1);
      expect(seen?.body).toBe(raw);
      expect(seen?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
      expect(seen?.headers['x-api-key']).toBe(KEYS.anthropic);
    });

    it('pipes the stream back untouched, pings included', async () => {
      const res = await h.fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 64,
          stream: true,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      const body = await res.text();
      expect(body).toContain('event: ping\ndata: {"type":"ping"}\n\n');
      expect(body.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
    });

    it('turns an upstream error event into its own, and the SDK raises it', async () => {
      h.upstreams.anthropic.script({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body:
          'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
          'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
      });
      const stream = client.messages.stream({
        model: 'claude-test',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'x' }],
      });
      // Before any byte reached the client: an HTTP error (503 overloaded), as on translated routes.
      await expect(stream.finalMessage()).rejects.toThrow(/overloaded/i);
    });
  });

  describe('thinking', () => {
    it.each(['claude-test', 'gemini-test'])('streams thinking deltas from %s', async (model) => {
      const final = await client.messages
        .stream({
          model,
          max_tokens: 4096,
          thinking: { type: 'enabled', budget_tokens: 2048 },
          messages: [{ role: 'user', content: 'Think first' }],
        })
        .finalMessage();
      expect(final.content[0]).toMatchObject({ type: 'thinking', thinking: MOCK_THINKING });
      expect(final.content[1]).toEqual({ type: 'text', text: MOCK_REPLY });
    });
  });

  describe('errors on Anthropic routes, in Anthropic’s shape', () => {
    it('401 without a key or with a bad one', async () => {
      const anonymous = anthropicClient(h, 'vk-nope');
      await expect(
        anonymous.messages.create({
          model: 'demo',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
      const res = await h.fetch(`${h.url}/v1/messages`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        type: 'error',
        error: { type: 'authentication_error', message: expect.stringContaining('API key') },
      });
    });

    it('404 for an unknown model and an unknown path below /v1/messages', async () => {
      await expect(
        client.messages.create({
          model: 'nope',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
      const res = await h.fetch(`${h.url}/v1/messages/batches`, {
        headers: { 'x-api-key': h.key },
      });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    });

    it('400 for a malformed body, and for a request the target cannot be given', async () => {
      const res = await h.fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': h.key, 'content-type': 'application/json' },
        body: '{"model": "demo", ',
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        type: 'error',
        error: { type: 'invalid_request_error' },
      });
      await expect(
        client.messages.create({
          model: 'gemini-test',
          max_tokens: 8,
          tools: [{ type: 'web_search_20250305', name: 'web_search' }],
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
    });

    it('an upstream 529 from Anthropic comes back as overloaded_error', async () => {
      h.upstreams.anthropic.script({
        status: 529,
        body: JSON.stringify({
          type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' },
        }),
      });
      const res = await h.fetch(`${h.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': h.key, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'claude-test',
          max_tokens: 8,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({
        type: 'error',
        error: { type: 'overloaded_error' },
      });
    });

    it('a cut OpenAI-format stream ends with an Anthropic error event', async () => {
      h.upstreams.openai.script({ cutAfterBytes: 400 });
      const stream = client.messages.stream({
        model: 'oa-model',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'x' }],
      });
      await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIError);
    });
  });
}
