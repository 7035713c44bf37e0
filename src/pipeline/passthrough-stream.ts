import { MAX_EVENT_CHARS, SseEventTooLargeError, SseParser, type SseEvent } from '../sse/parser';
import { formatSseEvent } from '../sse/serialize';
import { joinedBytes } from '../util/bytes';
import { mayBeJsonObject } from '../util/json';
import { replyStream, type ReplyOut, type ReplyStream, type StreamEnd } from './reply-stream';
import type { ChunkSource } from './transport';

/**
 * A reply stream piped from upstream to a client that speaks the same wire format. Bytes pass
 * through as they came; a per-format `inspect` reads only what accounting needs (usage, and the
 * event that marks a finished stream, to tell it from a cut one). Two adjustments, both at
 * event boundaries:
 * - bytes are forwarded up to the last complete event, so that if the upstream breaks, the
 *   client gets a clean error event rather than half an event glued to one;
 * - with `mayDrop`, events `inspect` marks `drop` are removed: the one upstream read that
 *   completed such an event goes out re-framed without it; every other read's bytes still
 *   pass through untouched (re-framing every event cost an encode per read).
 */
export type { StreamEnd } from './reply-stream';

export class StreamCutError extends Error {
  /** `empty`: not one event came (the body was not SSE at all). */
  constructor(readonly empty = false) {
    super('upstream stream ended before it was complete');
    this.name = 'StreamCutError';
  }
}

/**
 * An event whose data is no JSON object. Every event of the formats passed through (OpenAI's,
 * Anthropic's) carries one, `[DONE]` aside (which `inspect` marks `done`), so such an event is
 * something no client could parse: the stream ends with an error event in its place.
 */
export class UnreadableEventError extends Error {
  constructor() {
    super('upstream stream event is not a JSON object');
    this.name = 'UnreadableEventError';
  }
}

/**
 * What one event means: `done` — the stream is complete; `error` — the upstream reported an
 * error in the stream: it ends the stream, and the client gets `errorEvent(error)` in its place
 * (the upstream's words may carry a credential; the GatewayError's are redacted);
 * `drop` — leave it out of the reply (only with `mayDrop`).
 */
export type EventVerdict = 'done' | 'drop' | { error: unknown } | undefined;

