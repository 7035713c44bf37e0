import { describe, expect, it } from 'vitest';
import { SseParser } from '../sse/parser';
import { lastEventBoundary } from './passthrough-stream';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('lastEventBoundary', () => {
  it.each([
    ['data: a\n\n', 9],
    ['data: a\r\n\r\n', 11],
    ['data: a\r\r', 9],
    ['data: a\n\r\n', 10],
    ['data: a\r\n\n', 10],
    ['data: a\n\r', 9],
    ['data: a\n\ndata: b', 9],
    ['data: a\n\ndata: b\n', 9],
    ['data: a\r\n\r', 10],
    ['data: a\n', 0],
    ['data: a\r\n', 0],
    ['\n', 0],
  ])('%j: %i', (text, at) => {
    expect(lastEventBoundary(bytes(text))).toBe(at);
  });

  it('puts every event the parser dispatches before it, whatever the line ends', () => {
    for (const end of ['\n', '\r\n', '\r']) {
      for (const blank of ['\n', '\r\n', '\r']) {
        if (end === '\r' && blank.startsWith('\n')) continue; // that is one CRLF, not two ends
        const text = `data: a${end}${blank}data: b${end}`;
        const dispatched: string[] = [];
        const parser = new SseParser((event) => dispatched.push(event.data));
        const at = lastEventBoundary(bytes(text));
        parser.push(text.slice(0, at));
        expect(dispatched, JSON.stringify(text)).toEqual(['a']);
      }
    }
  });
});
