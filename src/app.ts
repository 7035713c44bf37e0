import { Hono, type MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { adminRoutes } from './admin/routes';
import type { AppDeps, GatewayDeps, GatewayEnv } from './deps';
import { GatewayError, toGatewayError } from './errors/gateway-error';
import { renderError } from './errors/render';
import { authenticate } from './http/auth';
import {
  anthropicCountTokens,
  anthropicMessages,
  openaiChat,
  openaiEmbeddings,
} from './http/inbound';
import { inference } from './http/inference';
import { getModel, listModels } from './http/models';
import { methodNotAllowed } from './http/method-not-allowed';
import { requestId } from './http/request-id';
import { HealthRegistry } from './pipeline/health';

/** Response headers a browser app may read (CORS). */
const exposedHeaders = [
  'x-request-id',
  'x-vidai-provider',
  'x-vidai-model',
  'x-vidai-attempts',
  'retry-after',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
] as const;

/** Each data-plane path and the methods it serves: anything else there is a 405, not a 404. */
const v1Methods = [
  ['/chat/completions', 'POST'],
  ['/embeddings', 'POST'],
  ['/messages', 'POST'],
  ['/messages/count_tokens', 'POST'],
  ['/models', 'GET'],
  ['/models/:model', 'GET'],
] as const;

/** The one place routes are registered; runtimes differ only in the deps they pass. */
export function createApp(runtime: GatewayDeps): Hono<GatewayEnv> {
  const deps: AppDeps = { ...runtime, health: new HealthRegistry(runtime.config) };
  // Not strict: /v1/chat/completions/ is the same route as /v1/chat/completions.
  const app = new Hono<GatewayEnv>({ strict: false });

  app.onError((err, c) => {
    const error = toGatewayError(err);
    if (error.status >= 500) {
      deps.log.error('request_failed', {
        request_id: c.get('requestId'),
        code: error.code,
        cause: error.cause instanceof Error ? error.cause.name : undefined,
      });
    }
    const response = renderError(c.get('inbound') ?? 'openai', error);
    response.headers.set('x-request-id', c.get('requestId') ?? '');
    return response;
  });
  app.notFound((c) => {
    throw new GatewayError(
      'not_found',
      c.req.path.startsWith('/admin')
        ? 'Unknown admin endpoint. Vidai serves /admin/keys, /admin/teams, /admin/usage and /admin/health.'
        : 'Unknown endpoint. Vidai serves /v1/chat/completions, /v1/embeddings, /v1/models, /v1/messages and /v1/messages/count_tokens.',
    );
  });

  app.use('*', requestId);
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.all('/healthz', methodNotAllowed('GET'));

  // Anthropic's routes answer in Anthropic's error shape from the first check (auth) on,
  // including for unknown paths below them.
  const anthropicRoutes: MiddlewareHandler<GatewayEnv> = async (c, next) => {
    c.set('inbound', 'anthropic');
    await next();
  };
  app.use('/v1/messages', anthropicRoutes);
  app.use('/v1/messages/*', anthropicRoutes);

  const v1 = new Hono<GatewayEnv>({ strict: false });
  const origins = deps.config.corsOrigins;
  if (origins.length > 0) {
    // Before auth, so preflights (which carry no key) are answered.
    v1.use(
      '*',
      cors({
        origin: origins.includes('*') ? '*' : [...origins],
        // What /v1 answers to; Hono's default also lists PUT, DELETE and PATCH.
        allowMethods: ['GET', 'POST'],
        exposeHeaders: [...exposedHeaders],
        maxAge: 600,
      }),
    );
  }
  v1.use('*', authenticate(deps));
  v1.post('/messages', inference(deps, anthropicMessages));
  v1.post('/messages/count_tokens', inference(deps, anthropicCountTokens));
  v1.post('/chat/completions', inference(deps, openaiChat));
  v1.post('/embeddings', inference(deps, openaiEmbeddings));
  v1.get('/models', listModels(deps));
  v1.get('/models/:model', getModel(deps));
  for (const [path, allow] of v1Methods) v1.all(path, methodNotAllowed(allow));
  app.route('/v1', v1);

  app.route('/admin', adminRoutes(deps));
  return app;
}
