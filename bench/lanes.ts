import { performance } from 'node:perf_hooks';
import { capacity, type CapacityResult, type LoadGenerator } from './capacity';
import { openLoop, sequential, type Endpoint, type OpenLoopResult } from './load';
import type { BenchOptions } from './options';
import { median, medianSummary, type LatencySummary } from './stats';
import { streamLevel, type StreamLevelResult } from './streams';

/**
 * The measurements, each run direct (client → upstream) and through the gateway with the same
 * client in the same run, alternating, `repeat` times; the report quotes medians, and "added"
 * figures are medians of the paired differences.
 */
export interface LaneContext {
  opts: BenchOptions;
  direct: Endpoint;
  gateway: Endpoint;
  jsonBody: string;
  streamBody: string;
  tool: LoadGenerator;
  /** CPU of the gateway's processes; stop() is undefined when they cannot be read. */
  meter: { start(): void; stop(): number | undefined };
  /** CPU of the gateway's control processes (Vidai's primary: leases, usage writer). */
  controlMeter: { start(): void; stop(): number | undefined };
  /** The bare node:http + undici proxy (floor.ts) and its CPU, measured beside the gateway. */
  floor: { endpoint: Endpoint; meter: { start(): void; stop(): number | undefined } } | undefined;
  /** Busy cores on the gateway's own CPUs (when pinned), whoever kept them busy. */
  gatewayCores: { start(): void; stop(): number | undefined } | undefined;
  progress(line: string): void;
}

const ms = (n: number) => `${n.toFixed(3)} ms`;
const plusMs = (n: number) => `${n < 0 ? '−' : '+'}${ms(Math.abs(n))}`;
const other = (cores: number | undefined) =>
  cores === undefined ? '' : `; other processes used ${cores.toFixed(2)} of the gateway's cores`;
const perRequest = (cpuUs: number | undefined, requests: number) =>
  cpuUs === undefined || requests === 0 ? undefined : cpuUs / requests;

/**
 * Runs `fn` with the gateway's CPU metered: its workers' CPU time (µs), its control processes'
 * (the primary's), the cores' worth the workers kept busy, and how much of its pinned cores
 * something else used meanwhile (other engineers' jobs on a shared machine): a step with much
 * "other" load measured the machine, not the gateway.
 */
async function metered<T>(ctx: LaneContext, fn: () => Promise<T>) {
  const t0 = performance.now();
  ctx.meter.start();
  ctx.controlMeter.start();
  ctx.gatewayCores?.start();
  const value = await fn();
  const cpuUs = ctx.meter.stop();
  const controlUs = ctx.controlMeter.stop();
  const busy = ctx.gatewayCores?.stop();
  const wallUs = (performance.now() - t0) * 1000;
  const cores = cpuUs === undefined ? undefined : cpuUs / wallUs;
  const controlCores = (controlUs ?? 0) / wallUs;
  const otherCores =
    busy === undefined || cores === undefined
      ? undefined
      : Math.max(0, busy - cores - controlCores);
  return { value, cpuUs, controlUs, cores, otherCores };
}

async function repeated<T>(repeat: number, run: (round: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let round = 0; round < repeat; round++) out.push(await run(round));
  return out;
}

export interface LatencyLane {
  repeats: Array<{ direct: LatencySummary; gateway: LatencySummary }>;
  direct: LatencySummary;
  gateway: LatencySummary;
  addedP50Ms: number;
  addedP99Ms: number;
  errors: number;
}

