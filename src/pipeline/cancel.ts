/**
 * The abort signal the pipeline passes around: the part of AbortSignal it uses, so a real
 * AbortSignal (a Request's, on Workers) is one too, and `Cancel`, a plain implementation for
 * the signals the gateway makes itself on every request (its deadline, each attempt). Node's
 * AbortController is an EventTarget: making and wiring the three a request needed cost several
 * per cent of a worker's time (bench CPU profiles), for listeners that almost never fire.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export class Cancel implements CancelSignal {
  aborted = false;
  private listeners: (() => void)[] | undefined;

  /** Aborts once: each listener is called, then forgotten (as `once` listeners are). */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }

  /** As AbortSignal's: a listener added after the abort is never called. */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const at = listeners.lastIndexOf(listener);
    if (at !== -1) listeners.splice(at, 1);
  }

  /** Aborts this one when `upstream` aborts; returns the unlink. */
  follow(upstream: CancelSignal | undefined): () => void {
    if (upstream === undefined) return noop;
    if (upstream.aborted) {
      this.abort();
      return noop;
    }
    const onAbort = () => this.abort();
    upstream.addEventListener('abort', onAbort, { once: true });
    return () => upstream.removeEventListener('abort', onAbort);
  }
}

const noop = () => {};
