import { GatewayError, toGatewayError } from '../errors/gateway-error';
import { anthropicErrorBody, openaiErrorBody, type InboundFormat } from '../errors/render';
import type { Operation } from '../pipeline/plan';
import { asGatewayError } from '../pipeline/upstream-errors';
import { formatSseEvent } from '../sse/serialize';
import type { JsonObject } from '../util/json';
import {
  MAX_MODEL_NAME,
  optionalArrays,
  optionalBoolean,
  optionalObject,
  optionalPositiveInts,
  requireNonEmptyArray,
  requireString,
} from './body';

/**
 * What differs between inbound APIs (OpenAI chat, OpenAI embeddings, later Anthropic
 * messages): which fields a request must have, and how a failure mid-stream is told to the
 * caller. Everything else about serving a call is shared (see inference.ts).
 */
export interface InboundSpec {
  format: InboundFormat;
  op: Operation;
  /** Checks the few fields the gateway needs (not a whole-body schema) and reads them. */
  read(json: JsonObject): { model: string; stream: boolean };
  /** A failure after the reply began, as one SSE event the caller's SDK raises. */
  streamErrorEvent(error: unknown, providerId: string): string;
  /** Request headers passed on to an upstream of this same format (lowercase names). */
  forwardHeaders: readonly string[];
}

export function streamFailure(error: unknown, providerId: string): GatewayError {
  return toGatewayError(asGatewayError(error, providerId));
}

function openaiStreamError(error: unknown, providerId: string): string {
  return formatSseEvent(JSON.stringify(openaiErrorBody(streamFailure(error, providerId))));
}

function missing(field: string): GatewayError {
  return new GatewayError('invalid_request', `Missing required parameter: '${field}'.`, {
    param: field,
  });
}

export const openaiChat: InboundSpec = {
  format: 'openai',
  op: 'chat',
  read(json) {
    const model = requireString(json, 'model', MAX_MODEL_NAME);
    requireNonEmptyArray(json, 'messages');
    optionalPositiveInts(json, ['max_tokens', 'max_completion_tokens', 'n']);
    optionalArrays(json, ['tools']);
    const stream = optionalBoolean(json, 'stream');
    checkStreamOptions(json, stream);
    return { model, stream };
  },
  streamErrorEvent: openaiStreamError,
  forwardHeaders: [],
};

/**
 * `stream_options` as OpenAI takes it (test/spec: ChatCompletionStreamOptions): an object of
 * booleans, and only with `stream: true` (OpenAI answers 400 otherwise). Vidai reads
 * `include_usage` to decide what the client sees, so a value it cannot read is refused, not
 * ignored.
 */
function checkStreamOptions(json: JsonObject, stream: boolean): void {
  const options = optionalObject(json, 'stream_options');
  if (options === undefined) return;
  for (const field of ['include_usage', 'include_obfuscation']) {
    optionalBoolean(options, field, `stream_options.${field}`);
  }
  if (!stream) {
    throw new GatewayError(
      'invalid_request',
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      { param: 'stream_options' },
    );
  }
}

const isTokenId = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * OpenAI's four shapes of embeddings input (test/spec: CreateEmbeddingRequest.input): a string,
 * or a non-empty array of strings, of token ids, or of non-empty arrays of token ids.
 */
function validEmbeddingsInput(input: unknown): boolean {
  if (typeof input === 'string') return true;
  if (!Array.isArray(input) || input.length === 0) return false;
  if (typeof input[0] === 'string') return input.every((v) => typeof v === 'string');
  if (Array.isArray(input[0]))
    return input.every((v) => Array.isArray(v) && v.length > 0 && v.every(isTokenId));
  return input.every(isTokenId);
}

export const openaiEmbeddings: InboundSpec = {
  format: 'openai',
  op: 'embeddings',
  read(json) {
    const model = requireString(json, 'model', MAX_MODEL_NAME);
    if (json.input === undefined || json.input === null) throw missing('input');
    if (!validEmbeddingsInput(json.input)) {
      throw new GatewayError(
        'invalid_request',
        "'input' must be a string, or a non-empty array of strings, of integers, or of non-empty arrays of integers.",
        { param: 'input' },
      );
    }
    optionalPositiveInts(json, ['dimensions']);
    return { model, stream: false };
  },
  streamErrorEvent: openaiStreamError,
  forwardHeaders: [],
};

/** https://docs.anthropic.com/en/docs/build-with-claude/streaming#error-events */
function anthropicStreamError(error: unknown, providerId: string): string {
  return formatSseEvent(
    JSON.stringify(anthropicErrorBody(streamFailure(error, providerId))),
    'error',
  );
}

/** Anthropic's own headers, kept for Anthropic upstreams (betas, API version). */
const anthropicHeaders = ['anthropic-version', 'anthropic-beta'] as const;

function readMessages(json: JsonObject): { model: string; stream: boolean } {
  const model = requireString(json, 'model', MAX_MODEL_NAME);
  requireNonEmptyArray(json, 'messages');
  optionalArrays(json, ['tools', 'stop_sequences']);
  return { model, stream: optionalBoolean(json, 'stream') };
}

export const anthropicMessages: InboundSpec = {
  format: 'anthropic',
  op: 'chat',
  // Anthropic's API requires max_tokens (https://docs.anthropic.com/en/api/messages).
  read: (json) => {
    const read = readMessages(json);
    if (json.max_tokens === undefined || json.max_tokens === null) throw missing('max_tokens');
    optionalPositiveInts(json, ['max_tokens']);
    return read;
  },
  streamErrorEvent: anthropicStreamError,
  forwardHeaders: anthropicHeaders,
};

export const anthropicCountTokens: InboundSpec = {
  format: 'anthropic',
  op: 'count_tokens',
  read: (json) => ({ model: readMessages(json).model, stream: false }),
  streamErrorEvent: anthropicStreamError,
  forwardHeaders: anthropicHeaders,
};
