/**
 * The one Server-Sent Events parser, per the WHATWG event-stream grammar
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
 * lines end in CRLF, LF or CR (a CRLF split across two writes is one line end), `:` starts a
 * comment, several `data:` lines join with "\n", and an event is dispatched on a blank line.
 * It is incremental: feed it text as it arrives, in pieces of any size.
 */
export interface SseEvent {
  /** The `event:` field; undefined means the default "message". */
  event: string | undefined;
  data: string;
  id: string | undefined;
}

/** The most text one event (its lines not yet ended included) may hold: 16 Mi characters. */
export const MAX_EVENT_CHARS = 16 * 1024 * 1024;

/** An event grew past MAX_EVENT_CHARS: the upstream is not sending SSE a client could use. */
export class SseEventTooLargeError extends Error {
  constructor() {
    super(`a stream event was larger than ${MAX_EVENT_CHARS / (1024 * 1024)} Mi characters`);
    this.name = 'SseEventTooLargeError';
  }
}

export class SseParser {
  // The lists are emptied in place, not replaced: they live as long as the stream, and an
  // array made afresh at every event lived long enough to be promoted (passthrough-stream.ts).
  /** Text after the last line end, in the pieces it came in (joined once a line end comes). */
  private readonly rest: string[] = [];
  private restLength = 0;
  private readonly data: string[] = [];
  private dataLength = 0;
  private event: string | undefined;
  private id: string | undefined;
  private skipLeadingLF = false;
  private started = false;

  constructor(
    private readonly emit: (event: SseEvent) => void,
    private readonly maxEventChars = MAX_EVENT_CHARS,
  ) {}

  /** Throws SseEventTooLargeError once the event being read passes the limit. */
  push(chunk: string): void {
    if (chunk.length === 0) return;
    if (!this.started) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.skipLeadingLF) {
      this.skipLeadingLF = false;
      if (chunk.charCodeAt(0) === 10) chunk = chunk.slice(1);
    }
    let lf = chunk.indexOf('\n');
    let cr = chunk.indexOf('\r');
    if (lf === -1 && cr === -1) {
      // No line ends: held as it is, so a long line costs its length once, not at every chunk.
      this.rest.push(chunk);
      this.restLength += chunk.length;
      this.checkSize();
      return;
    }
    // `rest` holds no line end, so the scan starts where the new text begins.
    const held = this.restLength === 0 ? '' : this.rest.join('');
    const text = held.length === 0 ? chunk : held + chunk;
    if (lf !== -1) lf += held.length;
    if (cr !== -1) cr += held.length;
    let start = 0;
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
      } else {
        end = cr;
        if (cr + 1 === text.length) {
          next = cr + 1;
          this.skipLeadingLF = true; // the LF of a CRLF may come in the next write
        } else {
          next = text.charCodeAt(cr + 1) === 10 ? cr + 2 : cr + 1;
        }
      }
      this.line(text.slice(start, end));
      start = next;
      if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
      if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    }
    const rest = text.slice(start);
    this.rest.length = 0;
    if (rest.length > 0) this.rest.push(rest);
    this.restLength = rest.length;
    this.checkSize();
  }

  private checkSize(): void {
    if (this.restLength + this.dataLength > this.maxEventChars) {
      this.end();
      throw new SseEventTooLargeError();
    }
  }

  /** End of stream: per the spec an event not closed by a blank line is discarded. */
  end(): void {
    this.rest.length = 0;
    this.restLength = 0;
    this.data.length = 0;
    this.dataLength = 0;
    this.event = undefined;
  }

  private line(line: string): void {
    if (line.length === 0) {
      if (this.data.length > 0) {
        this.emit({ event: this.event, data: this.data.join('\n'), id: this.id });
      }
      this.data.length = 0;
      this.dataLength = 0;
      this.event = undefined;
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) return; // comment, e.g. a keep-alive
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        this.dataLength += value.length;
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      default: // `retry` and unknown fields are ignored, as the spec says
    }
  }
}

/** Bytes in, events out: decodes UTF-8 across chunk boundaries, then parses. */
export function sseEventStream(): TransformStream<Uint8Array, SseEvent> {
  const decoder = new TextDecoder();
  let parser: SseParser;
  return new TransformStream<Uint8Array, SseEvent>({
    start(controller) {
      parser = new SseParser((event) => controller.enqueue(event));
    },
    transform(chunk) {
      parser.push(decoder.decode(chunk, { stream: true }));
    },
    flush() {
      parser.push(decoder.decode());
      parser.end();
    },
  });
}
