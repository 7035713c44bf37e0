import { describe, expect, it } from 'vitest';
import { refusedRequestFormat } from './client-errors';

describe('refusedRequestFormat', () => {
  it('reads the path from the refused bytes, and falls back to OpenAI’s shape without them', () => {
    const packet = (s: string) => Buffer.from(s, 'latin1');
    expect(refusedRequestFormat(packet('POST /v1/messages HTTP/1.1\r\nX-Bad: \x01'))).toBe(
      'anthropic',
    );
    expect(refusedRequestFormat(packet('POST /v1/messages?x=1 HTTP/1.1\r\n'))).toBe('anthropic');
    expect(refusedRequestFormat(packet('POST /v1/chat/completions HTTP/1.1\r\n'))).toBe('openai');
    expect(refusedRequestFormat(packet('aaaaaaaaaaaa'))).toBe('openai');
    expect(refusedRequestFormat(undefined)).toBe('openai');
  });
});
