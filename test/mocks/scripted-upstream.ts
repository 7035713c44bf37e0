/**
 * A provider's mock (a Web handler from src/providers/mock/) with fault scripting, in Web terms
 * only, so it serves both runtimes: the Node tests put it behind a real HTTP server
 * (upstream-server.ts); the workerd tests answer the Worker's fetch with it. Normally it answers
 * with the handler (the provider's documented wire format); a test can script what the next
 * requests get instead: an error reply, a hang, a reset connection, a stream cut part way.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
  /** Settles when the caller's request signal aborts (on Node: connection closed or reply done). */
  closed: Promise<void>;
}

export type Fault =
  /**
   * Answer with this status, headers and body; a body given as parts is written part by part,
   * `gapMs` apart (so a client sees the first parts before the rest exists).
   */
  | { status: number; headers?: Record<string, string>; body?: string | string[]; gapMs?: number }
  /** Accept the request and never answer (until the caller gives up). */
  | { hang: true }
  /** Wait, then answer normally. */
  | { delayMs: number }
  /** Break the connection without answering. */
  | { reset: true }
  /** Answer normally, but break the connection after this many bytes of body. */
  | { cutAfterBytes: number }
  /** Answer normally, but go quiet after this many bytes of body (0: headers only), connection open. */
  | { stallAfterBytes: number };

export interface ScriptedUpstream {
  requests: RecordedRequest[];
  /** Queue behaviours for the next requests, in order; requests past the queue are answered normally. */
  script(...faults: Fault[]): void;
  /**
   * Answers one request. A reset rejects with ConnectionLost; a hang never settles until
   * `request.signal` aborts; a cut body errors with ConnectionLost after its bytes.
   */
  handle(request: Request): Promise<Response>;
}

/** What a broken connection looks like to a fetch caller (the message workerd's fetch uses). */
export class ConnectionLost extends TypeError {
  constructor() {
    super('Network connection lost.');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Settles never, or rejects when the caller aborts. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(new ConnectionLost());
    signal.addEventListener('abort', () => reject(new ConnectionLost()), { once: true });
  });
}

/** The body's first `bytes`, then a break (cut) or silence until the caller aborts (stall). */
function limitBody(
  response: Response,
  bytes: number,
  then: 'cut' | 'stall',
  signal: AbortSignal,
): Response {
  const reader = response.body?.getReader();
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (sent >= bytes) {
        void reader?.cancel().catch(() => {});
        if (then === 'stall') await untilAborted(signal);
        throw new ConnectionLost();
      }
      const next = await reader?.read();
      if (next === undefined || next.done) return controller.close();
      const part = next.value.subarray(0, bytes - sent);
      sent += part.byteLength;
      controller.enqueue(part);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}

function parts(body: string[], gapMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0) await sleep(gapMs);
      const part = body[i++];
      if (part === undefined) return controller.close();
      controller.enqueue(encoder.encode(part));
    },
  });
}

export function scriptedUpstream(
  handler: (request: Request) => Promise<Response>,
): ScriptedUpstream {
  const requests: RecordedRequest[] = [];
  const queue: Fault[] = [];
  return {
    requests,
    script: (...faults) => queue.push(...faults),
    async handle(request) {
      const body =
        request.method === 'GET' || request.method === 'HEAD' ? '' : await request.text();
      const url = new URL(request.url);
      const recorded = {
        method: request.method,
        path: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
        body,
        closed: new Promise<void>((resolve) => {
          if (request.signal.aborted) resolve();
          request.signal.addEventListener('abort', () => resolve(), { once: true });
        }),
      };
      requests.push(recorded);
      const answer = () =>
        handler(
          new Request(request.url, {
            method: recorded.method,
            headers: request.headers,
            body: recorded.method === 'GET' || recorded.method === 'HEAD' ? null : body,
          }),
        );
      const fault = queue.shift();
      if (fault === undefined) return answer();
      if ('hang' in fault) return untilAborted(request.signal);
      if ('reset' in fault) throw new ConnectionLost();
      if ('delayMs' in fault) {
        await Promise.race([sleep(fault.delayMs), untilAborted(request.signal)]);
        return answer();
      }
      if ('cutAfterBytes' in fault)
        return limitBody(await answer(), fault.cutAfterBytes, 'cut', request.signal);
      if ('stallAfterBytes' in fault)
        return limitBody(await answer(), fault.stallAfterBytes, 'stall', request.signal);
      const headers = { 'content-type': 'application/json', ...fault.headers };
      const content = Array.isArray(fault.body)
        ? parts(fault.body, fault.gapMs ?? 50)
        : (fault.body ?? '');
      return new Response(content, { status: fault.status, headers });
    },
  };
}

/** An error reply in OpenAI's documented shape. */
export function openaiError(
  status: number,
  message: string,
  extra: { type?: string; code?: string | null; headers?: Record<string, string> } = {},
): Fault {
  return {
    status,
    headers: extra.headers,
    body: JSON.stringify({
      error: {
        message,
        type: extra.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
        param: null,
        code: extra.code ?? null,
      },
    }),
  };
}
