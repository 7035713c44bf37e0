import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { assertMatchesSpec } from '../helpers/openapi';
import type { Fault } from '../mocks/scripted-upstream';
import { openaiClient, type Harness } from './harness';
import { streamFailureKit } from './stream-failure-kit';

/**
 * Errors an upstream reports inside its stream, in every shape servers send them, passthrough
 * or translated: each is told in the caller's shape, with nothing secret, and recorded as what
 * it was.
 */
export function streamErrorEventsSuite(h: Harness): void {
  const {
    SECRET,
    sse,
    openaiChunk,
    openaiErrorEvent,
    anthropicStart,
    anthropicErrorEvent,
    record,
    call,
    events,
  } = streamFailureKit(h);

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
        status: 502,
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
      expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
    });

    it('an event that is no JSON ends a passthrough stream with Vidai’s error, recorded as one', async () => {
      h.upstreams.openai.script({
        status: 200,
        headers: sse,
        body: [openaiChunk('a'), 'data: not json at all\n\n', 'data: [DONE]\n\n'],
        gapMs: 20,
      });
      const chat = await call('/chat/completions', { model: 'oa-model', stream: true });
      const last = JSON.parse(events(chat.text).at(-1)!.data) as unknown;
      assertMatchesSpec('ErrorResponse', last);
      expect(last).toMatchObject({
        error: { code: 'upstream_error', message: expect.stringMatching(/could not read/) },
      });
      expect(chat.text).not.toContain('not json');
      expect(await record(chat.id)).toMatchObject({ status: 502, error_code: 'upstream_error' });

      h.upstreams.anthropic.script({
        status: 200,
        headers: sse,
        body: [anthropicStart, 'event: content_block_delta\ndata: oops\n\n'],
        gapMs: 20,
      });
      const messages = await call('/messages', { model: 'claude-test', stream: true });
      const error = events(messages.text).at(-1)!;
      expect(error.event).toBe('error');
      expect(JSON.parse(error.data)).toMatchObject({
        type: 'error',
        error: { message: expect.stringMatching(/could not read/) },
      });
      expect(messages.text).not.toContain('oops');
      expect(await record(messages.id)).toMatchObject({
        status: 502,
        error_code: 'upstream_error',
      });
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
        status: 502,
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
          { status: 502, error_code: 'upstream_error', usage_estimated: 1 },
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
      expect(await record(id)).toMatchObject({ status: 502, error_code: 'upstream_error' });
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
        expect(row).toMatchObject({ usage_estimated: 1 });
        // Recorded with its error's status, as it would have been before its first byte.
        expect(row.error_code).not.toBeNull();
        expect(row.status).toBeGreaterThanOrEqual(400);
        // One token per event carried, not message_start's placeholder 1.
        expect(row.output_tokens).toBe(carried);
      }
      // A complete stream keeps the upstream's own counts.
      const { id } = await call('/messages', { model: 'claude-test', stream: true });
      expect(await record(id)).toMatchObject({ status: 200, error_code: null, usage_estimated: 0 });
    });
  });
}
