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

export class SseParser {
  private rest = '';
  private data: string[] = [];
  private event: string | undefined;
  private id: string | undefined;
  private skipLeadingLF = false;
  private started = false;

  constructor(private readonly emit: (event: SseEvent) => void) {}

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
    // `rest` holds no line end, so the scan can start where the new text begins.
    const scanFrom = this.rest.length;
    const text = scanFrom === 0 ? chunk : this.rest + chunk;
    let start = 0;
    let lf = text.indexOf('\n', scanFrom);
    let cr = text.indexOf('\r', scanFrom);
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
    this.rest = start === 0 ? text : text.slice(start);
  }

  /** End of stream: per the spec an event not closed by a blank line is discarded. */
  end(): void {
    this.rest = '';
    this.data = [];
    this.event = undefined;
  }

  private line(line: string): void {
    if (line.length === 0) {
      if (this.data.length > 0) {
        this.emit({ event: this.event, data: this.data.join('\n'), id: this.id });
      }
      this.data = [];
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
