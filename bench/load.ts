import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { summarise, type LatencySummary } from './stats';

/**
 * The bench's own HTTP client (undici's pooled client): for the measurements that need
 * microsecond latencies (autocannon's histograms are whole milliseconds) and for the open-loop
 * sweep, where latency is counted from each request's scheduled send time, so a slow server
 * cannot hide its backlog by slowing the client down (coordinated omission).
 */
export interface Endpoint {
  /** e.g. http://127.0.0.1:8787 */
  origin: string;
  /** e.g. /v1/chat/completions */
  path: string;
  headers: Record<string, string>;
}

export interface Outcome {
  ok: number;
  errors: number;
  /** Why requests failed: HTTP status or error code, with counts. */
  errorKinds: Record<string, number>;
}

export function pool(origin: string, connections: number): Pool {
  return new Pool(origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
}

/** POSTs `body` to the endpoint; the caller reads the reply. */
export function post(client: Pool, endpoint: Endpoint, body: string) {
  return client.request({ path: endpoint.path, method: 'POST', headers: endpoint.headers, body });
}

/** One request, body read to the end; resolves with whether it succeeded (never rejects). */
async function send(client: Pool, endpoint: Endpoint, body: string, outcome: Outcome) {
  try {
    const res = await post(client, endpoint, body);
    await res.body.dump({ limit: Infinity });
    if (res.statusCode === 200) return void outcome.ok++;
    fail(outcome, String(res.statusCode));
  } catch (err) {
    fail(outcome, (err as { code?: string }).code ?? 'error');
  }
}

function fail(outcome: Outcome, kind: string) {
  outcome.errors++;
  outcome.errorKinds[kind] = (outcome.errorKinds[kind] ?? 0) + 1;
}

const newOutcome = (): Outcome => ({ ok: 0, errors: 0, errorKinds: {} });

/** Opens `n` connections (and the server's own upstream connections) before a measurement. */
export async function warm(client: Pool, endpoint: Endpoint, body: string, n: number) {
  const outcome = newOutcome();
  await Promise.all(Array.from({ length: n }, () => send(client, endpoint, body, outcome)));
  return outcome;
}

export interface SequentialResult extends Outcome {
  latency: LatencySummary;
}

/** Concurrency 1: one request at a time for `durationMs`. */
export async function sequential(
  endpoint: Endpoint,
  body: string,
  durationMs: number,
): Promise<SequentialResult> {
  const client = pool(endpoint.origin, 1);
  await warm(client, endpoint, body, 20);
  const outcome = newOutcome();
  const samples: number[] = [];
  const end = performance.now() + durationMs;
  try {
    while (performance.now() < end) {
      const t0 = performance.now();
      const before = outcome.ok;
      await send(client, endpoint, body, outcome);
      if (outcome.ok > before) samples.push(performance.now() - t0);
    }
  } finally {
    await client.close();
  }
  return { ...outcome, latency: summarise(samples) };
}

export interface OpenLoopResult extends Outcome {
  offeredRps: number;
  achievedRps: number;
  /** From the scheduled send time: what a caller arriving on schedule waits (coordinated-omission-safe). */
  latency: LatencySummary;
  /** From the moment the client actually sent: the server's time alone. */
  service: LatencySummary;
}

/**
 * Open loop at a constant rate: request i is due at start + i/rate whether or not earlier ones
 * have been answered; requests beyond the pool's connections wait in its queue, and that wait
 * counts. Timers fire at most every millisecond, so due requests go out in small batches.
 */
export async function openLoop(
  endpoint: Endpoint,
  body: string,
  rate: number,
  durationMs: number,
  connections: number,
): Promise<OpenLoopResult> {
  const client = pool(endpoint.origin, connections);
  await warm(client, endpoint, body, connections);
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const interval = 1000 / rate;
  const outcome = newOutcome();
  const latency = new Float64Array(total);
  const service = new Float64Array(total);
  let okSamples = 0;
  let lastDone = 0;
  const start = performance.now() + 2;
  const inFlight: Promise<void>[] = [];
  const fire = (scheduled: number) => {
    const sentAt = performance.now();
    const before = outcome.ok;
    return send(client, endpoint, body, outcome).then(() => {
      const done = performance.now();
      lastDone = done;
      if (outcome.ok === before) return;
      latency[okSamples] = done - scheduled;
      service[okSamples++] = done - sentAt;
    });
  };
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) inFlight.push(fire(start + i++ * interval));
      if (i >= total) return resolve();
      setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
    };
    setTimeout(tick, 2);
  });
  await Promise.all(inFlight);
  await client.close();
  return {
    ...outcome,
    offeredRps: rate,
    achievedRps: outcome.ok / ((Math.max(lastDone, start + 1) - start) / 1000),
    latency: summarise(latency.subarray(0, okSamples)),
    service: summarise(service.subarray(0, okSamples)),
  };
}
