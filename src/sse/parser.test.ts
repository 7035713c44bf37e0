import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseEventTooLargeError, SseParser, sseEventStream, type SseEvent } from './parser';
import { formatSseEvent } from './serialize';

/** Feeds `chunks` to a fresh parser, one push each, then ends it. */
function parse(chunks: readonly string[]): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = new SseParser((event) => events.push(event));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return events;
}

/** Splits `text` at the given sorted offsets. */
function splitAt(text: string, offsets: readonly number[]): string[] {
  const pieces: string[] = [];
  let from = 0;
  for (const at of offsets) {
    pieces.push(text.slice(from, at));
    from = at;
  }
  pieces.push(text.slice(from));
  return pieces;
}

async function streamEvents(chunks: readonly Uint8Array[]): Promise<SseEvent[]> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  const events: SseEvent[] = [];
  const reader = source.pipeThrough(sseEventStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    events.push(value);
  }
}

function message(data: string, extra: Partial<SseEvent> = {}): SseEvent {
  return { event: undefined, data, id: undefined, ...extra };
}

const sample =
  ': keep-alive\n' +
  'event: delta\nid: 7\ndata: {"a":1}\n\n' +
  'data: line one\r\ndata: line two\r\n\r\n' +
  'data:no-space\rdata\r\r' +
  'retry: 1000\nunknown: x\ndata: é漢🎉\n\n';

const sampleEvents: SseEvent[] = [
  message('{"a":1}', { event: 'delta', id: '7' }),
  message('line one\nline two', { id: '7' }),
  message('no-space\n', { id: '7' }),
  message('é漢🎉', { id: '7' }),
];

