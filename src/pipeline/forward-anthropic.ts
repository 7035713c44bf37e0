import type { RouteTarget } from '../config/compile';
import { anthropicUsage } from '../providers/translators/openai-to-anthropic';
import { sseHeaders } from '../sse/serialize';
import { NO_TOKENS, usageFromOpenAI, type TokenUsage } from '../usage/usage';
import { isJsonObjectText, isObject, patchedJson, type JsonObject } from '../util/json';
import { passthroughStream } from './passthrough-stream';
import type { ForwardPlan, ForwardResult } from './plan';
import type { Transport } from './transport';
import {
  MAYBE_ERROR,
  reportedUpstreamError,
  unreadableReply,
  upstreamStreamError,
} from './upstream-errors';
import { send } from './forward-translated';

const paths = { chat: '/messages', count_tokens: '/messages/count_tokens' } as const;
const utf8 = new TextDecoder();

/** Reads Anthropic's usage from a message or an event (`message_start`, `message_delta`). */
function readUsage(into: JsonObject, value: unknown): void {
  if (isObject(value) && isObject(value.usage)) Object.assign(into, value.usage);
}

/**
 * The usage of a whole message's text (parsed: accounting needs it). A body that is not JSON,
 * or an error object sent with a 200 instead of a message (checked only when there is no
 * usage, as in forward-openai.ts), is the provider's failure: thrown, so it is retried and
 * recorded as an error, never passed on.
 */
function messageUsage(text: string, providerId: string): TokenUsage | undefined {
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    throw unreadableReply(providerId);
  }
  const usage: JsonObject = {};
  readUsage(usage, reply);
  if (!isObject(reply) || !isObject(reply.usage)) {
    const error = reportedUpstreamError(text, providerId, 'in its reply');
    if (error !== undefined) throw error;
  }
  return usageFromOpenAI(anthropicUsage(usage));
}

/**
 * Anthropic client → Anthropic upstream: passthrough, like forward-openai.ts. The body goes
 * as received (when the model name changes, with the new name spliced into its text);
 * the caller's `anthropic-version` and `anthropic-beta` go with it; the reply's bytes come back
 * as sent, pings and all. The tap reads usage from `message_start` / `message_delta`, and
 * `message_stop` (or an `error` event, sent on as Vidai's own, redacted) to know the stream ended.
 */
export async function forwardAnthropic(
  transport: Transport,
  target: RouteTarget,
  plan: ForwardPlan,
): Promise<ForwardResult> {
  if (plan.op === 'embeddings') throw new Error('no embeddings route speaks Anthropic');
  const patched = plan.body.model !== target.model;
  const body = patched ? patchedJson(plan.raw, { model: target.model }) : plan.raw;
  const call = { url: target.provider.baseUrl + paths[plan.op], headers: plan.clientHeaders, body };
  const response = await send(transport, target, plan, call, plan.stream);
  const firstByteAt = Date.now();
  const headers = { 'content-type': response.header('content-type') ?? 'application/json' };
  const usage: JsonObject = {};
  if (!plan.stream || plan.op === 'count_tokens') {
    const bytes = await response.bytes();
    const text = utf8.decode(bytes);
    // Empty, HTML from a proxy, or cut: no client could read it (two characters checked).
    if (!isJsonObjectText(text)) throw unreadableReply(target.provider.id);
    // Counting tokens is free at Anthropic: no tokens used, nothing charged.
    plan.onUsage(plan.op === 'chat' ? messageUsage(text, target.provider.id) : NO_TOKENS);
    plan.onEnd({ outcome: 'complete' });
    return { firstByteAt, reply: { status: response.status, body: bytes, headers } };
  }
  /** Whether the final usage (`message_delta`) came: without it the record is an estimate. */
  let finalUsage = false;
  // The stream's callbacks hold the hooks, not the plan (see ForwardPlan).
  const { onUsage, onEnd, streamErrorEvent } = plan;
  const stream = passthroughStream(response.stream, {
    meter: plan.meter,
    mayDrop: false,
    inspect(event) {
      if (event.event === 'message_stop') return 'done';
      if (event.event === 'error')
        return { error: upstreamStreamError(event.data, target.provider.id) };
      // An error sent without its `event:` line (only data that may hold one is parsed).
      if (MAYBE_ERROR.test(event.data)) {
        const error = reportedUpstreamError(event.data, target.provider.id, 'in the stream');
        if (error !== undefined) return { error };
      }
      if (event.event === 'message_delta') finalUsage = true;
      if (event.event === 'message_start' || event.event === 'message_delta') {
        try {
          const data: unknown = JSON.parse(event.data);
          readUsage(usage, isObject(data) && event.event === 'message_start' ? data.message : data);
        } catch {
          // not JSON: passed on untouched
        }
      }
      return undefined;
    },
    onEnd(end) {
      // message_start's output_tokens is a placeholder: a stream cut before message_delta
      // reported no real usage, so accounting estimates it (one token per event carried).
      onUsage(finalUsage ? usageFromOpenAI(anthropicUsage(usage)) : undefined);
      return onEnd(end);
    },
    errorEvent: (error) => streamErrorEvent(error, target.provider.id),
  });
  return {
    firstByteAt,
    reply: { status: 200, body: stream, headers: sseHeaders },
    first: stream.first,
  };
}
