import type { Context } from 'hono';
import type { GatewayDeps, GatewayEnv } from '../deps';
import { toGatewayError } from '../errors/gateway-error';
import { dispatch } from '../pipeline/dispatch';
import { estimateTokens } from '../usage/estimate';
import { readJsonBody } from './body';
import { CallAccount } from './call-account';
import type { InboundSpec } from './inbound';
import { resolveRoute } from './resolve-route';

/**
 * Serves one model call for any inbound API: read, authorize the model, admit against the key's
 * limits, dispatch, account for it, label the reply. Every response of a limited key carries
 * OpenAI's x-ratelimit-* headers.
 */
export function inference(deps: GatewayDeps, inbound: InboundSpec) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    c.set('inbound', inbound.format);
    const key = c.get('key');
    const account = new CallAccount(deps, key, c.get('requestId'));
    try {
      const { raw, json } = await readJsonBody(c, deps.config.maxBodyBytes);
      const { model, stream } = inbound.read(json);
      account.model = model;
      account.streamed = stream;
      const route = resolveRoute(deps.config, key, model);
      const tokens = estimateTokens(inbound.op, json, raw, deps.config.defaultMaxTokens);
      const price = route.estimatePrice;
      const estimate = {
        tokens: tokens.input + tokens.output,
        cost:
          price === undefined
            ? 0
            : (tokens.input * price.input + tokens.output * price.output) / 1_000_000,
      };
      const admitting = deps.limiter.admit(key, estimate);
      account.admitted(admitting instanceof Promise ? await admitting : admitting, estimate);
      const { response, target, firstByteAt } = await dispatch(
        route,
        {
          inbound: inbound.format,
          op: inbound.op,
          body: json,
          raw,
          stream,
          signal: c.req.raw.signal,
          timeoutMs: deps.config.upstreamTimeoutMs,
          onUsage: account.onUsage,
          onEnd: account.onEnd,
          streamErrorEvent: inbound.streamErrorEvent,
        },
        deps.transport,
      );
      // A reply that ended already (not streamed) waits until its record is safe, as the last
      // bytes of a stream do (onEnd); usually it already is.
      const waiting = account.served(target, firstByteAt);
      if (waiting !== undefined) await waiting;
      response.headers.set('x-vidai-provider', target.provider.id);
      response.headers.set('x-vidai-model', target.model);
      const limits = deps.limiter.headers(key);
      if (limits !== undefined)
        for (const name in limits) response.headers.set(name, limits[name]!);
      return response;
    } catch (err) {
      const error = toGatewayError(err);
      account.failed(error);
      const limits = deps.limiter.headers(key);
      if (limits !== undefined) Object.assign(error.headers, limits);
      throw error;
    }
  };
}