describe('SseParser', () => {
  it('parses a sample stream with every kind of line end and field', () => {
    expect(parse([sample])).toEqual(sampleEvents);
  });

  it('yields the same events however one write is split in two', () => {
    for (let at = 0; at <= sample.length; at++) {
      expect(parse(splitAt(sample, [at])), `split at ${at}`).toEqual(sampleEvents);
    }
  });

  it('yields the same events however the stream is split in three', () => {
    for (let a = 0; a <= sample.length; a++) {
      for (let b = a; b <= sample.length; b++) {
        const events = parse(splitAt(sample, [a, b]));
        if (JSON.stringify(events) !== JSON.stringify(sampleEvents)) {
          expect(events, `split at ${a}, ${b}`).toEqual(sampleEvents);
        }
      }
    }
  });

  it('yields the same events when fed one character at a time', () => {
    expect(parse([...sample])).toEqual(sampleEvents);
  });

  it('dispatches an event only at the blank line', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((event) => events.push(event));
    parser.push('data: a\n');
    expect(events).toEqual([]);
    parser.push('\n');
    expect(events).toEqual([message('a')]);
  });

  it('does not turn comments into events', () => {
    expect(parse([': keep-alive\n\n', ':\n\n', ': ping\r\n\r\n'])).toEqual([]);
  });

  it('ignores a comment line between data lines of one event', () => {
    expect(parse(['data: a\n: keep-alive\ndata: b\n\n'])).toEqual([message('a\nb')]);
  });

  it('accepts LF, CRLF and CR line ends alike', () => {
    expect(parse(['data: a\n\n'])).toEqual([message('a')]);
    expect(parse(['data: a\r\n\r\n'])).toEqual([message('a')]);
    expect(parse(['data: a\r\r'])).toEqual([message('a')]);
    expect(parse(['data: a\r\ndata: b\rdata: c\n\n'])).toEqual([message('a\nb\nc')]);
  });

  it('treats a CRLF split between two writes as one line end', () => {
    // Were the LF read as a second line end, the first event would end early and `b` would
    // be a second event.
    expect(parse(['data: a\r', '\ndata: b\r\n\r\n'])).toEqual([message('a\nb')]);
    expect(parse(['data: a\r\n\r', '\ndata: b\r\n\r\n'])).toEqual([message('a'), message('b')]);
  });

  it('joins a CR and LF split by an empty write into one line end', () => {
    expect(parse(['data: a\r', '', '\n', 'data: b\n\n'])).toEqual([message('a\nb')]);
  });

  it('reads a CRLF after a write that ended in CR as a blank line', () => {
    // CR, then a write starting with CR LF: the first CR ends `data: a`, the CRLF is a blank line.
    expect(parse(['data: a\r', '\r\n'])).toEqual([message('a')]);
  });

  it('joins several data lines with "\\n"', () => {
    expect(parse(['data: one\ndata: two\ndata: three\n\n'])).toEqual([message('one\ntwo\nthree')]);
  });

  it('keeps empty data lines as empty lines of the data', () => {
    expect(parse(['data:\ndata: x\ndata:\n\n'])).toEqual([message('\nx\n')]);
  });

  it('reads the event and id fields', () => {
    expect(parse(['event: add\nid: 42\ndata: x\n\n'])).toEqual([
      { event: 'add', data: 'x', id: '42' },
    ]);
  });

  it('resets the event type after each dispatch but keeps the last event id', () => {
    expect(parse(['event: add\nid: 1\ndata: x\n\ndata: y\n\n'])).toEqual([
      { event: 'add', data: 'x', id: '1' },
      { event: undefined, data: 'y', id: '1' },
    ]);
  });

  it('ignores an id containing NUL', () => {
    expect(parse(['id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n'])).toEqual([
      message('a', { id: '1' }),
      message('b', { id: '1' }),
    ]);
  });

  it('treats a line with no colon as a field name with an empty value', () => {
    expect(parse(['data\n\n'])).toEqual([message('')]);
    expect(parse(['event\ndata: x\n\n'])).toEqual([message('x', { event: '' })]);
  });

  it('takes the value right after the colon when there is no space', () => {
    expect(parse(['data:x\n\n'])).toEqual([message('x')]);
  });

  it('strips only one space after the colon', () => {
    expect(parse(['data:  two spaces\n\n'])).toEqual([message(' two spaces')]);
  });

  it('keeps colons inside the value', () => {
    expect(parse(['data: a: b: c\n\n'])).toEqual([message('a: b: c')]);
  });

  it('ignores retry and unknown fields', () => {
    expect(parse(['retry: 3000\nfoo: bar\ndata: x\n\n'])).toEqual([message('x')]);
    expect(parse(['retry: 3000\nfoo: bar\n\n'])).toEqual([]);
  });

  it('treats field names case-sensitively', () => {
    expect(parse(['Data: x\nDATA: y\n\n'])).toEqual([]);
  });

  it('strips one leading BOM', () => {
    expect(parse(['\uFEFFdata: x\n\n'])).toEqual([message('x')]);
    expect(parse(['\uFEFF', 'data: x\n\n'])).toEqual([message('x')]);
  });

  it('strips a BOM only at the very start of the stream', () => {
    // Elsewhere the BOM belongs to the field name, which then names no known field.
    expect(parse(['data: a\n\n', '\uFEFFdata: b\n\n'])).toEqual([message('a')]);
    expect(parse(['\uFEFF\uFEFFdata: x\n\n'])).toEqual([]);
  });

  it('discards an unterminated last event at end()', () => {
    expect(parse(['data: a\n\ndata: half'])).toEqual([message('a')]);
    expect(parse(['data: a\n\ndata: complete line but no blank line\n'])).toEqual([message('a')]);
  });

  it('starts afresh after end() discards a pending event', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((event) => events.push(event));
    parser.push('event: stale\ndata: old');
    parser.end();
    parser.push('data: new\n\n');
    expect(events).toEqual([message('new')]);
  });

  it('dispatches nothing for blank lines without data', () => {
    expect(parse(['\n\n\n\r\n\r\r'])).toEqual([]);
    expect(parse(['event: ping\n\n'])).toEqual([]);
    expect(parse(['id: 5\n\ndata: x\n\n'])).toEqual([message('x', { id: '5' })]);
  });

  it('does not carry an event type from an event with no data to the next event', () => {
    expect(parse(['event: ping\n\ndata: x\n\n'])).toEqual([message('x')]);
  });

  it('ignores empty writes', () => {
    expect(parse(['', 'data: x', '', '\n', '', '\n', ''])).toEqual([message('x')]);
  });
});

