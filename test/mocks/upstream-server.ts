import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A real HTTP server for tests to put behind Vidai. Normally it answers with a provider's Web
 * handler (the mock speaks the provider's documented wire format); a test can script what the
 * next requests get instead: an error reply, a hang, a reset connection, a stream cut part way.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Settles when this request's connection closed or its reply was complete. */
  closed: Promise<void>;
}

export type Fault =
  /**
   * Answer with this status, headers and body; a body given as parts is written part by part,
   * `gapMs` apart (so a client sees the first parts before the rest exists).
   */
  | { status: number; headers?: Record<string, string>; body?: string | string[]; gapMs?: number }
  /** Accept the request and never answer (until the server closes). */
  | { hang: true }
  /** Wait, then answer normally. */
  | { delayMs: number }
  /** Destroy the connection without answering. */
  | { reset: true }
  /** Answer normally, but destroy the connection after this many bytes of body. */
  | { cutAfterBytes: number }
  /** Answer normally, but go quiet after this many bytes of body (0: headers only), connection open. */
  | { stallAfterBytes: number };

/** Where a scripted reply stops: cut the connection, or keep it open and send nothing more. */
type BodyLimit = { bytes: number; then: 'cut' | 'stall' };

export interface UpstreamServer {
  url: string;
  requests: RecordedRequest[];
  /** Queue behaviours for the next requests, in order; requests past the queue are answered normally. */
  script(...faults: Fault[]): void;
  close(): Promise<void>;
}

/** Writes a Web Response to a Node response, chunk by chunk as the handler produces it. */
async function send(response: Response, res: ServerResponse, limit?: BodyLimit): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  if (!response.body) return void res.end();
  let sent = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return void res.end();
    if (limit !== undefined && sent + value.byteLength >= limit.bytes) {
      if (limit.bytes > sent) res.write(value.subarray(0, limit.bytes - sent));
      await reader.cancel();
      // Stalled: the connection stays open, silent, until the client gives up.
      if (limit.then === 'stall') return;
      // Let the partial write reach the wire, then break the connection mid-body.
      return void setTimeout(() => res.socket?.destroy(), 20);
    }
    sent += value.byteLength;
    res.write(value);
  }
}

export async function startUpstream(
  handler: (request: Request) => Promise<Response>,
): Promise<UpstreamServer> {
  const requests: RecordedRequest[] = [];
  const queue: Fault[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => resolve()));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const recorded = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        closed,
      };
      requests.push(recorded);
      const answer = (limit?: BodyLimit) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string') headers.set(name, value);
        }
        const request = new Request(`http://127.0.0.1${recorded.path}`, {
          method: recorded.method,
          headers,
          body: recorded.method === 'GET' || recorded.method === 'HEAD' ? null : body,
        });
        handler(request)
          .then((response) => send(response, res, limit))
          .catch(() => res.socket?.destroy());
      };
      const fault = queue.shift();
      if (fault === undefined) return answer();
      if ('hang' in fault) return;
      if ('reset' in fault) return void req.socket.destroy();
      if ('delayMs' in fault) return void setTimeout(answer, fault.delayMs);
      if ('cutAfterBytes' in fault) return answer({ bytes: fault.cutAfterBytes, then: 'cut' });
      if ('stallAfterBytes' in fault)
        return answer({ bytes: fault.stallAfterBytes, then: 'stall' });
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      if (!Array.isArray(fault.body)) return void res.end(fault.body ?? '');
      const parts = [...fault.body];
      const writeNext = () => {
        const part = parts.shift();
        if (part === undefined) return void res.end();
        res.write(part);
        setTimeout(writeNext, fault.gapMs ?? 50);
      };
      writeNext();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script: (...faults) => queue.push(...faults),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
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
