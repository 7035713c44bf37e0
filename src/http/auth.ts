import type { MiddlewareHandler } from 'hono';
import type { GatewayDeps, GatewayEnv } from '../deps';
import { GatewayError } from '../errors/gateway-error';
import { sha256Hex } from '../util/crypto';

/** The caller's key from `Authorization: Bearer …` or `x-api-key` (what Anthropic clients send). */
export function presentedKey(
  authorization: string | undefined,
  apiKey: string | undefined,
): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  const key = apiKey?.trim();
  return key ? key : undefined;
}

/**
 * Hashing is the one cost of auth on the hot path, so hashes of recently seen keys are kept.
 * The cache is bounded and holds no policy: revocation is decided by the snapshot, not here.
 */
const MAX_CACHED = 10_000;
const hashes = new Map<string, string>();

/** The key's hash: at once when it is cached, else once WebCrypto has made it. */
export function keyHash(key: string): string | Promise<string> {
  const cached = hashes.get(key);
  if (cached !== undefined) return cached;
  return sha256Hex(key).then((hash) => {
    if (hashes.size >= MAX_CACHED) hashes.clear();
    hashes.set(key, hash);
    return hash;
  });
}

/** Resolves the virtual key against this process's policy snapshot: no database read. */
export function authenticate(deps: GatewayDeps): MiddlewareHandler<GatewayEnv> {
  return async (c, next) => {
    const arrived = deps.policy.mark();
    const key = presentedKey(c.req.header('authorization'), c.req.header('x-api-key'));
    if (key === undefined) {
      throw new GatewayError(
        'missing_api_key',
        c.req.header('authorization') === undefined
          ? 'You did not provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".'
          : 'The Authorization header is malformed: send one header, "Authorization: Bearer <key>".',
      );
    }
    // Both are usually at hand, and then nothing is awaited.
    const hashing = keyHash(key);
    const current = deps.policy.current();
    const [hash, snapshot] =
      typeof hashing === 'string' && !(current instanceof Promise)
        ? [hashing, current]
        : await Promise.all([hashing, current]);
    const policy =
      snapshot.byHash.get(hash) ?? (await deps.policy.recheck(arrived)).byHash.get(hash);
    if (policy === undefined) {
      throw new GatewayError(
        'invalid_api_key',
        'The API key is not valid, or it has been revoked.',
      );
    }
    if (policy.expiresAt !== undefined && policy.expiresAt <= Date.now()) {
      throw new GatewayError('key_expired', 'The API key has expired.');
    }
    c.set('key', policy);
    await next();
  };
}
