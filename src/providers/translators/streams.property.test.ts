import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { translatedStream } from '../../pipeline/translated-stream';
import { readerSource } from '../../pipeline/transport';
import { formatSseEvent } from '../../sse/serialize';
import type { WireFormat } from '../catalog';
import { anthropicToOpenAI } from './anthropic-to-openai';
import { openaiToAnthropic } from './openai-to-anthropic';
import { openaiToGemini } from './openai-to-gemini';
import { openaiInbound, openaiUpstream } from './openai-wire';
import { readAnthropicStream, readOpenAIStream, type Reply, wireTargets } from './test-replies';
import type { InboundTranslator, UpstreamTranslator } from './translator';

/**
 * Random replies, written in each upstream's stream format, cut into random pieces with
 * keep-alive comments between events, through every (upstream decoder × client encoder) pair:
 * the output is always well-formed in the client's format and carries the same text, thinking,
 * tool calls (arguments byte for byte) and finish; a stream cut anywhere ends in an error.
 */
interface Answer {
  reasoning: string[];
  text: string[];
  calls: Array<{ name: string; args: Record<string, unknown>; fragments: number[] }>;
  finish: 'stop' | 'length';
}

const json = JSON.stringify;
const piece = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const answer: fc.Arbitrary<Answer> = fc.record({
  reasoning: fc.array(piece, { maxLength: 4 }),
  text: fc.array(piece, { maxLength: 8 }),
  calls: fc.array(
    fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
      args: fc.dictionary(
        fc.string({ maxLength: 8 }),
        // As JSON text carries them (JSON has no -0).
        fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
        {
          maxKeys: 4,
        },
      ),
      fragments: fc.array(fc.nat({ max: 40 }), { maxLength: 5 }),
    }),
    { maxLength: 3 },
  ),
  finish: fc.constantFrom('stop' as const, 'length' as const),
});

/** `text` split at the given offsets (empty pieces included, as real streams send them). */
function split(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b);
  const parts: string[] = [];
  let at = 0;
  for (const point of points) {
    parts.push(text.slice(at, point));
    at = point;
  }
  parts.push(text.slice(at));
  return parts;
}

const finishes = {
  anthropic: { stop: 'end_turn', length: 'max_tokens', tools: 'tool_use' },
  gemini: { stop: 'STOP', length: 'MAX_TOKENS', tools: 'STOP' },
  openai: { stop: 'stop', length: 'length', tools: 'tool_calls' },
} as const;

function finishOf(a: Answer, wire: WireFormat): string {
  return a.calls.length > 0 ? finishes[wire].tools : finishes[wire][a.finish];
}

function anthropicEvents(a: Answer): string[] {
  const e = (type: string, data: object) => formatSseEvent(json({ type, ...data }), type);
  const out = [
    e('message_start', {
      message: {
        id: 'msg_p',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 3, output_tokens: 1 },
      },
    }),
    e('ping', {}),
  ];
  let index = 0;
  const block = (start: object, deltas: object[]) => {
    out.push(e('content_block_start', { index, content_block: start }));
    for (const delta of deltas) out.push(e('content_block_delta', { index, delta }));
    out.push(e('content_block_stop', { index: index++ }));
  };
  if (a.reasoning.length > 0)
    block({ type: 'thinking', thinking: '' }, [
      ...a.reasoning.map((t) => ({ type: 'thinking_delta', thinking: t })),
      { type: 'signature_delta', signature: 'c2ln' },
    ]);
  if (a.text.length > 0)
    block(
      { type: 'text', text: '' },
      a.text.map((t) => ({ type: 'text_delta', text: t })),
    );
  a.calls.forEach((call, i) =>
    block(
      { type: 'tool_use', id: `toolu_${i}`, name: call.name, input: {} },
      split(json(call.args), call.fragments).map((p) => ({
        type: 'input_json_delta',
        partial_json: p,
      })),
    ),
  );
  out.push(
    e('message_delta', {
      delta: { stop_reason: finishOf(a, 'anthropic'), stop_sequence: null },
      usage: { output_tokens: 9 },
    }),
    e('message_stop', {}),
  );
  return out;
}

function geminiEvents(a: Answer): string[] {
  const chunk = (parts: object[], last = false) =>
    `data: ${json({
      candidates: [
        {
          content: { role: 'model', parts },
          index: 0,
          ...(last ? { finishReason: finishOf(a, 'gemini') } : {}),
        },
      ],
      ...(last
        ? { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 9, totalTokenCount: 12 } }
        : {}),
      modelVersion: 'gemini-2.5-flash',
    })}\r\n\r\n`;
  const out = [
    ...a.reasoning.map((t) => chunk([{ text: t, thought: true }])),
    ...a.text.map((t) => chunk([{ text: t }])),
  ];
  const calls = a.calls.map((c) => ({ functionCall: { name: c.name, args: c.args } }));
  out.push(chunk(calls, true));
  return out;
}

