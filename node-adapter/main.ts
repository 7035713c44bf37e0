import cluster from 'node:cluster';
import type { PrimaryMessage, WorkerMessage } from './messages';
import { EXIT_CANNOT_START, runPrimary } from './primary';
import { readSettings } from './settings';
import { startGateway, type RunningGateway } from './worker';

/** `npm start`: the primary forks the workers; each worker serves the app. */
const settings = (() => {
  try {
    return readSettings(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`vidai: ${(err as Error).message}\n`);
    process.exit(1);
  }
})();

if (cluster.isPrimary) {
  runPrimary(settings);
} else {
  // Listen for shutdown before start-up finishes: a worker still starting (a crashed one's
  // replacement) must drain too, or the primary would wait for it until its deadline.
  const worker: { gateway?: RunningGateway; stopping: boolean } = { stopping: false };
  const drain = () => {
    worker.stopping = true;
    void worker.gateway?.drain().then(() => process.exit(0));
  };
  process.on('message', (message: PrimaryMessage) => {
    if (message.type === 'shutdown') drain();
    else worker.gateway?.receive(message);
  });
  // A terminal's Ctrl-C reaches the whole process group; the primary coordinates, workers drain.
  process.on('SIGINT', drain);
  process.on('SIGTERM', drain);
  const gateway = await startGateway(settings, process.env).catch((err: NodeJS.ErrnoException) => {
    const reason =
      err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES'
        ? `cannot listen on ${settings.host}:${settings.port}: ${err.code}`
        : `worker could not start: ${err.code ?? err.message}`;
    // The primary says it, once: every worker fails alike, and each would print the same line.
    const message: WorkerMessage = { type: 'cannot_start', reason };
    if (process.send === undefined) process.exit(EXIT_CANNOT_START);
    process.send(message, () => process.exit(EXIT_CANNOT_START));
    return new Promise<never>(() => {});
  });
  worker.gateway = gateway;
  process.send?.({ type: 'listening', port: gateway.port } satisfies WorkerMessage);
  if (worker.stopping) drain();
}
