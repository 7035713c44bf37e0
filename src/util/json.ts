export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `text` can hold a JSON object: empty, or `{` first after white space. Lets a stream's
 * events be told from what no client could parse without parsing each one.
 */
export function mayBeJsonObject(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch !== 32 && ch !== 9 && ch !== 10 && ch !== 13) return ch === 123;
  }
  return true;
}

/**
 * The JSON object value that follows `from` in `text` (after white space and a `:`), parsed;
 * undefined if the value there is not an object. Lets the hot path read one field of a large
 * response (its `usage`) without parsing the rest.
 */
export function parseObjectAt(text: string, from: number): unknown {
  let start = from;
  while (start < text.length && /[\s:]/.test(text[start] ?? '')) start++;
  if (text.charCodeAt(start) !== 123) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */) depth++;
    else if (ch === 125 /* } */ && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