function openaiEvents(a: Answer): string[] {
  const chunk = (delta: object, finish: string | null = null) =>
    formatSseEvent(
      json({
        id: 'chatcmpl-p',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      }),
    );
  const out = [chunk({ role: 'assistant', content: '' })];
  for (const t of a.reasoning) out.push(chunk({ reasoning_content: t }));
  for (const t of a.text) out.push(chunk({ content: t }));
  a.calls.forEach((call, index) => {
    out.push(
      chunk({
        tool_calls: [
          {
            index,
            id: `call_${index}`,
            type: 'function',
            function: { name: call.name, arguments: '' },
          },
        ],
      }),
    );
    for (const p of split(json(call.args), call.fragments))
      out.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }));
  });
  out.push(chunk({}, finishOf(a, 'openai')));
  out.push(
    formatSseEvent(
      json({
        id: 'chatcmpl-p',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'gpt',
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 9, total_tokens: 12 },
      }),
    ),
  );
  out.push('data: [DONE]\n\n');
  return out;
}

const upstreams: Array<{
  wire: WireFormat;
  translator: UpstreamTranslator;
  events: (a: Answer) => string[];
}> = [
  { wire: 'anthropic', translator: openaiToAnthropic, events: anthropicEvents },
  { wire: 'gemini', translator: openaiToGemini, events: geminiEvents },
  { wire: 'openai', translator: openaiUpstream, events: openaiEvents },
];
const inbounds: Array<{
  format: 'openai' | 'anthropic';
  translator: InboundTranslator;
  read: (text: string) => Reply;
}> = [
  { format: 'openai', translator: openaiInbound, read: (text) => readOpenAIStream(text) },
  { format: 'anthropic', translator: anthropicToOpenAI, read: readAnthropicStream },
];

const targets = wireTargets();

/** The wire bytes with keep-alive comments between some events, cut into pieces at `cuts`. */
function wireChunks(events: string[], comments: boolean[], cuts: number[]): Uint8Array[] {
  const text = events
    .map((event, i) => (comments[i] ? `: keep-alive\n\n${event}` : event))
    .join('');
  const bytes = new TextEncoder().encode(text);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const point of [...points, bytes.length]) {
    out.push(bytes.slice(at, point));
    at = point;
  }
  return out;
}

function source(
  chunks: Uint8Array[],
  end: 'close' | 'reset' = 'close',
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      const next = chunks[i++];
      if (next !== undefined) return controller.enqueue(next);
      if (end === 'reset') controller.error(new Error('reset'));
      else controller.close();
    },
  });
}

async function translate(
  chunks: Uint8Array[],
  wire: (typeof upstreams)[number],
  inbound: (typeof inbounds)[number],
  end: 'close' | 'reset' = 'close',
) {
  const ends: string[] = [];
  const stream = translatedStream(
    readerSource(source(chunks, end).getReader()),
    wire.translator.stream(targets[wire.wire]),
    inbound.translator.stream({ model: 'm' }),
    {
      onUsage: () => {},
      onEnd: (e) => void ends.push(e.outcome),
      errorEvent: () =>
        inbound.format === 'openai'
          ? formatSseEvent(
              json({
                error: {
                  message: 'cut',
                  type: 'server_error',
                  param: null,
                  code: 'upstream_error',
                },
              }),
            )
          : formatSseEvent(
              json({ type: 'error', error: { type: 'api_error', message: 'cut' } }),
              'error',
            ),
    },
  );
  return { text: await new Response(stream).text(), ends };
}

const hubFinish = (a: Answer) => (a.calls.length > 0 ? 'tool_calls' : a.finish);

describe.each(upstreams)('$wire streams, randomly chunked', (wire) => {
  it.each(inbounds)('reach $format clients whole and well-formed', async (inbound) => {
    await fc.assert(
      fc.asyncProperty(
        answer,
        fc.array(fc.boolean()),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (a, comments, cuts) => {
          const { text, ends } = await translate(
            wireChunks(wire.events(a), comments, cuts),
            wire,
            inbound,
          );
          const reply = inbound.read(text);
          expect(reply.error).toBeUndefined();
          expect(reply.text).toBe(a.text.join(''));
          expect(reply.reasoning).toBe(a.reasoning.join(''));
          expect(reply.toolCalls).toEqual(
            a.calls.map((c) => ({ name: c.name, arguments: c.args })),
          );
          // Fragments pass through as they came: the concatenation is the upstream's JSON text.
          expect(reply.rawArguments).toEqual(a.calls.map((c) => json(c.args)));
          expect(reply.finish).toBe(hubFinish(a));
          expect(ends).toEqual(['complete']);
        },
      ),
      { numRuns: 60 },
    );
  });

  it.each(inbounds)(
    'end in an error for $format clients when cut or broken anywhere',
    async (inbound) => {
      await fc.assert(
        fc.asyncProperty(answer, fc.nat(), fc.boolean(), async (a, at, reset) => {
          const bytes = wireChunks(wire.events(a), [], [])[0] ?? new Uint8Array();
          // Anywhere before the last two bytes, so the last event never completes. (Gemini frames
          // events with CRLF; a lone CR is a line end too, so "…\r\n\r" already ends an event.)
          const cut = at % (bytes.length - 1);
          const { text, ends } = await translate(
            [bytes.slice(0, cut)],
            wire,
            inbound,
            reset ? 'reset' : 'close',
          );
          const reply = inbound.read(text);
          expect(reply.error).toBeDefined();
          expect(ends).toEqual(['error']);
        }),
        { numRuns: 60 },
      );
    },
  );
});
