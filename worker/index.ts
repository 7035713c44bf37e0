import { drizzle } from 'drizzle-orm/d1';
import { parse } from 'yaml';
import configText from '../vidai.config.yaml';
import { createApp } from '../src/app';
import { compileConfig } from '../src/config/compile';
import { parseConfig } from '../src/config/schema';
import { schema } from '../src/db/schema';
import type { Logger } from '../src/deps';
import { insertUsage, spendBetween } from '../src/db/usage-repo';
import { fetchTransport } from '../src/pipeline/fetch-transport';
import { CounterAuthority } from '../src/policy/counter-authority';
import { inProcessCounters } from '../src/policy/in-process-counters';
import { Limiter } from '../src/policy/limiter';
import { reconciliationOf } from '../src/usage/record';
import { PolicyStore } from '../src/policy/policy-store';
import { sha256Hex } from '../src/util/crypto';

/** Workers entry: the same app as on Node, with D1 for policy and fetch for upstreams. */
const log: Logger = {
  info: (event, fields) => console.log(JSON.stringify({ level: 'info', event, ...fields })),
  warn: (event, fields) => console.warn(JSON.stringify({ level: 'warn', event, ...fields })),
  error: (event, fields) => console.error(JSON.stringify({ level: 'error', event, ...fields })),
};

type App = ReturnType<typeof createApp>;
let app: Promise<App> | undefined;

async function build(env: Env): Promise<App> {
  const db = drizzle(env.DB, { schema });
  const secrets = env as unknown as Record<string, string | undefined>;
  const adminKey = secrets.VIDAI_ADMIN_KEY;
  const logError = (event: string) => (err: unknown) =>
    log.error(event, { error: err instanceof Error ? err.name : 'unknown' });
  // Until the Durable Object counters (issue 6): limits hold per isolate, and records are
  // written one by one, not batched.
  const authority = new CounterAuthority({
    now: () => performance.now(),
    loadSpend: (subject, from, to) => spendBetween(db, subject, from, to),
  });
  return createApp({
    config: compileConfig(parseConfig(parse(configText)), secrets),
    db,
    policy: new PolicyStore(db, (err) =>
      log.error('policy_refresh_failed', { error: err instanceof Error ? err.name : 'unknown' }),
    ),
    transport: fetchTransport((request) => fetch(request)),
    limiter: new Limiter(inProcessCounters(authority), () => performance.now(), logError('lease')),
    usage: {
      record: (record, reservations) => {
        authority.reconcile(reconciliationOf(record, reservations));
        insertUsage(db, [record]).catch(logError('usage_write_failed'));
      },
      settled: () => undefined,
    },
    adminKeyHash: adminKey ? await sha256Hex(adminKey) : undefined,
    log,
  });
}

export default {
  async fetch(request, env, ctx) {
    app ??= build(env);
    return (await app).fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
