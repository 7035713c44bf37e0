import { describe, expect, it } from 'vitest';
import { joinedBytes } from './bytes';

describe('joinedBytes', () => {
  it('gives the one chunk itself, uncopied', () => {
    const chunk = new Uint8Array([1, 2, 3]);
    expect(joinedBytes([chunk], 3)).toBe(chunk);
  });

  it('joins several chunks in order, and none as an empty array', () => {
    const out = joinedBytes([new Uint8Array([1]), new Uint8Array([2, 3]), new Uint8Array([4])], 4);
    expect([...out]).toEqual([1, 2, 3, 4]);
    expect(joinedBytes([], 0).byteLength).toBe(0);
  });
});
