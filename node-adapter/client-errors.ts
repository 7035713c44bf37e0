import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError } from '../src/errors/gateway-error';
import { errorBody, type InboundFormat } from '../src/errors/render';

/** The request line's path, when the bytes node:http refused still hold it. */
const REQUEST_LINE = /^[A-Z]+ ([^ \r\n?]+)/;

/**
 * Which error shape a refused request expects: Anthropic's below /v1/messages, as the app
 * answers there. Node's error carries the bytes it refused (`rawPacket`), which usually begin
 * with the request line; without them, OpenAI's shape.
 */
export function refusedRequestFormat(rawPacket: unknown): InboundFormat {
  if (!(rawPacket instanceof Uint8Array)) return 'openai';
  const head = Buffer.from(rawPacket.buffer, rawPacket.byteOffset, rawPacket.byteLength)
    .subarray(0, 512)
    .toString('latin1');
  const path = REQUEST_LINE.exec(head)?.[1]?.replace(/\/+$/, '');
  return path === '/v1/messages' || path?.startsWith('/v1/messages/') === true
    ? 'anthropic'
    : 'openai';
}

/**
 * Requests node:http refuses before the app sees them (headers too large, malformed HTTP) get
 * an answer in the API's error shape too, instead of Node's bare status line, with a request id
 * like every other reply (the request's own cannot be trusted to have been read).
 */
export function answerClientErrors(server: Server): void {
  server.on(
    'clientError',
    (err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const error =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? new GatewayError('headers_too_large', 'The request headers are too large.')
          : new GatewayError('bad_request', 'The request is not valid HTTP/1.1.');
      const body = JSON.stringify(errorBody(refusedRequestFormat(err.rawPacket), error));
      const reason = error.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
      socket.end(
        `HTTP/1.1 ${error.status} ${reason}\r\nx-request-id: ${randomUUID()}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
  );
}
