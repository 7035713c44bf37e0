import { usageFromOpenAI, type TokenUsage } from '../usage/usage';
import { passthroughStream, type StreamEnd } from './passthrough-stream';
import type { ReplyStream } from './reply-stream';
import type { ChunkSource } from './transport';
import { MAYBE_ERROR } from './upstream-errors';

export { StreamCutError, type StreamEnd } from './passthrough-stream';

/**
 * The reply stream of an OpenAI-format upstream to an OpenAI client: passthrough
 * (passthrough-stream.ts) that reads the usage chunk and `[DONE]`, and removes the usage-only
 * chunk when Vidai itself asked for `include_usage`.
 */
export interface OpenAIStreamOptions {
  dropUsageChunk: boolean;
  meter?: { events: number } | undefined;
  onUsage(usage: TokenUsage): void;
  /**
   * Called once, however the stream ends; for a complete stream, before the reply's last bytes
   * go out, and if it returns a promise they wait for it (accounting keeps a record safe first).
   */
  onEnd(end: StreamEnd): void | Promise<void>;
  /** A failure (read error or cut) rendered as one SSE event the client's SDK will raise. */
  errorEvent(error: unknown): string;
  /**
   * The upstream's own error event as the error the client is sent instead; undefined if the
   * data is no error after all. Asked only for an `event: error` (`named`) or for data that
   * may hold an error object (MAYBE_ERROR), so ordinary chunks are never parsed for it.
   */
  upstreamError(data: string, named: boolean): unknown;
}

const USAGE_OBJECT = /"usage"\s*:\s*\{/;

export function openaiStream(source: ChunkSource, options: OpenAIStreamOptions): ReplyStream {
  const drop = options.dropUsageChunk;
  return passthroughStream(source, {
    meter: options.meter,
    mayDrop: drop,
    onEnd: options.onEnd,
    errorEvent: options.errorEvent,
    inspect(event) {
      if (event.data === '[DONE]') return 'done';
      // An error the upstream reports mid-stream ends it; the client gets it redacted, in OpenAI's shape.
      const named = event.event === 'error';
      if (named || MAYBE_ERROR.test(event.data)) {
        const error = options.upstreamError(event.data, named);
        if (error !== undefined) return { error };
      }
      if (!USAGE_OBJECT.test(event.data)) return undefined;
      try {
        const chunk = JSON.parse(event.data) as { usage?: unknown; choices?: unknown };
        const usage = usageFromOpenAI(chunk.usage);
        if (usage) options.onUsage(usage);
        if (drop && Array.isArray(chunk.choices) && chunk.choices.length === 0) return 'drop';
      } catch {
        // not JSON: pass it on untouched
      }
      return undefined;
    },
  });
}
