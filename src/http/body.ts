import type { Context } from 'hono';
import { GatewayError } from '../errors/gateway-error';
import { isObject, type JsonObject } from '../util/json';

export interface JsonBody {
  /** The body as received, forwarded unchanged where nothing needs patching. */
  raw: string;
  json: JsonObject;
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

/** Reads a JSON object body within `limit` bytes: 413 past it, 400 for anything not an object. */
export async function readJsonBody(c: Context, limit: number): Promise<JsonBody> {
  const declared = Number(c.req.header('content-length'));
  if (declared > limit) throw tooLarge(limit);
  let raw: string;
  if (Number.isFinite(declared) && declared > 0) {
    raw = await c.req.text();
    if (raw.length > limit) throw tooLarge(limit);
  } else {
    raw = c.req.raw.body ? await readLimited(c.req.raw.body, limit) : '';
  }
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
  return { raw, json };
}

export function requireString(json: JsonObject, field: string): string {
  const value = json[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new GatewayError('invalid_request', `Missing required parameter: '${field}'.`, {
      param: field,
    });
  }
  return value;
}

export function optionalBoolean(json: JsonObject, field: string): boolean {
  const value = json[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw new GatewayError('invalid_request', `'${field}' must be a boolean.`, { param: field });
  }
  return value;
}
