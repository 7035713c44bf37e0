import type { MiddlewareHandler } from 'hono';
import type { GatewayEnv } from '../deps';

const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's `x-request-id` when it is sane, else makes one; echoes it on the reply. */
export const requestId: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const given = c.req.header('x-request-id');
  const id = given !== undefined && acceptable.test(given) ? given : crypto.randomUUID();
  c.set('requestId', id);
  c.set('inbound', 'openai');
  await next();
  // A reply made with it among its headers is not touched again (see Reply).
  if (c.get('labelled') !== true) c.res.headers.set('x-request-id', id);
};
