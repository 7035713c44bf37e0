import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startGateway, type RunningGateway } from '../test/helpers/gateway';
import { childPids } from './proc';
import { translationConfig, TRANSLATION_MODEL } from './translation';

/** The public model name the bench calls; the gateway forwards it unchanged (passthrough). */
export const BENCH_MODEL = 'bench-model';

/**
 * Where processes run. On a 2-core machine with one worker, the gateway gets core 1 to itself
 * and the load generator and upstream share core 0, so the gateway's numbers are its own and
 * "per core" means one core. With as many workers as cores nothing can be isolated: all share.
 */
export interface Layout {
  pinned: boolean;
  gatewayCpus: string | undefined;
  clientCpus: string | undefined;
  description: string;
}

export function planLayout(pin: 'auto' | 'on' | 'off', workers: number, target: boolean): Layout {
  const cpus = availableParallelism();
  const shared = (why: string): Layout => ({
    pinned: false,
    gatewayCpus: undefined,
    clientCpus: undefined,
    description: `not pinned (${why}): gateway, upstream and load generator share ${cpus} cores`,
  });
  if (pin === 'off') return shared('--pin off');
  if (target) return shared('--target: the bench does not move processes it did not start');
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).error) return shared('no taskset');
  if (workers >= cpus) return shared(`${workers} workers on ${cpus} cores`);
  const split = cpus - workers;
  const range = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  const gatewayCpus = range(split, cpus - 1);
  const clientCpus = range(0, split - 1);
  return {
    pinned: true,
    gatewayCpus,
    clientCpus,
    description: `gateway (primary + ${workers} worker${workers > 1 ? 's' : ''}) on CPU ${gatewayCpus}; load generator and upstream on CPU ${clientCpus}`,
  };
}

/** Moves this process (every thread) and so its later children onto `cpus`. */
export function pinSelf(cpus: string): void {
  spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
}

const taskset = (cpus: string | undefined) => (cpus === undefined ? [] : ['taskset', '-c', cpus]);

export interface UpstreamProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

const upstreamEntry = fileURLToPath(new URL('./upstream.ts', import.meta.url));
const floorEntry = fileURLToPath(new URL('./floor.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs a bench script (upstream.ts, floor.ts) in its own process; resolves once it listens. */
function startScript(
  entry: string,
  args: string[],
  cpus: string | undefined,
): Promise<UpstreamProcess> {
  const [command = process.execPath, ...launch] = [...taskset(cpus), process.execPath];
  const child = spawn(command, [...launch, '--import', 'tsx', entry, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${output}`)), 20_000);
    void exited.then(() => reject(new Error(`${entry} exited:\n${output}`)));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      if (url === undefined || child.pid === undefined) return;
      clearTimeout(timer);
      resolve({
        url,
        pid: child.pid,
        stop: () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          return exited;
        },
      });
    });
  });
}

/** Starts upstream.ts in its own process; resolves once it listens. */
export function startUpstreamProcess(options: {
  cpus: string | undefined;
  port: number;
  latencyMs: number;
  chunkMs: number;
  replyRepeat: number;
}): Promise<UpstreamProcess> {
  return startScript(
    upstreamEntry,
    [
      ['--port', String(options.port)],
      ['--latency-ms', String(options.latencyMs)],
      ['--chunk-ms', String(options.chunkMs)],
      ['--reply-repeat', String(options.replyRepeat)],
    ].flat(),
    options.cpus,
  );
}

/** Starts floor.ts (the bare node:http + undici proxy) in front of the upstream, on `cpus`. */
export function startFloorProcess(options: {
  cpus: string | undefined;
  upstreamUrl: string;
  upstreamKey: string;
}): Promise<UpstreamProcess> {
  return startScript(
    floorEntry,
    ['--upstream', options.upstreamUrl, '--key', options.upstreamKey],
    options.cpus,
  );
}

/**
 * The gateway's config: the bench upstream as an OpenAI-compatible provider (BENCH_MODEL,
 * passthrough) and as an Anthropic one (TRANSLATION_MODEL, translated).
 */
export function benchConfig(upstreamUrl: string): string {
  const extra = translationConfig(upstreamUrl);
  return `
server:
  upstream_timeout_ms: 60000
providers:
  - id: bench-upstream
    kind: openai-compatible
    base_url: ${upstreamUrl}/v1
    api_key_env: BENCH_UPSTREAM_KEY
${extra.providers}
models:
  - name: ${BENCH_MODEL}
    provider: bench-upstream
    # A price, so every request's cost is estimated, reserved against the budget and settled.
    price: { input: 1, output: 2 }
${extra.models}`;
}

/**
 * The bench key's policy: what a production key carries, so every request pays for the checks
 * a real one does. Limits are far above anything the bench can offer: evaluated on every
 * request, never refusing one.
 */
export const benchKeyPolicy: Record<string, unknown> = {
  name: 'bench',
  models: [BENCH_MODEL, TRANSLATION_MODEL],
  expires_at: '2999-01-01T00:00:00Z',
  // The full policy: every request spends from RPM, TPM and budget leases granted by the
  // primary, and its usage record goes to the primary's writer. The key the admin API returns
  // is stored in the results, so the report shows what was in force.
  rpm: 1e9,
  tpm: 1e12,
  budget_usd: 1e9,
  budget_period: 'month',
};

export interface BenchGateway {
  gateway: RunningGateway;
  key: string;
  /** The key as the admin API describes it (never the key itself). */
  policy: Record<string, unknown>;
  workerPids(): number[];
  /** The cluster primary: counter authority and usage writer, on the gateway's core(s). */
  primaryPid: number;
}

export async function startVidai(options: {
  upstreamUrl: string;
  workers: number;
  cpus: string | undefined;
  config?: string;
  /** Node flags for the primary, which its forked workers inherit (e.g. --cpu-prof). */
  nodeArgs?: string[];
}): Promise<BenchGateway> {
  const gateway = await startGateway({
    config: options.config ?? benchConfig(options.upstreamUrl),
    workers: options.workers,
    launcher: taskset(options.cpus),
    env: {
      BENCH_UPSTREAM_KEY: 'sk-bench-upstream',
      VIDAI_DRAIN_MS: '10000',
    },
    nodeArgs: options.nodeArgs,
  });
  const primary = gateway.process.pid ?? -1;
  const created = (await gateway.createKey(benchKeyPolicy)) as Record<string, unknown>;
  // The prefix of the key stays out of the results, with the key.
  const { key, key_prefix: _prefix, ...policy } = created;
  if (typeof key !== 'string') throw new Error('the admin API returned no key');
  return { gateway, key, policy, workerPids: () => childPids(primary), primaryPid: primary };
}
