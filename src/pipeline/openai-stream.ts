import { SseParser } from '../sse/parser';
import { formatSseEvent } from '../sse/serialize';
import { usageFromOpenAI, type TokenUsage } from '../usage/usage';

/**
 * The reply stream of an OpenAI-format upstream to an OpenAI client. Bytes pass through as
 * they came; the tap only reads what accounting needs (the usage chunk, and `[DONE]` to tell a
 * finished stream from a cut one). Two adjustments, both at event boundaries:
 * - bytes are forwarded up to the last complete event, so that if the upstream breaks, the
 *   client gets a clean error event rather than half an event glued to one;
 * - when Vidai itself asked for `include_usage`, the usage-only chunk is removed.
 */
export interface StreamEnd {
  outcome: 'complete' | 'error' | 'cancelled';
  error?: unknown;
}

export interface OpenAIStreamOptions {
  dropUsageChunk: boolean;
  onUsage(usage: TokenUsage): void;
  /**
   * Called once, however the stream ends; for a complete stream, before the reply's last bytes
   * go out, and if it returns a promise they wait for it (accounting keeps a record safe first).
   */
  onEnd(end: StreamEnd): void | Promise<void>;
  /** A failure (read error or cut) rendered as one SSE event the client's SDK will raise. */
  errorEvent(error: unknown): string;
}

export class StreamCutError extends Error {
  constructor() {
    super('upstream stream ended before it was complete');
    this.name = 'StreamCutError';
  }
}

const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const LF = 10;
const CR = 13;

/** The offset just past the last blank line (LF LF or CR LF CR LF) in `bytes`, or 0. */
function lastEventBoundary(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i > 0; i--) {
    if (bytes[i] !== LF) continue;
    if (bytes[i - 1] === LF) return i + 1;
    if (bytes[i - 1] === CR && i >= 3 && bytes[i - 2] === LF && bytes[i - 3] === CR) return i + 1;
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const all = new Uint8Array(a.byteLength + b.byteLength);
  all.set(a, 0);
  all.set(b, a.byteLength);
  return all;
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // the reply is already complete; a late upstream failure changes nothing
  }
}

export function openaiStream(
  source: ReadableStream<Uint8Array>,
  options: OpenAIStreamOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const drop = options.dropUsageChunk;
  let sawDone = false;
  let ended = false;
  let cancelled = false;
  let held: Uint8Array = new Uint8Array(0);
  let reframed = '';

  const end = (result: StreamEnd): void | Promise<void> => {
    if (ended) return;
    ended = true;
    return options.onEnd(result);
  };

  /** [DONE] was seen: tell accounting (and wait if it asks), then send the rest and close. */
  const finish = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    rest: Uint8Array,
  ): Promise<void> => {
    const waiting = end({ outcome: 'complete' });
    if (waiting !== undefined) await waiting;
    if (cancelled) return;
    if (rest.byteLength > 0) controller.enqueue(rest);
    controller.close();
  };

  const parser = new SseParser((event) => {
    if (event.data === '[DONE]') sawDone = true;
    else if (USAGE_OBJECT.test(event.data)) {
      try {
        const chunk = JSON.parse(event.data) as { usage?: unknown; choices?: unknown };
        const usage = usageFromOpenAI(chunk.usage);
        if (usage) options.onUsage(usage);
        if (drop && Array.isArray(chunk.choices) && chunk.choices.length === 0) return;
      } catch {
        // not JSON: pass it on untouched
      }
    }
    if (drop) reframed += formatSseEvent(event.data, event.event);
  });

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: unknown) => {
    controller.enqueue(encoder.encode(options.errorEvent(error)));
    controller.close();
    end({ outcome: 'error', error });
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is sent or the stream ends, so a chunk that yields nothing
      // (a partial event, a dropped usage chunk) does not stall the reader.
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          return fail(controller, error);
        }
        if (result.done) {
          parser.push(decoder.decode());
          if (!sawDone) return fail(controller, new StreamCutError());
          return finish(controller, drop ? encoder.encode(reframed) : held);
        }
        parser.push(decoder.decode(result.value, { stream: true }));
        if (sawDone) {
          // [DONE] is the last event: finish the reply now (everything not yet sent goes out at
          // once), and read the upstream's end in the background so its connection goes back
          // to the pool instead of being torn down.
          void drain(reader);
          return finish(controller, drop ? encoder.encode(reframed) : concat(held, result.value));
        }
        let sent = false;
        if (drop) {
          if (reframed.length > 0) {
            controller.enqueue(encoder.encode(reframed));
            reframed = '';
            sent = true;
          }
        } else {
          const bytes = concat(held, result.value);
          const boundary = lastEventBoundary(bytes);
          held = bytes.subarray(boundary);
          if (boundary > 0) {
            controller.enqueue(boundary === bytes.byteLength ? bytes : bytes.subarray(0, boundary));
            sent = true;
          }
        }
        if (sent) return;
      }
    },
    cancel(reason) {
      cancelled = true;
      void end({ outcome: 'cancelled' });
      return reader.cancel(reason);
    },
  });
}
