import { routeUnavailable, type GatewayConfig, type Route } from '../config/compile';
import { GatewayError } from '../errors/gateway-error';
import { mayUseModel, type KeyPolicy } from '../policy/snapshot';

/** The route for a requested model, if this key may use it: 403 before 404, so a key learns nothing of models it may not use. */
export function resolveRoute(config: GatewayConfig, key: KeyPolicy, model: string): Route {
  if (!mayUseModel(key, model)) {
    throw new GatewayError('model_not_allowed', `This API key may not use the model '${model}'.`, {
      param: 'model',
    });
  }
  const route = config.routes.get(model);
  if (route === undefined) {
    throw new GatewayError('model_not_found', `The model '${model}' does not exist.`, {
      param: 'model',
    });
  }
  const unavailable = routeUnavailable(route);
  if (unavailable !== undefined) {
    throw new GatewayError(
      'model_not_found',
      `The model '${model}' is not available: ${unavailable}.`,
      {
        param: 'model',
      },
    );
  }
  return route;
}
