import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { wrkInstalled } from './capacity';
import { capacityLane, latencyLane, streamsLane, sweepLane, type LaneContext } from './lanes';
import type { Endpoint } from './load';
import { HelpRequested, parseOptions, usage, type BenchOptions } from './options';
import { coreMeter, cpuList, cpuMeter, peakRssBytes, withDescendants } from './proc';
import { summariseProfile, workerProfiles } from './profile';
import { renderReport } from './report-html';
import { chatBody } from './requests';
import { evaluateTargets, type BenchResults } from './results';
import {
  BENCH_MODEL,
  pinSelf,
  planLayout,
  startFloorProcess,
  startUpstreamProcess,
  startVidai,
  type BenchGateway,
} from './setup';
import { translationLane, translationUnavailable, TRANSLATION_MODEL } from './translation';

/** `npm run bench`: starts the upstream and the gateway, runs the lanes, writes JSON and HTML. */
const began = performance.now();
const progress = (line: string) =>
  process.stderr.write(
    `[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)}s] ${line}\n`,
  );

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** One request of each kind before measuring, so a gateway that cannot serve the bench fails clearly. */
async function probe(name: string, endpoint: Endpoint, body: string, stream: boolean) {
  const res = await request(endpoint.origin + endpoint.path, {
    method: 'POST',
    headers: endpoint.headers,
    body,
  });
  const text = await res.body.text();
  if (res.statusCode === 200 && text.includes(stream ? '[DONE]' : '"choices"')) return;
  throw new Error(
    `${name} did not serve a ${stream ? 'stream' : 'completion'}: ${res.statusCode} ${text.slice(0, 300)}`,
  );
}

interface Subject {
  endpoint: Endpoint;
  pids: () => number[];
  /** Processes that serve no request but do work for each (Vidai's primary), metered apart. */
  controlPids: () => number[];
  info: BenchResults['subject'];
  vidai: BenchGateway | undefined;
}

async function startSubject(
  opts: BenchOptions,
  upstreamUrl: string,
  gatewayCpus: string | undefined,
  profileDir: string | undefined,
): Promise<Subject> {
  const headers = { 'content-type': 'application/json' };
  if (opts.target !== undefined) {
    const url = new URL(opts.target);
    return {
      endpoint: {
        origin: url.origin,
        path: `${url.pathname.replace(/\/+$/, '')}/chat/completions`,
        headers: { ...headers, ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}) },
      },
      pids: () => withDescendants(opts.pids),
      controlPids: () => [],
      info: {
        name: opts.label ?? 'target',
        url: opts.target,
        workers: undefined,
        policy: undefined,
      },
      vidai: undefined,
    };
  }
  const vidai = await startVidai({
    upstreamUrl,
    workers: opts.workers,
    cpus: gatewayCpus,
    nodeArgs: [
      ...opts.nodeArgs,
      ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
    ],
  });
  return {
    endpoint: {
      origin: vidai.gateway.url,
      path: '/v1/chat/completions',
      headers: { ...headers, authorization: `Bearer ${vidai.key}` },
    },
    pids: vidai.workerPids,
    controlPids: () => [vidai.primaryPid],
    info: {
      name: opts.label ?? 'vidai',
      url: vidai.gateway.baseURL,
      workers: opts.workers,
      policy: vidai.policy,
    },
    vidai,
  };
}

