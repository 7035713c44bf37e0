import { Hono, type MiddlewareHandler } from 'hono';
import type { AppDeps, GatewayDeps, GatewayEnv } from '../deps';
import { GatewayError } from '../errors/gateway-error';
import { presentedKey } from '../http/auth';
import { readJsonBody } from '../http/body';
import { constantTimeEqual, sha256Hex } from '../util/crypto';
import {
  createKey,
  createKeyInput,
  keyViewById,
  listKeyViews,
  parseInput,
  revokeKeyById,
} from './keys';

function adminAuth(deps: GatewayDeps): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    if (deps.adminKeyHash === undefined) {
      throw new GatewayError(
        'admin_unauthorized',
        'The admin API is off: no admin key is configured.',
      );
    }
    const key = presentedKey(c.req.header('authorization'), c.req.header('x-api-key'));
    if (key === undefined || !constantTimeEqual(await sha256Hex(key), deps.adminKeyHash)) {
      throw new GatewayError('admin_unauthorized', 'A valid admin key is required.');
    }
    await next();
  };
}

/** The control plane's HTTP face. Writes go to the database; workers see them via the policy version. */
export function adminRoutes(deps: AppDeps): Hono<GatewayEnv> {
  const admin = new Hono<GatewayEnv>();
  admin.use('*', adminAuth(deps));
  admin.post('/keys', async (c) => {
    const { json } = await readJsonBody(c, 64 * 1024);
    const created = await createKey(deps.db, deps.config, parseInput(createKeyInput, json));
    await deps.policy.refresh();
    deps.log.info('key_created', { key_id: created.id });
    return c.json(created, 201);
  });
  admin.get('/keys', async (c) => c.json({ object: 'list', data: await listKeyViews(deps.db) }));
  admin.get('/keys/:id', async (c) => c.json(await keyViewById(deps.db, c.req.param('id'))));
  admin.delete('/keys/:id', async (c) => {
    const revoked = await revokeKeyById(deps.db, c.req.param('id'));
    await deps.policy.refresh();
    deps.log.info('key_revoked', { key_id: revoked.id });
    return c.json(revoked);
  });
  // This process's view: each worker keeps its own breakers, so `instance` names which one answered.
  admin.get('/health', (c) =>
    c.json({ object: 'list', instance: instanceId, data: deps.health.view() }),
  );
  return admin;
}

/** Names this process (or isolate) in health reports. */
const instanceId = crypto.randomUUID();
