import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { assertMatchesSpec } from '../helpers/openapi';
import type { Fault } from '../mocks/scripted-upstream';
import { openaiClient, usageRows, type Harness } from './harness';

/**
 * What a failing upstream reply becomes, streamed or not, passthrough or translated: errors an
 * upstream reports in its stream, replies that are not SSE, the request's own deadline, usage
 * that is not counts. Each is told in the caller's shape, with nothing secret, and recorded as
 * what it was.
 */
export function streamFailuresSuite(h: Harness): void {
  const SECRET = 'sk-proj-SECRETabcdef0123456789';
  const sse = { 'content-type': 'text/event-stream' };

  const openaiChunk = (content: string) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'upstream-model',
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    })}\n\n`;
  const openaiErrorEvent = `data: {"error":{"message":"upstream exploded ${SECRET}","type":"server_error"}}\n\n`;
  const anthropicStart =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n' +
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n';
  const anthropicErrorEvent = `event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream exploded ${SECRET}"}}\n\n`;

  type Row = {
    status: number;
    error_code: string | null;
    usage_estimated: number;
    input_tokens: number;
    output_tokens: number;
    cost_usd: number;
  };
  async function record(id: string): Promise<Row> {
    await usageRows(h, 1, 'key_id = ?', id);
    const [row] = await h.query<Row>(
      'select status, error_code, usage_estimated, input_tokens, output_tokens, cost_usd from usage_records where key_id = ?',
      id,
    );
    return row!;
  }

  /** One call with a key of its own (so its record is found), as raw HTTP. */
  async function call(
    path: '/chat/completions' | '/messages',
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    const { id, key } = await h.createKey({ name: 'stream-failures', models: ['*'] });
    const res = await h.fetch(`${h.baseURL}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
        ...headers,
      },
      body: JSON.stringify({
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 50,
        ...body,
      }),
    });
    return { id, res, text: await res.text() };
  }

  /** The data of a stream's events, and each event's name. */
  function events(text: string): { event: string | undefined; data: string }[] {
    return text
      .split('\n\n')
      .filter((block) => block.trim().length > 0)
      .map((block) => {
        const lines = block.split('\n');
        const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
        const data = lines
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        return { event, data };
      });
  }

  describe('an error event in an upstream stream', () => {
    it('reaches an OpenAI client through passthrough in OpenAI’s shape, redacted, once', async () => {
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [openaiChunk('a'), openaiChunk('b'), openaiChunk('c'), openaiErrorEvent],
        gapMs: 20,
      });
      const { id, res, text } = await call('/chat/completions', {
        model: 'oa-model',
        stream: true,
      });
      expect(res.status).toBe(200);
      expect(text).not.toContain('SECRET');
      const all = events(text);
      const errors = all.filter((e) => e.data.includes('"error"'));
      expect(errors).toHaveLength(1);
      expect(all.at(-1)).toBe(errors[0]);
      const error = JSON.parse(errors[0]!.data) as unknown;
      assertMatchesSpec('ErrorResponse', error);
      expect(error).toEqual({
        error: {
          message: expect.stringMatching(/reported an error in the stream: upstream exploded/),
          type: 'server_error',
          param: null,
          code: 'upstream_error',
        },
      });
      expect(all.filter((e) => e.data.includes('chat.completion.chunk'))).toHaveLength(3);
      expect(await record(id)).toMatchObject({
        status: 200,
        error_code: 'upstream_error',
        usage_estimated: 1,
      });

      // The SDK raises it.
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [openaiChunk('a'), openaiErrorEvent],
        gapMs: 20,
      });
      const stream = await openaiClient(h).chat.completions.create({
        model: 'oa-model',
        stream: true,
        messages: [{ role: 'user', content: 'x' }],
      });
      const err = await (async () => {
        for await (const _ of stream);
      })().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as Error).message).not.toContain('SECRET');
    });

    it('reaches an Anthropic client through passthrough in Anthropic’s shape, redacted, once', async () => {
      h.upstreams.anthropic.script({
        status: 200,
        headers: sse,
        body: [anthropicStart, anthropicErrorEvent],
        gapMs: 20,
      });
      const { id, text } = await call('/messages', { model: 'claude-test', stream: true });
      expect(text).not.toContain('SECRET');
      const all = events(text);
      const errors = all.filter((e) => e.event === 'error');
      expect(errors).toHaveLength(1);
      expect(all.at(-1)).toBe(errors[0]);
      expect(JSON.parse(errors[0]!.data)).toEqual({
        type: 'error',
        error: {
          type: 'api_error',
          message: expect.stringMatching(/reported an error in the stream: upstream exploded/),
        },
      });
      expect(await record(id)).toMatchObject({ status: 200, error_code: 'upstream_error' });
    });

    it('says the provider reported an error, not "HTTP 500", through translation', async () => {
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [openaiChunk('a'), openaiErrorEvent],
        gapMs: 20,
      });
      const viaMessages = await call('/messages', { model: 'oa-model', stream: true });
      expect(viaMessages.text).not.toContain('SECRET');
      const error = events(viaMessages.text).filter((e) => e.event === 'error');
      expect(error).toHaveLength(1);
      const message = (JSON.parse(error[0]!.data) as { error: { message: string } }).error.message;
      expect(message).toMatch(/reported an error in the stream/);
      expect(message).not.toMatch(/HTTP 500/);

      h.upstreams.anthropic.script({
        status: 200,
        headers: sse,
        body: [anthropicStart, anthropicErrorEvent],
        gapMs: 20,
      });
      const viaChat = await call('/chat/completions', { model: 'claude-test', stream: true });
      expect(viaChat.text).not.toContain('SECRET');
      const last = JSON.parse(events(viaChat.text).at(-1)!.data) as unknown;
      assertMatchesSpec('ErrorResponse', last);
      expect(last).toMatchObject({
        error: { code: 'upstream_error', message: expect.stringMatching(/reported an error/) },
      });
      expect(await record(viaChat.id)).toMatchObject({
        status: 200,
        error_code: 'upstream_error',
      });
    });
  });

  describe('other upstream error shapes in an OpenAI passthrough stream', () => {
    const shapes = {
      vllm: `data: {"object":"error","message":"boom ${SECRET}","type":"InternalServerError","param":null,"code":500}\n\n`,
      openrouter: `data: {"id":"gen-1","object":"chat.completion.chunk","created":1,"model":"m","error":{"code":502,"message":"boom ${SECRET}"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}\n\n`,
      named: `event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom ${SECRET}"}}\n\n`,
    };

    it('are each re-issued once, redacted, in OpenAI’s shape, and recorded as errors', async () => {
      for (const [name, shape] of Object.entries(shapes)) {
        h.upstreams.openai.script({
          status: 200,
          headers: sse,
          body: [openaiChunk('a'), openaiChunk('b'), shape, openaiChunk('after')],
          gapMs: 20,
        });
        const { id, res, text } = await call('/chat/completions', {
          model: 'oa-model',
          stream: true,
        });
        expect([name, res.status]).toEqual([name, 200]);
        expect([name, text]).not.toEqual([name, expect.stringContaining('SECRET')]);
        expect(text).not.toContain('boom sk-');
        const all = events(text);
        const errors = all.filter((e) => e.data.includes('"error"'));
        expect([name, errors.length]).toEqual([name, 1]);
        expect(all.at(-1)).toBe(errors[0]);
        expect(errors[0]!.event).toBeUndefined();
        const error = JSON.parse(errors[0]!.data) as unknown;
        assertMatchesSpec('ErrorResponse', error);
        expect(error).toMatchObject({
          error: {
            code: 'upstream_error',
            message: expect.stringMatching(/reported an error in the stream: boom/),
          },
        });
        expect(all.filter((e) => e.data.includes('chat.completion.chunk'))).toHaveLength(2);
        expect([name, await record(id)]).toMatchObject([
          name,
          { status: 200, error_code: 'upstream_error', usage_estimated: 1 },
        ]);
      }
    });

    it('as the first event, fail the attempt, which is retried', async () => {
      for (const [name, shape] of Object.entries(shapes)) {
        h.upstreams.openai.script({ status: 200, headers: sse, body: [shape] });
        const { res, text } = await call('/chat/completions', { model: 'gpt-test', stream: true });
        expect([name, res.status, res.headers.get('x-vidai-attempts')]).toEqual([name, 200, '2']);
        expect(text).toContain('[DONE]');
        expect(text).not.toContain('SECRET');
      }
    });

    it('a 400 from vLLM is told as the provider’s rejection, redacted', async () => {
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [
          openaiChunk('a'),
          `data: {"object":"error","message":"bad ${SECRET}","type":"BadRequestError","param":null,"code":400}\n\n`,
        ],
        gapMs: 20,
      });
      const { id, text } = await call('/chat/completions', { model: 'oa-model', stream: true });
      expect(text).not.toContain('SECRET');
      const last = JSON.parse(events(text).at(-1)!.data) as { error: { code: string } };
      expect(last.error.code).toBe('upstream_invalid_request');
      expect(await record(id)).toMatchObject({ error_code: 'upstream_invalid_request' });
    });
  });

  describe('an Anthropic passthrough stream', () => {
    it('re-issues an error sent without its event line, redacted, once', async () => {
      h.upstreams.anthropic.script({
        status: 200,
        headers: sse,
        body: [
          anthropicStart,
          `data: {"type":"error","error":{"type":"api_error","message":"upstream exploded ${SECRET}"}}\n\n`,
        ],
        gapMs: 20,
      });
      const { id, text } = await call('/messages', { model: 'claude-test', stream: true });
      expect(text).not.toContain('SECRET');
      const all = events(text);
      const errors = all.filter((e) => e.data.includes('"error"'));
      expect(errors).toHaveLength(1);
      expect(errors[0]!.event).toBe('error');
      expect(all.at(-1)).toBe(errors[0]);
      expect(JSON.parse(errors[0]!.data)).toMatchObject({
        type: 'error',
        error: { type: 'api_error', message: expect.stringMatching(/upstream exploded/) },
      });
      expect(await record(id)).toMatchObject({ status: 200, error_code: 'upstream_error' });
    });

    it('is recorded as estimated when it ends without its final usage', async () => {
      // With the events each carries (the error event is one), for the output estimate.
      const cases: [Fault, number][] = [
        [{ status: 200, headers: sse, body: [anthropicStart, anthropicErrorEvent], gapMs: 20 }, 4],
        [{ status: 200, headers: sse, body: [anthropicStart], gapMs: 20 }, 3],
      ];
      for (const [fault, carried] of cases) {
        h.upstreams.anthropic.script(fault);
        const { id } = await call('/messages', { model: 'claude-test', stream: true });
        const row = await record(id);
        expect(row).toMatchObject({ status: 200, usage_estimated: 1 });
        expect(row.error_code).not.toBeNull();
        // One token per event carried, not message_start's placeholder 1.
        expect(row.output_tokens).toBe(carried);
      }
      // A complete stream keeps the upstream's own counts.
      const { id } = await call('/messages', { model: 'claude-test', stream: true });
      expect(await record(id)).toMatchObject({ status: 200, error_code: null, usage_estimated: 0 });
    });
  });

  describe('a 200 reply that is not streamed and is an error object', () => {
    const bodies = {
      openai: `{"error":{"message":"boom ${SECRET}","type":"server_error","param":null,"code":null}}`,
      vllm: `{"object":"error","message":"boom ${SECRET}","type":"InternalServerError","param":null,"code":500}`,
    };

    it('is a redacted 502 upstream_error recorded as such, passthrough and translated', async () => {
      for (const [name, body] of Object.entries(bodies)) {
        for (const path of ['/chat/completions', '/messages'] as const) {
          h.upstreams.openai.script({ status: 200, body });
          const { id, res, text } = await call(path, { model: 'oa-model' });
          expect([name, path, res.status]).toEqual([name, path, 502]);
          expect(text).not.toContain('SECRET');
          const error = JSON.parse(text) as unknown;
          if (path === '/messages') {
            expect(error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
          } else {
            assertMatchesSpec('ErrorResponse', error);
            expect(error).toMatchObject({
              error: { code: 'upstream_error', message: expect.stringMatching(/boom/) },
            });
          }
          expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
        }
      }
    });

    it('is retried, and a 4xx it names is told as the provider’s rejection', async () => {
      h.upstreams.openai.script({ status: 200, body: bodies.openai });
      const retried = await call('/chat/completions', { model: 'gpt-test' });
      expect(retried.res.status).toBe(200);
      expect(retried.res.headers.get('x-vidai-attempts')).toBe('2');
      expect(retried.text).toContain('chat.completion');

      h.upstreams.openai.script({
        status: 200,
        body: `{"object":"error","message":"bad ${SECRET}","type":"BadRequestError","param":null,"code":400}`,
      });
      const rejected = await call('/chat/completions', { model: 'oa-model' });
      expect(rejected.res.status).toBe(400);
      expect(rejected.text).not.toContain('SECRET');
      expect(JSON.parse(rejected.text)).toMatchObject({
        error: { code: 'upstream_invalid_request' },
      });
      expect(await record(rejected.id)).toMatchObject({
        status: 400,
        error_code: 'upstream_invalid_request',
      });
    });
  });

  describe('a 200 streaming reply that is not SSE', () => {
    const html: Fault = { status: 200, headers: sse, body: '<html>oops</html>' };

    it('is a 502 upstream_error on every route, passthrough and translated', async () => {
      const cases = [
        ['/chat/completions', 'oa-model', 'openai'],
        ['/chat/completions', 'claude-test', 'anthropic'],
        ['/chat/completions', 'gemini-test', 'gemini'],
        ['/messages', 'claude-test', 'anthropic'],
        ['/messages', 'oa-model', 'openai'],
      ] as const;
      for (const [path, model, upstream] of cases) {
        h.upstreams[upstream].script(html);
        const { id, res, text } = await call(path, { model, stream: true });
        expect([path, model, res.status]).toEqual([path, model, 502]);
        const body = JSON.parse(text) as Record<string, unknown>;
        if (path === '/messages') {
          expect(body).toMatchObject({ type: 'error', error: { type: 'api_error' } });
        } else {
          expect(body).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
        }
        expect(text).toMatch(/could not read/);
        expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
      }
    });

    it('is retried like any failure before the reply began, and logged by its error code', async () => {
      const seen = h.upstreams.openai.requests.length;
      h.upstreams.openai.script(html);
      const { res, text } = await call('/chat/completions', { model: 'gpt-test', stream: true });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-vidai-attempts')).toBe('2');
      expect(text).toContain('[DONE]');
      expect(h.upstreams.openai.requests.length - seen).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const failed = h
        .output()
        .split('\n')
        .filter((line) => line.includes('upstream_attempt_failed'));
      expect(failed.some((line) => line.includes('"code":"upstream_error"'))).toBe(true);
      // A GatewayError code, never a class name.
      expect(h.output()).not.toMatch(/"code":"StreamCutError"|"code":"internal_error"/);
    });
  });

  describe('the request’s own deadline', () => {
    it('cuts a slow stream with upstream_timeout, recorded as such, saying the reply had begun', async () => {
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: Array.from({ length: 30 }, (_, i) => openaiChunk(`t${i}`)),
        gapMs: 200,
      });
      const { id, res, text } = await call(
        '/chat/completions',
        { model: 'oa-model', stream: true },
        { 'x-vidai-timeout-ms': '1000' },
      );
      expect(res.status).toBe(200);
      const last = JSON.parse(events(text).at(-1)!.data) as {
        error: { code: string; message: string };
      };
      expect(last.error.code).toBe('upstream_timeout');
      expect(last.error.message).toMatch(/1000 ms timeout passed while provider "oa"/);
      expect(last.error.message).not.toMatch(/No provider answered/);
      expect(await record(id)).toMatchObject({ status: 200, error_code: 'upstream_timeout' });
    });
  });

  describe('usage that is not counts', () => {
    const invalidOpenAI = { prompt_tokens: -5, completion_tokens: 'lots' };
    const completion = JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'upstream-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
      usage: invalidOpenAI,
    });
    const estimated = { status: 200, error_code: null, usage_estimated: 1 };

    it('is estimated and charged, from an OpenAI upstream, streamed or not', async () => {
      h.upstreams.openai.script({ status: 200, body: completion });
      const whole = await call('/chat/completions', { model: 'gpt-priced' });
      expect(whole.res.status).toBe(200);
      const row = await record(whole.id);
      expect(row).toMatchObject(estimated);
      expect(row.input_tokens).toBeGreaterThan(0);
      expect(row.cost_usd).toBeGreaterThan(0);

      const usageChunk = `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: invalidOpenAI })}\n\n`;
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [openaiChunk('a'), openaiChunk('b'), usageChunk, 'data: [DONE]\n\n'],
      });
      const streamed = await call('/chat/completions', { model: 'gpt-priced', stream: true });
      expect(streamed.text).toContain('[DONE]');
      const streamedRow = await record(streamed.id);
      expect(streamedRow).toMatchObject(estimated);
      expect(streamedRow.cost_usd).toBeGreaterThan(0);

      // Through translation too.
      h.upstreams.openai.script({ status: 200, body: completion });
      const translated = await call('/messages', { model: 'oa-model' });
      expect(translated.res.status).toBe(200);
      expect(await record(translated.id)).toMatchObject(estimated);
    });

    it('is estimated, from an Anthropic upstream, passthrough and translated', async () => {
      const message = JSON.stringify({
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [{ type: 'text', text: 'Hi' }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: -5, output_tokens: 'lots' },
      });
      for (const path of ['/messages', '/chat/completions'] as const) {
        h.upstreams.anthropic.script({ status: 200, body: message });
        const { id, res } = await call(path, { model: 'claude-test' });
        expect(res.status).toBe(200);
        const row = await record(id);
        expect(row).toMatchObject(estimated);
        expect(row.input_tokens).toBeGreaterThan(0);
      }
    });

    it('is estimated, from a Gemini upstream', async () => {
      h.upstreams.gemini.script({
        status: 200,
        body: JSON.stringify({
          candidates: [
            { content: { role: 'model', parts: [{ text: 'Hi' }] }, finishReason: 'STOP', index: 0 },
          ],
          usageMetadata: { promptTokenCount: -5, candidatesTokenCount: 'lots' },
          modelVersion: 'gemini-2.5-flash',
        }),
      });
      const { id, res } = await call('/chat/completions', { model: 'gemini-test' });
      expect(res.status).toBe(200);
      const row = await record(id);
      expect(row).toMatchObject(estimated);
      expect(row.input_tokens).toBeGreaterThan(0);
    });
  });
}
