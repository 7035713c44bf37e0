import type { Context } from 'hono';
import type { GatewayDeps, GatewayEnv } from '../deps';
import { GatewayError, toGatewayError } from '../errors/gateway-error';
import { openaiErrorBody } from '../errors/render';
import { dispatch } from '../pipeline/dispatch';
import { StreamCutError } from '../pipeline/openai-stream';
import type { Operation } from '../pipeline/plan';
import { asGatewayError } from '../pipeline/upstream-errors';
import { formatSseEvent } from '../sse/serialize';
import { optionalBoolean, readJsonBody, requireString } from './body';
import { resolveRoute } from './resolve-route';

/** A failure after the stream began, as the error event OpenAI's SDKs raise. */
function openaiStreamError(error: unknown, providerId: string): string {
  const gatewayError =
    error instanceof StreamCutError
      ? new GatewayError(
          'upstream_error',
          `The stream from provider "${providerId}" ended before it was complete.`,
        )
      : toGatewayError(asGatewayError(error, providerId));
  return formatSseEvent(JSON.stringify(openaiErrorBody(gatewayError)));
}

/** POST /v1/chat/completions and /v1/embeddings: OpenAI in, any upstream out. */
export function openaiForward(deps: GatewayDeps, op: Operation) {
  return async (c: Context<GatewayEnv>): Promise<Response> => {
    const { raw, json } = await readJsonBody(c, deps.config.maxBodyBytes);
    const model = requireString(json, 'model');
    if (op === 'chat' && !Array.isArray(json.messages)) {
      throw new GatewayError('invalid_request', "Missing required parameter: 'messages'.", {
        param: 'messages',
      });
    }
    if (op === 'embeddings' && json.input === undefined) {
      throw new GatewayError('invalid_request', "Missing required parameter: 'input'.", {
        param: 'input',
      });
    }
    const stream = op === 'chat' && optionalBoolean(json, 'stream');
    const route = resolveRoute(deps.config, c.get('key'), model);
    const { response, target } = await dispatch(
      route,
      {
        op,
        body: json,
        raw,
        stream,
        signal: c.req.raw.signal,
        timeoutMs: deps.config.upstreamTimeoutMs,
        onUsage: () => {},
        onEnd: (end) => {
          if (end.outcome === 'error') {
            deps.log.warn('stream_failed', {
              request_id: c.get('requestId'),
              provider: target.provider.id,
              error: end.error instanceof Error ? end.error.name : 'unknown',
            });
          }
        },
        streamErrorEvent: openaiStreamError,
      },
      deps.transport,
    );
    response.headers.set('x-vidai-provider', target.provider.id);
    response.headers.set('x-vidai-model', target.model);
    return response;
  };
}
