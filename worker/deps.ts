import { waitUntil } from 'cloudflare:workers';
import { drizzle } from 'drizzle-orm/d1';
import { parse } from 'yaml';
import bundledConfig from '../vidai.config.yaml';
import { compileConfig } from '../src/config/compile';
import { parseConfig } from '../src/config/schema';
import { schema } from '../src/db/schema';
import type { GatewayDeps, Logger } from '../src/deps';
import { fetchTransport } from '../src/pipeline/fetch-transport';
import { Limiter } from '../src/policy/limiter';
import { PolicyStore } from '../src/policy/policy-store';
import { sha256Hex } from '../src/util/crypto';
import { durableCounters, type Background } from './durable-counters';
import { usageWriter } from './usage-writer';

/** Settings that are Worker secrets or vars, read by name (provider keys too, via the config). */
interface Settings {
  /** YAML text that replaces the bundled vidai.config.yaml. */
  VIDAI_CONFIG?: string;
  /** The admin API's key; unset turns the admin API off. */
  VIDAI_ADMIN_KEY?: string;
}

/** One JSON line per event; fields are flat values, never bodies or headers (src/deps.ts). */
const log: Logger = {
  info: (event, fields) => console.log(JSON.stringify({ level: 'info', event, ...fields })),
  warn: (event, fields) => console.warn(JSON.stringify({ level: 'warn', event, ...fields })),
  error: (event, fields) => console.error(JSON.stringify({ level: 'error', event, ...fields })),
};

const errorName = (err: unknown) => (err instanceof Error ? err.message : 'unknown');

/** Work that must outlive the request it started in: kept alive with the request's waitUntil. */
const background: Background = (work) =>
  waitUntil(
    work.catch((err: unknown) => log.error('background_failed', { error: errorName(err) })),
  );

/**
 * How old the policy snapshot may get before a request has it checked (behind the request):
 * a busy isolate reads one row this often, and a revoked key is refused within about this long.
 */
const POLICY_STALE_MS = 500;

/** This isolate's name as a lease holder; made on first use (global scope may not draw randoms). */
let holderId: string | undefined;
const holder = () => (holderId ??= crypto.randomUUID());

/**
 * The Workers runtime's deps for the same app as on Node: D1 (through the same Drizzle schema)
 * for policy and usage, a Durable Object per key and team as the counter authority, global
 * fetch for upstreams, and waitUntil for everything that happens after the reply.
 */
export async function workerDeps(env: Env): Promise<GatewayDeps> {
  const settings = env as Env & Settings;
  const db = drizzle(env.DB, { schema });
  const config = compileConfig(
    parseConfig(parse(settings.VIDAI_CONFIG ?? bundledConfig)),
    env as unknown as Record<string, string | undefined>,
  );
  // The client sweeps the limiter when its leases are due back; the limiter spends from it.
  const counters = durableCounters(env.COUNTERS, holder, background, () => limiter.sweep());
  const limiter: Limiter = new Limiter(
    counters,
    () => performance.now(),
    (err) => log.error('lease_refill_failed', { error: errorName(err) }),
  );
  const usage = usageWriter({
    db,
    settle: (reconciliation) => counters.reconcile(reconciliation),
    background,
    log,
  });
  return {
    config,
    db,
    policy: new PolicyStore(
      db,
      (err) => log.error('policy_refresh_failed', { error: errorName(err) }),
      POLICY_STALE_MS,
      background,
    ),
    transport: fetchTransport((request) => fetch(request)),
    limiter,
    usage,
    adminKeyHash:
      settings.VIDAI_ADMIN_KEY === undefined
        ? undefined
        : await sha256Hex(settings.VIDAI_ADMIN_KEY),
    log,
  };
}
