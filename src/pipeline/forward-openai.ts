import type { RouteTarget } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { sseHeaders } from '../sse/serialize';
import { usageFromOpenAIBody } from '../usage/usage';
import { isJsonObjectText, isObject, patchedJson, type JsonObject } from '../util/json';
import { openaiStream } from './openai-stream';
import type { Transport } from './transport';
import {
  reportedUpstreamError,
  unreadableReply,
  upstreamHttpError,
  upstreamStreamError,
} from './upstream-errors';
import type { ForwardPlan, ForwardResult } from './plan';
import { merged } from '../util/merged';

const paths = { chat: '/chat/completions', embeddings: '/embeddings' } as const;
const utf8 = new TextDecoder();

/**
 * OpenAI client → OpenAI-format upstream: passthrough. The body goes as received unless the
 * model name must change or Vidai must ask for stream usage; then the new values are spliced
 * into its text (patchedJson), every other byte as it came. The reply's bytes come back as
 * they were sent.
 */
export async function forwardOpenAI(
  transport: Transport,
  target: RouteTarget,
  plan: ForwardPlan,
): Promise<ForwardResult> {
  if (plan.op === 'count_tokens') {
    throw new GatewayError('invalid_request', 'OpenAI-format providers have no token counter.');
  }
  let patch: JsonObject | undefined;
  if (plan.body.model !== target.model) patch = { model: target.model };
  let dropUsageChunk = false;
  if (plan.stream && plan.op === 'chat' && target.provider.row.streamUsage === 'stream_options') {
    const options = plan.body.stream_options;
    if (!isObject(options) || options.include_usage !== true) {
      const include = merged(isObject(options) ? options : {}, { include_usage: true });
      patch = merged(patch ?? {}, { stream_options: include });
      dropUsageChunk = true;
    }
  }
  const response = await transport({
    url: target.provider.url(paths[plan.op], target.model),
    method: 'POST',
    headers: merged(target.provider.headers, {
      'content-type': 'application/json',
      accept: plan.stream ? 'text/event-stream' : 'application/json',
    }),
    // The body is copied only when it must change (the plan's is reused by retries).
    body: patch === undefined ? plan.raw : patchedJson(plan.raw, patch),
    signal: plan.signal,
    firstByteTimeoutMs: plan.timeoutMs,
    idleTimeoutMs: plan.timeoutMs,
  });
  if (response.status < 200 || response.status > 299) {
    throw await upstreamHttpError(response, target.provider.id);
  }
  const firstByteAt = Date.now();
  if (!plan.stream) {
    const bytes = await response.bytes();
    const text = utf8.decode(bytes);
    // Empty, HTML from a proxy, or cut: no client could read it (two characters checked).
    if (!isJsonObjectText(text)) throw unreadableReply(target.provider.id);
    const usage = usageFromOpenAIBody(text);
    // A reply with usage is a completion; only one without is checked for an error object
    // some servers send with a 200 (thrown: retried, recorded as an error, never passed on).
    if (usage === undefined) {
      const error = reportedUpstreamError(text, target.provider.id, 'in its reply');
      if (error !== undefined) throw error;
    }
    plan.onUsage(usage);
    plan.onEnd({ outcome: 'complete' });
    return {
      firstByteAt,
      reply: {
        status: response.status,
        body: bytes,
        headers: { 'content-type': response.header('content-type') ?? 'application/json' },
      },
    };
  }
  // The stream's callbacks hold the hooks, not the plan (see ForwardPlan).
  const { onEnd, streamErrorEvent } = plan;
  const stream = openaiStream(response.stream, {
    dropUsageChunk,
    meter: plan.meter,
    onUsage: plan.onUsage,
    onEnd,
    errorEvent: (error) => streamErrorEvent(error, target.provider.id),
    upstreamError: (data, named) =>
      named
        ? upstreamStreamError(data, target.provider.id)
        : reportedUpstreamError(data, target.provider.id, 'in the stream'),
  });
  return {
    firstByteAt,
    reply: { status: 200, body: stream, headers: sseHeaders },
    first: stream.first,
  };
}
