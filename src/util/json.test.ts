import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonObjectText, isObject, parseObjectAt, patchedJson } from './json';

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

describe('isJsonObjectText', () => {
  it.each(['{}', ' \n{"a":1}\r\n', '{"a":"}"}'])('takes %j as an object’s text', (text) => {
    expect(isJsonObjectText(text)).toBe(true);
  });

  it.each(['', '  \n', 'null', '[{}]', '<html>{}</html>', '{"id":"chatcmpl-1","obj', '}', '{'])(
    'refuses %j, without parsing it',
    (text) => {
      expect(isJsonObjectText(text)).toBe(false);
    },
  );
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

describe('patchedJson', () => {
  it('replaces a top-level value in place and keeps every other byte, big numbers included', () => {
    const raw =
      '{ "model" : "a",\n  "seed": 9007199254740993, "x": 1e400, "m": [{"model":"inner"}] }';
    const out = patchedJson(raw, { model: 'b' });
    expect(out).toBe(
      '{ "model" : "b",\n  "seed": 9007199254740993, "x": 1e400, "m": [{"model":"inner"}] }',
    );
  });

  it('adds a key that is not there, with or without other members', () => {
    expect(patchedJson('{"a":1}', { b: { c: true } })).toBe('{"a":1,"b":{"c":true}}');
    expect(patchedJson('{ }', { b: 2 })).toBe('{ "b":2}');
    expect(patchedJson('{"a":"}{,\\"","z":[1,{"q":"]"}]}', { z: 0, n: null })).toBe(
      '{"a":"}{,\\"","z":0,"n":null}',
    );
  });

  it('finds a key given escaped, and a value that is the last member', () => {
    expect(patchedJson('{"x":1,"\\u006dodel":"a"}', { model: 'b' })).toBe(
      '{"x":1,"\\u006dodel":"b"}',
    );
  });

  it('parses to what merging the patch into the parsed body gives, for any object and patch', () => {
    const value = fc.jsonValue({ maxDepth: 3 });
    const body = fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 6 });
    fc.assert(
      fc.property(body, body, fc.boolean(), (b, patch, pretty) => {
        const raw = pretty ? JSON.stringify(b, null, 2) : JSON.stringify(b);
        const out = patchedJson(raw, patch);
        expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(Object.assign({}, b, patch))));
      }),
      { numRuns: 300 },
    );
  });
});
