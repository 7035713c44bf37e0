import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Requests node:http refuses before the app sees them (headers too large, malformed HTTP) get
 * an answer in OpenAI's error shape too, instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
    const body = JSON.stringify({
      error: {
        message: tooLarge
          ? 'The request headers are too large.'
          : 'The request is not valid HTTP/1.1.',
        type: 'invalid_request_error',
        param: null,
        code: tooLarge ? 'headers_too_large' : 'bad_request',
      },
    });
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
