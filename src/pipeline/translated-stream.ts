import type { ChatChunk, ChatUsage } from '../providers/translators/hub';
import type { StreamDecoder, StreamEncoder } from '../providers/translators/translator';
import { SseParser } from '../sse/parser';
import { usageFromOpenAI, type TokenUsage } from '../usage/usage';
import { StreamCutError, type StreamEnd } from './passthrough-stream';
import { replyStream, type ReplyOut, type ReplyStream } from './reply-stream';
import type { ChunkSource } from './transport';

/**
 * A reply stream translated from one wire format to another, one upstream event at a time:
 * upstream SSE → events (the one parser) → hub chunks (decoder) → the client's SSE (encoder).
 * Nothing is buffered beyond the event being parsed. A read failure, a cut, or an error event
 * from the upstream ends the reply with the client's own error event, never a clean finish.
 */
export interface TranslatedStreamOptions {
  onUsage(usage: TokenUsage | undefined): void;
  /** Called once, however the stream ends; a promise it returns holds back the last bytes. */
  onEnd(end: StreamEnd): void | Promise<void>;
  errorEvent(error: unknown): string;
  /** Counts the chunks seen (see ForwardPlan.meter). */
  meter?: { events: number } | undefined;
}

/** Decodes UTF-8 across chunk boundaries (one options object for every chunk). */
const STREAMING = { stream: true };

export function translatedStream(
  source: ChunkSource,
  decoder: StreamDecoder,
  encoder: StreamEncoder,
  options: TranslatedStreamOptions,
): ReplyStream {
  const text = new TextDecoder();
  const bytes = new TextEncoder();
  let out = '';
  let failure: { error: unknown } | undefined;
  let usage: ChatUsage | undefined;
  let ended = false;
  let seen = false;

  const emit = (chunk: ChatChunk) => {
    if (chunk.usage) usage = chunk.usage;
    if (options.meter) options.meter.events++;
    out += encoder.push(chunk);
  };
  const parser = new SseParser((event) => {
    if (failure !== undefined) return;
    seen = true;
    try {
      decoder.push(event, emit);
    } catch (error) {
      failure = { error };
    }
  });

  const end = (result: StreamEnd): void | Promise<void> => {
    if (ended) return;
    ended = true;
    options.onUsage(usage === undefined ? undefined : usageFromOpenAI(usage));
    return options.onEnd(result);
  };
  const flush = (controller: ReplyOut) => {
    if (out.length === 0) return false;
    controller.enqueue(bytes.encode(out));
    out = '';
    return true;
  };
  const fail = (controller: ReplyOut, error: unknown) => {
    flush(controller);
    controller.enqueue(bytes.encode(options.errorEvent(error)));
    controller.close();
    controller.flow.cancel();
    end({ outcome: 'error', error });
  };

  /** One upstream chunk, or its end (`undefined`): translated, and what it completes sent on. */
  const step = (controller: ReplyOut, chunk?: Uint8Array) => {
    if (ended) return;
    try {
      parser.push(chunk === undefined ? text.decode() : text.decode(chunk, STREAMING));
    } catch (error) {
      // An event past the size limit (SseEventTooLargeError): no client could use it.
      return fail(controller, error);
    }
    if (failure !== undefined) return fail(controller, failure.error);
    if (chunk !== undefined) {
      flush(controller);
      return;
    }
    // Not one event: the body was not SSE at all.
    if (!seen) return fail(controller, new StreamCutError(true));
    try {
      decoder.end(emit);
    } catch (error) {
      return fail(controller, error);
    }
    out += encoder.end();
    // The reply's last bytes wait until accounting has what it needs.
    const close = () => {
      flush(controller);
      controller.close();
    };
    const waiting = end({ outcome: 'complete' });
    if (waiting === undefined) close();
    else void waiting.then(close, (error: unknown) => controller.error(error));
  };

  return replyStream(source, {
    data: step,
    end: step,
    error: fail,
    ended: () => ended,
    stop: (result) => void end(result),
  });
}
