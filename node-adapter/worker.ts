import { answerClientErrors } from './client-errors';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app';
import { Limiter } from '../src/policy/limiter';
import { PolicyStore } from '../src/policy/policy-store';
import { loadConfig } from './config-file';
import { readAdminKey } from './admin-key';
import { Cancel } from '../src/pipeline/cancel';
import { callerSignal } from './caller-signal';
import { createLogger } from './log';
import type { PrimaryMessage } from './messages';
import { primaryChannel } from './primary-channel';
import type { Settings } from './settings';
import { openSqlite } from './sqlite';
import { undiciTransport } from './undici-transport';

export interface RunningGateway {
  port: number;
  /** Messages from the primary (lease grants). */
  receive(message: PrimaryMessage): void;
  /** Stops accepting, lets in-flight requests (streams included) finish, then releases everything. */
  drain(): Promise<void>;
}

/** How often each process checks the policy version: well inside the 1 s revocation bound. */
const POLICY_POLL_MS = 250;
/** After the drain time, how long replies get to end with their error event before sockets close. */
const SHUTDOWN_GRACE_MS = 1_000;
/** While draining, how often connections whose replies have all ended are closed. */
const IDLE_CLOSE_MS = 100;
/** How often spent and expired leases go back to the primary, for other workers to use. */
const LEASE_SWEEP_MS = 250;

/** One serving process: the Hono app over node:http, with its own SQLite reader and upstream pool. */
export async function startGateway(
  settings: Settings,
  env: NodeJS.ProcessEnv,
): Promise<RunningGateway> {
  const log = createLogger('worker');
  const config = loadConfig(settings.configPath, env);
  const sqlite = openSqlite(settings.dbPath);
  const policy = new PolicyStore(sqlite.db, (err) =>
    log.error('policy_refresh_failed', { error: err instanceof Error ? err.name : 'unknown' }),
  );
  await policy.refresh();
  policy.startPolling(POLICY_POLL_MS);
  const adminKey = readAdminKey(settings.adminKey, settings.adminKeyPath);
  const transport = undiciTransport();
  const primary = primaryChannel();
  const limiter = new Limiter(
    primary,
    () => performance.now(),
    (err) =>
      log.error('lease_refill_failed', { error: err instanceof Error ? err.message : 'unknown' }),
  );
  primary.onRecall = (counter) => limiter.recall(counter);
  limiter.startSweeping(LEASE_SWEEP_MS);
  const shutdown = new Cancel();
  const app = createApp({
    config,
    db: sqlite.db,
    policy,
    transport,
    limiter,
    usage: primary,
    adminKeyHash:
      adminKey === undefined ? undefined : createHash('sha256').update(adminKey).digest('hex'),
    log,
    callerSignal,
    shutdown,
  });

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: settings.host, port: settings.port }, () =>
      resolve(s as Server),
    );
    s.once('error', reject);
  });
  server.keepAliveTimeout = 65_000;
  answerClientErrors(server);

  let draining: Promise<void> | undefined;
  const drain = () =>
    (draining ??= new Promise<void>((resolve) => {
      // When the drain time runs out, replies still in flight are ended (a stream with an error
      // event saying why); connections that still hang on after a grace period are closed.
      let cut: ReturnType<typeof setTimeout> | undefined;
      const force = setTimeout(() => {
        shutdown.abort();
        cut = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      }, settings.drainMs);
      // Keep-alive clients (the SDKs) hold their connections open between requests, and
      // server.close() waits for every connection: so each reply from now on says
      // `Connection: close`, and a connection whose last reply has ended is closed, so the
      // drain ends with the last reply rather than when its time runs out.
      server.on('request', (_req, res: { shouldKeepAlive: boolean }) => {
        res.shouldKeepAlive = false;
      });
      const idle = setInterval(() => server.closeIdleConnections(), IDLE_CLOSE_MS);
      server.close(() => {
        clearInterval(idle);
        clearTimeout(force);
        clearTimeout(cut);
        policy.stopPolling();
        limiter.stopSweeping();
        limiter.sweep();
        void transport
          .close()
          // Every record must have left this process before it exits.
          .then(() => primary.settled())
          .finally(() => {
            sqlite.close();
            log.flush();
            resolve();
          });
      });
      server.closeIdleConnections();
    }));
  return { port: (server.address() as AddressInfo).port, receive: primary.receive, drain };
}
