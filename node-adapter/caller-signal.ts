import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { Cancel, type CancelSignal } from '../src/pipeline/cancel';

/**
 * Aborts when the client goes away before its reply is written: the reply's 'close' before it
 * finished (the condition @hono/node-server aborts its Request signal on), without the
 * AbortController that signal costs per request.
 */
export function responseClosedEarly(outgoing: {
  readonly destroyed: boolean;
  readonly writableFinished: boolean;
  once(event: 'close', listener: () => void): unknown;
}): CancelSignal {
  const cancel = new Cancel();
  if (outgoing.destroyed) {
    if (!outgoing.writableFinished) cancel.abort();
    return cancel;
  }
  outgoing.once('close', () => {
    if (!outgoing.writableFinished) cancel.abort();
  });
  return cancel;
}

/** GatewayDeps.callerSignal for an app served by @hono/node-server. */
export function callerSignal(c: Context): CancelSignal | undefined {
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  return outgoing === undefined ? c.req.raw.signal : responseClosedEarly(outgoing);
}
