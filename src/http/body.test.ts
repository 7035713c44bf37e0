import { describe, expect, it } from 'vitest';
import { shapeFault } from './body';

describe('shapeFault', () => {
  it.each([
    ['{"model":"a","model":"b"}', 'model'],
    ['{"model":"a","x":{"y":1},"\\u006dodel":"b"}', 'model'],
    ['{"a\\"b":1,"a\\"b":2}', 'a"b'],
  ])('finds the top-level key given twice in %s', (raw, key) => {
    expect(shapeFault(raw, 128)).toEqual({ kind: 'duplicate_key', key });
  });

  it.each([
    '{"model":"a","messages":[{"model":"b"},{"model":"c"}]}',
    '{"a":{"b":1,"b":2}}',
    '{"a":"\\"a\\":1, \\"a\\"","b":["a","a"]}',
    '{}',
  ])('leaves alone keys repeated below the top or inside strings: %s', (raw) => {
    expect(shapeFault(raw, 128)).toBeUndefined();
  });

  it('still finds nesting past the limit', () => {
    expect(shapeFault(`{"a":${'['.repeat(5)}${']'.repeat(5)}}`, 4)).toEqual({ kind: 'too_deep' });
  });
});
