import type { Dispatcher } from 'undici';
import type { CancelSignal } from '../src/pipeline/cancel';
import { joinedBytes } from '../src/util/bytes';
import {
  TransportError,
  type ChunkFlow,
  type ChunkSink,
  type TransportFailure,
  type UpstreamResponse,
} from '../src/pipeline/transport';

/** undici's error codes → what the pipeline needs to know. */
export function toTransportError(err: unknown, otherwise: TransportFailure): TransportError {
  if (err instanceof TransportError) return err;
  const code = (err as { code?: string }).code;
  const name = (err as { name?: string }).name;
  let failure: TransportFailure = otherwise;
  if (code === 'UND_ERR_HEADERS_TIMEOUT') failure = 'first_byte_timeout';
  else if (code === 'UND_ERR_BODY_TIMEOUT') failure = 'idle_timeout';
  else if (code === 'UND_ERR_ABORTED' || name === 'AbortError') failure = 'aborted';
  else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE')
    failure = 'reset';
  else if (
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH'
  )
    failure = 'connect';
  return new TransportError(failure, { cause: err });
}

type Controller = Dispatcher.DispatchController;

function releaseRawHeaders(controller: Controller): void {
  const raw = controller as { rawHeaders?: unknown };
  if (raw.rawHeaders !== undefined) raw.rawHeaders = null;
}
type Headers = Record<string, string | string[] | undefined>;

/**
 * One upstream call as undici's dispatch sees it. `head` settles with the status and headers
 * (or the failure before them). Body chunks that come before the pipeline asks for the body
 * (they can arrive with the headers) wait in `early`; then they go to the one sink: a buffer
 * for `bytes()`, or the pipeline's own for `stream`.
 * An abort of the caller's signal fails the call at once, whatever undici is doing.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler {
  readonly head: Promise<UpstreamResponse>;
  private resolveHead!: (response: UpstreamResponse) => void;
  private rejectHead!: (err: TransportError) => void;
  private controller: Controller | undefined;
  private headers: Headers | undefined;
  private early: Uint8Array[] | undefined;
  private ended = false;
  private failed: TransportError | undefined;
  private sink: ChunkSink | undefined;
  private claimed = false;
  private readonly onAbort = () => this.abort();

  constructor(private readonly signal: CancelSignal | undefined) {
    this.head = new Promise<UpstreamResponse>((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  onRequestStart(controller: Controller): void {
    this.controller = controller;
    if (this.failed !== undefined) controller.abort(this.failed);
  }

  onResponseStart(controller: Controller, statusCode: number, headers: Headers): void {
    // 1xx informational replies come first and say nothing of the reply.
    if (statusCode < 200) return;
    this.controller = controller;
    this.headers = headers;
    // undici's wrapper for this handler API keeps the raw header lines on the controller: views
    // of the socket's first read, so that read's buffer (~4 KB) would live as long as a stream.
    // The parsed headers above are copies; the raw ones are not needed.
    releaseRawHeaders(controller);
    this.resolveHead(this.response(statusCode));
  }

  onResponseData(_controller: Controller, chunk: Buffer): void {
    // undici hands over an empty chunk when it resumes a paused parser; pausing on it again
    // would stall the body for good. Nothing is kept once the body is let go.
    if (chunk.byteLength === 0 || this.failed !== undefined) return;
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.sink !== undefined) this.sink.data(bytes);
    else (this.early ??= []).push(bytes);
  }

  onResponseEnd(): void {
    this.ended = true;
    this.release();
    this.sink?.end();
  }

  onResponseError(_controller: Controller, err: Error): void {
    this.release();
    if (this.failed !== undefined) return;
    this.failed = toTransportError(err, this.headers === undefined ? 'connect' : 'reset');
    this.fail(this.failed);
  }

  /** The caller went away: fail now, and cut the upstream call (at once, or when it starts). */
  private abort(): void {
    if (this.failed !== undefined || this.ended) return;
    this.failed = new TransportError('aborted');
    this.release();
    this.controller?.abort(this.failed);
    this.fail(this.failed);
  }

  private fail(err: TransportError): void {
    if (this.headers === undefined) this.rejectHead(err);
    else this.sink?.error(err);
  }

  private release(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** The body has one reader. */
  private claim(): void {
    if (this.claimed) throw new TypeError('the upstream body is already being read');
    this.claimed = true;
  }

  /** Attaches the body's one reader, handing it what came early, then what is still to come. */
  private attach(sink: ChunkSink): void {
    this.sink = sink;
    const early = this.early;
    this.early = undefined;
    if (early !== undefined) for (const chunk of early) sink.data(chunk);
    if (this.failed !== undefined) sink.error(this.failed);
    else if (this.ended) sink.end();
  }

  private response(status: number): UpstreamResponse {
    return {
      status,
      header: (name) => {
        const value = this.headers?.[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      bytes: () => this.bytes(),
      stream: (sink) => this.stream(sink),
      discard: () => {
        if (this.ended || this.failed !== undefined) return;
        this.failed = new TransportError('aborted');
        this.controller?.abort(this.failed);
      },
    };
  }

  private bytes(): Promise<Uint8Array<ArrayBuffer>> {
    this.claim();
    return new Promise((resolve, reject) => {
      const chunks: Uint8Array<ArrayBuffer>[] = [];
      let size = 0;
      this.attach({
        data(chunk) {
          // A view of a socket read: an ArrayBuffer (not shared memory) that Node and undici
          // never reuse. The reply's head may sit before it there: use it by its offsets only.
          chunks.push(chunk as Uint8Array<ArrayBuffer>);
          size += chunk.byteLength;
        },
        end: () => resolve(joinedBytes(chunks, size)),
        error: reject,
      });
    });
  }

  /**
   * The body pushed to the sink straight from undici's callbacks: no queue, no promise per
   * chunk. Pausing pauses undici's parser, and with it the reads of the upstream socket.
   */
  private stream(sink: ChunkSink): ChunkFlow {
    this.claim();
    let cancelled = false;
    // The sink hears nothing before this returns (see ChunkSource): what came early, with the
    // headers, goes to it a microtask later, and meanwhile more is added to it.
    queueMicrotask(() => {
      if (!cancelled) this.attach(sink);
    });
    return {
      pause: () => this.controller?.pause(),
      resume: () => this.controller?.resume(),
      cancel: () => {
        cancelled = true;
        this.sink = undefined;
        if (this.ended || this.failed !== undefined) return;
        this.failed = new TransportError('aborted');
        this.release();
        this.controller?.abort(this.failed);
      },
    };
  }
}
