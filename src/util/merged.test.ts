import { describe, expect, it } from 'vitest';
import { merged } from './merged';

describe('merged', () => {
  it('is { ...base, ...fields }: a new object, later fields winning, the base untouched', () => {
    const base = { a: 1, b: 2 };
    const out = merged(base, { b: 3, c: 4 });
    expect(out).toEqual({ a: 1, b: 3, c: 4 });
    expect(out).not.toBe(base);
    expect(base).toEqual({ a: 1, b: 2 });
  });
});
