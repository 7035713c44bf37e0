import type { Context } from 'hono';
import type { AppDeps, GatewayEnv } from '../deps';
import { dispatch } from '../pipeline/dispatch';
import { requestTotalMs, TIMEOUT_HEADER } from '../pipeline/timeouts';
import { readJsonBody } from './body';
import type { InboundSpec } from './inbound';
import { resolveRoute } from './resolve-route';

/** Serves one model call for any inbound API: read, authorize the model, dispatch, label the reply. */
export function inference(deps: AppDeps, inbound: InboundSpec) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    c.set('inbound', inbound.format);
    const { raw, json } = await readJsonBody(c, deps.config.maxBodyBytes);
    const { model, stream } = inbound.read(json);
    const route = resolveRoute(deps.config, c.get('key'), model);
    const totalMs = requestTotalMs(c.req.header(TIMEOUT_HEADER), route, deps.config.maxTimeoutMs);
    const requestId = c.get('requestId');
    const clientHeaders: Record<string, string> = {};
    for (const name of inbound.forwardHeaders) {
      const value = c.req.header(name);
      if (value !== undefined) clientHeaders[name] = value;
    }
    let served = false;
    const { response, target, attempts } = await dispatch(
      route,
      {
        inbound: inbound.format,
        op: inbound.op,
        body: json,
        raw,
        clientHeaders,
        stream,
        signal: c.req.raw.signal,
        timeoutMs: route.timeouts.firstByteMs,
        onUsage: () => {},
        onEnd: (end) => {
          // Failures before the reply began are thrown, and logged by the app's error handler.
          if (end.outcome === 'error' && served) {
            deps.log.warn('stream_failed', {
              request_id: requestId,
              error: end.error instanceof Error ? end.error.name : 'unknown',
            });
          }
        },
        streamErrorEvent: inbound.streamErrorEvent,
      },
      { transport: deps.transport, health: deps.health, totalMs, log: deps.log, requestId },
    );
    served = true;
    response.headers.set('x-vidai-provider', target.provider.id);
    response.headers.set('x-vidai-model', target.model);
    response.headers.set('x-vidai-attempts', String(attempts));
    return response;
  };
}
