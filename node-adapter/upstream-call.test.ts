import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamCall } from './upstream-call';

let server: Server;
let origin: string;
const agent = new Agent();

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'x-extra': 'y' });
    res.write('data: {"a":1}\n\n');
    setTimeout(() => res.end('data: [DONE]\n\n'), 20);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.close();
});

/** Sees the controller undici hands the call when the reply starts. */
class Watched extends UpstreamCall {
  seen?: Dispatcher.DispatchController;
  override onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.seen = controller;
    super.onResponseStart(controller, statusCode, headers);
  }
}

describe('UpstreamCall', () => {
  it('lets go of the raw header lines, views of the socket read a stream would keep alive', async () => {
    const call = new Watched(undefined);
    agent.dispatch({ origin, path: '/', method: 'GET' }, call);
    const response = await call.head;
    expect(response.header('x-extra')).toBe('y');
    const raw = (call.seen as { rawHeaders?: unknown } | undefined)?.rawHeaders;
    expect(raw ?? null).toBeNull();
    expect(new TextDecoder().decode(await response.bytes())).toBe(
      'data: {"a":1}\n\ndata: [DONE]\n\n',
    );
  });
});
