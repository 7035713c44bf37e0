import type { Context } from 'hono';
import { GatewayError, isParamName } from '../errors/gateway-error';
import { joinedBytes } from '../util/bytes';
import { isObject, stringAt, stringEnd, type JsonObject } from '../util/json';

export interface JsonBody {
  /** The body as received, forwarded unchanged where nothing needs patching. */
  raw: string;
  json: JsonObject;
}

/**
 * Deeper than this is refused: no API needs it (OpenAI caps JSON schemas at 10 levels), and a
 * body nested thousands deep would overflow the stack of every JSON.stringify that touches it.
 */
export const MAX_JSON_DEPTH = 128;

/** What one pass over a parsed body's text found wrong with its shape, if anything. */
export type ShapeFault = { kind: 'too_deep' } | { kind: 'duplicate_key'; key: string };

/**
 * One pass over `raw` (valid JSON): does it nest objects/arrays deeper than `limit`, or give a
 * top-level key twice? JSON.parse keeps the last of two keys, but a passthrough sends the text
 * itself, so an upstream that reads the first `model` would serve one the key's policy never
 * checked. Strings are skipped with indexOf, so a large inline image costs almost nothing.
 */
export function shapeFault(raw: string, limit: number): ShapeFault | undefined {
  let depth = 0;
  let expectKey = false;
  let keys: Set<string> | undefined;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw.charCodeAt(i);
    if (ch === 34 /* " */) {
      const start = i;
      i = stringEnd(raw, i) - 1;
      if (depth === 1 && expectKey) {
        expectKey = false;
        // An escaped key is the same key to JSON.parse: compared decoded.
        const key = stringAt(raw, start, i + 1);
        keys ??= new Set();
        if (keys.has(key)) return { kind: 'duplicate_key', key };
        keys.add(key);
      }
    } else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > limit) return { kind: 'too_deep' };
      expectKey = depth === 1 && ch === 123;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) depth--;
    else if (ch === 44 /* , */ && depth === 1) expectKey = true;
  }
  return undefined;
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('body_too_large', `The request body is larger than ${limit} bytes.`);
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * Whether two bytes open a zlib stream (RFC 1950): compression method 8, a window of at most
 * 32 KiB, and a header check that makes them a multiple of 31. Raw deflate (RFC 1951) cannot
 * start so in practice: its first block would be a stored one with padding bits set.
 */
function isZlibHeader(cmf: number, flg: number): boolean {
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * A `deflate` body as the format it is in. HTTP's deflate is zlib-wrapped (RFC 9110 §8.4.1.2),
 * but many clients send raw deflate; like common servers, Vidai reads both, told apart by the
 * first two bytes (read ahead, then given back in front of the rest).
 */
async function deflateFormat(
  body: ReadableStream<Uint8Array>,
): Promise<{ format: 'deflate' | 'deflate-raw'; body: ReadableStream<Uint8Array> }> {
  const reader = body.getReader();
  const head: Uint8Array[] = [];
  let size = 0;
  while (size < 2) {
    const { done, value } = await reader.read();
    if (done) break;
    head.push(value);
    size += value.byteLength;
  }
  const first = joinedBytes(head, size);
  const zlib = size >= 2 && isZlibHeader(first[0] ?? 0, first[1] ?? 0);
  let pending: Uint8Array | undefined = size > 0 ? first : undefined;
  const replayed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (pending !== undefined) {
        controller.enqueue(pending);
        pending = undefined;
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { format: zlib ? 'deflate' : 'deflate-raw', body: replayed };
}

/** A gzip or deflate body, decompressed as it is read; `limit` bounds the decompressed size. */
async function readCompressed(
  body: ReadableStream<Uint8Array> | null,
  encoding: string,
  limit: number,
): Promise<string> {
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new GatewayError(
      'unsupported_media_type',
      `Content-Encoding '${encoding.slice(0, 40)}' is not supported; send the body uncompressed, or as gzip or deflate.`,
    );
  }
  if (body === null) return '';
  try {
    const input =
      encoding === 'gzip' ? { format: 'gzip' as const, body } : await deflateFormat(body);
    const inflate = new DecompressionStream(input.format) as unknown as ReadableWritablePair<
      Uint8Array,
      Uint8Array
    >;
    return await readLimited(input.body.pipeThrough(inflate), limit);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('invalid_request', `The body is not valid ${encoding} data.`);
  }
}

/** Reads a JSON object body within `limit` bytes: 413 past it, 400 for anything not an object. */
export async function readJsonBody(c: Context, limit: number): Promise<JsonBody> {
  let raw: string;
  try {
    raw = await readRaw(c, limit);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    // The body stream comes from the caller: it fails only when the caller went away mid-body.
    throw new GatewayError('cancelled', 'The client went away before its request body arrived.', {
      cause: err,
    });
  }
  return parseJsonBody(raw);
}

async function readRaw(c: Context, limit: number): Promise<string> {
  const declared = Number(c.req.header('content-length'));
  if (declared > limit) throw tooLarge(limit);
  let raw: string;
  const encoding = c.req.header('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') {
    raw = await readCompressed(c.req.raw.body, encoding, limit);
  } else if (Number.isFinite(declared) && declared > 0) {
    raw = await c.req.text();
    if (raw.length > limit) throw tooLarge(limit);
  } else {
    raw = c.req.raw.body ? await readLimited(c.req.raw.body, limit) : '';
  }
  return raw;
}

function parseJsonBody(raw: string): JsonBody {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new GatewayError(
      'invalid_json',
      raw.length === 0
        ? 'The request has no body; send a JSON object.'
        : 'We could not parse the JSON body of your request.',
    );
  }
  if (!isObject(json))
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  const fault = shapeFault(raw, MAX_JSON_DEPTH);
  if (fault?.kind === 'too_deep') {
    throw new GatewayError(
      'invalid_request',
      `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`,
    );
  }
  if (fault?.kind === 'duplicate_key') {
    // The key is echoed only when it looks like a parameter name (it is the caller's text).
    const named = isParamName(fault.key);
    throw new GatewayError(
      'invalid_request',
      named
        ? `The request body gives '${fault.key}' more than once.`
        : 'The request body gives a top-level key more than once.',
      named ? { param: fault.key } : {},
    );
  }
  return { raw, json };
}

