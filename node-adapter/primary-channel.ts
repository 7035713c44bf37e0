import type { CounterClient, Demand, Grant, LeaseReturn } from '../src/policy/counters';
import type { SettledReservation } from '../src/policy/limiter';
import type { UsageRecord, UsageSink } from '../src/usage/record';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { packUsage, type PackedUsage } from './usage-wire';

/**
 * The channel's libuv handle. Its writeQueueSize is what process.send has queued in this process
 * because the socket was full (Node reads the same field to decide what send() returns).
 * Reached by its symbol, since Node does not expose it; without it, `settled` waits for every
 * send's callback instead.
 */
function channelHandle(): { writeQueueSize?: number } | undefined {
  const symbol = Object.getOwnPropertySymbols(process).find(
    (s) => s.description === 'kChannelHandle',
  );
  const handle: unknown = symbol === undefined ? undefined : Reflect.get(process, symbol);
  return typeof handle === 'object' && handle !== null && 'writeQueueSize' in handle
    ? (handle as { writeQueueSize?: number })
    : undefined;
}

/**
 * A worker's line to the primary, which hosts the counter authority and the usage writer.
 * Records go out with process.send, whose write reaches the kernel at once unless the channel
 * is backed up (the primary busy); from the kernel a crash of this worker cannot lose them (the
 * primary reads what is in the socket before it sees the worker go). `settled()` makes a reply
 * wait until its record is there.
 *
 * Records are batched: those of every request that ends in one turn of the event loop go as
 * one message, sent when the turn's I/O callbacks are done (setImmediate). One message per
 * record cost a write, a wake-up of the primary and its JSON framing each — under load about
 * a fifth of a worker's time, on the very core the primary shares. Other messages flush the
 * batch first, so the primary sees everything in the order it was sent.
 */
export function primaryChannel(): CounterClient &
  UsageSink & {
    receive(message: PrimaryMessage): void;
    onRecall: (counter: string) => void;
  } {
  let lastId = 0;
  const pending = new Map<number, { resolve(grants: Grant[]): void; reject(err: Error): void }>();
  let sent = 0;
  let written = 0;
  let waiters: Array<{ upTo: number; resolve(): void }> = [];
  const handle = channelHandle();
  const onWritten = () => {
    written++;
    if (waiters.length === 0) return;
    const ready = waiters.filter((w) => w.upTo <= written);
    waiters = waiters.filter((w) => w.upTo > written);
    for (const waiter of ready) waiter.resolve();
  };
  const write = (message: WorkerMessage) => {
    sent++;
    process.send!(message, undefined, undefined, onWritten);
  };
  let batch: PackedUsage[] = [];
  /** Resolves once the batch being gathered has reached the kernel. */
  let batchSettled: { promise: Promise<void>; resolve(): void } | undefined;
  const flush = () => {
    if (batch.length === 0) return;
    const records = batch;
    const settled = batchSettled;
    batch = [];
    batchSettled = undefined;
    write({ type: 'usage', records });
    if (settled === undefined) return;
    const waiting = channel.settled();
    if (waiting === undefined) settled.resolve();
    else void waiting.then(settled.resolve);
  };
  const send = (message: WorkerMessage) => {
    flush();
    write(message);
  };

  const channel = {
    onRecall: (_counter: string): void => {},
    acquire(demands: readonly Demand[], returns: readonly LeaseReturn[]) {
      const id = ++lastId;
      return new Promise<Grant[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send({ type: 'acquire', id, demands: [...demands], returns: [...returns] });
      });
    },
    release(returns: readonly LeaseReturn[]) {
      send({ type: 'release', returns: [...returns] });
    },
    record(record: UsageRecord, reservations: readonly SettledReservation[]) {
      if (batch.length === 0) setImmediate(flush);
      batch.push(packUsage(record, reservations));
    },
    settled(): Promise<void> | undefined {
      if (batch.length > 0) {
        if (batchSettled === undefined) {
          let resolve = () => {};
          const promise = new Promise<void>((r) => (resolve = r));
          batchSettled = { promise, resolve };
        }
        return batchSettled.promise;
      }
      if (written >= sent) return undefined;
      if (handle !== undefined && handle.writeQueueSize === 0) return undefined;
      const upTo = sent;
      return new Promise<void>((resolve) => waiters.push({ upTo, resolve }));
    },
    receive(message: PrimaryMessage) {
      if (message.type === 'recall') return channel.onRecall(message.counter);
      if (message.type !== 'grants') return;
      const waiting = pending.get(message.id);
      if (waiting === undefined) return;
      pending.delete(message.id);
      if ('error' in message) waiting.reject(new Error(message.error));
      else waiting.resolve(message.grants);
    },
  };
  return channel;
}
