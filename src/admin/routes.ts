import { Hono, type Context, type MiddlewareHandler } from 'hono';
import type { AppDeps, GatewayDeps, GatewayEnv } from '../deps';
import { GatewayError } from '../errors/gateway-error';
import { presentedKey } from '../http/auth';
import { methodNotAllowed } from '../http/method-not-allowed';
import { readJsonBody } from '../http/body';
import { constantTimeEqual, sha256Hex } from '../util/crypto';
import {
  createKey,
  createKeyInput,
  keyViewById,
  listKeyViews,
  parseInput,
  revokeKeyById,
  updateKeyById,
  updateKeyInput,
} from './keys';
import {
  createTeam,
  createTeamInput,
  deleteTeamById,
  listTeamViews,
  teamViewById,
  updateTeamById,
  updateTeamInput,
} from './teams';
import { usageReport } from './usage';

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

const BODY_LIMIT = 64 * 1024;

/**
 * An admin read's query, each parameter once: a repeated one (or any, on reads that take none)
 * is a 400 naming it, not silently ignored.
 */
function readQuery(c: Context<GatewayEnv>, takesParams: boolean): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [name, values] of Object.entries(c.req.queries())) {
    const param = name.slice(0, 100);
    if (!takesParams)
      throw new GatewayError(
        'invalid_request',
        `${param}: this endpoint takes no query parameters`,
        {
          param,
        },
      );
    if (values.length > 1)
      throw new GatewayError('invalid_request', `${param}: given more than once`, { param });
    query[name] = values[0] ?? '';
  }
  return query;
}

/** Reads that take no query parameters refuse any. */
const noQuery: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  readQuery(c, false);
  await next();
};

/** The control plane's HTTP face. Writes go to the database; workers see them via the policy version. */
export function adminRoutes(deps: AppDeps): Hono<GatewayEnv> {
  const admin = new Hono<GatewayEnv>({ strict: false });
  admin.use('*', adminAuth(deps));
  /** After a write: this process sees it at once; the others within a poll interval. */
  const written = async <T extends { id: string }>(event: string, result: T): Promise<T> => {
    await deps.policy.refresh();
    deps.log.info(event, { id: result.id });
    return result;
  };

  admin.post('/keys', async (c) => {
    const { json } = await readJsonBody(c, BODY_LIMIT);
    const input = parseInput(createKeyInput, json);
    return c.json(await written('key_created', await createKey(deps.db, deps.config, input)), 201);
  });
  admin.get('/keys', noQuery, async (c) =>
    c.json({ object: 'list', data: await listKeyViews(deps.db) }),
  );
  admin.get('/keys/:id', noQuery, async (c) =>
    c.json(await keyViewById(deps.db, c.req.param('id'))),
  );
  admin.patch('/keys/:id', async (c) => {
    const { json } = await readJsonBody(c, BODY_LIMIT);
    const input = parseInput(updateKeyInput, json);
    const updated = await updateKeyById(deps.db, deps.config, c.req.param('id'), input);
    return c.json(await written('key_updated', updated));
  });
  admin.delete('/keys/:id', async (c) =>
    c.json(await written('key_revoked', await revokeKeyById(deps.db, c.req.param('id')))),
  );

  admin.post('/teams', async (c) => {
    const { json } = await readJsonBody(c, BODY_LIMIT);
    const input = parseInput(createTeamInput, json);
    return c.json(
      await written('team_created', await createTeam(deps.db, deps.config, input)),
      201,
    );
  });
  admin.get('/teams', noQuery, async (c) =>
    c.json({ object: 'list', data: await listTeamViews(deps.db) }),
  );
  admin.get('/teams/:id', noQuery, async (c) =>
    c.json(await teamViewById(deps.db, c.req.param('id'))),
  );
  admin.patch('/teams/:id', async (c) => {
    const { json } = await readJsonBody(c, BODY_LIMIT);
    const input = parseInput(updateTeamInput, json);
    const updated = await updateTeamById(deps.db, deps.config, c.req.param('id'), input);
    return c.json(await written('team_updated', updated));
  });
  admin.delete('/teams/:id', async (c) =>
    c.json(await written('team_deleted', await deleteTeamById(deps.db, c.req.param('id')))),
  );

  admin.get('/usage', async (c) => c.json(await usageReport(deps.db, readQuery(c, true))));

  // This process's view: each worker keeps its own breakers, so `instance` names which one answered.
  admin.get('/health', noQuery, (c) =>
    c.json({ object: 'list', instance: instanceId(), data: deps.health.view() }),
  );
  for (const [path, allow] of adminMethods) admin.all(path, methodNotAllowed(allow));
  return admin;
}

const adminMethods = [
  ['/keys', 'GET, POST'],
  ['/keys/:id', 'GET, PATCH, DELETE'],
  ['/teams', 'GET, POST'],
  ['/teams/:id', 'GET, PATCH, DELETE'],
  ['/usage', 'GET'],
  ['/health', 'GET'],
] as const;

/**
 * Names this process (or isolate) in health reports. Made on first use: Workers refuse to draw
 * random values at global scope, so a module-level UUID keeps a deployed Worker from starting.
 */
let instance: string | undefined;
const instanceId = () => (instance ??= crypto.randomUUID());