/** Added latency at concurrency 1. */
export async function latencyLane(ctx: LaneContext): Promise<LatencyLane> {
  const durationMs = ctx.opts.durationS * 1000;
  let errors = 0;
  const repeats = await repeated(ctx.opts.repeat, async (round) => {
    const d = await sequential(ctx.direct, ctx.jsonBody, durationMs);
    const g = await sequential(ctx.gateway, ctx.jsonBody, durationMs);
    errors += d.errors + g.errors;
    ctx.progress(
      `c=1 round ${round + 1}/${ctx.opts.repeat}: p50 direct ${ms(d.latency.p50)}, gateway ${ms(g.latency.p50)}; p99 direct ${ms(d.latency.p99)}, gateway ${ms(g.latency.p99)}`,
    );
    return { direct: d.latency, gateway: g.latency };
  });
  return {
    repeats,
    direct: medianSummary(repeats.map((r) => r.direct)),
    gateway: medianSummary(repeats.map((r) => r.gateway)),
    addedP50Ms: median(repeats.map((r) => r.gateway.p50 - r.direct.p50)),
    addedP99Ms: median(repeats.map((r) => r.gateway.p99 - r.direct.p99)),
    errors,
  };
}

export interface CapacityLane {
  tool: LoadGenerator;
  connections: number;
  repeats: Array<{
    direct: CapacityResult;
    gateway: CapacityResult;
    cpuUsPerRequest?: number;
    /** The primary's CPU per request (µs): lease grants, usage records; not in cpuUsPerRequest. */
    primaryCpuUsPerRequest?: number;
    /** Cores' worth of CPU the gateway used: well under its cores means something else held it back. */
    cpuCores?: number;
    /** Cores' worth of the gateway's pinned CPUs that other processes used meanwhile. */
    otherCores?: number;
    /** The floor (floor.ts) in the same round: its rate and CPU per request. */
    floor?: CapacityResult;
    floorCpuUsPerRequest?: number;
  }>;
  directRps: number;
  gatewayRps: number;
  /** Gateway CPU per request at saturation (µs), median. */
  cpuUsPerRequest: number;
  /** The primary's CPU per request (µs), median (NaN when there is none to measure). */
  primaryCpuUsPerRequest: number;
  /** The floor's CPU per request (µs), median (NaN when not measured). */
  floorCpuUsPerRequest: number;
  /** Median of each round's gateway CPU per request over the floor's (NaN when not measured). */
  cpuOverFloor: number;
  errors: number;
}

/** Closed-loop capacity, direct and through the gateway, with the gateway's CPU per request. */
export async function capacityLane(ctx: LaneContext): Promise<CapacityLane> {
  const { connections, durationS } = ctx.opts;
  let errors = 0;
  // Unmeasured rounds first, so the first measured one does not time V8's JIT warming up.
  const warmS = Math.min(2, durationS);
  for (const endpoint of [ctx.gateway, ctx.floor?.endpoint])
    if (endpoint !== undefined)
      await capacity(ctx.tool, endpoint, ctx.jsonBody, connections, warmS);
  const repeats = await repeated(ctx.opts.repeat, async (round) => {
    const d = await capacity(ctx.tool, ctx.direct, ctx.jsonBody, connections, durationS);
    const m = await metered(ctx, () =>
      capacity(ctx.tool, ctx.gateway, ctx.jsonBody, connections, durationS),
    );
    const g = m.value;
    const cpuUsPerRequest = perRequest(m.cpuUs, g.requests);
    const primaryCpuUsPerRequest = perRequest(m.controlUs, g.requests);
    let floor: CapacityResult | undefined;
    let floorCpuUsPerRequest: number | undefined;
    if (ctx.floor !== undefined) {
      const meter = ctx.floor.meter;
      meter.start();
      floor = await capacity(ctx.tool, ctx.floor.endpoint, ctx.jsonBody, connections, durationS);
      floorCpuUsPerRequest = perRequest(meter.stop(), floor.requests);
    }
    errors += d.errors + g.errors;
    ctx.progress(
      `capacity round ${round + 1}/${ctx.opts.repeat} (${ctx.tool}, ${connections} connections): direct ${d.rps.toFixed(0)} req/s, gateway ${g.rps.toFixed(0)} req/s${cpuUsPerRequest === undefined ? '' : `, ${cpuUsPerRequest.toFixed(0)} µs CPU/request, ${m.cores?.toFixed(2)} cores busy`}${primaryCpuUsPerRequest === undefined ? '' : `, primary ${primaryCpuUsPerRequest.toFixed(0)} µs/request`}${floorCpuUsPerRequest === undefined ? '' : `; floor ${floor?.rps.toFixed(0)} req/s, ${floorCpuUsPerRequest.toFixed(0)} µs CPU/request`}${other(m.otherCores)}`,
    );
    return {
      direct: d,
      gateway: g,
      cpuUsPerRequest,
      primaryCpuUsPerRequest,
      cpuCores: m.cores,
      otherCores: m.otherCores,
      floor,
      floorCpuUsPerRequest,
    };
  });
  return {
    tool: ctx.tool,
    connections,
    repeats,
    directRps: median(repeats.map((r) => r.direct.rps)),
    gatewayRps: median(repeats.map((r) => r.gateway.rps)),
    cpuUsPerRequest: median(repeats.map((r) => r.cpuUsPerRequest)),
    primaryCpuUsPerRequest: median(repeats.map((r) => r.primaryCpuUsPerRequest)),
    floorCpuUsPerRequest: median(repeats.map((r) => r.floorCpuUsPerRequest)),
    cpuOverFloor: median(
      repeats.map((r) =>
        r.cpuUsPerRequest === undefined || r.floorCpuUsPerRequest === undefined
          ? undefined
          : r.cpuUsPerRequest / r.floorCpuUsPerRequest,
      ),
    ),
    errors,
  };
}