function invalid(field: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param: field });
}

export function requireString(json: JsonObject, field: string, maxLength = Infinity): string {
  const value = json[field];
  if (value === undefined || value === null) {
    throw invalid(field, `Missing required parameter: '${field}'.`);
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw invalid(field, `'${field}' must be a non-empty string.`);
  }
  if (value.length > maxLength) throw tooLong(field, maxLength);
  return value;
}

/** The 400 for a string past its cap, wherever the string came from (body or path). */
export function tooLong(field: string, maxLength: number): GatewayError {
  return invalid(field, `'${field}' must be at most ${maxLength} characters long.`);
}

/**
 * Longer model names are refused: none is this long, and the name is echoed in errors and
 * stored in every usage record.
 */
export const MAX_MODEL_NAME = 256;

/** A required array with at least one element. */
export function requireNonEmptyArray(json: JsonObject, field: string): unknown[] {
  const value = json[field];
  if (value === undefined || value === null) {
    throw invalid(field, `Missing required parameter: '${field}'.`);
  }
  if (!Array.isArray(value)) throw invalid(field, `'${field}' must be an array.`);
  if (value.length === 0) throw invalid(field, `'${field}' must not be empty.`);
  return value;
}

/**
 * Fields that, when present, must be positive whole numbers (max_tokens and the like). Safe
 * integers only: 1e308 is an integer to JavaScript, but arithmetic on it (the token estimate)
 * overflows, and no upstream accepts it.
 */
export function optionalPositiveInts(json: JsonObject, fields: readonly string[]): void {
  for (const field of fields) {
    const value = json[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw invalid(field, `'${field}' must be a positive integer.`);
    }
  }
}

/** Fields that, when present, must be arrays (tools, stop sequences). */
export function optionalArrays(json: JsonObject, fields: readonly string[]): void {
  for (const field of fields) {
    const value = json[field];
    if (value !== undefined && value !== null && !Array.isArray(value)) {
      throw invalid(field, `'${field}' must be an array.`);
    }
  }
}

/** `path` names the field in errors: the field itself, or where it sits (`stream_options.include_usage`). */
export function optionalBoolean(json: JsonObject, field: string, path = field): boolean {
  const value = json[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(path, `'${path}' must be a boolean.`);
  return value;
}

/** A field that, when present, must be a JSON object; undefined when absent or null. */
export function optionalObject(json: JsonObject, field: string): JsonObject | undefined {
  const value = json[field];
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw invalid(field, `'${field}' must be an object.`);
  return value;
}
