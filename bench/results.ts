import type { CapacityLane, LatencyLane, StreamsLane, SweepStep } from './lanes';
import type { ProfileSummary } from './profile';
import type { Layout } from './setup';
import type { TranslationLevel } from './translation';

/** What a run writes to bench/results/*.json (and renders as HTML). Times in ms, CPU in µs. */
export interface BenchResults {
  schema: 'vidai-bench/1';
  startedAt: string;
  finishedAt: string;
  quick: boolean;
  options: Record<string, unknown>;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    loadavgAtStart: number[];
    loadavgAtEnd: number[];
  };
  git: { commit: string | undefined; dirty: boolean };
  layout: Layout;
  loadGenerator: { closedLoop: string; openLoop: string; streams: string };
  subject: {
    name: string;
    url: string;
    workers: number | undefined;
    /** The bench key as the admin API returned it (never the key). */
    policy: Record<string, unknown> | undefined;
  };
  latency?: LatencyLane;
  capacity?: CapacityLane;
  sweep?: { capacityRps: number | undefined; steps: SweepStep[] };
  streams?: StreamsLane;
  translation?: { skipped: string } | { model: string; levels: TranslationLevel[] };
  memory?: {
    workers: Array<{ pid: number; peakRssBytes: number | undefined }>;
    maxPeakRssBytes: number;
    /** The floor's (floor.ts), when it ran: what a bare Node proxy took under the same load. */
    floorPeakRssBytes?: number | undefined;
  };
  profile?: ProfileSummary | { skipped: string };
  targets: Target[];
  notes: string[];
}

/** Issue 7's targets for a 2-core machine, each against what this run measured. */
export interface Target {
  name: string;
  goal: string;
  measured: string;
  /** null: not measured in this run. */
  met: boolean | null;
}

const fixed = (n: number | undefined, digits: number, unit: string) =>
  n === undefined || Number.isNaN(n) ? 'not measured' : `${n.toFixed(digits)} ${unit}`;

export function evaluateTargets(r: BenchResults): Target[] {
  const half = r.sweep?.steps.find((step) => step.percent === 50);
  const cpu = r.capacity?.cpuUsPerRequest;
  const primary = r.capacity?.primaryCpuUsPerRequest;
  const rssMb = r.memory === undefined ? undefined : r.memory.maxPeakRssBytes / 2 ** 20;
  const floorRss = r.memory?.floorPeakRssBytes;
  const tried1000 = r.streams?.levels.some((level) => level.streams >= 1000) ?? false;
  const known = (n: number | undefined) => n !== undefined && !Number.isNaN(n) && n > 0;
  return [
    {
      name: 'Gateway CPU per non-streaming request (at capacity)',
      goal: '≤ 250 µs',
      measured:
        fixed(cpu, 0, 'µs') +
        (known(primary) ? ` (+ ${fixed(primary, 0, 'µs')} in the primary, not counted)` : '') +
        (known(r.capacity?.cpuOverFloor)
          ? `; ${r.capacity?.cpuOverFloor.toFixed(2)}× the floor's ${fixed(r.capacity?.floorCpuUsPerRequest, 0, 'µs')} in the same run`
          : ''),
      met: known(cpu) ? (cpu as number) <= 250 : null,
    },
    {
      name: 'Added p50 at half of capacity',
      goal: '≤ 0.5 ms',
      measured: fixed(half?.addedP50Ms, 3, 'ms'),
      met: half === undefined ? null : half.addedP50Ms <= 0.5,
    },
    {
      name: 'Added p99 at half of capacity',
      goal: '≤ 2 ms',
      measured: fixed(half?.addedP99Ms, 3, 'ms'),
      met: half === undefined ? null : half.addedP99Ms <= 2,
    },
    {
      name: 'Peak RSS per worker',
      goal: '≤ 150 MB',
      measured:
        fixed(known(rssMb) ? rssMb : undefined, 0, 'MiB') +
        (floorRss === undefined ? '' : `; the floor's ${fixed(floorRss / 2 ** 20, 0, 'MiB')}`),
      met: known(rssMb) ? (rssMb as number) <= 150 : null,
    },
    {
      name: 'Concurrent paced streams, none stalled or cut',
      goal: '≥ 1,000',
      measured: r.streams === undefined ? 'not measured' : `${r.streams.maxCleanStreams} clean`,
      met: r.streams === undefined || !tried1000 ? null : r.streams.maxCleanStreams >= 1000,
    },
  ];
}
