import type OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';
import { splitTokens } from '../../src/providers/mock/tokens';
import { assertMatchesSpec } from '../helpers/openapi';
import { CONFORMANCE_MODELS, UPSTREAM_SECRET } from './config';
import { lastBody, openaiClient, type Harness } from './harness';
import { weather } from './tools';

/** The official OpenAI SDK against an OpenAI-format upstream: passthrough, JSON and streams. */
export function openaiSdkSuite(h: Harness): void {
  let client: OpenAI;
  beforeAll(() => {
    client = openaiClient(h);
  });

  describe('chat completions through the official OpenAI SDK', () => {
    it('returns a completion that matches the OpenAI spec, served by the aliased upstream model', async () => {
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'Say hello' }] })
        .withResponse();
      assertMatchesSpec('CreateChatCompletionResponse', data);
      expect(data.choices[0]?.message.content).toBe(MOCK_REPLY);
      expect(data.usage?.completion_tokens).toBe(splitTokens(MOCK_REPLY).length);
      expect(lastBody(h.upstreams.openai).model).toBe('upstream-model');
      expect(response.headers.get('x-vidai-provider')).toBe('up');
      expect(response.headers.get('x-vidai-model')).toBe('upstream-model');
      expect(response.headers.get('x-request-id')).toMatch(/\S/);
    });

    it('sends the upstream its own credential, never the caller’s virtual key', async () => {
      await client.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'x' }],
      });
      const headers = h.upstreams.openai.requests.at(-1)?.headers ?? {};
      expect(headers.authorization).toBe(`Bearer ${UPSTREAM_SECRET}`);
      expect(JSON.stringify(headers)).not.toContain(h.key);
    });

    it('forwards the body byte for byte when nothing needs patching, unknown fields included', async () => {
      const raw =
        '{"model":"same-name",   "messages":[{"role":"user","content":"hi"}],"x_vendor_flag":{"deep":[1,2]}}';
      const res = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: raw,
      });
      expect(res.status).toBe(200);
      expect(h.upstreams.openai.requests.at(-1)?.body).toBe(raw);
    });

    it('keeps unknown fields when it patches the model name', async () => {
      await client.chat.completions.create({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
        // @ts-expect-error a vendor extension the SDK does not know
        x_vendor_flag: { deep: [1, 2] },
      });
      expect(lastBody(h.upstreams.openai)).toMatchObject({
        model: 'upstream-model',
        x_vendor_flag: { deep: [1, 2] },
      });
    });

    it('changes only what it patches: numbers past a double’s precision reach the upstream as sent', async () => {
      const send = async (raw: string) => {
        const res = await h.fetch(`${h.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
          body: raw,
        });
        await res.text();
        expect(res.status).toBe(200);
        return h.upstreams.openai.requests.at(-1)!.body;
      };
      const rest =
        '"messages":[{"role":"user","content":"hi"}], "seed": 9007199254740993, "x_big": 1e400';
      // The model name patched, then (for a stream) stream usage asked for as well.
      expect(await send(`{"model":"gpt-test", ${rest}}`)).toBe(
        `{"model":"upstream-model", ${rest}}`,
      );
      expect(await send(`{"model":"gpt-test","stream":true, ${rest}}`)).toBe(
        `{"model":"upstream-model","stream":true, ${rest},"stream_options":{"include_usage":true}}`,
      );
    });

    it('streams chunks that match the spec and hides the usage chunk Vidai asked for itself', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'Stream please' }],
      });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        assertMatchesSpec('CreateChatCompletionStreamResponse', chunk);
        expect(chunk.choices.length).toBeGreaterThan(0);
        expect(chunk.usage ?? null).toBeNull();
        text += chunk.choices[0]?.delta.content ?? '';
        chunks++;
      }
      expect(text).toBe(MOCK_REPLY);
      expect(chunks).toBe(splitTokens(MOCK_REPLY).length + 2);
      expect(lastBody(h.upstreams.openai).stream_options).toEqual({ include_usage: true });
    });

    it('passes the final usage chunk through when the client asked for it', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-test',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Count me' }],
      });
      const usages = [];
      for await (const chunk of stream) {
        assertMatchesSpec('CreateChatCompletionStreamResponse', chunk);
        if (chunk.usage) usages.push({ usage: chunk.usage, choices: chunk.choices.length });
      }
      expect(usages).toHaveLength(1);
      expect(usages[0]?.choices).toBe(0);
      expect(usages[0]?.usage.completion_tokens).toBe(splitTokens(MOCK_REPLY).length);
    });

    it('frames the raw stream as OpenAI does, with [DONE] exactly once at the end', async () => {
      const res = await h.fetch(`${h.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-test',
          stream: true,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const body = await res.text();
      expect(body.split('data: [DONE]').length - 1).toBe(1);
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
      for (const event of body.split('\n\n').filter(Boolean))
        expect(event.startsWith('data: ')).toBe(true);
    });

    it('returns tool calls with complete JSON arguments, as JSON and as a stream', async () => {
      const request = {
        model: 'gpt-test',
        messages: [{ role: 'user' as const, content: 'Weather in Paris?' }],
        tools: [weather],
      };
      const json = await client.chat.completions.create(request);
      assertMatchesSpec('CreateChatCompletionResponse', json);
      const call = json.choices[0]?.message.tool_calls?.[0];
      expect(json.choices[0]?.finish_reason).toBe('tool_calls');
      expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({
        city: 'example',
        unit: 'c',
      });

      const stream = client.chat.completions.stream(request);
      const final = await stream.finalChatCompletion();
      const streamed = final.choices[0]?.message.tool_calls?.[0];
      expect(final.choices[0]?.finish_reason).toBe('tool_calls');
      expect(streamed?.type === 'function' && streamed.function.name).toBe('get_weather');
      expect(streamed?.type === 'function' && JSON.parse(streamed.function.arguments)).toEqual({
        city: 'example',
        unit: 'c',
      });
    });

    it('answers after a tool result with text', async () => {
      const result = await client.chat.completions.create({
        model: 'gpt-test',
        tools: [weather],
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"c"}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '21 C' },
        ],
      });
      expect(result.choices[0]?.finish_reason).toBe('stop');
      expect(result.choices[0]?.message.content).toBe(MOCK_REPLY);
    });

    it('serves the built-in demo model with no provider credential', async () => {
      const result = await client.chat.completions.create({
        model: 'demo',
        messages: [{ role: 'user', content: 'hi' }],
      });
      assertMatchesSpec('CreateChatCompletionResponse', result);
      expect(result.choices[0]?.message.content).toBe(MOCK_REPLY);
    });
  });

  describe('embeddings through the official OpenAI SDK', () => {
    it('returns vectors (the SDK asks for base64 and decodes it)', async () => {
      const result = await client.embeddings.create({ model: 'embed-test', input: ['one', 'two'] });
      expect(result.data).toHaveLength(2);
      expect(result.data[0]?.embedding).toHaveLength(64);
      expect(lastBody(h.upstreams.openai)).toMatchObject({
        model: 'upstream-embedding',
        encoding_format: 'base64',
      });
    });

    it('returns float vectors that match the spec', async () => {
      const res = await h.fetch(`${h.baseURL}/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'embed-test', input: 'hello', encoding_format: 'float' }),
      });
      const body = (await res.json()) as unknown;
      assertMatchesSpec('CreateEmbeddingResponse', body);
    });
  });

  describe('models', () => {
    it('lists only the models the key may use, in the spec’s shape', async () => {
      const limited = await h.createKey({ name: 'only-demo', models: ['demo'] });
      const limitedClient = openaiClient(h, limited.key);
      const page = await limitedClient.models.list();
      expect(page.data.map((m) => m.id)).toEqual(['demo']);
      const res = await h.fetch(`${h.baseURL}/models`, {
        headers: { authorization: `Bearer ${h.key}` },
      });
      const all = (await res.json()) as { data: Array<{ id: string }> };
      assertMatchesSpec('ListModelsResponse', all);
      expect(all.data.map((m) => m.id).sort()).toEqual(CONFORMANCE_MODELS);
      const one = await limitedClient.models.retrieve('demo');
      expect(one.id).toBe('demo');
      await expect(limitedClient.models.retrieve('gpt-test')).rejects.toMatchObject({
        status: 404,
      });
    });

    it('refuses an over-long model id with a 400, as the POST routes do, not echoing it', async () => {
      const long = 'm'.repeat(10_000);
      const res = await h.fetch(`${h.baseURL}/models/${long}`, {
        headers: { authorization: `Bearer ${h.key}` },
      });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(text).not.toContain(long.slice(0, 300));
      expect(JSON.parse(text)).toMatchObject({
        error: {
          type: 'invalid_request_error',
          param: 'model',
          message: "'model' must be at most 256 characters long.",
        },
      });
      // 256 is still a name: a 404 for one that is not configured.
      const edge = await h.fetch(`${h.baseURL}/models/${'m'.repeat(256)}`, {
        headers: { authorization: `Bearer ${h.key}` },
      });
      expect(edge.status).toBe(404);
    });
  });

  describe('request ids', () => {
    it('echoes a caller’s x-request-id and makes one otherwise', async () => {
      const mine = await h.fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'trace-42' } });
      expect(mine.headers.get('x-request-id')).toBe('trace-42');
      const theirs = await h.fetch(`${h.url}/healthz`);
      expect(theirs.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
}