export interface SweepStep {
  percent: number | undefined;
  offeredRps: number;
  direct: OpenLoopResult;
  gateway: OpenLoopResult;
  addedP50Ms: number;
  addedP99Ms: number;
  cpuUsPerRequest: number;
  /** Median cores' worth of the gateway's pinned CPUs other processes used (NaN: not pinned). */
  otherCores: number;
}

/** The medians of repeated open-loop runs at one rate. */
function medianOpenLoop(runs: OpenLoopResult[]): OpenLoopResult {
  const first = runs[0] as OpenLoopResult;
  const errorKinds: Record<string, number> = {};
  for (const run of runs)
    for (const [kind, n] of Object.entries(run.errorKinds))
      errorKinds[kind] = (errorKinds[kind] ?? 0) + n;
  return {
    offeredRps: first.offeredRps,
    achievedRps: median(runs.map((r) => r.achievedRps)),
    ok: runs.reduce((n, r) => n + r.ok, 0),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    errorKinds,
    latency: medianSummary(runs.map((r) => r.latency)),
    service: medianSummary(runs.map((r) => r.service)),
  };
}

/** The open-loop sweep: latency under constant offered load, step by step. */
export async function sweepLane(ctx: LaneContext, capacityRps: number): Promise<SweepStep[]> {
  const steps =
    ctx.opts.rps?.map((rps) => ({ percent: undefined, rps })) ??
    ctx.opts.ratesPercent.map((percent) => ({
      percent,
      rps: Math.max(1, Math.round((capacityRps * percent) / 100)),
    }));
  const out: SweepStep[] = [];
  for (const step of steps) {
    const runs = await repeated(ctx.opts.repeat, async () => {
      const durationMs = ctx.opts.durationS * 1000;
      const load = (endpoint: Endpoint) =>
        openLoop(endpoint, ctx.jsonBody, step.rps, durationMs, ctx.opts.connections);
      const d = await load(ctx.direct);
      const m = await metered(ctx, () => load(ctx.gateway));
      return { d, g: m.value, cpu: perRequest(m.cpuUs, m.value.ok + m.value.errors), m };
    });
    const result: SweepStep = {
      percent: step.percent,
      offeredRps: step.rps,
      direct: medianOpenLoop(runs.map((r) => r.d)),
      gateway: medianOpenLoop(runs.map((r) => r.g)),
      addedP50Ms: median(runs.map((r) => r.g.latency.p50 - r.d.latency.p50)),
      addedP99Ms: median(runs.map((r) => r.g.latency.p99 - r.d.latency.p99)),
      cpuUsPerRequest: median(runs.map((r) => r.cpu)),
      otherCores: median(runs.map((r) => r.m.otherCores)),
    };
    out.push(result);
    ctx.progress(
      `sweep ${step.percent === undefined ? '' : `${step.percent}% = `}${step.rps} req/s: achieved ${result.gateway.achievedRps.toFixed(0)} req/s, p50 ${plusMs(result.addedP50Ms)}, p99 ${plusMs(result.addedP99Ms)} (gateway p99 ${ms(result.gateway.latency.p99)}), errors ${result.gateway.errors}, ${result.cpuUsPerRequest.toFixed(0)} µs CPU/request${other(Number.isNaN(result.otherCores) ? undefined : result.otherCores)}`,
    );
  }
  return out;
}

