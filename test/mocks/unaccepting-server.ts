import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * A loopback port where a new connection never completes: a listener in a child process whose
 * event loop is blocked, so it never accepts; once its small accept queue is full (we fill it),
 * the kernel drops further SYNs and a client's connect hangs until the client's own timeout.
 */
export interface UnacceptingServer {
  url: string;
  close(): void;
}

const childSource = `
const server = require('node:net').createServer();
server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(server.address().port + '\\n');
  setTimeout(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000), 50);
});`;

function settles(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('error', () => resolve(true));
  });
}

export async function startUnacceptingServer(): Promise<UnacceptingServer> {
  const child = spawn(process.execPath, ['-e', childSource], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (data: Buffer) => resolve(Number(String(data).trim()))),
  );
  await new Promise((resolve) => setTimeout(resolve, 150));
  const fillers: Socket[] = [];
  for (let i = 0; i < 10; i++) {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    fillers.push(socket);
    if (!(await settles(socket, 300))) break;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      for (const socket of fillers) socket.destroy();
      child.kill('SIGKILL');
    },
  };
}