export interface PassthroughOptions {
  inspect(event: SseEvent): EventVerdict;
  /** Counts the events seen (see ForwardPlan.meter). */
  meter?: { events: number } | undefined;
  /** Whether `drop` verdicts remove events (else they are passed on like any other). */
  mayDrop: boolean;
  /**
   * Called once, however the stream ends; for a finished stream, before the reply's last bytes
   * go out, and if it returns a promise they wait for it (accounting keeps a record safe first).
   */
  onEnd(end: StreamEnd): void | Promise<void>;
  /** A failure (read error or cut) rendered as one SSE event the client's SDK will raise. */
  errorEvent(error: unknown): string;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const LF = 10;
const CR = 13;

const isLineEnd = (byte: number | undefined) => byte === LF || byte === CR;

/**
 * The offset just past the last blank line in `bytes` (0 if none): where the SSE grammar ends
 * an event, whichever line ends (CRLF, LF, CR, or a mix) frame it, so that everything before
 * it holds exactly the events the parser has dispatched.
 */
export function lastEventBoundary(bytes: Uint8Array): number {
  for (let i = bytes.length - 1; i > 0; i--) {
    const byte = bytes[i];
    let start: number;
    if (byte === LF) start = bytes[i - 1] === CR ? i - 1 : i;
    else if (byte === CR && bytes[i + 1] !== LF) start = i;
    else continue;
    // A line end right after another is a blank line (a line end at the start is not).
    if (start > 0 && isLineEnd(bytes[start - 1])) return i + 1;
  }
  return 0;
}

/** The last `n` bytes of the chunks (fewer if they hold fewer). */
function lastBytes(chunks: readonly Uint8Array[], n: number): Uint8Array {
  if (chunks.length === 0) return EMPTY;
  const tail: number[] = [];
  for (let c = chunks.length - 1; c >= 0 && tail.length < n; c--) {
    const chunk = chunks[c]!;
    for (let i = chunk.byteLength - 1; i >= 0 && tail.length < n; i--) tail.unshift(chunk[i]!);
  }
  return Uint8Array.from(tail);
}

/** Decodes UTF-8 across chunk boundaries (one options object for every chunk). */
const STREAMING = { stream: true };

export function passthroughStream(source: ChunkSource, options: PassthroughOptions): ReplyStream {
  const decoder = new TextDecoder();
  const mayDrop = options.mayDrop;
  let last: 'done' | { error: unknown } | undefined;
  let ended = false;
  // Both lists live as long as the stream and are emptied in place: an array made afresh at
  // every read lived until the next (tens of ms, longer under load), long enough to be
  // promoted, and filled the old generation with garbage.
  /** Read and not yet sent: what follows the last complete event (all of it before the first). */
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  /** The events to send from the current read, and whether it dropped one (with `mayDrop`). */
  const kept: SseEvent[] = [];
  let dropped = false;
  let seen = false;

  const end = (result: StreamEnd): void | Promise<void> => {
    if (ended) return;
    ended = true;
    return options.onEnd(result);
  };

  /** The last event is in: tell accounting (and wait if it asks), then send the rest and close. */
  const finish = (controller: ReplyOut, rest: Uint8Array) => {
    const close = () => {
      if (rest.byteLength > 0) controller.enqueue(rest);
      controller.close();
    };
    const waiting = end({ outcome: 'complete' });
    if (waiting === undefined) close();
    else void waiting.then(close, (error: unknown) => controller.error(error));
  };

  const parser = new SseParser((event) => {
    if (last !== undefined) return;
    seen = true;
    if (options.meter) options.meter.events++;
    let verdict = options.inspect(event);
    // Told by its first character, so ordinary chunks are not parsed for it.
    if (verdict === undefined && !mayBeJsonObject(event.data)) {
      verdict = { error: new UnreadableEventError() };
    }
    // The upstream's own error event is not passed on: Vidai's, in the client's shape, replaces it.
    if (typeof verdict === 'object') last = verdict;
    else if (verdict === 'done') last = verdict;
    if (verdict === 'drop' && mayDrop) dropped = true;
    else if (typeof verdict !== 'object') kept.push(event);
  });

  /**
   * Everything read and not yet sent, once the parser has seen `read`: the bytes up to the last
   * complete event (the rest is held), or — when this read completed an event to drop — the
   * events it completed, re-framed without it. Nothing goes before the first event: comments
   * (keep-alives) an upstream sends while it thinks are no reply yet, so they neither commit
   * the attempt nor stop its first-byte timeout; they go out with the first event.
   */
  const ready = (read: Uint8Array, all: boolean): Uint8Array => {
    // Held bytes end no event, so the last boundary, if any, is in this read; the bytes before
    // it are looked at only for the line end a blank line may begin with.
    let boundary = read.byteLength;
    if (!all) {
      if (!seen) boundary = 0;
      else {
        const tail = lastBytes(held, 3);
        const window =
          tail.byteLength === 0
            ? read
            : joinedBytes([tail, read], tail.byteLength + read.byteLength);
        boundary = Math.max(0, lastEventBoundary(window) - tail.byteLength);
      }
    }
    if (boundary === 0 && !all) {
      kept.length = 0;
      if (read.byteLength > 0) held.push(read);
      heldBytes += read.byteLength;
      if (heldBytes > MAX_EVENT_CHARS) throw new SseEventTooLargeError();
      return EMPTY;
    }
    held.push(boundary === read.byteLength ? read : read.subarray(0, boundary));
    const out = joinedBytes(held, heldBytes + boundary);
    held.length = 0;
    if (boundary < read.byteLength) held.push(read.subarray(boundary));
    heldBytes = read.byteLength - boundary;
    if (!dropped) {
      kept.length = 0;
      return out;
    }
    dropped = false;
    let text = '';
    for (const event of kept) text += formatSseEvent(event.data, event.event);
    kept.length = 0;
    return encoder.encode(text);
  };

  const fail = (controller: ReplyOut, error: unknown, before = '') => {
    controller.enqueue(encoder.encode(before + options.errorEvent(error)));
    controller.close();
    end({ outcome: 'error', error });
  };

  /**
   * The upstream reported an error: the events before it in this read go out re-framed (it is
   * rare), then Vidai's error event, and the upstream call is let go.
   */
  const upstreamFailed = (controller: ReplyOut, error: unknown) => {
    let before = '';
    for (const event of kept) before += formatSseEvent(event.data, event.event);
    kept.length = 0;
    held.length = 0;
    heldBytes = 0;
    controller.flow.cancel();
    fail(controller, error, before);
  };

  /** One upstream chunk: parsed, and what it completes sent on. */
  const data = (controller: ReplyOut, chunk: Uint8Array) => {
    // Past the last event only the upstream's end is left: it is read to the end, so that its
    // connection goes back to the pool instead of being torn down. (The last event, or a
    // failure, ends the stream's accounting at once.)
    if (ended) return;
    let out: Uint8Array;
    try {
      parser.push(decoder.decode(chunk, STREAMING));
      if (typeof last === 'object') return upstreamFailed(controller, last.error);
      if (last !== undefined) {
        controller.flow.resume();
        return finish(controller, ready(chunk, true));
      }
      out = ready(chunk, false);
    } catch (error) {
      // An event past the size limit (SseEventTooLargeError): no client could use it.
      if (!(error instanceof SseEventTooLargeError)) throw error;
      return upstreamFailed(controller, error);
    }
    if (out.byteLength > 0) controller.enqueue(out);
  };

  /** What the upstream's end means: a finished stream, or one cut short. */
  const close = (controller: ReplyOut) => {
    if (ended) return;
    parser.push(decoder.decode());
    if (last === undefined) return fail(controller, new StreamCutError(!seen));
    if (last !== 'done') return upstreamFailed(controller, last.error);
    finish(controller, ready(EMPTY, true));
  };

  return replyStream(source, {
    data,
    end: close,
    // Asked only until `ended`: after the last event a late upstream failure changes nothing.
    error: fail,
    ended: () => ended,
    stop: (result) => void end(result),
  });
}
