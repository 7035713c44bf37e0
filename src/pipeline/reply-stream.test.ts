import { describe, expect, it } from 'vitest';
import { replyStream } from './reply-stream';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('replyStream', () => {
  it('says when its first chunk is in, and the reader still gets that chunk first', async () => {
    const chunks = ['a', 'b'];
    const stream = replyStream({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(bytes(next));
      },
      cancel() {},
    });
    expect(await stream.first).toBe(true);
    const reader = stream.getReader();
    const read: string[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read())
      read.push(new TextDecoder().decode(r.value));
    expect(read).toEqual(['a', 'b']);
  });

  it('pulls only the first chunk until someone reads', async () => {
    let pulls = 0;
    const stream = replyStream({
      pull(controller) {
        pulls++;
        controller.enqueue(bytes('x'));
      },
      cancel() {},
    });
    await stream.first;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(pulls).toBe(1);
  });

  it('is false for a stream that closes with nothing, and rejects when the pull fails', async () => {
    const empty = replyStream({ pull: (controller) => controller.close(), cancel() {} });
    expect(await empty.first).toBe(false);
    const broken = replyStream({
      pull() {
        throw new Error('broke');
      },
      cancel() {},
    });
    await expect(broken.first).rejects.toThrow('broke');
  });

  it('hands a cancel to its source', async () => {
    const reasons: unknown[] = [];
    const stream = replyStream({
      pull() {
        return new Promise(() => {});
      },
      cancel: (reason) => void reasons.push(reason),
    });
    await stream.cancel('gone');
    expect(reasons).toEqual(['gone']);
  });
});
