import { GatewayError } from '../errors/gateway-error';

/** For a known path asked with a method it does not serve: 405 with `Allow`, not a 404. */
export function methodNotAllowed(allow: string) {
  return (): never => {
    throw new GatewayError('method_not_allowed', `This endpoint accepts only ${allow}.`, {
      headers: { allow },
    });
  };
}