async function runBench(opts: BenchOptions): Promise<BenchResults> {
  const layout = planLayout(opts.pin, opts.workers, opts.target !== undefined);
  if (layout.clientCpus !== undefined) pinSelf(layout.clientCpus);
  const tool = opts.loadgen === 'auto' ? (wrkInstalled() ? 'wrk' : 'autocannon') : opts.loadgen;
  if (tool === 'wrk' && !wrkInstalled()) throw new Error('--loadgen wrk: wrk is not installed');
  progress(`layout: ${layout.description}; closed-loop client: ${tool}`);

  const upstream = await startUpstreamProcess({
    cpus: layout.clientCpus,
    port: opts.upstreamPort,
    latencyMs: opts.latencyMs,
    chunkMs: opts.chunkMs,
    replyRepeat: opts.replyRepeat,
  });
  progress(`upstream at ${upstream.url} (pid ${upstream.pid})`);
  const translationSkip = opts.lanes.has('translation')
    ? translationUnavailable(opts.target !== undefined)
    : 'not selected';
  const profileDir = opts.profile ? mkdtempSync(join(tmpdir(), 'vidai-bench-prof-')) : undefined;
  let subject: Subject | undefined;
  let floor: Awaited<ReturnType<typeof startFloorProcess>> | undefined;
  let pids: number[] = [];
  const results: BenchResults = {
    schema: 'vidai-bench/1',
    startedAt: new Date().toISOString(),
    finishedAt: '',
    quick: opts.quick,
    options: { ...opts, lanes: [...opts.lanes], key: opts.key && '(set)' },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      loadavgAtStart: loadavg(),
      loadavgAtEnd: [],
    },
    git: {
      commit: git(['rev-parse', '--short', 'HEAD'])?.trim(),
      dirty: (git(['status', '--porcelain']) ?? '').trim() !== '',
    },
    layout,
    loadGenerator: {
      closedLoop: tool,
      openLoop: 'bench/load.ts (undici Pool, latency from the scheduled send time)',
      streams: 'bench/streams.ts (undici Pool, per-event timing with the gateway SSE parser)',
    },
    subject: { name: '', url: '', workers: undefined, policy: undefined },
    targets: [],
    notes: [],
  };
  try {
    subject = await startSubject(opts, upstream.url, layout.gatewayCpus, profileDir);
    results.subject = subject.info;
    pids = subject.pids();
    progress(
      `${subject.info.name} at ${subject.info.url}; measured processes: ${pids.join(', ') || 'none'}`,
    );
    const model = opts.model ?? BENCH_MODEL;
    const direct: Endpoint = {
      origin: upstream.url,
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench-upstream' },
    };
    const jsonBody = chatBody(model, false, opts.promptBytes);
    const streamBody = chatBody(model, true, opts.promptBytes);
    for (const [name, endpoint] of [
      ['the upstream', direct],
      [subject.info.name, subject.endpoint],
    ] as const) {
      await probe(name, endpoint, jsonBody, false);
      await probe(name, endpoint, streamBody, true);
    }
    if (opts.floor && (opts.lanes.has('capacity') || opts.lanes.has('streams'))) {
      floor = await startFloorProcess({
        cpus: layout.gatewayCpus,
        upstreamUrl: upstream.url,
        upstreamKey: 'sk-bench-upstream',
      });
      progress(`floor (bench/floor.ts: node:http + undici, no policy) at ${floor.url}`);
    }
    const floorPid = floor?.pid;
    const ctx: LaneContext = {
      opts,
      direct,
      gateway: subject.endpoint,
      jsonBody,
      streamBody,
      tool,
      meter: cpuMeter(subject.pids),
      controlMeter: cpuMeter(subject.controlPids),
      floor:
        floor === undefined || floorPid === undefined
          ? undefined
          : {
              endpoint: { ...direct, origin: floor.url },
              meter: cpuMeter(() => [floorPid]),
            },
      gatewayCores:
        layout.gatewayCpus === undefined ? undefined : coreMeter(cpuList(layout.gatewayCpus)),
      progress,
    };
    if (opts.lanes.has('latency')) results.latency = await latencyLane(ctx);
    if (opts.lanes.has('capacity') || (opts.lanes.has('sweep') && opts.rps === undefined))
      results.capacity = await capacityLane(ctx);
    if (opts.lanes.has('sweep')) {
      const capacityRps = results.capacity?.gatewayRps;
      results.sweep = { capacityRps, steps: await sweepLane(ctx, capacityRps ?? 0) };
    }
    if (opts.lanes.has('streams')) results.streams = await streamsLane(ctx);
    if (translationSkip === undefined) {
      const levels = await translationLane(
        subject.endpoint,
        upstream.url,
        opts.quick ? [1, 10] : [1, 100],
        { stallMs: opts.stallMs, spreadMs: opts.streamSpreadMs },
        ctx.meter,
        progress,
      );
      results.translation = { model: TRANSLATION_MODEL, levels };
    } else if (opts.lanes.has('translation')) {
      results.translation = { skipped: translationSkip };
      progress(`translation lane ${translationSkip}`);
    }
    results.memory = {
      workers: pids.map((pid) => ({ pid, peakRssBytes: peakRssBytes(pid) })),
      maxPeakRssBytes: Math.max(0, ...pids.map((pid) => peakRssBytes(pid) ?? 0)),
      floorPeakRssBytes: floorPid === undefined ? undefined : peakRssBytes(floorPid),
    };
  } finally {
    await subject?.vidai?.gateway.stop();
    await floor?.stop();
    await upstream.stop();
  }
  if (profileDir !== undefined) {
    // Workers write their profiles as they exit; the busiest one is the hot path's.
    const summaries = workerProfiles(profileDir, pids).map((file) => summariseProfile(file));
    summaries.sort((a, b) => b.busyMs - a.busyMs);
    results.profile = summaries[0] ?? { skipped: `no worker profile was written in ${profileDir}` };
  }
  results.machine.loadavgAtEnd = loadavg();
  results.finishedAt = new Date().toISOString();
  results.targets = evaluateTargets(results);
  results.notes.push(...notes(opts, results, profileDir));
  return results;
}

