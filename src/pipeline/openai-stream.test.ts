import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseEventTooLargeError, SseParser, type SseEvent } from '../sse/parser';
import type { TokenUsage } from '../usage/usage';
import { openaiStream, StreamCutError, type StreamEnd } from './openai-stream';
import { UnreadableEventError } from './passthrough-stream';
import { readerSource } from './transport';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const base = {
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1735689600,
  model: 'gpt-4o-mini-2024-07-18',
  service_tier: 'default',
  system_fingerprint: 'fp_1',
};

function chunk(choices: unknown[], extra: Record<string, unknown> = {}): string {
  return `data: ${JSON.stringify({ ...base, choices, usage: null, ...extra })}\n\n`;
}

function delta(d: Record<string, unknown>, finish: string | null = null): string {
  return chunk([{ index: 0, delta: d, logprobs: null, finish_reason: finish }]);
}

const roleEvent = delta({ role: 'assistant', content: '', refusal: null });
const helloEvent = delta({ content: 'Hello' });
const worldEvent = delta({ content: ' wörld 🎉' });
const stopEvent = delta({}, 'stop');
const usageEvent = chunk([], {
  usage: {
    prompt_tokens: 19,
    completion_tokens: 3,
    total_tokens: 22,
    prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 1, audio_tokens: 0 },
  },
});
const doneEvent = 'data: [DONE]\n\n';
const events = [roleEvent, helloEvent, worldEvent, stopEvent, usageEvent, doneEvent];
const wire = events.join('');

const expectedUsage: TokenUsage = {
  inputTokens: 19,
  outputTokens: 3,
  cachedInputTokens: 4,
  cacheWriteTokens: 0,
  reasoningTokens: 1,
};

const ERROR_EVENT = 'data: {"error":{"message":"stream broke","type":"server_error"}}\n\n';

interface FakeSource {
  stream: ReadableStream<Uint8Array>;
  /** Reasons cancel() was called with. */
  cancelled: unknown[];
  /** How many chunks the consumer has pulled. */
  pulled(): number;
  /** Lets a `hang` source finish (close). */
  release(): void;
}

/** A pull-based upstream body: one chunk per read, then it closes, errors or hangs. */
function fakeSource(
  chunks: readonly (string | Uint8Array)[],
  end: 'close' | 'hang' | { error: unknown } = 'close',
): FakeSource {
  const cancelled: unknown[] = [];
  let i = 0;
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = chunks[i];
        if (next !== undefined) {
          i++;
          controller.enqueue(typeof next === 'string' ? encoder.encode(next) : next);
          return;
        }
        if (end === 'hang') {
          await released;
          controller.close();
        } else if (end === 'close') controller.close();
        else controller.error(end.error);
      },
      cancel(reason) {
        cancelled.push(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, cancelled, pulled: () => i, release: () => release() };
}

interface Run {
  chunks: string[];
  text: string;
  ends: StreamEnd[];
  usages: TokenUsage[];
  errors: unknown[];
}

