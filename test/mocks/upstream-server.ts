import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { scriptedUpstream, type ScriptedUpstream } from './scripted-upstream';

export { openaiError, type Fault, type RecordedRequest } from './scripted-upstream';

/**
 * A real HTTP server for tests to put behind Vidai: a scripted upstream (scripted-upstream.ts)
 * on a loopback port. What breaks in Web terms breaks on the wire: a reset or a cut body
 * destroys the socket, a hang or a stall keeps it open and silent.
 */
export interface UpstreamServer extends Pick<ScriptedUpstream, 'requests' | 'script'> {
  url: string;
  close(): Promise<void>;
}

/** Writes a Web Response to a Node response, chunk by chunk as the handler produces it. */
async function send(response: Response, res: ServerResponse): Promise<void> {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.flushHeaders();
  if (!response.body) return void res.end();
  const reader = response.body.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      // Let the partial write reach the wire, then break the connection mid-body.
      return void setTimeout(() => res.socket?.destroy(), 20);
    }
    if (chunk.done) return void res.end();
    res.write(chunk.value);
  }
}

export async function startUpstream(
  handler: (request: Request) => Promise<Response>,
): Promise<UpstreamServer> {
  const upstream = scriptedUpstream(handler);
  const sockets = new Set<Socket>();

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const closed = new AbortController();
      res.on('close', () => closed.abort());
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      const method = req.method ?? 'GET';
      const request = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
        method,
        headers,
        body: method === 'GET' || method === 'HEAD' ? null : Buffer.concat(chunks),
        signal: closed.signal,
      });
      upstream
        .handle(request)
        .then((response) => send(response, res))
        .catch(() => res.socket?.destroy());
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
    requests: upstream.requests,
    script: upstream.script,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
