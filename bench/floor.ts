import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

/**
 * The floor: the least a Node proxy can do per request, for scale. node:http in, undici's
 * pooled request() out, the body read whole each way (a stream piped as it comes); no auth,
 * policy, routing or accounting. The capacity and streams lanes measure it beside the
 * gateway, pinned where the gateway runs, in the same run: the gateway's CPU over the floor's
 * is steadier on a shared machine than either figure alone (issue 7 quotes this floor at
 * ≈ 190 µs per request on a quiet machine), and its peak RSS says what any Node proxy takes
 * under the same streams.
 */
const { values } = parseArgs({
  options: {
    upstream: { type: 'string' },
    key: { type: 'string', default: '' },
  },
});
const upstream = values.upstream ?? 'http://127.0.0.1:1';
const agent = new Agent({ keepAliveTimeout: 30_000 });
const headers = { 'content-type': 'application/json', authorization: `Bearer ${values.key}` };

const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    request(`${upstream}${req.url ?? '/'}`, {
      method: 'POST',
      headers,
      body: Buffer.concat(chunks),
      dispatcher: agent,
    }).then(
      async (reply) => {
        const type = String(reply.headers['content-type'] ?? 'application/json');
        if (type.startsWith('text/event-stream')) {
          // A stream goes on chunk by chunk as it arrives, held back while the client is.
          res.writeHead(reply.statusCode, { 'content-type': type });
          reply.body.pipe(res);
          return;
        }
        const body = Buffer.from(await reply.body.arrayBuffer());
        res.writeHead(reply.statusCode, {
          'content-type': type,
          'content-length': body.byteLength,
        });
        res.end(body);
      },
      () => {
        res.writeHead(502);
        res.end();
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`bench floor listening on http://127.0.0.1:${port}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
