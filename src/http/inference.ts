import type { Context } from 'hono';
import type { AppDeps, GatewayEnv } from '../deps';
import { toGatewayError } from '../errors/gateway-error';
import { dispatch } from '../pipeline/dispatch';
import { requestTotalMs, TIMEOUT_HEADER } from '../pipeline/timeouts';
import { estimateTokens } from '../usage/estimate';
import { readJsonBody } from './body';
import { CallAccount } from './call-account';
import type { InboundSpec } from './inbound';
import { resolveRoute } from './resolve-route';

const nullBodyStatus = new Set([204, 205, 304]);

/**
 * Serves one model call for any inbound API: read, authorize the model, admit against the key's
 * limits, dispatch, account for it, label the reply. Every response of a limited key carries
 * OpenAI's x-ratelimit-* headers.
 */
export function inference(deps: AppDeps, inbound: InboundSpec) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    c.set('inbound', inbound.format);
    const key = c.get('key');
    const requestId = c.get('requestId');
    const account = new CallAccount(deps, key, requestId);
    try {
      const { raw, json } = await readJsonBody(c, deps.config.maxBodyBytes);
      const { model, stream } = inbound.read(json);
      account.model = model;
      account.streamed = stream;
      const route = resolveRoute(deps.config, key, model);
      const totalMs = requestTotalMs(c.req.header(TIMEOUT_HEADER), route, deps.config.maxTimeoutMs);
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
      account.admitted(
        admitting instanceof Promise ? await admitting : admitting,
        estimate,
        tokens,
      );
      const clientHeaders: Record<string, string> = {};
      for (const name of inbound.forwardHeaders) {
        const value = c.req.header(name);
        if (value !== undefined) clientHeaders[name] = value;
      }
      const { reply, target, firstByteAt, attempts } = await dispatch(
        route,
        {
          inbound: inbound.format,
          op: inbound.op,
          body: json,
          raw,
          clientHeaders,
          stream,
          signal: deps.callerSignal === undefined ? c.req.raw.signal : deps.callerSignal(c),
          timeoutMs: route.timeouts.firstByteMs,
          onUsage: account.onUsage,
          onEnd: account.onEnd,
          meter: account.meter,
          streamErrorEvent: inbound.streamErrorEvent,
        },
        {
          transport: deps.transport,
          health: deps.health,
          totalMs,
          shutdown: deps.shutdown,
          log: deps.log,
          requestId,
        },
      );
      // A reply that ended already (not streamed) waits until its record is safe, as the last
      // bytes of a stream do (onEnd); usually it already is.
      const waiting = account.served(target, firstByteAt);
      if (waiting !== undefined) await waiting;
      // Every header in the Response's init, none set after (see Reply); Vidai's own win.
      const headers: Record<string, string> = {};
      for (const name in reply.headers) headers[name] = reply.headers[name]!;
      headers['x-request-id'] = requestId;
      headers['x-vidai-provider'] = target.provider.id;
      headers['x-vidai-model'] = target.model;
      headers['x-vidai-attempts'] = String(attempts);
      deps.limiter.headers(key, headers);
      c.set('labelled', true);
      // A 204, 205 or 304 carries no body (a Response with one throws on Workers).
      const body = nullBodyStatus.has(reply.status) ? null : reply.body;
      return new Response(body, { status: reply.status, headers });
    } catch (err) {
      const error = toGatewayError(err);
      account.failed(error);
      deps.limiter.headers(key, error.headers);
      throw error;
    }
  };
}
