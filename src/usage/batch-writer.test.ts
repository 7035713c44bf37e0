import { describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer';

function writerWith(options: { maxBatch?: number; maxQueued?: number } = {}) {
  const written: number[][] = [];
  const errors: number[] = [];
  let broken = false;
  const writer = new BatchWriter<number>({
    write: (rows) => {
      if (broken) throw new Error('disk full');
      written.push([...rows]);
    },
    maxBatch: options.maxBatch ?? 3,
    maxQueued: options.maxQueued ?? 100,
    onError: (_err, dropped) => errors.push(dropped),
  });
  return { writer, written, errors, breakIt: (b: boolean) => (broken = b) };
}

describe('BatchWriter', () => {
  it('writes a batch as soon as maxBatch rows wait, and the rest on flush', () => {
    const { writer, written } = writerWith();
    for (const n of [1, 2, 3, 4]) writer.add(n);
    expect(written).toEqual([[1, 2, 3]]);
    expect(writer.pending).toBe(1);
    expect(writer.flush()).toBe(1);
    expect(written).toEqual([[1, 2, 3], [4]]);
    expect(writer.flush()).toBe(0);
  });

  it('keeps the rows of a failed write, in order, for the next flush', () => {
    const { writer, written, errors, breakIt } = writerWith({ maxBatch: 10 });
    writer.add(1);
    breakIt(true);
    expect(writer.flush()).toBe(0);
    writer.add(2);
    breakIt(false);
    expect(writer.flush()).toBe(2);
    expect(written).toEqual([[1, 2]]);
    expect(errors).toEqual([0]);
  });

  it('after a failed write, rows that arrive do not each try (and log) again', () => {
    const { writer, written, errors, breakIt } = writerWith({ maxBatch: 2 });
    breakIt(true);
    for (let n = 0; n < 50; n++) writer.add(n);
    // One try when the first batch filled up, none for the 48 rows after it.
    expect(errors).toHaveLength(1);
    breakIt(false);
    expect(writer.flush()).toBe(50);
    expect(written[0]).toHaveLength(50);
    // Written again: the size trigger is back.
    writer.add(1);
    writer.add(2);
    expect(written).toHaveLength(2);
  });

  it('drops the oldest rows beyond maxQueued, and says how many', () => {
    const { writer, written, errors, breakIt } = writerWith({ maxBatch: 100, maxQueued: 3 });
    for (const n of [1, 2, 3, 4, 5]) writer.add(n);
    breakIt(true);
    writer.flush();
    expect(errors).toEqual([2]);
    breakIt(false);
    writer.flush();
    expect(written).toEqual([[3, 4, 5]]);
  });
});
