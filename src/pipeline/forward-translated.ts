import type { RouteTarget } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { estimateInputTokens } from '../providers/translators/estimate-tokens';
import type {
  InboundTranslator,
  UpstreamCall,
  UpstreamTranslator,
} from '../providers/translators/translator';
import { sseHeaders } from '../sse/serialize';
import { NO_TOKENS, usageFromOpenAI } from '../usage/usage';
import type { UpstreamAdapter } from './dispatch';
import { jsonReply, type ForwardPlan, type ForwardResult } from './plan';
import { translatedStream } from './translated-stream';
import type { Transport, UpstreamResponse } from './transport';
import { unreadableReply, upstreamHttpError } from './upstream-errors';
import { merged } from '../util/merged';

/**
 * A caller's API reaching an upstream of another wire format: the inbound translator maps the
 * request to the hub (OpenAI chat), the upstream translator maps it on; replies come back the
 * same way. Any inbound composes with any upstream, so N formats need N translators, not N².
 */
/** POSTs a mapped request with the provider's credential; an error status becomes a GatewayError. */
export async function send(
  transport: Transport,
  target: RouteTarget,
  plan: ForwardPlan,
  call: UpstreamCall,
  stream: boolean,
): Promise<UpstreamResponse> {
  const response = await transport({
    url: call.url,
    method: 'POST',
    headers: merged(
      target.provider.headers,
      merged(call.headers ?? {}, {
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream' : 'application/json',
      }),
    ),
    body: call.body,
    signal: plan.signal,
    firstByteTimeoutMs: plan.timeoutMs,
    idleTimeoutMs: plan.timeoutMs,
  });
  if (response.status < 200 || response.status > 299) {
    throw await upstreamHttpError(response, target.provider.id);
  }
  return response;
}

async function readJson(response: UpstreamResponse, target: RouteTarget): Promise<unknown> {
  const text = new TextDecoder().decode(await response.bytes());
  try {
    return JSON.parse(text);
  } catch {
    throw unreadableReply(target.provider.id);
  }
}

/** `count_tokens`: the provider's own counter where it has one, else an estimate. */
async function countTokens(
  transport: Transport,
  target: RouteTarget,
  plan: ForwardPlan,
  upstream: UpstreamTranslator,
): Promise<ForwardResult> {
  const hub = merged(plan.body, { model: target.model });
  const counter = upstream.countTokens;
  let tokens: number;
  let firstByteAt = Date.now();
  if (counter === undefined) tokens = estimateInputTokens(hub);
  else {
    const response = await send(transport, target, plan, counter.request(hub, target), false);
    firstByteAt = Date.now();
    tokens = counter.read(await readJson(response, target), target);
  }
  // Counting tokens is free (as at Anthropic): no tokens used, nothing charged.
  plan.onUsage(NO_TOKENS);
  plan.onEnd({ outcome: 'complete' });
  return { firstByteAt, reply: jsonReply({ input_tokens: tokens }) };
}

export function forwardTranslated(
  inbound: InboundTranslator,
  upstream: UpstreamTranslator,
): UpstreamAdapter {
  return async (transport, target, plan) => {
    if (plan.op === 'embeddings') {
      throw new GatewayError(
        'invalid_request',
        `Provider "${target.provider.id}" does not serve embeddings.`,
      );
    }
    const hub = inbound.request(plan.body);
    if (plan.op === 'count_tokens') {
      return countTokens(transport, target, merged(plan, { body: hub }), upstream);
    }
    const response = await send(
      transport,
      target,
      plan,
      upstream.request(hub, target, plan.stream),
      plan.stream,
    );
    const firstByteAt = Date.now();
    if (!plan.stream) {
      const completion = upstream.response(await readJson(response, target), target);
      plan.onUsage(usageFromOpenAI(completion.usage));
      plan.onEnd({ outcome: 'complete' });
      return { firstByteAt, reply: jsonReply(inbound.response(completion)) };
    }
    // The stream's callbacks hold the hooks, not the plan (see ForwardPlan).
    const { streamErrorEvent } = plan;
    const body = translatedStream(
      response.stream,
      upstream.stream(target),
      inbound.stream(plan.body),
      {
        onUsage: plan.onUsage,
        onEnd: plan.onEnd,
        errorEvent: (error) => streamErrorEvent(error, target.provider.id),
        meter: plan.meter,
      },
    );
    return {
      firstByteAt,
      reply: { status: 200, body, headers: sseHeaders },
      first: body.first,
    };
  };
}
