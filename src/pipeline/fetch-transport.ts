import {
  readerSource,
  TransportError,
  type ChunkReader,
  type Transport,
  type TransportFailure,
} from './transport';
import { joinedBytes } from '../util/bytes';

/**
 * A Transport over a fetch function: the global fetch on Workers, or an in-process handler
 * (the built-in mock). Timeouts are enforced with abort signals and per-read timers.
 */
export function fetchTransport(fetcher: (request: Request) => Promise<Response>): Transport {
  return async (req) => {
    const controller = new AbortController();
    let failure: TransportFailure | undefined;
    const abort = (why: TransportFailure) => {
      failure ??= why;
      controller.abort();
    };
    const onCallerAbort = () => abort('aborted');
    // fetch rejects, and errors a body, when its request is aborted; an in-process handler
    // may know nothing of the signal. Every wait races this, so it ends when the abort comes.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener(
        'abort',
        () => reject(new TransportError(failure ?? 'aborted')),
        { once: true },
      );
    });
    aborted.catch(() => {});
    if (req.signal?.aborted) throw new TransportError('aborted');
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timer = setTimeout(() => abort('first_byte_timeout'), req.firstByteTimeoutMs);
    let response: Response;
    try {
      const request = new Request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body ?? null,
        signal: controller.signal,
      });
      response = await Promise.race([fetcher(request), aborted]);
    } catch (err) {
      req.signal?.removeEventListener('abort', onCallerAbort);
      throw new TransportError(failure ?? 'connect', { cause: err });
    } finally {
      clearTimeout(timer);
    }
    const fail = (err: unknown) => new TransportError(failure ?? 'reset', { cause: err });
    const done = () => req.signal?.removeEventListener('abort', onCallerAbort);

    const reader = (): ChunkReader => {
      const body = response.body?.getReader();
      return {
        async read() {
          if (!body) {
            done();
            return { done: true, value: undefined };
          }
          const idle = setTimeout(() => abort('idle_timeout'), req.idleTimeoutMs);
          try {
            const result = await Promise.race([body.read(), aborted]);
            if (result.done) done();
            return result;
          } catch (err) {
            done();
            void body.cancel().catch(() => {});
            throw err instanceof TransportError ? err : fail(err);
          } finally {
            clearTimeout(idle);
          }
        },
        cancel(reason) {
          done();
          controller.abort();
          return body?.cancel(reason) ?? Promise.resolve();
        },
      };
    };

    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      async bytes() {
        const body = reader();
        // A fetch body's chunks are never shared memory.
        const chunks: Uint8Array<ArrayBuffer>[] = [];
        let size = 0;
        for (;;) {
          const { done: ended, value } = await body.read();
          if (ended) break;
          chunks.push(value as Uint8Array<ArrayBuffer>);
          size += value.byteLength;
        }
        return joinedBytes(chunks, size);
      },
      stream: (sink) => readerSource(reader())(sink),
      discard() {
        done();
        void response.body?.cancel().catch(() => {});
      },
    };
  };
}
