import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('../test/fixtures/channel-child.ts', import.meta.url));

describe('primaryChannel.settled', () => {
  it('is undefined once a record is in the kernel, and waits while records are queued in the worker', async () => {
    const worker = fork(child, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    let received = 0;
    const report = new Promise<{
      afterOne: boolean;
      backedUp: boolean;
      sent: number;
      received: number;
    }>((resolve) =>
      worker.on(
        'message',
        (message: { type: string; afterOne: boolean; backedUp: boolean; sent: number }) => {
          if (message.type === 'usage') received++;
          else if (message.type === 'report') resolve({ ...message, received });
        },
      ),
    );
    // Keep this process (the "primary") busy while the worker sends, so its socket fills up.
    await new Promise((resolve) => worker.once('spawn', resolve));
    const until = Date.now() + 1500;
    while (Date.now() < until);
    const result = await report;
    worker.kill();
    expect(result.afterOne).toBe(true);
    expect(result.backedUp).toBe(true);
    // When settled() resolved, every record had left the worker: all arrived before the report.
    expect(result.received).toBe(result.sent);
  });
});
