import type { RouteTarget } from '../../config/compile';
import { StreamCutError } from '../../pipeline/openai-stream';
import { notAReply, unreadableReply, upstreamStreamError } from '../../pipeline/upstream-errors';
import { formatSseEvent } from '../../sse/serialize';
import { isObject, type JsonObject } from '../../util/json';
import type { ChatChunk, ChatCompletion } from './hub';
import type { InboundTranslator, StreamDecoder, UpstreamTranslator } from './translator';
import { merged } from '../../util/merged';

/**
 * The OpenAI wire format on either side of a translation. The hub is OpenAI's format, so this
 * is the thin end: an Anthropic client reaching an OpenAI-format upstream uses `openaiUpstream`;
 * an OpenAI client reaching Anthropic or Gemini gets its reply through `openaiInbound`.
 * (OpenAI client ↔ OpenAI-format upstream needs neither: it is byte passthrough, forward-openai.ts.)
 */

class OpenAIDecoder implements StreamDecoder {
  private complete = false;

  constructor(private readonly target: RouteTarget) {}

  push(
    event: { event?: string | undefined; data: string },
    emit: (chunk: ChatChunk) => void,
  ): void {
    if (event.event === 'error') throw upstreamStreamError(event.data, this.target.provider.id);
    if (event.data === '[DONE]') {
      this.complete = true;
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(event.data);
    } catch {
      throw unreadableReply(this.target.provider.id);
    }
    if (!isObject(chunk)) return;
    // OpenAI's and OpenRouter's `error` object, or vLLM's `{"object":"error",…}`.
    if (chunk.error !== undefined || chunk.object === 'error')
      throw upstreamStreamError(event.data, this.target.provider.id);
    if (!Array.isArray(chunk.choices)) chunk.choices = [];
    emit(chunk as unknown as ChatChunk);
  }

  end(): void {
    if (!this.complete) throw new StreamCutError();
  }
}

export const openaiUpstream: UpstreamTranslator = {
  request(hub, target, stream) {
    const body: JsonObject = merged(hub, { model: target.model });
    const field = target.provider.row.maxTokensField ?? 'max_tokens';
    if (field !== 'max_tokens' && body.max_tokens !== undefined) {
      body[field] = body.max_tokens;
      delete body.max_tokens;
    }
    if (stream && target.provider.row.streamUsage === 'stream_options')
      body.stream_options = { include_usage: true };
    return {
      url: target.provider.url('/chat/completions', target.model),
      body: JSON.stringify(body),
    };
  },
  response(body, target) {
    if (!isObject(body) || !Array.isArray(body.choices)) throw notAReply(body, target.provider.id);
    return body as unknown as ChatCompletion;
  },
  stream: (target) => new OpenAIDecoder(target),
};

export const openaiInbound: InboundTranslator = {
  request: (body) => body,
  response: (hub) => hub,
  stream(body) {
    const includeUsage =
      isObject(body.stream_options) && body.stream_options.include_usage === true;
    return {
      push(chunk) {
        // The usage-only chunk goes out only when the client asked for it (`include_usage`);
        // then every other chunk says `usage: null`, as OpenAI's do.
        if (chunk.choices.length === 0)
          return includeUsage ? formatSseEvent(JSON.stringify(chunk)) : '';
        const { usage: _usage, ...rest } = chunk;
        return formatSseEvent(JSON.stringify(includeUsage ? merged(rest, { usage: null }) : rest));
      },
      end: () => formatSseEvent('[DONE]'),
    };
  },
};
