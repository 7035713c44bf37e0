import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openaiToAnthropic } from '../providers/translators/openai-to-anthropic';
import { openaiInbound } from '../providers/translators/openai-wire';
import { translatedWithFaultyEncoder, wireTargets } from '../providers/translators/test-replies';
import type { StreamEnd } from './passthrough-stream';
import { SseEventTooLargeError } from '../sse/parser';
import { translatedStream } from './translated-stream';
import { readerSource } from './transport';

const anthropicStream = readFileSync(
  new URL('../providers/translators/fixtures/anthropic/stream-text.sse', import.meta.url),
);

function source(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new Uint8Array(anthropicStream));
      controller.close();
    },
  });
}

describe('translatedStream ending', () => {
  it('holds back the reply’s last bytes until the promise onEnd returns settles', async () => {
    let settled = false;
    const ends: StreamEnd[] = [];
    const stream = translatedStream(
      readerSource(source().getReader()),
      openaiToAnthropic.stream(wireTargets().anthropic),
      openaiInbound.stream({ model: 'm' }),
      {
        onUsage: () => {},
        onEnd: async (end) => {
          ends.push(end);
          for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
          settled = true;
        },
        errorEvent: () => 'data: {"error":{"message":"x"}}\n\n',
      },
    );
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const piece = decoder.decode(value);
      if (piece.includes('[DONE]')) expect(settled).toBe(true);
      text += piece;
    }
    expect(ends).toEqual([{ outcome: 'complete' }]);
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('ends with the error event when an upstream event grows past the size limit', async () => {
    const mb = new TextEncoder().encode('y'.repeat(1024 * 1024));
    let sent = 0;
    const huge = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ === 0)
          controller.enqueue(new TextEncoder().encode('event: message_start\ndata: '));
        else if (sent < 40) controller.enqueue(mb);
        else controller.close();
      },
    });
    const ends: StreamEnd[] = [];
    const stream = translatedStream(
      readerSource(huge.getReader()),
      openaiToAnthropic.stream(wireTargets().anthropic),
      openaiInbound.stream({ model: 'm' }),
      {
        onUsage: () => {},
        onEnd: (end) => void ends.push(end),
        errorEvent: () => 'data: {"error":{"message":"x"}}\n\n',
      },
    );
    const text = await new Response(stream).text();
    expect(text).toBe('data: {"error":{"message":"x"}}\n\n');
    expect(ends).toHaveLength(1);
    expect(ends[0]?.error).toBeInstanceOf(SseEventTooLargeError);
    expect(sent).toBeLessThan(40);
  });

  it("a fault of its own (here the encoder) errors the client's read and ends it once, rather than hanging", async () => {
    const upstream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array(anthropicStream));
        controller.close();
      },
    });
    const ends: StreamEnd[] = [];
    const stream = translatedWithFaultyEncoder(
      readerSource(upstream.getReader()),
      ends,
      'a fault of the encoder',
    );
    await expect(new Response(stream).text()).rejects.toThrow('a fault of the encoder');
    expect(ends.map((end) => end.outcome)).toEqual(['error']);
  });
});
