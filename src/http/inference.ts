import type { Context } from 'hono';
import type { GatewayDeps, GatewayEnv } from '../deps';
import { dispatch } from '../pipeline/dispatch';
import { readJsonBody } from './body';
import type { InboundSpec } from './inbound';
import { resolveRoute } from './resolve-route';

/** Serves one model call for any inbound API: read, authorize the model, dispatch, label the reply. */
export function inference(deps: GatewayDeps, inbound: InboundSpec) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    c.set('inbound', inbound.format);
    const { raw, json } = await readJsonBody(c, deps.config.maxBodyBytes);
    const { model, stream } = inbound.read(json);
    const route = resolveRoute(deps.config, c.get('key'), model);
    const requestId = c.get('requestId');
    const clientHeaders: Record<string, string> = {};
    for (const name of inbound.forwardHeaders) {
      const value = c.req.header(name);
      if (value !== undefined) clientHeaders[name] = value;
    }
    const { response, target } = await dispatch(
      route,
      {
        inbound: inbound.format,
        op: inbound.op,
        body: json,
        raw,
        clientHeaders,
        stream,
        signal: c.req.raw.signal,
        timeoutMs: deps.config.upstreamTimeoutMs,
        onUsage: () => {},
        onEnd: (end) => {
          if (end.outcome === 'error') {
            deps.log.warn('stream_failed', {
              request_id: requestId,
              error: end.error instanceof Error ? end.error.name : 'unknown',
            });
          }
        },
        streamErrorEvent: inbound.streamErrorEvent,
      },
      deps.transport,
    );
    response.headers.set('x-vidai-provider', target.provider.id);
    response.headers.set('x-vidai-model', target.model);
    return response;
  };
}
