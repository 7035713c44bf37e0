import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { TransportError, type Transport, type TransportFailure } from '../src/pipeline/transport';

/**
 * The Node transport: undici's pooled client (global fetch is several times slower on Node).
 * Connections are kept alive across requests to each upstream. undici applies a connect
 * timeout per dispatcher, not per request, so there is one Agent per distinct connect timeout:
 * the values come from the config (one per alias at most), so there are few, made on first use.
 */
export function undiciTransport(
  options: { connectTimeoutMs?: number } = {},
): Transport & { close(): Promise<void>; agentCount(): number } {
  const fallbackConnectMs = options.connectTimeoutMs ?? 10_000;
  const agents = new Map<number, Agent>();
  const agentFor = (connectMs: number): Agent => {
    let agent = agents.get(connectMs);
    if (agent === undefined) {
      agent = new Agent({
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: { timeout: connectMs },
      });
      agents.set(connectMs, agent);
    }
    return agent;
  };

  const transport: Transport = async (req) => {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: req.signal,
        dispatcher: agentFor(req.connectTimeoutMs ?? fallbackConnectMs),
        headersTimeout: req.firstByteTimeoutMs,
        bodyTimeout: req.idleTimeoutMs,
      });
    } catch (err) {
      throw toTransportError(err, 'connect');
    }
    const body = res.body;
    return {
      status: res.statusCode,
      header(name) {
        const value = res.headers[name];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
      async bytes() {
        try {
          return new Uint8Array(await body.arrayBuffer());
        } catch (err) {
          throw toTransportError(err, 'reset');
        }
      },
      stream: () => readableToWeb(body),
      discard() {
        body.destroy();
      },
    };
  };
  const close = async () => {
    await Promise.all([...agents.values()].map((agent) => agent.close()));
  };
  return Object.assign(transport, { close, agentCount: () => agents.size });
}

/** undici's error codes → what the pipeline needs to know. */
export function toTransportError(err: unknown, otherwise: TransportFailure): TransportError {
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

/** A Node body as a web stream, with back-pressure, and failures as TransportErrors. */
function readableToWeb(body: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        body.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) body.pause();
        });
        body.once('end', () => {
          if (settled) return;
          settled = true;
          controller.close();
        });
        body.once('error', (err) => {
          if (settled) return;
          settled = true;
          controller.error(toTransportError(err, 'reset'));
        });
      },
      pull() {
        body.resume();
      },
      cancel() {
        settled = true;
        body.destroy();
      },
    },
    { highWaterMark: 1 },
  );
}
