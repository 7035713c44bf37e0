import cluster, { type Worker } from 'node:cluster';
import { routeUnavailable } from '../src/config/compile';
import { ConfigError } from '../src/config/schema';
import { ensureAdminKey } from './admin-key';
import { loadConfig } from './config-file';
import { startCounterHost } from './counter-host';
import { createLogger } from './log';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { settingsEnv, type Settings } from './settings';
import { migrateSqlite } from './sqlite';

/** A worker that cannot start at all (port taken, database unreadable) exits with this; no restart helps. */
export const EXIT_CANNOT_START = 78;

function banner(settings: Settings, port: number, adminKeySource: string): string {
  const config = loadConfig(settings.configPath, process.env);
  const models = [...config.routes.values()].map((route) => {
    const why = routeUnavailable(route);
    return why === undefined
      ? `${route.name} → ${route.usable.map((target) => target.provider.id).join(', ')}${route.usable.length > 1 ? ` (${route.strategy})` : ''}`
      : `${route.name} (off: ${why})`;
  });
  const admin =
    adminKeySource === 'VIDAI_ADMIN_KEY'
      ? 'from VIDAI_ADMIN_KEY'
      : `${settings.adminKeyPath}${adminKeySource === 'generated' ? ' (generated now, mode 0600)' : ''}`;
  return [
    `Vidai listening on http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`,
    `  workers    ${settings.workers}`,
    `  config     ${settings.configPath}`,
    `  database   ${settings.dbPath}`,
    `  admin key  ${admin}`,
    `  models     ${models.join('\n             ')}`,
    '',
  ].join('\n');
}

/**
 * The cluster primary: validates the config and migrates the database once, before any worker
 * exists; hosts the counter authority and the usage writer (counter-host.ts); forks one worker
 * per core; restarts crashed workers; on SIGTERM/SIGINT asks each worker to drain, and once
 * every worker is gone (and all it sent has been read) writes the last usage records and exits.
 */
export function runPrimary(settings: Settings): void {
  const log = createLogger('primary');
  try {
    loadConfig(settings.configPath, process.env);
  } catch (err) {
    process.stderr.write(`vidai: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  let adminKey: ReturnType<typeof ensureAdminKey>;
  try {
    migrateSqlite(settings.dbPath);
    adminKey = ensureAdminKey(settings.adminKey, settings.adminKeyPath);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(
      `vidai: cannot use the database at ${settings.dbPath} (VIDAI_DB): ${e.code ?? e.message}\n`,
    );
    process.exit(1);
  }
  const host = startCounterHost(settings.dbPath, log);
  const exit = (code: number) => {
    host.close();
    log.flush();
    process.exit(code);
  };

  cluster.setupPrimary({ silent: false });
  const env = settingsEnv(settings);
  let shuttingDown = false;
  let announced = false;
  const listening = new Set<number>();
  const restarts: number[] = [];

  let failed = false;
  /** One line for all workers, then the cluster stops: the others would fail alike. */
  const cannotStart = (reason: string) => {
    if (failed) return;
    failed = true;
    process.stderr.write(`vidai: ${reason}\n`);
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
    exit(1);
  };

  const fork = (): Worker => {
    const worker = cluster.fork(env);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'cannot_start') return cannotStart(message.reason);
      if (host.handle(worker, message) || message.type !== 'listening') return;
      listening.add(worker.id);
      // It was still starting when shutdown began (a message sent then could be lost).
      if (shuttingDown) return void worker.send({ type: 'shutdown' } satisfies PrimaryMessage);
      if (!announced && listening.size >= settings.workers) {
        announced = true;
        process.stdout.write(banner(settings, message.port, adminKey.source));
      }
    });
    return worker;
  };

  // A worker is gone for good once it has exited and its channel is closed: 'disconnect' comes
  // after every message it sent has been handled, so its records are all in the writer by then.
  const allGone = () => {
    if (shuttingDown && Object.keys(cluster.workers ?? {}).length === 0) {
      log.info('stopped');
      exit(0);
    }
  };
  cluster.on('disconnect', (worker) => {
    host.workerGone(worker);
    allGone();
  });
  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (shuttingDown) return allGone();
    log.error('worker_exited', { worker: worker.id, code, signal });
    if (code === EXIT_CANNOT_START)
      return cannotStart('a worker could not start (see the log above)');
    // A crash loop (e.g. the port is taken) must not spin: give up after 10 exits in 10 s.
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] ?? now) < now - 10_000) restarts.shift();
    if (restarts.length > 10) {
      process.stderr.write('vidai: workers keep exiting; giving up (see the log above)\n');
      exit(1);
    }
    setTimeout(
      () => {
        if (!shuttingDown) fork();
      },
      Math.min(1000, 50 * restarts.length),
    );
  });

  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('draining', { workers: Object.keys(cluster.workers ?? {}).length });
    for (const worker of Object.values(cluster.workers ?? {})) {
      if (worker !== undefined && listening.has(worker.id))
        worker.send({ type: 'shutdown' } satisfies PrimaryMessage);
    }
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      exit(1);
    }, settings.drainMs + 5_000).unref();
    allGone();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  for (let i = 0; i < settings.workers; i++) fork();
}
