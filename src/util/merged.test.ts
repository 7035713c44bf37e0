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

  // A caller's JSON body may hold "__proto__": copied as data, never as the copy's prototype.
  it.each([
    [
      'the base',
      () => merged(JSON.parse('{"__proto__":{"stream":true},"a":1}') as object, { b: 2 }),
    ],
    [
      'the fields',
      () => merged({ a: 1 }, JSON.parse('{"__proto__":{"stream":true},"b":2}') as object),
    ],
  ])('keeps a "__proto__" key of %s as data', (_where, make) => {
    const out = make() as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect('stream' in out).toBe(false);
    expect(JSON.parse(JSON.stringify(out))).toEqual(
      JSON.parse('{"__proto__":{"stream":true},"a":1,"b":2}'),
    );
  });
});
