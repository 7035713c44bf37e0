import { describe, expect, it } from 'vitest';
import { assertMatchesSpec } from '../helpers/openapi';
import type { Fault } from '../mocks/scripted-upstream';
import type { Harness } from './harness';
import { streamFailureKit } from './stream-failure-kit';

/**
 * Replies that fail without an error event: a 200 whose body is an error object, a stream that
 * is not SSE, the request's own deadline, usage that is not counts. Each is told in the caller's
 * shape and recorded as what it was.
 */
export function replyFailuresSuite(h: Harness): void {
  const { SECRET, sse, openaiChunk, record, call, events } = streamFailureKit(h);

  /** Each chat route, passthrough and translated, with a model of no retries and its upstream. */
  const chatRoutes = [
    ['/chat/completions', 'oa-model', 'openai'],
    ['/chat/completions', 'claude-test', 'anthropic'],
    ['/chat/completions', 'gemini-test', 'gemini'],
    ['/messages', 'claude-test', 'anthropic'],
    ['/messages', 'oa-model', 'openai'],
  ] as const;

  /** The 502 upstream_error for a reply Vidai could not read, in the route's own shape. */
  function expectUnreadable(path: string, text: string): void {
    const error = JSON.parse(text) as unknown;
    if (path.startsWith('/messages')) {
      expect(error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    } else {
      assertMatchesSpec('ErrorResponse', error);
      expect(error).toMatchObject({
        error: { code: 'upstream_error', type: 'server_error', param: null },
      });
    }
    expect(text).toMatch(/could not read/);
  }

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

    it('is the same from Anthropic and Gemini upstreams, passthrough and translated', async () => {
      const cases = [
        ['/messages', 'claude-test', 'anthropic'],
        ['/chat/completions', 'claude-test', 'anthropic'],
        ['/chat/completions', 'gemini-test', 'gemini'],
        ['/messages', 'gemini-test', 'gemini'],
      ] as const;
      const said = {
        anthropic: `{"type":"error","error":{"type":"api_error","message":"boom ${SECRET}"}}`,
        gemini: `{"error":{"code":500,"message":"boom ${SECRET}","status":"INTERNAL"}}`,
      };
      for (const [path, model, upstream] of cases) {
        h.upstreams[upstream].script({ status: 200, body: said[upstream] });
        const { id, res, text } = await call(path, { model });
        expect([path, model, res.status]).toEqual([path, model, 502]);
        expect(text).not.toContain('SECRET');
        expect(text).toMatch(/reported an error in its reply: boom/);
        expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
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

  describe('a 2xx reply that is not streamed and is not a JSON object', () => {
    const bodies = [
      '',
      ' \r\n',
      '<html>oops</html>',
      'null',
      '{"id":"chatcmpl-1","object":"chat.comp',
    ];
    const requestIds: string[] = [];

    it('is a 502 upstream_error recorded as such, on every route, passthrough and translated', async () => {
      const cases = [
        ...chatRoutes,
        ['/embeddings', 'oa-model', 'openai'],
        ['/messages/count_tokens', 'claude-test', 'anthropic'],
        ['/messages/count_tokens', 'gemini-test', 'gemini'],
      ] as const;
      for (const [path, model, upstream] of cases) {
        for (const [i, body] of bodies.entries()) {
          h.upstreams[upstream].script({ status: i === 1 ? 201 : 200, body });
          const { id, res, text } = await call(path, { model, input: 'hi' });
          expect([path, model, body, res.status]).toEqual([path, model, body, 502]);
          requestIds.push(
            `${path} ${model} ${JSON.stringify(body)} ${res.headers.get('x-request-id')}`,
          );
          expectUnreadable(path, text);
          expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
        }
      }
    });

    it('counts against the target, and is retried like any upstream failure', async () => {
      // Each failed attempt above was logged as the target's failure (its breaker hears it).
      await new Promise((resolve) => setTimeout(resolve, 100));
      const failed = h
        .output()
        .split('\n')
        .filter((line) => line.includes('upstream_attempt_failed'));
      for (const requestId of requestIds) {
        expect([
          requestId,
          failed.some((line) => line.includes(requestId.split(' ').at(-1)!)),
        ]).toEqual([requestId, true]);
      }
      for (const path of ['/chat/completions', '/embeddings', '/messages'] as const) {
        const seen = h.upstreams.openai.requests.length;
        h.upstreams.openai.script({ status: 200, body: '' });
        const model = path === '/embeddings' ? 'embed-test' : 'gpt-test';
        const { res, text } = await call(path, { model, input: 'hi' });
        expect([path, res.status]).toEqual([path, 200]);
        expect(res.headers.get('x-vidai-attempts')).toBe('2');
        expect(h.upstreams.openai.requests.length - seen).toBe(2);
        expect(JSON.parse(text)).toBeTypeOf('object');
      }
    });
  });

  describe('a 200 streaming reply that is not SSE', () => {
    const html: Fault = { status: 200, headers: sse, body: '<html>oops</html>' };

    it('is a 502 upstream_error on every route, passthrough and translated', async () => {
      for (const [path, model, upstream] of chatRoutes) {
        h.upstreams[upstream].script(html);
        const { id, res, text } = await call(path, { model, stream: true });
        expect([path, model, res.status]).toEqual([path, model, 502]);
        expectUnreadable(path, text);
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

    it('whose first event is not JSON is retried too, passthrough and translated', async () => {
      for (const path of ['/chat/completions', '/messages'] as const) {
        h.upstreams.openai.script({
          status: 200,
          headers: sse,
          body: 'data: <html>oops</html>\n\n',
        });
        const { res, text } = await call(path, { model: 'gpt-test', stream: true });
        expect([path, res.status]).toEqual([path, 200]);
        expect(res.headers.get('x-vidai-attempts')).toBe('2');
        expect(text).not.toMatch(/could not read/);
      }
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
      expect(await record(id)).toMatchObject({ status: 504, error_code: 'upstream_timeout' });
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
