import type { ChunkFlow, ChunkSink, ChunkSource } from './transport';

/**
 * The web stream of a streamed reply: the one the client reads, fed by the passthrough or
 * translating stream (its `ReplyFeed`) as the upstream's chunks arrive. It owns the upstream's
 * flow: paused while the client is behind, resumed as it reads, let go when it cancels.
 *
 * `first` tells when its first chunk is in, so an attempt can be given up (and another target
 * tried) while nothing has been sent. The flow starts as soon as the stream is made, so
 * waiting for `first` takes nothing from the client's reads; before, the first chunk was read
 * off the stream and the rest wrapped in another stream behind it, a second web stream (its
 * queue and promises at every chunk) for the life of every reply.
 */
export interface ReplyStream extends ReadableStream<Uint8Array> {
  /** True once a chunk is queued; false if the stream closed with none; rejects if it failed. */
  readonly first: Promise<boolean>;
}

/** How a reply stream ended, for accounting: complete, ended with an error, or left by the client. */
export interface StreamEnd {
  outcome: 'complete' | 'error' | 'cancelled';
  error?: unknown;
}

/** What a feed writes the reply with. After the client's cancel, writes are dropped. */
export interface ReplyOut {
  /** Queues a chunk for the client; while the client is behind, the upstream is paused. */
  enqueue(chunk: Uint8Array): void;
  /** Ends the reply; the rest of the upstream's body, if any, is read to its end. */
  close(): void;
  /** Fails the client's read. */
  error(error: unknown): void;
  /** The upstream's body: to let it go, or to read what is left of it to its end. */
  readonly flow: ChunkFlow;
}

/** Turns the upstream's body into the reply. */
export interface ReplyFeed {
  data(out: ReplyOut, chunk: Uint8Array): void;
  end(out: ReplyOut): void;
  /** The upstream's body failed; not called once `ended()` (a late failure changes nothing). */
  error(out: ReplyOut, error: unknown): void;
  /** Whether the reply's accounting has ended. */
  ended(): boolean;
  /** The reply stops short of its feed: the client's cancel, or a fault of Vidai's own. */
  stop(end: StreamEnd): void;
}

export function replyStream(source: ChunkSource, feed: ReplyFeed): ReplyStream {
  let settle: (chunk: boolean) => void = () => {};
  let fail: (error: unknown) => void = () => {};
  const first = new Promise<boolean>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  // Nobody may wait for it (a reply that needs no first-byte check).
  first.catch(() => {});
  let cancelled = false;
  let flow!: ChunkFlow;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const out: ReplyOut = {
        enqueue(chunk) {
          if (cancelled) return;
          settle(true);
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) flow.pause();
        },
        close() {
          if (cancelled) return;
          settle(false);
          controller.close();
          // What is left of the upstream's body (its end, after the last event) is read to its
          // end, so its connection goes back to the pool; a flow let go stays let go.
          flow.resume();
        },
        error(error) {
          fail(error);
          controller.error(error);
        },
        get flow() {
          return flow;
        },
      };
      // A fault of Vidai's own in the feed (none is known): the client's read fails and the
      // upstream is let go, rather than the fault throwing into the transport, where undici
      // would take it for the upstream's failure (and the breaker would blame the provider).
      flow = source(
        guardedSink(
          {
            data: (chunk) => feed.data(out, chunk),
            end: () => feed.end(out),
            error: (error) => {
              if (!feed.ended()) feed.error(out, error);
            },
          },
          (error) => {
            flow.cancel();
            feed.stop({ outcome: 'error', error });
            out.error(error);
          },
        ),
      );
    },
    pull: () => flow.resume(),
    cancel(reason) {
      cancelled = true;
      feed.stop({ outcome: 'cancelled' });
      flow.cancel(reason);
    },
  });
  return Object.assign(stream, { first });
}

/** A sink with each callback guarded: a throw goes to `fault`. */
function guardedSink(sink: ChunkSink, fault: (error: unknown) => void): ChunkSink {
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
