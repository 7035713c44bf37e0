import OpenAI from 'openai';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertMatchesSpec } from '../helpers/openapi';
import { openaiClient, type Harness } from './harness';
import { weather } from './tools';

/** Failures through translation reach the official OpenAI SDK as errors in OpenAI's shape, never as a clean finish. */
export function openaiSdkTranslatedErrorsSuite(h: Harness): void {
  let client: OpenAI;
  beforeAll(() => {
    client = openaiClient(h);
  });

  describe('upstream failures through translation', () => {
    it('Anthropic 529 overloaded reaches the OpenAI SDK as a 503 in OpenAI’s shape', async () => {
      h.upstreams.anthropic.script({
        status: 529,
        body: JSON.stringify({
          type: 'error',
          error: { type: 'overloaded_error', message: 'Overloaded' },
        }),
      });
      const err = await client.chat.completions
        .create({ model: 'claude-test', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    });

    it('Gemini 429 reaches the OpenAI SDK as a RateLimitError with the upstream’s words', async () => {
      h.upstreams.gemini.script({
        status: 429,
        body: JSON.stringify({
          error: {
            code: 429,
            message: 'Resource has been exhausted',
            status: 'RESOURCE_EXHAUSTED',
          },
        }),
      });
      const err = await client.chat.completions
        .create({ model: 'gemini-test', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as Error).message).toContain('Resource has been exhausted');
    });

    it('an error event in an Anthropic stream is raised by the SDK, never a clean finish', async () => {
      h.upstreams.anthropic.script({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        // The error comes after the first text reached the client, so it cannot fall back.
        body: [
          'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
            'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
            'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
          'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
        ],
      });
      const stream = await client.chat.completions.create({
        model: 'claude-test',
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      });
      let text = '';
      const err = await (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })().catch((e: unknown) => e);
      expect(text).toBe('Hel');
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as Error).message).toContain('overloaded');
    });

    it('an error event that arrives before any byte reached the client is an HTTP error, not a broken stream', async () => {
      h.upstreams.anthropic.script({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body:
          'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
          'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
      });
      const err = await client.chat.completions
        .create({ model: 'claude-test', stream: true, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    });

    it('a Gemini stream broken or ended before its finishReason ends in an error, not [DONE]', async () => {
      const streamOf = async () => {
        const res = await h.fetch(`${h.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${h.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'gemini-test',
            stream: true,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        });
        return res.text();
      };
      h.upstreams.gemini.script({ cutAfterBytes: 120 });
      const broken = await streamOf();
      expect(broken).not.toContain('[DONE]');
      expect(broken).toContain('"code":"upstream_error"');
      // A clean end of the body with no finishReason: the answer is incomplete all the same.
      h.upstreams.gemini.script({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: 'data: {"candidates":[{"content":{"parts":[{"text":"Half an"}],"role":"model"},"index":0}]}\r\n\r\n',
      });
      const ended = await streamOf();
      expect(ended).toContain('"content":"Half an"');
      expect(ended).not.toContain('[DONE]');
      expect(ended).toContain('ended before it was complete');
    });

    it('a Gemini safety block becomes finish_reason content_filter', async () => {
      h.upstreams.gemini.script({
        status: 200,
        body: JSON.stringify({
          candidates: [
            {
              content: { role: 'model', parts: [] },
              finishReason: 'SAFETY',
              index: 0,
              safetyRatings: [
                { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
              ],
            },
          ],
          usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 },
          modelVersion: 'gemini-2.5-flash',
        }),
      });
      const completion = await client.chat.completions.create({
        model: 'gemini-test',
        messages: [{ role: 'user', content: 'x' }],
      });
      assertMatchesSpec('CreateChatCompletionResponse', completion);
      expect(completion.choices[0]?.finish_reason).toBe('content_filter');
      expect(completion.usage?.prompt_tokens).toBe(7);
    });

    it('Gemini 3 refuses a replayed tool call that lost its thought signature', async () => {
      const err = await client.chat.completions
        .create({
          model: 'gemini3-test',
          tools: [weather],
          messages: [
            { role: 'user', content: 'Weather?' },
            {
              role: 'assistant',
              content: null,
              tool_calls: [
                {
                  id: 'call_1',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{}' },
                },
              ],
            },
            { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toContain('thought_signature');
    });

    it('a request that cannot be translated gets a clear 400', async () => {
      const err = await client.chat.completions
        .create({
          model: 'claude-test',
          messages: [
            {
              role: 'user',
              content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }],
            },
          ],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect((err as Error).message).toContain("'input_audio' cannot be translated");
      const n = await client.chat.completions
        .create({ model: 'gemini-test', n: 2, messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(n).toBeInstanceOf(OpenAI.BadRequestError);
      const embeddings = await client.embeddings
        .create({ model: 'gemini-test', input: 'x' })
        .catch((e: unknown) => e);
      expect(embeddings).toBeInstanceOf(OpenAI.BadRequestError);
      expect((embeddings as Error).message).toContain('does not serve embeddings');
    });
  });
}
