import { expect } from 'vitest';
import { assertMatchesSpec } from '../../../test/helpers/openapi';
import { compileConfig, type RouteTarget } from '../../config/compile';
import { parseConfig } from '../../config/schema';
import { SseParser, type SseEvent } from '../../sse/parser';
import type { StreamEnd } from '../../pipeline/reply-stream';
import { translatedStream } from '../../pipeline/translated-stream';
import type { ChunkSource } from '../../pipeline/transport';
import type { WireFormat } from '../catalog';
import { openaiToAnthropic } from './openai-to-anthropic';
import { openaiInbound } from './openai-wire';

/**
 * Test support: reads what a client got back (OpenAI or Anthropic, JSON or stream) into one
 * comparable shape, checking on the way that it is well-formed — OpenAI output against
 * OpenAI's published spec, Anthropic streams against the documented event grammar.
 */
export interface Reply {
  text: string;
  reasoning: string;
  toolCalls: Array<{ name: string; arguments: unknown }>;
  /** Each tool call's arguments exactly as the client received them, concatenated. */
  rawArguments?: string[];
  /** In the hub's terms: stop, length, tool_calls, content_filter. */
  finish: string | undefined;
  /** The error the client was told of: OpenAI's `code`, or Anthropic's error `type`. */
  error: string | undefined;
}

type Json = Record<string, unknown>;

export function sseEvents(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  parser.push(text);
  parser.end();
  return events;
}

function parseArguments(args: string, lenient: boolean): unknown {
  // An upstream's own bytes (passthrough) may leave a tool without arguments as "".
  if (lenient && args === '') return {};
  return JSON.parse(args) as unknown;
}

export function readOpenAIJson(body: unknown, lenient = false): Reply {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    assertMatchesSpec('ErrorResponse', body);
    return {
      text: '',
      reasoning: '',
      toolCalls: [],
      finish: undefined,
      error: String((body as { error: Json }).error.code),
    };
  }
  assertMatchesSpec('CreateChatCompletionResponse', body);
  const choice = (body as { choices: Json[] }).choices[0] ?? {};
  const message = (choice.message ?? {}) as Json;
  const calls = (message.tool_calls ?? []) as Array<{
    function: { name: string; arguments: string };
  }>;
  return {
    text: typeof message.content === 'string' ? message.content : '',
    reasoning: typeof message.reasoning_content === 'string' ? message.reasoning_content : '',
    toolCalls: calls.map((c) => ({
      name: c.function.name,
      arguments: parseArguments(c.function.arguments, lenient),
    })),
    finish: choice.finish_reason as string,
    error: undefined,
  };
}

/** Checks every chunk against the spec, `[DONE]` exactly once and last (unless an error ended the stream). */
export function readOpenAIStream(text: string, lenient = false): Reply {
  const reply: Reply = {
    text: '',
    reasoning: '',
    toolCalls: [],
    finish: undefined,
    error: undefined,
  };
  const calls = new Map<number, { name: string; arguments: string }>();
  const events = sseEvents(text);
  events.forEach((event, i) => {
    expect(reply.error, 'nothing follows an error event').toBeUndefined();
    if (event.data === '[DONE]') {
      expect(i, '[DONE] is the last event').toBe(events.length - 1);
      return;
    }
    const chunk = JSON.parse(event.data) as Json;
    if (chunk.error !== undefined) {
      reply.error = String((chunk.error as Json).code);
      return;
    }
    assertMatchesSpec('CreateChatCompletionStreamResponse', chunk);
    const choice = (chunk.choices as Json[])[0];
    if (choice === undefined) return;
    const delta = (choice.delta ?? {}) as Json;
    if (typeof delta.content === 'string') reply.text += delta.content;
    if (typeof delta.reasoning_content === 'string') reply.reasoning += delta.reasoning_content;
    for (const call of (delta.tool_calls ?? []) as Array<{ index: number; function?: Json }>) {
      const seen = calls.get(call.index) ?? { name: '', arguments: '' };
      if (typeof call.function?.name === 'string') seen.name += call.function.name;
      if (typeof call.function?.arguments === 'string') seen.arguments += call.function.arguments;
      calls.set(call.index, seen);
    }
    if (choice.finish_reason) reply.finish = String(choice.finish_reason);
  });
  const done = events.filter((e) => e.data === '[DONE]').length;
  expect(done, '[DONE] once, and never after an error').toBe(reply.error === undefined ? 1 : 0);
  const ordered = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  reply.toolCalls = ordered.map((c) => ({
    name: c.name,
    // A stream that failed may end inside a call's arguments.
    arguments: reply.error === undefined ? parseArguments(c.arguments, lenient) : c.arguments,
  }));
  reply.rawArguments = ordered.map((c) => c.arguments);
  return reply;
}

const finishOf: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

function expectUsage(usage: unknown): void {
  expect(usage).toMatchObject({
    input_tokens: expect.any(Number),
    output_tokens: expect.any(Number),
  });
}

export function readAnthropicJson(body: unknown): Reply {
  const json = body as Json;
  if (json.type === 'error') {
    expect(json.error).toMatchObject({ type: expect.any(String), message: expect.any(String) });
    return {
      text: '',
      reasoning: '',
      toolCalls: [],
      finish: undefined,
      error: String((json.error as Json).type),
    };
  }
  expect(json).toMatchObject({
    id: expect.stringMatching(/^msg_/),
    type: 'message',
    role: 'assistant',
    model: expect.any(String),
    stop_sequence: null,
  });
  expectUsage(json.usage);
  const blocks = json.content as Json[];
  return {
    text: blocks
      .filter((b) => b.type === 'text')
      .map((b) => String(b.text))
      .join(''),
    reasoning: blocks
      .filter((b) => b.type === 'thinking')
      .map((b) => String(b.thinking))
      .join(''),
    toolCalls: blocks
      .filter((b) => b.type === 'tool_use')
      .map((b) => {
        expect(b).toMatchObject({ id: expect.any(String), input: expect.any(Object) });
        return { name: String(b.name), arguments: b.input };
      }),
    finish: finishOf[String(json.stop_reason)],
    error: undefined,
  };
}

