import type { CancelSignal } from './cancel';

/**
 * How the gateway reaches an upstream. Each runtime supplies one (Node: a pooled undici client;
 * Workers: fetch); the pipeline sees only this interface.
 */
export interface UpstreamRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** Aborted when the caller goes away or the request's time is up. */
  signal?: CancelSignal | undefined;
  /**
   * Longest wait for a new connection (TCP + TLS). Pooled connections make it a property of the
   * pool, so runtimes apply it where they can (Node: one pool per distinct value; fetch: not
   * separable, it falls under the first-byte timeout).
   */
  connectTimeoutMs?: number;
  /** Longest wait for the response headers. */
  firstByteTimeoutMs: number;
  /** Longest quiet gap while the body is read. */
  idleTimeoutMs: number;
}

/**
 * A body read chunk by chunk: the part of a web stream's reader the pipeline uses, so a
 * ReadableStreamDefaultReader is one (`readerSource` makes it a ChunkSource).
 */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Lets the body go: the upstream call is cut, a read waiting resolves as done. */
  cancel(reason?: unknown): Promise<void>;
}

/** Where a streamed body's chunks go, as they arrive. */
export interface ChunkSink {
  data(chunk: Uint8Array): void;
  end(): void;
  /** The body failed (idle timeout, reset): a TransportError. */
  error(err: unknown): void;
}

/** A body being pushed into its sink. */
export interface ChunkFlow {
  /** No more chunks until `resume` (the client is behind: the upstream is left unread). */
  pause(): void;
  resume(): void;
  /** Lets the body go: the upstream call is cut, and the sink hears nothing more. */
  cancel(reason?: unknown): void;
}

/**
 * A streamed body, pushed: chunks go to the sink as they arrive, until it is paused. The sink
 * hears nothing before `source(sink)` has returned, so its callbacks may use the flow. Transports hand a streamed body over as this, not as a web
 * stream or a reader: the one web stream of a streamed reply is the one the client reads,
 * and each layer between (a stream's queue, or a read's promise and an async pull, at every
 * chunk) was a large part of what a streamed reply cost to carry.
 */
export type ChunkSource = (sink: ChunkSink) => ChunkFlow;

/** A reader as a ChunkSource: it reads while not paused. */
export function readerSource(reader: ChunkReader): ChunkSource {
  return (sink) => {
    let paused = false;
    let reading = false;
    let stopped = false;
    const pump = async () => {
      reading = true;
      while (!paused && !stopped) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          if (!stopped) sink.error(err);
          stopped = true;
          break;
        }
        if (stopped) break;
        if (result.done) {
          stopped = true;
          sink.end();
        } else sink.data(result.value);
      }
      reading = false;
    };
    // The sinks guard themselves; should one throw all the same, the body is let go rather
    // than left half read with its error unhandled.
    void pump().catch(() => {
      stopped = true;
      reading = false;
      void reader.cancel().catch(() => {});
    });
    return {
      pause: () => (paused = true),
      resume: () => {
        paused = false;
        if (!reading && !stopped) void pump();
      },
      cancel: (reason) => {
        if (stopped) return;
        stopped = true;
        void reader.cancel(reason).catch(() => {});
      },
    };
  };
}

export interface UpstreamResponse {
  status: number;
  header(name: string): string | null;
  /** The whole body. Failures reading it reject with a TransportError. */
  bytes(): Promise<Uint8Array<ArrayBuffer>>;
  /** The body pushed chunk by chunk; failures (idle timeout, reset) reach the sink as TransportErrors. */
  stream: ChunkSource;
  /** Gives the connection back without reading the body. */
  discard(): void;
}

export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

export type TransportFailure =
  /** Could not reach the upstream (refused, DNS, TLS). */
  | 'connect'
  | 'first_byte_timeout'
  | 'idle_timeout'
  /** The connection broke after it was made. */
  | 'reset'
  /** The caller went away. */
  | 'aborted';

/** Messages name the failure, never the URL (it may carry a key in its query). */
export class TransportError extends Error {
  constructor(
    readonly failure: TransportFailure,
    options?: { cause?: unknown },
  ) {
    super(`upstream ${failure.replaceAll('_', ' ')}`, options);
    this.name = 'TransportError';
  }
}
