export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON's white space: space, tab, line feed, carriage return. */
const isSpace = (ch: number) => ch === 32 || ch === 9 || ch === 10 || ch === 13;

/** The first character of `text` that is not white space, as a char code; -1 if there is none. */
function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (!isSpace(ch)) return ch;
  }
  return -1;
}

/**
 * Whether `text` can hold a JSON object: empty, or `{` first after white space. Lets a stream's
 * events be told from what no client could parse without parsing each one.
 */
export function mayBeJsonObject(text: string): boolean {
  const first = firstNonSpace(text);
  return first === -1 || first === 123;
}

/**
 * Whether `text` is framed as a JSON object: `{` first and `}` last, white space aside. Tells a
 * whole reply body from an empty, HTML or cut one at the cost of two characters, not a parse.
 */
export function isJsonObjectText(text: string): boolean {
  if (firstNonSpace(text) !== 123) return false;
  let last = text.length - 1;
  while (last > 0 && isSpace(text.charCodeAt(last))) last--;
  return text.charCodeAt(last) === 125;
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

/**
 * The index just past the JSON string that starts at `start` (its opening quote); the text's
 * length if it is not closed. Skips with indexOf, so a large inline image costs almost nothing.
 */
export function stringEnd(text: string, start: number): number {
  let i = start;
  for (;;) {
    i = text.indexOf('"', i + 1);
    if (i === -1) return text.length;
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === 92) backslashes++;
    if (backslashes % 2 === 0) return i + 1;
  }
}

/**
 * The value of the JSON string `raw.slice(start, end)` (quotes included): its text, decoded
 * only when it holds an escape ("\\u006dodel" is the key `model` to JSON.parse too).
 */
export function stringAt(raw: string, start: number, end: number): string {
  const text = raw.slice(start + 1, end - 1);
  return text.includes('\\') ? (JSON.parse(raw.slice(start, end)) as string) : text;
}

/**
 * `raw`, the text of a JSON object, with its top-level `patch` keys set to the patch's values
 * (replaced where the key is present, added at the end where it is not), and every other byte
 * as it was. What re-serialising the parsed body would lose is kept: numbers beyond a double's
 * precision (a 2^53 + 1 `seed`, `1e400`), and the text of every field Vidai does not change.
 * The patch's values must be JSON values; `raw` must hold no key twice (shapeFault).
 */
export function patchedJson(raw: string, patch: JsonObject): string {
  const spans: Array<{ start: number; end: number; key: string }> = [];
  let depth = 0;
  let members = 0;
  let close = raw.lastIndexOf('}');
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 34 /* " */) {
      const end = stringEnd(raw, i);
      if (depth === 1) {
        // A top-level key (values that are strings are skipped below, with their member).
        members++;
        const key = stringAt(raw, i, end);
        let start = end;
        while (isSpace(raw.charCodeAt(start)) || raw.charCodeAt(start) === 58 /* : */) start++;
        // The value runs to the comma or brace that ends the member at this depth.
        let j = start;
        let inner = 0;
        for (; j < raw.length; j++) {
          const c = raw.charCodeAt(j);
          if (c === 34) j = stringEnd(raw, j) - 1;
          else if (c === 123 || c === 91) inner++;
          else if (c === 125 || c === 93) {
            if (inner === 0) break;
            inner--;
          } else if (c === 44 && inner === 0) break;
        }
        let valueEnd = j;
        while (valueEnd > start && isSpace(raw.charCodeAt(valueEnd - 1))) valueEnd--;
        if (Object.hasOwn(patch, key)) spans.push({ start, end: valueEnd, key });
        i = j - 1;
        continue;
      }
      i = end - 1;
    } else if (ch === 123 /* { */ || ch === 91 /* [ */) depth++;
    else if (ch === 125 /* } */ || ch === 93 /* ] */) {
      if (--depth === 0) {
        close = i;
        break;
      }
    }
  }
  let out = '';
  let at = 0;
  const done = new Set<string>();
  for (const span of spans) {
    out += raw.slice(at, span.start) + JSON.stringify(patch[span.key]);
    at = span.end;
    done.add(span.key);
  }
  out += raw.slice(at, close);
  for (const key of Object.keys(patch)) {
    if (done.has(key)) continue;
    out += `${members++ === 0 ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(patch[key])}`;
  }
  return out + raw.slice(close);
}
