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
 * ReadableStreamDefaultReader is one. Transports hand the upstream's body over as this rather
 * than as a web stream: the one web stream of a streamed reply is the one the client reads,
 * and each stream between (its controller, queue and promises per chunk) was a large part of
 * what a streamed reply cost to carry.
 */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Lets the body go: the upstream call is cut, a read waiting resolves as done. */
  cancel(reason?: unknown): Promise<void>;
}

export interface UpstreamResponse {
  status: number;
  header(name: string): string | null;
  /** The whole body. Failures reading it reject with a TransportError. */
  bytes(): Promise<Uint8Array<ArrayBuffer>>;
  /** The body chunk by chunk; failures (idle timeout, reset) reject a read with a TransportError. */
  reader(): ChunkReader;
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
