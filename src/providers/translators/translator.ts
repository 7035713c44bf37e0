import type { RouteTarget } from '../../config/compile';
import type { SseEvent } from '../../sse/parser';
import type { JsonObject } from '../../util/json';
import type { ChatChunk, ChatCompletion } from './hub';

/**
 * A translator is the code for one wire format on one side of the hub (DESIGN §3): a request
 * mapper, a response mapper and a stream transform. The pipeline composes one inbound side
 * with one upstream side (src/pipeline/forward-translated.ts).
 */
export interface UpstreamCall {
  url: string;
  /** Added to the provider's own (auth, static) headers. */
  headers?: Record<string, string>;
  body: string;
}

export type Emit = (chunk: ChatChunk) => void;

/** Upstream SSE events in, hub chunks out, one event at a time. */
export interface StreamDecoder {
  /** Throws a GatewayError when the upstream reports an error in the stream. */
  push(event: SseEvent, emit: Emit): void;
  /** The upstream body ended: emits what is owed (the usage chunk); throws StreamCutError if the stream was not complete. */
  end(emit: Emit): void;
}

/** An upstream wire format, seen from the hub. */
export interface UpstreamTranslator {
  request(hub: JsonObject, target: RouteTarget, stream: boolean): UpstreamCall;
  response(body: unknown, target: RouteTarget): ChatCompletion;
  stream(target: RouteTarget): StreamDecoder;
  /** The provider's token counter; without one, Vidai estimates. */
  countTokens?: {
    request(hub: JsonObject, target: RouteTarget): UpstreamCall;
    read(body: unknown, target: RouteTarget): number;
  };
}

/** Hub chunks in, the client's SSE text out. */
export interface StreamEncoder {
  push(chunk: ChatChunk): string;
  /** The hub stream is complete: the closing events. */
  end(): string;
}

/** An inbound API, seen from the hub. */
export interface InboundTranslator {
  request(body: JsonObject): JsonObject;
  response(hub: ChatCompletion): unknown;
  stream(body: JsonObject): StreamEncoder;
}
