import type { InboundFormat } from '../errors/render';
import type { CancelSignal } from './cancel';
import type { StreamEnd } from './openai-stream';
import type { TokenUsage } from '../usage/usage';
import type { JsonObject } from '../util/json';

/** `chat` is chat completions on OpenAI routes and messages on Anthropic routes. */
export type Operation = 'chat' | 'embeddings' | 'count_tokens';

/**
 * One inbound call, as the pipeline carries it to an upstream. A streamed reply's callbacks
 * take the hooks below out of the plan (`const { onEnd } = plan`), never the plan itself: they
 * live as long as the stream, and the plan holds the request's body and its parse, which then
 * lived as long too (about 3 KB per stream for a 1 KB prompt, and the old-generation garbage
 * of each stream that ended).
 */
export interface ForwardPlan {
  /** The API the caller speaks; the reply goes back in it. */
  inbound: InboundFormat;
  op: Operation;
  /** The parsed body, as received. Adapters copy before they change it: a retry reuses it. */
  body: JsonObject;
  /** The body as received. */
  raw: string;
  /** The caller's headers an upstream of the caller's own format must see (`anthropic-beta`). */
  clientHeaders: Readonly<Record<string, string>>;
  stream: boolean;
  /** Aborts when the caller disconnects (and, as an attempt sees it, when the request's time is up). */
  signal: CancelSignal | undefined;
  /**
   * The first-byte timeout. Dispatch enforces every timeout (connect, first byte, idle, total)
   * on the transport it hands each attempt's adapter, whatever the adapter passes there.
   */
  timeoutMs: number;
  /** Reported for the attempt that served the reply only. */
  onUsage: (usage: TokenUsage | undefined) => void;
  /**
   * Called exactly once per dispatched request: by the serving attempt when its reply ends, or
   * with the final error. A promise it returns holds back a stream's last bytes until it
   * settles (so the caller never has a whole answer whose record could still be lost).
   */
  onEnd: (end: StreamEnd) => void | Promise<void>;
  /**
   * Counts the events a streamed reply carried. A stream cut short never reports its usage;
   * streamed deltas are about a token each, so accounting estimates its output from this.
   */
  meter?: StreamMeter;
  /** Renders a failure after the reply began, as an SSE event in the caller's format. */
  streamErrorEvent: (error: unknown, providerId: string) => string;
}

export interface StreamMeter {
  events: number;
}

/**
 * A reply as the pipeline hands it back: inference adds its own headers and makes the one
 * Response from it. (On Node, a Response whose headers are set after the fact becomes a
 * Headers object the adapter then sorts and copies out again: about 3 % of a request's CPU and
 * 5 KB of its garbage.)
 */
export interface Reply {
  status: number;
  body: Uint8Array<ArrayBuffer> | string | ReadableStream<Uint8Array>;
  headers: Readonly<Record<string, string>>;
}

const jsonHeaders = { 'content-type': 'application/json' } as const;

/** A JSON reply, as Response.json would make it. */
export function jsonReply(value: unknown, status = 200): Reply {
  return { status, body: JSON.stringify(value), headers: jsonHeaders };
}

export interface ForwardResult {
  reply: Reply;
  firstByteAt: number;
  /** A streamed reply's: when its first chunk is in (see ReplyStream.first). */
  first?: Promise<boolean>;
}
