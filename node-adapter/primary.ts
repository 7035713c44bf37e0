import cluster, { type Worker } from 'node:cluster';
import { routeUnavailable } from '../src/config/compile';
import { ConfigError } from '../src/config/schema';
import { ensureAdminKey } from './admin-key';
import { loadConfig } from './config-file';
import { createLogger } from './log';
import { settingsEnv, type Settings } from './settings';
import { migrateSqlite } from './sqlite';

/** A worker that cannot start at all (port taken, database unreadable) exits with this; no restart helps. */
export const EXIT_CANNOT_START = 78;

export type WorkerMessage = { type: 'listening'; port: number } | { type: 'shutdown' };

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
 * exists; forks one worker per core; restarts crashed workers; on SIGTERM/SIGINT asks each
 * worker to drain and exits when all have.
 */
export function runPrimary(settings: Settings): void {
  const log = createLogger('primary');
  try {
    loadConfig(settings.configPath, process.env);
  } catch (err) {
    process.stderr.write(`vidai: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  migrateSqlite(settings.dbPath);
  const adminKey = ensureAdminKey(settings.adminKey, settings.adminKeyPath);

  cluster.setupPrimary({ silent: false });
  const env = settingsEnv(settings);
  let shuttingDown = false;
  let announced = false;
  const listening = new Set<number>();
  const restarts: number[] = [];

  const fork = (): Worker => {
    const worker = cluster.fork(env);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type !== 'listening') return;
      listening.add(worker.id);
      if (!announced && listening.size >= settings.workers) {
        announced = true;
        process.stdout.write(banner(settings, message.port, adminKey.source));
      }
    });
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    listening.delete(worker.id);
    if (shuttingDown) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('stopped');
        log.flush();
        process.exit(0);
      }
      return;
    }
    log.error('worker_exited', { worker: worker.id, code, signal });
    if (code === EXIT_CANNOT_START) {
      log.flush();
      process.exit(1);
    }
    // A crash loop (e.g. the port is taken) must not spin: give up after 10 exits in 10 s.
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] ?? now) < now - 10_000) restarts.shift();
    if (restarts.length > 10) {
      process.stderr.write('vidai: workers keep exiting; giving up (see the log above)\n');
      log.flush();
      process.exit(1);
    }
    setTimeout(fork, Math.min(1000, 50 * restarts.length));
  });

  const shutdown = () => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('draining', { workers: Object.keys(cluster.workers ?? {}).length });
    for (const worker of Object.values(cluster.workers ?? {}))
      worker?.send({ type: 'shutdown' } satisfies WorkerMessage);
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, settings.drainMs + 5_000).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  for (let i = 0; i < settings.workers; i++) fork();
}