const deltaTypes: Record<string, string[]> = {
  text: ['text_delta'],
  tool_use: ['input_json_delta'],
  thinking: ['thinking_delta', 'signature_delta'],
};

/** Checks the documented event grammar while it accumulates the message. */
export function readAnthropicStream(text: string): Reply {
  const reply: Reply = {
    text: '',
    reasoning: '',
    toolCalls: [],
    finish: undefined,
    error: undefined,
    rawArguments: [],
  };
  let state: 'start' | 'blocks' | 'delta' | 'stopped' = 'start';
  let open: { index: number; type: string; json: string; name: string } | undefined;
  let blocks = 0;
  for (const event of sseEvents(text)) {
    expect(reply.error, 'nothing follows an error event').toBeUndefined();
    const data = JSON.parse(event.data) as Json;
    expect(event.event, 'the SSE event name is the data type').toBe(data.type);
    if (data.type === 'error') {
      reply.error = String((data.error as Json).type);
      continue;
    }
    if (data.type === 'ping') continue;
    switch (data.type) {
      case 'message_start':
        expect(state).toBe('start');
        expect(data.message).toMatchObject({
          type: 'message',
          role: 'assistant',
          content: [],
          stop_reason: null,
        });
        expectUsage((data.message as Json).usage);
        state = 'blocks';
        break;
      case 'content_block_start': {
        expect(state).toBe('blocks');
        expect(open, 'one block at a time').toBeUndefined();
        expect(data.index).toBe(blocks++);
        const block = data.content_block as Json;
        open = {
          index: Number(data.index),
          type: String(block.type),
          json: '',
          name: String(block.name),
        };
        if (block.type === 'tool_use')
          expect(block).toMatchObject({ id: expect.any(String), input: {} });
        break;
      }
      case 'content_block_delta': {
        expect(data.index).toBe(open?.index);
        const delta = data.delta as Json;
        expect(deltaTypes[open?.type ?? '']).toContain(delta.type);
        if (delta.type === 'text_delta') reply.text += String(delta.text);
        if (delta.type === 'thinking_delta') reply.reasoning += String(delta.thinking);
        if (delta.type === 'input_json_delta' && open) open.json += String(delta.partial_json);
        break;
      }
      case 'content_block_stop':
        expect(data.index).toBe(open?.index);
        if (open?.type === 'tool_use') {
          reply.toolCalls.push({
            name: open.name,
            arguments: open.json === '' ? {} : JSON.parse(open.json),
          });
          reply.rawArguments?.push(open.json);
        }
        open = undefined;
        break;
      case 'message_delta':
        expect(state).toBe('blocks');
        expect(open, 'blocks are closed before message_delta').toBeUndefined();
        expectUsage({ input_tokens: 0, ...(data.usage as Json) });
        reply.finish = finishOf[String((data.delta as Json).stop_reason)];
        state = 'delta';
        break;
      case 'message_stop':
        expect(state).toBe('delta');
        state = 'stopped';
        break;
      default:
        throw new Error(`unknown event ${String(data.type)}`);
    }
  }
  expect(state === 'stopped', 'message_stop ends a stream unless an error did').toBe(
    reply.error === undefined,
  );
  return reply;
}

/** One provider of each upstream wire format, compiled from config as the gateway does. */
export function wireTargets(): Record<WireFormat, RouteTarget> {
  const config = compileConfig(
    parseConfig({
      providers: [
        { id: 'a', kind: 'anthropic', api_key_env: 'K' },
        { id: 'g', kind: 'gemini', api_key_env: 'K' },
        { id: 'o', kind: 'openai', api_key_env: 'K' },
      ],
      models: [
        { name: 'anthropic', provider: 'a', model: 'claude-sonnet-4-5' },
        { name: 'gemini', provider: 'g', model: 'gemini-2.5-flash' },
        { name: 'openai', provider: 'o', model: 'gpt-4o' },
      ],
    }),
    { K: 'k' },
  );
  const target = (name: WireFormat) => config.routes.get(name)?.targets[0] as RouteTarget;
  return { anthropic: target('anthropic'), gemini: target('gemini'), openai: target('openai') };
}

/**
 * An Anthropic-format upstream's stream translated for an OpenAI client by an encoder whose
 * end throws: a fault of Vidai's own, for the tests that it is contained. `ends` collects how
 * the stream's accounting ended.
 */
export function translatedWithFaultyEncoder(
  source: ChunkSource,
  ends: StreamEnd[],
  message: string,
): ReadableStream<Uint8Array> {
  const real = openaiInbound.stream({ model: 'm' });
  return translatedStream(
    source,
    openaiToAnthropic.stream(wireTargets().anthropic),
    {
      push: (chunk) => real.push(chunk),
      end: () => {
        throw new Error(message);
      },
    },
    {
      onUsage: () => {},
      onEnd: (end) => void ends.push(end),
      errorEvent: () => 'data: {"error":{"message":"x"}}\n\n',
    },
  );
}
