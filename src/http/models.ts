import type { Context } from 'hono';
import { routeUnavailable } from '../config/compile';
import type { GatewayDeps, GatewayEnv } from '../deps';
import { GatewayError } from '../errors/gateway-error';
import { mayUseModel } from '../policy/snapshot';
import { MAX_MODEL_NAME, tooLong } from './body';

/** Config is fixed for the life of the process, so model objects carry one creation time. */
const created = Math.floor(Date.now() / 1000);

function modelObject(id: string, ownedBy: string) {
  return { id, object: 'model' as const, created, owned_by: ownedBy };
}

/** GET /v1/models: only the models this key may use and that can be served now. */
export function listModels(deps: GatewayDeps) {
  return (c: Context<GatewayEnv>) => {
    const key = c.get('key');
    const data = [...deps.config.routes.values()]
      .filter((route) => mayUseModel(key, route.name) && routeUnavailable(route) === undefined)
      .map((route) => modelObject(route.name, route.targets[0]?.provider.id ?? 'vidai'));
    return c.json({ object: 'list', data });
  };
}

/** GET /v1/models/:model */
export function getModel(deps: GatewayDeps) {
  return (c: Context<GatewayEnv>) => {
    const id = c.req.param('model') ?? '';
    // Checked before the lookup: the id is echoed in the 404.
    if (id.length > MAX_MODEL_NAME) throw tooLong('model', MAX_MODEL_NAME);
    const route = deps.config.routes.get(id);
    if (
      route === undefined ||
      !mayUseModel(c.get('key'), id) ||
      routeUnavailable(route) !== undefined
    ) {
      throw new GatewayError('model_not_found', `The model '${id}' does not exist.`, {
        param: 'model',
      });
    }
    return c.json(modelObject(route.name, route.targets[0]?.provider.id ?? 'vidai'));
  };
}
