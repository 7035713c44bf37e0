import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isObject, parseObjectAt } from './json';

describe('isObject', () => {
  it('is true only for plain non-null, non-array objects', () => {
    expect(isObject({})).toBe(true);
    expect(isObject({ a: 1 })).toBe(true);
    expect(isObject(null)).toBe(false);
    expect(isObject([])).toBe(false);
    expect(isObject('x')).toBe(false);
    expect(isObject(1)).toBe(false);
    expect(isObject(undefined)).toBe(false);
  });
});

describe('parseObjectAt', () => {
  it('parses the object after a key, skipping the colon and white space', () => {
    const text = '{"a":1,"usage" : \n\t{"prompt_tokens":3},"b":2}';
    const at = text.indexOf('"usage"') + 7;
    expect(parseObjectAt(text, at)).toEqual({ prompt_tokens: 3 });
  });

  it('parses an object starting exactly at the offset', () => {
    expect(parseObjectAt('{"x":[1,{"y":2}]}', 0)).toEqual({ x: [1, { y: 2 }] });
  });

  it('stops at the brace that closes the object, ignoring what follows', () => {
    expect(parseObjectAt(':{"a":{"b":{}}} trailing } garbage {', 0)).toEqual({ a: { b: {} } });
  });

  it('ignores braces inside strings', () => {
    const text = '"k":{"s":"}{}}{","t":"{"}';
    expect(parseObjectAt(text, 3)).toEqual({ s: '}{}}{', t: '{' });
  });

  it('handles escaped quotes and backslashes inside strings', () => {
    const value = { a: 'quote " brace } backslash \\', b: '\\', c: '\\"}' };
    const text = `"v": ${JSON.stringify(value)}, "w": 1`;
    expect(parseObjectAt(text, 3)).toEqual(value);
  });

  it('returns undefined when the value is not an object', () => {
    expect(parseObjectAt('"usage":null}', 7)).toBeUndefined();
    expect(parseObjectAt('"usage":[{"a":1}]', 7)).toBeUndefined();
    expect(parseObjectAt('"usage":"{}"', 7)).toBeUndefined();
    expect(parseObjectAt('"usage":5', 7)).toBeUndefined();
  });

  it('returns undefined for an object that never closes', () => {
    expect(parseObjectAt('"usage":{"a":{"b":1}', 7)).toBeUndefined();
    expect(parseObjectAt('"usage":{"a":"}', 7)).toBeUndefined();
  });

  it('returns undefined for an offset at or past the end', () => {
    expect(parseObjectAt('{"a":1}', 7)).toBeUndefined();
    expect(parseObjectAt('{"a":1}', 100)).toBeUndefined();
  });

  it('returns undefined for balanced but invalid JSON', () => {
    expect(parseObjectAt('{a:1}', 0)).toBeUndefined();
    expect(parseObjectAt('{"a":1,}', 0)).toBeUndefined();
  });

  it('finds any JSON object after any prefix key (property)', () => {
    const object = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue({ maxDepth: 3 }));
    fc.assert(
      fc.property(object, fc.jsonValue(), (value, after) => {
        const text = `{"usage": ${JSON.stringify(value)}, "after": ${JSON.stringify(after)}}`;
        expect(parseObjectAt(text, text.indexOf('"usage"') + 7)).toEqual(
          JSON.parse(JSON.stringify(value)),
        );
      }),
      { numRuns: 300 },
    );
  });
});
