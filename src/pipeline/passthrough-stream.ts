import { MAX_EVENT_CHARS, SseEventTooLargeError, SseParser, type SseEvent } from '../sse/parser';
import { formatSseEvent } from '../sse/serialize';
import { mayBeJsonObject } from '../util/json';
import { replyStream, type ReplyStream } from './reply-stream';
import type { ChunkReader } from './transport';

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
export interface StreamEnd {
  outcome: 'complete' | 'error' | 'cancelled';
  error?: unknown;
}

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

/** The chunks as one array (the one chunk itself when there is one). */
function joined(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}

/** The last `n` bytes of the chunks (fewer if they hold fewer). */
function lastBytes(chunks: readonly Uint8Array[], n: number): Uint8Array {
  const tail: number[] = [];
  for (let c = chunks.length - 1; c >= 0 && tail.length < n; c--) {
    const chunk = chunks[c]!;
    for (let i = chunk.byteLength - 1; i >= 0 && tail.length < n; i--) tail.unshift(chunk[i]!);
  }
  return Uint8Array.from(tail);
}

async function drain(reader: ChunkReader): Promise<void> {
  try {
    while (!(await reader.read()).done);
  } catch {
    // the reply is already complete; a late upstream failure changes nothing
  }
}

export function passthroughStream(reader: ChunkReader, options: PassthroughOptions): ReplyStream {
  const decoder = new TextDecoder();
  const mayDrop = options.mayDrop;
  let last: 'done' | { error: unknown } | undefined;
  let ended = false;
  let cancelled = false;
  /** Read and not yet sent: what follows the last complete event (all of it before the first). */
  let held: Uint8Array[] = [];
  let heldBytes = 0;
  /** The events to send from the current read, and whether it dropped one (with `mayDrop`). */
  let kept: SseEvent[] = [];
  let dropped = false;
  let seen = false;

  const end = (result: StreamEnd): void | Promise<void> => {
    if (ended) return;
    ended = true;
    return options.onEnd(result);
  };

  /** The last event is in: tell accounting (and wait if it asks), then send the rest and close. */
  const finish = async (
    controller: ReadableStreamDefaultController<Uint8Array>,
    rest: Uint8Array,
  ): Promise<void> => {
    const waiting = end({ outcome: 'complete' });
    if (waiting !== undefined) await waiting;
    if (cancelled) return;
    if (rest.byteLength > 0) controller.enqueue(rest);
    controller.close();
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
    const events = kept;
    kept = [];
    // Held bytes end no event, so the last boundary, if any, is in this read; the bytes before
    // it are looked at only for the line end a blank line may begin with.
    let boundary = read.byteLength;
    if (!all) {
      if (!seen) boundary = 0;
      else {
        const tail = lastBytes(held, 3);
        const window =
          tail.byteLength === 0 ? read : joined([tail, read], tail.byteLength + read.byteLength);
        boundary = Math.max(0, lastEventBoundary(window) - tail.byteLength);
      }
    }
    if (boundary === 0 && !all) {
      if (read.byteLength > 0) held.push(read);
      heldBytes += read.byteLength;
      if (heldBytes > MAX_EVENT_CHARS) throw new SseEventTooLargeError();
      return EMPTY;
    }
    held.push(boundary === read.byteLength ? read : read.subarray(0, boundary));
    const out = joined(held, heldBytes + boundary);
    held = boundary === read.byteLength ? [] : [read.subarray(boundary)];
    heldBytes = read.byteLength - boundary;
    if (!dropped) return out;
    dropped = false;
    let text = '';
    for (const event of events) text += formatSseEvent(event.data, event.event);
    return encoder.encode(text);
  };

  const fail = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: unknown,
    before = '',
  ) => {
    controller.enqueue(encoder.encode(before + options.errorEvent(error)));
    controller.close();
    end({ outcome: 'error', error });
  };

  /**
   * The upstream reported an error: the events before it in this read go out re-framed (it is
   * rare), then Vidai's error event, and the upstream call is let go.
   */
  const upstreamFailed = (
    controller: ReadableStreamDefaultController<Uint8Array>,
    error: unknown,
  ) => {
    let before = '';
    for (const event of kept) before += formatSseEvent(event.data, event.event);
    kept = [];
    held = [];
    heldBytes = 0;
    void reader.cancel().catch(() => {});
    fail(controller, error, before);
  };

  return replyStream({
    async pull(controller) {
      // Loop until something is sent or the stream ends, so a chunk that yields nothing
      // (a partial event, a dropped event) does not stall the reader.
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          return fail(controller, error);
        }
        if (result.done) {
          parser.push(decoder.decode());
          if (last === undefined) return fail(controller, new StreamCutError(!seen));
          if (last !== 'done') return upstreamFailed(controller, last.error);
          return finish(controller, ready(EMPTY, true));
        }
        let out: Uint8Array;
        try {
          parser.push(decoder.decode(result.value, { stream: true }));
          if (typeof last === 'object') return upstreamFailed(controller, last.error);
          if (last !== undefined) {
            // The last event is in: everything not yet sent goes out at once (after
            // accounting), and the upstream's end is read in the background so its connection
            // goes back to the pool instead of being torn down.
            void drain(reader);
            return await finish(controller, ready(result.value, true));
          }
          out = ready(result.value, false);
        } catch (error) {
          // An event past the size limit (SseEventTooLargeError): no client could use it.
          if (!(error instanceof SseEventTooLargeError)) throw error;
          return upstreamFailed(controller, error);
        }
        if (out.byteLength > 0) return controller.enqueue(out);
      }
    },
    cancel(reason) {
      cancelled = true;
      void end({ outcome: 'cancelled' });
      return reader.cancel(reason);
    },
  });
}