function tap(dropUsageChunk: boolean) {
  const run = { ends: [] as StreamEnd[], usages: [] as TokenUsage[], errors: [] as unknown[] };
  const options = {
    dropUsageChunk,
    onUsage: (usage: TokenUsage) => run.usages.push(usage),
    onEnd: (end: StreamEnd) => void run.ends.push(end),
    errorEvent: (error: unknown) => {
      run.errors.push(error);
      return ERROR_EVENT;
    },
    upstreamError: (data: string) => ({ upstream: data }),
  };
  return { run, options };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

async function run(
  chunks: readonly (string | Uint8Array)[],
  dropUsageChunk = false,
  end: 'close' | { error: unknown } = 'close',
): Promise<Run> {
  const { run: r, options } = tap(dropUsageChunk);
  const out = await readAll(
    openaiStream(readerSource(fakeSource(chunks, end).stream.getReader()), options),
  );
  const texts = out.map((bytes) => decoder.decode(bytes));
  return { ...r, chunks: texts, text: texts.join('') };
}

function parseAll(text: string): SseEvent[] {
  const parsed: SseEvent[] = [];
  const parser = new SseParser((event) => parsed.push(event));
  parser.push(text);
  parser.end();
  return parsed;
}

function endsOnEventBoundary(text: string): boolean {
  return text.endsWith('\n\n') || text.endsWith('\r\n\r\n');
}

describe('openaiStream in passthrough mode', () => {
  it('forwards each chunk unchanged when chunks end on event boundaries', async () => {
    const r = await run(events);
    expect(r.chunks).toEqual(events);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('forwards a chunk holding several events as one chunk', async () => {
    const r = await run([roleEvent + helloEvent, worldEvent + stopEvent + usageEvent + doneEvent]);
    expect(r.chunks).toEqual([
      roleEvent + helloEvent,
      worldEvent + stopEvent + usageEvent + doneEvent,
    ]);
  });

  it('forwards the same bytes, not a re-encoding of them', async () => {
    const bytes = encoder.encode(wire);
    const r = await run([bytes]);
    expect(encoder.encode(r.text)).toEqual(bytes);
  });

  it('holds keep-alive comments that come before the first event and sends them with it', async () => {
    const ping = ': ping\n\n';
    const r = await run([ping, ping, roleEvent, ping, helloEvent, doneEvent]);
    expect(r.chunks).toEqual([ping + ping + roleEvent, ping, helloEvent, doneEvent]);
  });

  it('carries an event split over many reads, byte for byte, in one chunk', async () => {
    const big = chunk([{ index: 0, delta: { content: 'x'.repeat(200_000) } }]);
    const pieces: string[] = [];
    for (let at = 0; at < big.length; at += 1000) pieces.push(big.slice(at, at + 1000));
    const r = await run([roleEvent, ...pieces, doneEvent]);
    expect(r.chunks).toEqual([roleEvent, big, doneEvent]);
  });

  it('ends with an error event when an event grows past the size limit, keeping what came before', async () => {
    const endless = 'data: ' + 'y'.repeat(1024 * 1024);
    const r = await run([
      roleEvent,
      helloEvent + endless,
      ...Array.from({ length: 17 }, () => 'y'.repeat(1024 * 1024)),
    ]);
    expect(r.text.startsWith(roleEvent + helloEvent)).toBe(true);
    expect(r.text.endsWith(ERROR_EVENT)).toBe(true);
    expect(r.text.length).toBeLessThan(
      roleEvent.length + helloEvent.length + ERROR_EVENT.length + 1,
    );
    expect(r.ends).toHaveLength(1);
    expect(r.ends[0]?.error).toBeInstanceOf(SseEventTooLargeError);
  });

  it('holds a partial event until it is complete', async () => {
    const cut = helloEvent.length - 5;
    const r = await run([
      roleEvent + helloEvent.slice(0, cut),
      helloEvent.slice(cut),
      worldEvent,
      stopEvent + usageEvent + doneEvent,
    ]);
    expect(r.chunks).toEqual([
      roleEvent,
      helloEvent,
      worldEvent,
      stopEvent + usageEvent + doneEvent,
    ]);
    expect(r.text).toBe(wire);
  });

  it('holds an event split between its two final line feeds', async () => {
    const r = await run([helloEvent.slice(0, -1), '\n' + doneEvent]);
    expect(r.chunks).toEqual([helloEvent + doneEvent]);
  });

  it('keeps holding across several chunks that complete no event', async () => {
    const r = await run(['data: {"a"', ':1', '}', '\n', '\n' + doneEvent]);
    expect(r.chunks).toEqual(['data: {"a":1}\n\n' + doneEvent]);
  });

  it('forwards CRLF-framed events at their boundaries', async () => {
    const crlf = events.map((e) => e.replaceAll('\n', '\r\n'));
    const r = await run([crlf[0] + crlf[1]!.slice(0, 10), crlf[1]!.slice(10), ...crlf.slice(2)]);
    expect(r.chunks).toEqual(crlf);
  });

  it('forwards [DONE] when the CRLF ending it is split across chunks', async () => {
    const r = await run([helloEvent + 'data: [DONE]\r\n\r', '\n']);
    expect(r.text).toContain('data: [DONE]');
    expect(parseAll(r.text).map((e) => e.data)).toEqual([helloEvent.slice(6, -2), '[DONE]']);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('forwards a stream framed with CR line ends whole', async () => {
    const cr = events.map((e) => e.replaceAll('\n', '\r'));
    const r = await run(cr);
    expect(r.text).toBe(cr.join(''));
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('passes multi-byte characters split across chunks through byte for byte', async () => {
    const bytes = encoder.encode(worldEvent + doneEvent);
    const at = worldEvent.indexOf('🎉') + 2; // inside the emoji's four UTF-8 bytes
    const r = await run([bytes.subarray(0, at), bytes.subarray(at)]);
    expect(r.text).toBe(worldEvent + doneEvent);
  });

  it('reports usage from the final usage-only chunk, once', async () => {
    const r = await run(events);
    expect(r.usages).toEqual([expectedUsage]);
  });

  it('keeps the usage chunk in the output when not asked to drop it', async () => {
    const r = await run(events);
    expect(r.text).toContain('"prompt_tokens":19');
  });

  it('reports no usage when the stream has none', async () => {
    const r = await run([roleEvent, helloEvent, stopEvent, doneEvent]);
    expect(r.usages).toEqual([]);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('passes an event whose data is not JSON through untouched', async () => {
    const odd = 'data: {"usage": {not json\n\n';
    const r = await run([helloEvent, odd, doneEvent]);
    expect(r.text).toBe(helloEvent + odd + doneEvent);
    expect(r.usages).toEqual([]);
  });
});

describe('openaiStream dropping the usage chunk', () => {
  it('removes the usage-only chunk and keeps every other event and [DONE]', async () => {
    const r = await run(events, true);
    const kept = parseAll(r.text).map((e) => e.data);
    expect(kept).toEqual(
      [roleEvent, helloEvent, worldEvent, stopEvent, doneEvent].map((e) => e.slice(6, -2)),
    );
    expect(r.text).not.toContain('prompt_tokens');
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('passes every other read through byte for byte, re-framing none of it', async () => {
    const chunks = [roleEvent, helloEvent, worldEvent, stopEvent, doneEvent];
    const mixed = chunks.map((e, i) => (i % 2 === 0 ? e : e.replace(/\n\n$/, '\r\n\r\n')));
    const input = [...mixed.slice(0, 4), usageEvent, mixed[4]!];
    const r = await run(input, true);
    expect(r.chunks).toEqual(mixed);
  });

  it('still reports the usage it removed', async () => {
    const r = await run(events, true);
    expect(r.usages).toEqual([expectedUsage]);
  });

  it('keeps a usage object that rides on a chunk with choices', async () => {
    const withChoices = chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], {
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
    const r = await run([helloEvent, withChoices, doneEvent], true);
    expect(parseAll(r.text).map((e) => e.data)).toEqual(
      [helloEvent, withChoices, doneEvent].map((e) => e.slice(6, -2)),
    );
    expect(r.usages).toEqual([
      {
        inputTokens: 5,
        outputTokens: 2,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        reasoningTokens: 0,
      },
    ]);
  });

  it('produces the same events for a byte-at-a-time upstream', async () => {
    const bytes = encoder.encode(wire);
    const r = await run(
      Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)),
      true,
    );
    expect(parseAll(r.text).map((e) => e.data)).toEqual(
      [roleEvent, helloEvent, worldEvent, stopEvent, doneEvent].map((e) => e.slice(6, -2)),
    );
    expect(r.usages).toEqual([expectedUsage]);
  });

  it('keeps the event type of a named event', async () => {
    const r = await run(['event: ping\ndata: {}\n\n', doneEvent], true);
    expect(parseAll(r.text)).toEqual([
      { event: 'ping', data: '{}', id: undefined },
      { event: undefined, data: '[DONE]', id: undefined },
    ]);
  });
});

describe('openaiStream when the upstream fails', () => {
  it.each(['not json at all', '[1,2]', '"text"', '42'])(
    'ends with the error event at an event whose data is no JSON object (%s)',
    async (data) => {
      const r = await run([roleEvent, helloEvent, `data: ${data}\n\n`, doneEvent]);
      expect(r.text).toBe(roleEvent + helloEvent + ERROR_EVENT);
      expect(r.ends).toHaveLength(1);
      expect(r.ends[0]?.outcome).toBe('error');
      expect(r.ends[0]?.error).toBeInstanceOf(UnreadableEventError);
    },
  );

  it('passes on events with empty data or JSON after white space', async () => {
    const odd = ['data:\n\n', 'data:  {"id":"x","choices":[]}\n\n'];
    const r = await run([roleEvent, ...odd, doneEvent]);
    expect(r.text).toBe(roleEvent + odd.join('') + doneEvent);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it.each([false, true])(
    'ends a stream cut without [DONE] with the error event, without the half event (drop %s)',
    async (drop) => {
      const half = worldEvent.slice(0, worldEvent.indexOf('wörld') + 3);
      const r = await run([roleEvent, helloEvent + half], drop);
      expect(r.text).toBe(roleEvent + helloEvent + ERROR_EVENT);
      expect(r.text).not.toContain('wö');
      expect(r.ends).toHaveLength(1);
      expect(r.ends[0]?.outcome).toBe('error');
      expect(r.ends[0]?.error).toBeInstanceOf(StreamCutError);
      expect(r.errors).toEqual([r.ends[0]?.error]);
    },
  );

  it('treats a stream of whole events that stops before [DONE] as cut', async () => {
    const r = await run([roleEvent, helloEvent, stopEvent]);
    expect(r.text).toBe(roleEvent + helloEvent + stopEvent + ERROR_EVENT);
    expect(r.ends.map((e) => e.outcome)).toEqual(['error']);
  });

  it('treats a [DONE] without its blank line as cut', async () => {
    const r = await run([helloEvent, 'data: [DONE]\n']);
    expect(r.text).toBe(helloEvent + ERROR_EVENT);
    expect(r.ends.map((e) => e.outcome)).toEqual(['error']);
  });

  it.each([false, true])(
    'ends with the error event when the source errors mid-way (drop %s)',
    async (drop) => {
      const reset = new Error('socket reset');
      const r = await run([roleEvent, helloEvent + worldEvent.slice(0, 12)], drop, {
        error: reset,
      });
      expect(r.text).toBe(roleEvent + helloEvent + ERROR_EVENT);
      expect(r.ends).toEqual([{ outcome: 'error', error: reset }]);
      expect(r.errors).toEqual([reset]);
    },
  );

  it.each([false, true])(
    "replaces an upstream error event with Vidai's own and ends there (drop %s)",
    async (drop) => {
      const data = '{"error":{"message":"overloaded sk-proj-SECRET123456","type":"server_error"}}';
      const upstreamError = `data: ${data}\n\n`;
      // The error event shares a read with the event before it, and more follows it.
      const r = await run([roleEvent, helloEvent + upstreamError + worldEvent, doneEvent], drop);
      expect(r.text).toBe(roleEvent + helloEvent + ERROR_EVENT);
      expect(r.text).not.toContain('SECRET');
      expect(r.errors).toEqual([{ upstream: data }]);
      expect(r.ends).toEqual([{ outcome: 'error', error: { upstream: data } }]);
    },
  );

  it('tells a body with no event at all (not SSE) from a cut stream', async () => {
    const r = await run(['<html>oops</html>']);
    expect(r.text).toBe(ERROR_EVENT);
    expect(r.ends[0]?.error).toEqual(new StreamCutError(true));
    expect((r.ends[0]?.error as StreamCutError).empty).toBe(true);
    const cut = await run([roleEvent]);
    expect((cut.ends[0]?.error as StreamCutError).empty).toBe(false);
  });

  it('ends with the error event when the very first read fails', async () => {
    const reset = new Error('socket reset');
    const r = await run([], false, { error: reset });
    expect(r.text).toBe(ERROR_EVENT);
    expect(r.ends).toEqual([{ outcome: 'error', error: reset }]);
  });
});

describe('openaiStream ending', () => {
  it('holds back the last bytes of a complete stream until the promise onEnd returns settles', async () => {
    for (const drop of [false, true]) {
      let settled = false;
      const ends: StreamEnd[] = [];
      const stream = openaiStream(readerSource(fakeSource(events).stream.getReader()), {
        ...tap(drop).options,
        onEnd: async (end) => {
          ends.push(end);
          for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
          settled = true;
        },
      });
      let text = '';
      for (const bytes of await readAll(stream)) {
        const piece = decoder.decode(bytes);
        // Whatever carries [DONE] comes out only once onEnd's promise has settled.
        if (piece.includes('[DONE]')) expect(settled).toBe(true);
        text += piece;
      }
      expect(ends).toEqual([{ outcome: 'complete' }]);
      expect(text.endsWith(doneEvent)).toBe(true);
    }
  });

  it('calls onEnd cancelled and cancels the source when the client cancels', async () => {
    const { run: r, options } = tap(false);
    const source = fakeSource([roleEvent, helloEvent, worldEvent, doneEvent]);
    const reader = openaiStream(readerSource(source.stream.getReader()), options).getReader();
    expect(decoder.decode((await reader.read()).value)).toBe(roleEvent);
    await reader.cancel('client went away');
    expect(r.ends).toEqual([{ outcome: 'cancelled' }]);
    expect(source.cancelled).toEqual(['client went away']);
  });

  it('calls onEnd once when cancelled while a read is pending', async () => {
    const { run: r, options } = tap(false);
    const source = fakeSource([roleEvent], 'hang');
    const reader = openaiStream(readerSource(source.stream.getReader()), options).getReader();
    await reader.read();
    const pending = reader.read();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await reader.cancel('bye');
    expect((await pending).done).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(r.ends).toEqual([{ outcome: 'cancelled' }]);
    expect(source.cancelled).toEqual(['bye']);
  });

  it('calls onEnd exactly once when a completed stream is cancelled afterwards', async () => {
    const { run: r, options } = tap(false);
    const stream = openaiStream(readerSource(fakeSource(events).stream.getReader()), options);
    const reader = stream.getReader();
    while (!(await reader.read()).done);
    await reader.cancel('late');
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });

  it('closes at [DONE] without waiting for the upstream to close, then drains it', async () => {
    const { run: r, options } = tap(false);
    const source = fakeSource([helloEvent, doneEvent, ': trailing\n\n'], 'hang');
    const out = await readAll(openaiStream(readerSource(source.stream.getReader()), options));
    expect(out.map((b) => decoder.decode(b)).join('')).toBe(helloEvent + doneEvent);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
    source.release();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(source.pulled()).toBe(3);
    expect(source.cancelled).toEqual([]);
  });

  it('does not fail a finished reply when the upstream errors after [DONE]', async () => {
    const r = await run([helloEvent, doneEvent], false, { error: new Error('late reset') });
    expect(r.text).toBe(helloEvent + doneEvent);
    expect(r.ends).toEqual([{ outcome: 'complete' }]);
  });
});

/** Random chunkings of the sample wire bytes. */
const chunkings = fc
  .uniqueArray(fc.integer({ min: 1, max: encoder.encode(wire).length - 1 }), { maxLength: 20 })
  .map((offsets) => {
    const bytes = encoder.encode(wire);
    const cuts = [0, ...[...offsets].sort((a, b) => a - b), bytes.length];
    return cuts.slice(1).map((to, i) => bytes.subarray(cuts[i], to));
  });

describe('openaiStream with random chunkings (property)', () => {
  it('passes the input through unchanged, in whole events, for any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(chunkings, async (chunks) => {
        const r = await run(chunks);
        expect(r.text).toBe(wire);
        for (const out of r.chunks) expect(endsOnEventBoundary(out), out).toBe(true);
        expect(r.ends).toEqual([{ outcome: 'complete' }]);
        expect(r.usages).toEqual([expectedUsage]);
      }),
      { numRuns: 200 },
    );
  });

  it('drops only the usage chunk for any chunking', async () => {
    const kept = [roleEvent, helloEvent, worldEvent, stopEvent, doneEvent].map((e) =>
      e.slice(6, -2),
    );
    await fc.assert(
      fc.asyncProperty(chunkings, async (chunks) => {
        const r = await run(chunks, true);
        expect(parseAll(r.text).map((e) => e.data)).toEqual(kept);
        expect(r.ends).toEqual([{ outcome: 'complete' }]);
        expect(r.usages).toEqual([expectedUsage]);
      }),
      { numRuns: 200 },
    );
  });

  it('never forwards part of an event when the stream is cut anywhere before [DONE]', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: wire.length - 1 }), async (cut) => {
        const r = await run([wire.slice(0, cut)]);
        const whole = events
          .map((_, i) => events.slice(0, i).join(''))
          .filter((prefix) => prefix.length <= cut)
          .at(-1);
        expect(r.text).toBe(whole + ERROR_EVENT);
        expect(r.ends.map((e) => e.outcome)).toEqual(['error']);
      }),
      { numRuns: 200 },
    );
  });
});
