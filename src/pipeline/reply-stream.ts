import type { ChunkSink } from './transport';

/**
 * The web stream of a streamed reply: the one the client reads, fed by the passthrough or
 * translating stream as the upstream's chunks arrive.
 *
 * `first` tells when its first chunk is in, so an attempt can be given up (and another target
 * tried) while nothing has been sent. The source starts as soon as the stream is made, so
 * waiting for `first` takes nothing from the client's reads; before,
 * the first chunk was read off the stream and the rest wrapped in another stream behind it, a
 * second web stream (its queue and promises at every chunk) for the life of every reply.
 */
export interface ReplyStream extends ReadableStream<Uint8Array> {
  /** True once a chunk is queued; false if the stream closed with none; rejects if its source failed. */
  readonly first: Promise<boolean>;
}

/**
 * A web stream's underlying source, less its queuing strategy: a push source (the passthrough
 * and translating streams over an upstream's ChunkSource) starts its flow in `start` and
 * resumes it in `pull`.
 */
export interface ReplySource {
  start?(controller: ReadableStreamDefaultController<Uint8Array>): void;
  pull?(controller: ReadableStreamDefaultController<Uint8Array>): void | Promise<void>;
  cancel(reason: unknown): void | Promise<void>;
}

export function replyStream(source: ReplySource): ReplyStream {
  let settle: (chunk: boolean) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const first = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // Nobody may wait for it (a reply that needs no first-byte check).
  first.catch(() => {});
  const failed = (error: unknown) => {
    fail(error);
    throw error;
  };
  // What the source enqueues and closes with: the stream's own controller, watched for `first`.
  let watched!: ReadableStreamDefaultController<Uint8Array>;
  const pull = source.pull;
  const stream = new ReadableStream<Uint8Array>({
    start(out) {
      watched = {
        get desiredSize() {
          return out.desiredSize;
        },
        enqueue(chunk) {
          settle(true);
          out.enqueue(chunk);
        },
        close() {
          settle(false);
          out.close();
        },
        error(error: unknown) {
          fail(error);
          out.error(error);
        },
      };
      try {
        source.start?.(watched);
      } catch (error) {
        watched.error(error);
      }
    },
    pull:
      pull &&
      (() => {
        try {
          return pull(watched)?.catch(failed);
        } catch (error) {
          return failed(error);
        }
      }),
    cancel: (reason) => source.cancel(reason),
  });
  return Object.assign(stream, { first });
}

/**
 * A source's sink with each callback guarded: a fault of Vidai's own (none is known) goes to
 * `fault` rather than throwing into the transport, where undici would take it for the
 * upstream's failure (and the breaker would blame the provider).
 */
export function guardedSink(sink: ChunkSink, fault: (error: unknown) => void): ChunkSink {
  return {
    data(chunk) {
      try {
        sink.data(chunk);
      } catch (error) {
        fault(error);
      }
    },
    end() {
      try {
        sink.end();
      } catch (error) {
        fault(error);
      }
    },
    error(err) {
      try {
        sink.error(err);
      } catch (error) {
        fault(error);
      }
    },
  };
}
