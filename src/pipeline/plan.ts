import type { InboundFormat } from '../errors/render';
import type { StreamEnd } from './openai-stream';
import type { TokenUsage } from '../usage/usage';
import type { JsonObject } from '../util/json';

export type Operation = 'chat' | 'embeddings';

/** One inbound call, as the pipeline carries it to an upstream. */
export interface ForwardPlan {
  /** The API the caller speaks; the reply goes back in it. */
  inbound: InboundFormat;
  op: Operation;
  /** The parsed body, as received. Adapters copy before they change it: a retry reuses it. */
  body: JsonObject;
  /** The body as received. */
  raw: string;
  stream: boolean;
  /** Aborts when the caller disconnects. */
  signal: AbortSignal | undefined;
  timeoutMs: number;
  onUsage(usage: TokenUsage | undefined): void;
  /**
   * Once, when the reply ends. A promise it returns holds back a stream's last bytes until it
   * settles (so the caller never has a whole answer whose record could still be lost).
   */
  onEnd(end: StreamEnd): void | Promise<void>;
  /** Renders a failure after the reply began, as an SSE event in the caller's format. */
  streamErrorEvent(error: unknown, providerId: string): string;
}

export interface ForwardResult {
  response: Response;
  firstByteAt: number;
}