export interface StreamsLevel {
  streams: number;
  direct: StreamLevelResult;
  gateway: StreamLevelResult;
  /** The floor (floor.ts) at the top level, when it runs: CPU and memory for scale. */
  floor?: StreamLevelResult;
  floorCpuUsPerStream?: number | undefined;
  addedTtfbP50Ms: number;
  addedGapP99Ms: number;
  cpuUsPerStream: number | undefined;
  /** The gateway ran every stream to the end, none stalled. */
  clean: boolean;
}

export interface StreamsLane {
  chunkMs: number;
  /** Stream starts of a level were spread over this many ms. */
  spreadMs: number;
  stallMs: number;
  levels: StreamsLevel[];
  /** The most concurrent streams the gateway carried with none stalled or cut (0: none). */
  maxCleanStreams: number;
}

/** Concurrent paced streams, level by level. */
export async function streamsLane(ctx: LaneContext): Promise<StreamsLane> {
  const { chunkMs, stallMs } = ctx.opts;
  const levels: StreamsLevel[] = [];
  const options = { spreadMs: ctx.opts.streamSpreadMs, stallMs, warmBody: ctx.jsonBody };
  for (const n of ctx.opts.streams) {
    const direct = await streamLevel(ctx.direct, ctx.streamBody, n, options);
    const gateway = await streamLevel(ctx.gateway, ctx.streamBody, n, {
      ...options,
      meter: ctx.meter,
    });
    // The floor runs the top level only: what a bare Node proxy costs under the most streams.
    const floor =
      ctx.floor !== undefined && n === Math.max(...ctx.opts.streams)
        ? await streamLevel(ctx.floor.endpoint, ctx.streamBody, n, {
            ...options,
            meter: ctx.floor.meter,
          })
        : undefined;
    const level: StreamsLevel = {
      streams: n,
      direct,
      gateway,
      floor,
      floorCpuUsPerStream: perRequest(floor?.cpuUs, n),
      addedTtfbP50Ms: gateway.ttfb.p50 - direct.ttfb.p50,
      addedGapP99Ms: gateway.gap.p99 - direct.gap.p99,
      cpuUsPerStream: perRequest(gateway.cpuUs, n),
      clean: gateway.cut === 0 && gateway.stalled === 0,
    };
    levels.push(level);
    const cpu = (us: number | undefined) =>
      us === undefined ? '' : `, ${us.toFixed(0)} µs CPU/stream`;
    ctx.progress(
      `streams ${n}: gateway ${gateway.completed}/${n} complete, ${gateway.stalled} stalled; TTFB p50 ${plusMs(level.addedTtfbP50Ms)}, gap p99 ${plusMs(level.addedGapP99Ms)}${cpu(level.cpuUsPerStream)} (direct: ${direct.completed}/${n}, ${direct.stalled} stalled${floor === undefined ? '' : `; floor: ${floor.completed}/${n}, ${floor.stalled} stalled${cpu(level.floorCpuUsPerStream)}`})`,
    );
  }
  return {
    chunkMs,
    spreadMs: options.spreadMs,
    stallMs,
    levels,
    maxCleanStreams: Math.max(0, ...levels.filter((l) => l.clean).map((l) => l.streams)),
  };
}
