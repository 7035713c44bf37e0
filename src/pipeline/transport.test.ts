import { describe, expect, it } from 'vitest';
import { readerSource } from './transport';

/** A reader of `n` one-byte chunks that counts its reads and its cancels. */
function countingReader(n: number) {
  let reads = 0;
  const cancels: unknown[] = [];
  return {
    reads: () => reads,
    cancels,
    reader: {
      read: async () => {
        reads++;
        return reads > n
          ? { done: true as const, value: undefined }
          : { done: false as const, value: new Uint8Array([reads]) };
      },
      cancel: async (reason?: unknown) => void cancels.push(reason),
    },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('readerSource', () => {
  it('pushes every chunk, then the end', async () => {
    const { reader } = countingReader(3);
    const seen: number[] = [];
    let ended = false;
    readerSource(reader)({ data: (c) => seen.push(c[0]!), end: () => (ended = true), error() {} });
    await settle();
    expect(seen).toEqual([1, 2, 3]);
    expect(ended).toBe(true);
  });

  it('reads nothing more while paused, and goes on where it was once resumed', async () => {
    const counting = countingReader(10);
    const seen: number[] = [];
    const flow = readerSource(counting.reader)({
      data: (c) => {
        seen.push(c[0]!);
        if (seen.length === 2) flow.pause();
      },
      end() {},
      error() {},
    });
    await settle();
    expect(seen).toEqual([1, 2]);
    expect(counting.reads()).toBe(2);
    flow.resume();
    await settle();
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('after a cancel, cancels the reader once and tells the sink nothing more', async () => {
    const counting = countingReader(10);
    const seen: number[] = [];
    let ended = false;
    const flow = readerSource(counting.reader)({
      data: (c) => {
        seen.push(c[0]!);
        if (seen.length === 1) flow.cancel('gone');
      },
      end: () => (ended = true),
      error() {},
    });
    flow.cancel('again');
    await settle();
    expect(seen.length).toBeLessThanOrEqual(1);
    expect(ended).toBe(false);
    expect(counting.cancels).toEqual(['again']);
  });

  it('hands a read failure to the sink once', async () => {
    const failures: unknown[] = [];
    readerSource({
      read: () => Promise.reject(new Error('reset')),
      cancel: async () => {},
    })({ data() {}, end() {}, error: (err) => failures.push(err) });
    await settle();
    expect(failures).toHaveLength(1);
  });
});
