/**
 * Gathers rows and writes them in batches, one transaction each, off the request path. The host
 * drives it: `add` as rows arrive, `flush` on a timer and before shutdown. A failed write keeps
 * its rows for the next flush, up to `maxQueued` rows (beyond that the oldest are dropped and
 * counted, so a dead disk cannot exhaust memory).
 */
export interface BatchWriterOptions<T> {
  /** Writes rows in one transaction; throws if it could not. */
  write(rows: T[]): void;
  /** A flush starts as soon as this many rows are waiting (unless the last write failed). */
  maxBatch: number;
  maxQueued: number;
  onError(err: unknown, dropped: number): void;
}

export class BatchWriter<T> {
  private queue: T[] = [];
  /** The last write failed: only the host's timer tries again, not every row that arrives. */
  private failing = false;

  constructor(private readonly options: BatchWriterOptions<T>) {}

  get pending(): number {
    return this.queue.length;
  }

  add(row: T): void {
    this.queue.push(row);
    if (!this.failing && this.queue.length >= this.options.maxBatch) this.flush();
  }

  /** Writes everything waiting; returns how many rows were written. */
  flush(): number {
    if (this.queue.length === 0) return 0;
    const rows = this.queue;
    this.queue = [];
    try {
      this.options.write(rows);
      this.failing = false;
      return rows.length;
    } catch (err) {
      this.failing = true;
      this.queue = rows.concat(this.queue);
      const dropped = Math.max(0, this.queue.length - this.options.maxQueued);
      if (dropped > 0) this.queue.splice(0, dropped);
      this.options.onError(err, dropped);
      return 0;
    }
  }
}
