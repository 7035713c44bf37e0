import type { InboundFormat } from '../errors/render';
import type { StreamEnd } from './openai-stream';
import type { TokenUsage } from '../usage/usage';
import type { JsonObject } from '../util/json';

/** `chat` is chat completions on OpenAI routes and messages on Anthropic routes. */
export type Operation = 'chat' | 'embeddings' | 'count_tokens';

/** One inbound call, as the pipeline carries it to an upstream. */
export interface ForwardPlan {
  /** The API the caller speaks; the reply goes back in it. */
  inbound: InboundFormat;
  op: Operation;
  /** The parsed body, as received. Adapters copy before they change it: a retry reuses it. */
  body: JsonObject;
  /** The body as received. */
  raw: string;
  /** The caller's headers an upstream of the caller's own format must see (`anthropic-beta`). */
  clientHeaders: Readonly<Record<string, string>>;
  stream: boolean;
  /** Aborts when the caller disconnects. */
  signal: AbortSignal | undefined;
  timeoutMs: number;
  onUsage(usage: TokenUsage | undefined): void;
  onEnd(end: StreamEnd): void;
  /** Renders a failure after the reply began, as an SSE event in the caller's format. */
  streamErrorEvent(error: unknown, providerId: string): string;
}

export interface ForwardResult {
  response: Response;
  firstByteAt: number;
}