describe('sseEventStream', () => {
  const encoder = new TextEncoder();

  it('decodes UTF-8 split inside a multi-byte character at every byte position', async () => {
    const bytes = encoder.encode('data: é漢🎉 done\n\n');
    for (let at = 0; at <= bytes.length; at++) {
      const events = await streamEvents([bytes.subarray(0, at), bytes.subarray(at)]);
      expect(events, `split at byte ${at}`).toEqual([message('é漢🎉 done')]);
    }
  });

  it('decodes a stream fed one byte at a time', async () => {
    const bytes = encoder.encode(sample);
    const chunks = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect(await streamEvents(chunks)).toEqual(sampleEvents);
  });

  it('strips a leading UTF-8 BOM', async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('data: x\n\n')]);
    expect(await streamEvents([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual([message('x')]);
  });

  it('discards an unterminated last event when the stream ends', async () => {
    expect(await streamEvents([encoder.encode('data: a\n\ndata: b\n')])).toEqual([message('a')]);
  });

  it('completes with no events for an empty stream', async () => {
    expect(await streamEvents([])).toEqual([]);
  });
});

/** Strings without the lone surrogates UTF-8 cannot carry. */
const text = fc
  .string({ unit: 'binary', maxLength: 40 })
  .map((s) => s.replace(/[\uD800-\uDFFF]/gu, ''));
const lineFree = text.map((s) => s.replace(/[\r\n]/g, ''));
const sseEvent = fc.record({
  data: fc.oneof(
    text,
    fc.array(text, { maxLength: 4 }).map((lines) => lines.join('\r\n')),
  ),
  event: fc.option(lineFree, { nil: undefined }),
});
type Spec = { data: string; event: string | undefined };

function expected(events: readonly Spec[]): SseEvent[] {
  return events.map(({ data, event }) => ({
    event,
    data: data.replace(/\r\n|\r/g, '\n'),
    id: undefined,
  }));
}

function splits(length: number) {
  return fc
    .uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 12 })
    .map((offsets) => [...offsets].sort((a, b) => a - b));
}

describe('SseParser with formatSseEvent (property)', () => {
  it('yields exactly the serialized events for any chunking of the text', () => {
    fc.assert(
      fc.property(
        fc.array(sseEvent, { maxLength: 8 }).chain((events) => {
          const wire = events.map((e) => formatSseEvent(e.data, e.event)).join('');
          return fc.tuple(fc.constant(events), fc.constant(wire), splits(wire.length));
        }),
        ([events, wire, offsets]) => {
          expect(parse(splitAt(wire, offsets))).toEqual(expected(events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('yields exactly the serialized events for any chunking of the UTF-8 bytes', async () => {
    const encoder = new TextEncoder();
    await fc.assert(
      fc.asyncProperty(
        fc.array(sseEvent, { maxLength: 8 }).chain((events) => {
          const bytes = encoder.encode(events.map((e) => formatSseEvent(e.data, e.event)).join(''));
          return fc.tuple(fc.constant(events), fc.constant(bytes), splits(bytes.length));
        }),
        async ([events, bytes, offsets]) => {
          const chunks: Uint8Array[] = [];
          let from = 0;
          for (const at of [...offsets, bytes.length]) {
            chunks.push(bytes.subarray(from, at));
            from = at;
          }
          expect(await streamEvents(chunks)).toEqual(expected(events));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses an event past its size limit, counting its data lines and the line not yet ended', () => {
    const events: SseEvent[] = [];
    const lines = new SseParser((event) => events.push(event), 10);
    lines.push('data: 1234\n');
    expect(() => lines.push('data: 5678901\n')).toThrow(SseEventTooLargeError);
    const unended = new SseParser((event) => events.push(event), 10);
    unended.push('data: 12');
    expect(() => unended.push('345678901')).toThrow(SseEventTooLargeError);
    const fine = new SseParser((event) => events.push(event), 10);
    for (let i = 0; i < 100; i++) fine.push('data: 123456\n\n');
    expect(events).toHaveLength(100);
  });

  it('gives a line sent in many pieces whole, however long', () => {
    const events: SseEvent[] = [];
    const parser = new SseParser((event) => events.push(event));
    parser.push('data: ');
    for (let i = 0; i < 1000; i++) parser.push('abcdefghij');
    parser.push('\n\n');
    expect(events).toEqual([{ event: undefined, data: 'abcdefghij'.repeat(1000), id: undefined }]);
  });
});
