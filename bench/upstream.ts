import { createServer, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { handlerFormat, mockHandlers, type WebHandler } from './mock-handlers';

/**
 * The bench's upstream, run in its own process: plain node:http with TCP_NODELAY, in front of
 * the provider mocks of src/providers/mock/. The first request with a given method, path and
 * body is answered by the mock's Web handler and its reply recorded (status, headers, the body
 * as the chunks the mock produced); later identical requests get those bytes replayed, so the
 * upstream costs a few microseconds a request and its wire format is the mock's, byte for byte.
 * Replies wait `--latency-ms` before the first byte; stream chunks after the first are paced
 * `--chunk-ms` apart; `--reply-repeat` makes the reply the mock's text that many times over. Ids in replayed replies repeat, which nothing under test depends on.
 */
const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '0' },
    'chunk-ms': { type: 'string', default: '0' },
    'reply-repeat': { type: 'string', default: '1' },
  },
});
const latencyMs = Number(values['latency-ms']);
const chunkMs = Number(values['chunk-ms']);

interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  /** The body as the mock produced it: one frame per SSE event for a stream. */
  frames: Buffer[];
  stream: boolean;
}

const mockOptions = {
  chunkDelayMs: 0,
  reply: Array.from({ length: Number(values['reply-repeat']) }, () => MOCK_REPLY).join(' '),
};
const handlers: Record<'openai' | 'anthropic', WebHandler> = {
  openai: mockHandlers.openai(mockOptions),
  anthropic: mockHandlers.anthropic(mockOptions),
};

async function record(req: IncomingMessage, body: string): Promise<Reply> {
  const path = req.url ?? '/';
  const handler = handlers[handlerFormat(path)];
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string') headers.set(name, value);
  const method = req.method ?? 'GET';
  const response = await handler(
    new Request(`http://bench.upstream${path}`, {
      method,
      headers,
      body: method === 'GET' || method === 'HEAD' ? null : body,
    }),
  );
  const frames: Buffer[] = [];
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read())
    frames.push(Buffer.from(read.value));
  const stream = (response.headers.get('content-type') ?? '').includes('text/event-stream');
  const out: OutgoingHttpHeaders = Object.fromEntries(response.headers);
  if (stream) delete out['content-length'];
  else {
    const whole = Buffer.concat(frames);
    frames.splice(0, frames.length, whole);
    out['content-length'] = whole.byteLength;
  }
  return { status: response.status, headers: out, frames, stream };
}

/** Recorded replies by request; bounded, oldest evicted (the bench sends a handful of bodies). */
const replies = new Map<string, Promise<Reply>>();
const MAX_REPLIES = 256;

function replyFor(req: IncomingMessage, body: string): Promise<Reply> {
  const key = `${req.method} ${req.url}\n${body}`;
  let reply = replies.get(key);
  if (reply === undefined) {
    reply = record(req, body);
    if (replies.size >= MAX_REPLIES) replies.delete(replies.keys().next().value ?? '');
    replies.set(key, reply);
  }
  return reply;
}

const later = (ms: number, fn: () => void) => (ms > 0 ? setTimeout(fn, ms) : setImmediate(fn));

const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    replyFor(req, Buffer.concat(chunks).toString('utf8')).then(
      (reply) => {
        let closed = false;
        res.once('close', () => (closed = true));
        later(latencyMs, () => {
          if (closed) return;
          res.writeHead(reply.status, reply.headers);
          if (!reply.stream) return void res.end(reply.frames[0]);
          let i = 0;
          const next = () => {
            if (closed) return;
            const frame = reply.frames[i++];
            if (frame === undefined) return void res.end();
            res.write(frame);
            later(chunkMs, next);
          };
          next();
        });
      },
      () => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { message: 'bench upstream failed', type: 'server_error' } }),
        );
      },
    );
  });
});
server.on('connection', (socket) => socket.setNoDelay(true));
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`bench upstream listening on http://${values.host}:${port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
