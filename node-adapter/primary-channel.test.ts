import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('../test/fixtures/channel-child.ts', import.meta.url));

describe('primaryChannel.settled', () => {
  it('waits for the batch a record is in to reach the kernel, and while records are queued in the worker', async () => {
    const worker = fork(child, { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
    let received = 0;
    let messages = 0;
    const report = new Promise<{
      afterOne: boolean;
      settledOne: boolean;
      backedUp: boolean;
      queuedWhenSettled: number;
      sent: number;
      received: number;
    }>((resolve) =>
      worker.on(
        'message',
        (message: {
          type: string;
          records?: unknown[];
          afterOne: boolean;
          settledOne: boolean;
          backedUp: boolean;
          queuedWhenSettled: number;
          sent: number;
        }) => {
          if (message.type === 'usage') {
            messages++;
            received += message.records?.length ?? 0;
          } else if (message.type === 'report') resolve({ ...message, received });
        },
      ),
    );
    // Keep this process (the "primary") busy while the worker sends, so its socket fills up.
    await new Promise((resolve) => worker.once('spawn', resolve));
    const until = Date.now() + 1500;
    while (Date.now() < until);
    const result = await report;
    worker.kill();
    // A record waits for its batch; once that is in the kernel, nothing more is waited for.
    expect(result.afterOne).toBe(true);
    expect(result.settledOne).toBe(true);
    expect(result.backedUp).toBe(true);
    // When settled() resolved, every record had left the worker.
    expect(result.queuedWhenSettled).toBe(0);
    expect(result.received).toBe(result.sent);
    // Records of one turn of the worker's event loop travel together.
    expect(messages).toBeLessThan(result.sent / 100);
  });
});