function notes(opts: BenchOptions, r: BenchResults, profileDir: string | undefined): string[] {
  const out = [
    `Layout: ${r.layout.description}. The load generator shares the machine with the gateway; ratios against direct, measured in the same run, are steadier than absolute figures.`,
    `Medians of ${opts.repeat} repeat(s) per measurement, ${opts.durationS} s each; "added" figures are medians of paired (gateway − direct) differences.`,
    'Full policy on: the bench key has RPM, TPM and a monthly budget (far above what the bench offers, so they never refuse), the model has a price, and every request writes a usage record (bench/setup.ts).',
  ];
  if (r.quick)
    out.push(
      'Quick run: too short for its numbers to mean anything; it checks that the bench works.',
    );
  if (r.machine.loadavgAtStart[0] !== undefined && r.machine.loadavgAtStart[0] > 0.5)
    out.push(
      `The machine was busy when the run began (load average ${r.machine.loadavgAtStart[0].toFixed(2)}): expect noise.`,
    );
  if (profileDir !== undefined)
    out.push(
      `Measured with the workers under --cpu-prof (some overhead); profiles kept in ${profileDir}.`,
    );
  if (r.subject.workers === undefined && opts.pids.length === 0)
    out.push('Gateway CPU and memory not measured: pass --pids with --target.');
  return out;
}

function write(results: BenchResults, out: string): { json: string; html: string } {
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-').replace(/Z$/, '');
  const base = join(dir, `bench-${stamp}${results.quick ? '-quick' : ''}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.html`, renderReport(results));
  copyFileSync(`${base}.json`, join(dir, 'latest.json'));
  copyFileSync(`${base}.html`, join(dir, 'latest.html'));
  return { json: `${base}.json`, html: `${base}.html` };
}

function headline(r: BenchResults): string {
  const lines = [
    `${r.subject.name}: ${r.targets.map((t) => `${t.name}: ${t.measured}`).join('; ')}`,
  ];
  if (r.latency)
    lines.push(
      `added at c=1: p50 ${r.latency.addedP50Ms.toFixed(3)} ms, p99 ${r.latency.addedP99Ms.toFixed(3)} ms`,
    );
  if (r.capacity)
    lines.push(
      `capacity: ${r.capacity.gatewayRps.toFixed(0)} req/s (direct ${r.capacity.directRps.toFixed(0)})${Number.isNaN(r.capacity.cpuOverFloor) ? '' : `; CPU/request ${r.capacity.cpuOverFloor.toFixed(2)}× the floor's (${r.capacity.floorCpuUsPerRequest.toFixed(0)} µs)`}`,
    );
  return lines.join('\n');
}

try {
  const opts = parseOptions(process.argv.slice(2));
  const results = await runBench(opts);
  const files = write(results, opts.out);
  process.stdout.write(`${headline(results)}\nresults: ${files.json}\nreport:  ${files.html}\n`);
} catch (err) {
  if (err instanceof HelpRequested) {
    process.stdout.write(`${usage}\n`);
  } else {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
// Keep-alive sockets and timers of the clients must not hold the process open.
process.exit();
