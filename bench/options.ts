import { parseArgs } from 'node:util';
import type { LoadGenerator } from './capacity';

export interface BenchOptions {
  quick: boolean;
  workers: number;
  /** Seconds per measurement (one lane, one step). */
  durationS: number;
  /** Each non-streaming measurement runs this many times, direct and gateway alternating; medians are quoted. */
  repeat: number;
  /** Sweep steps as percentages of the gateway's measured capacity. */
  ratesPercent: number[];
  /** Absolute sweep rates (req/s), instead of percentages. */
  rps: number[] | undefined;
  connections: number;
  streams: number[];
  chunkMs: number;
  /** Stream starts are spread over this window. */
  streamSpreadMs: number;
  /** The mock's reply, this many times over: longer streams (and completions). */
  replyRepeat: number;
  latencyMs: number;
  stallMs: number;
  promptBytes: number;
  lanes: Set<Lane>;
  loadgen: LoadGenerator | 'auto';
  pin: 'auto' | 'on' | 'off';
  profile: boolean;
  /** Extra Node flags for the gateway's processes (the workers inherit the primary's). */
  nodeArgs: string[];
  /** Measure floor.ts (node:http + undici, no policy) beside the gateway (capacity, streams). */
  floor: boolean;
  out: string;
  target: string | undefined;
  key: string | undefined;
  model: string | undefined;
  pids: number[];
  upstreamPort: number;
  label: string | undefined;
}

export const allLanes = ['latency', 'capacity', 'sweep', 'streams', 'translation'] as const;
export type Lane = (typeof allLanes)[number];

export const usage = `usage: npm run bench -- [options]

  --quick               a short smoke run (seconds, not minutes; numbers are not meaningful)
  --workers N           gateway worker processes (default 1)
  --duration S          seconds per measurement step (default 3; quick 1)
  --repeat R            repeats of each non-streaming measurement; medians quoted (default 3; quick 1)
  --rates 10,25,50      sweep steps, % of the gateway's measured capacity (default 10,25,50,75,90,100)
  --rps 500,1000        sweep steps as absolute req/s instead
  --connections C       client connections for capacity and sweep (default 64)
  --streams 100,1000    concurrent stream counts to try (default 100,250,500,1000)
  --chunk-ms MS         upstream gap between stream chunks (default 25)
  --latency-ms MS       upstream wait before the first byte (default 0)
  --stall-ms MS         a gap longer than this counts as a stall (default 1000)
  --spread-ms MS        stream starts are spread over this window (default 1000)
  --reply-repeat K      the mock's reply K times over, for streams longer than the spread (default 4)
  --prompt-bytes N      size of the prompt in each request (default 1024)
  --lanes a,b           some of: ${allLanes.join(', ')} (default all)
  --loadgen wrk|autocannon  closed-loop client (default wrk when installed)
  --pin auto|on|off     pin gateway and client to separate cores with taskset (default auto)
  --profile             run the gateway's workers under node --cpu-prof and summarise the profile
  --node-args=FLAGS     Node flags for the gateway's processes, space-separated, after an "=":
                        --node-args="--max-semi-space-size=32 --trace-gc"
  --no-floor            skip the floor (bench/floor.ts, node:http + undici) in the capacity
                        and streams lanes
  --out DIR             where results go (default bench/results)
  --target URL          measure another OpenAI-compatible gateway (its base URL, e.g. http://127.0.0.1:4000/v1)
  --key K               the API key for --target
  --model M             the model name to send (default bench-model)
  --pids 1,2            with --target: the gateway's process ids, for CPU and memory figures
  --upstream-port P     port for the bench upstream (default any); point --target's model at it
  --label NAME          a name for the measured gateway in the report`;

const list = (text: string, name: string): number[] =>
  text.split(',').map((part) => {
    const n = Number(part.trim());
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`${name}: "${part}" is not a positive number`);
    return n;
  });

function positive(text: string | undefined, fallback: number, name: string, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number >= ${min}`);
  return n;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      workers: { type: 'string' },
      duration: { type: 'string' },
      repeat: { type: 'string' },
      rates: { type: 'string' },
      rps: { type: 'string' },
      connections: { type: 'string' },
      streams: { type: 'string' },
      'chunk-ms': { type: 'string' },
      'latency-ms': { type: 'string' },
      'stall-ms': { type: 'string' },
      'spread-ms': { type: 'string' },
      'reply-repeat': { type: 'string' },
      'prompt-bytes': { type: 'string' },
      lanes: { type: 'string' },
      loadgen: { type: 'string' },
      pin: { type: 'string' },
      profile: { type: 'boolean' },
      'node-args': { type: 'string' },
      'no-floor': { type: 'boolean' },
      out: { type: 'string' },
      target: { type: 'string' },
      key: { type: 'string' },
      model: { type: 'string' },
      pids: { type: 'string' },
      'upstream-port': { type: 'string' },
      label: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new HelpRequested();
  const quick = values.quick ?? false;
  const lanes = new Set<Lane>();
  for (const lane of (values.lanes ?? allLanes.join(',')).split(',')) {
    if (!(allLanes as readonly string[]).includes(lane))
      throw new Error(`--lanes: unknown lane "${lane}"; one of ${allLanes.join(', ')}`);
    lanes.add(lane as Lane);
  }
  const loadgen = values.loadgen ?? 'auto';
  if (loadgen !== 'auto' && loadgen !== 'wrk' && loadgen !== 'autocannon')
    throw new Error('--loadgen must be wrk or autocannon');
  const pin = values.pin ?? 'auto';
  if (pin !== 'auto' && pin !== 'on' && pin !== 'off')
    throw new Error('--pin must be auto, on or off');
  if (values.target !== undefined && !/^https?:\/\//.test(values.target))
    throw new Error('--target must be an http(s) base URL, e.g. http://127.0.0.1:4000/v1');
  return {
    quick,
    workers: positive(values.workers, 1, '--workers'),
    durationS: positive(values.duration, quick ? 1 : 3, '--duration', 0.2),
    repeat: positive(values.repeat, quick ? 1 : 3, '--repeat'),
    ratesPercent: list(values.rates ?? (quick ? '25,100' : '10,25,50,75,90,100'), '--rates'),
    rps: values.rps === undefined ? undefined : list(values.rps, '--rps'),
    connections: positive(values.connections, quick ? 16 : 64, '--connections'),
    streams: list(values.streams ?? (quick ? '10,40' : '100,250,500,1000'), '--streams'),
    chunkMs: positive(values['chunk-ms'], quick ? 5 : 25, '--chunk-ms', 0),
    latencyMs: positive(values['latency-ms'], 0, '--latency-ms', 0),
    stallMs: positive(values['stall-ms'], 1000, '--stall-ms'),
    streamSpreadMs: positive(values['spread-ms'], quick ? 50 : 1000, '--spread-ms', 0),
    replyRepeat: positive(values['reply-repeat'], quick ? 1 : 4, '--reply-repeat'),
    promptBytes: positive(values['prompt-bytes'], 1024, '--prompt-bytes', 0),
    lanes,
    loadgen,
    pin,
    profile: values.profile ?? false,
    nodeArgs: (values['node-args'] ?? '').split(/\s+/).filter((flag) => flag !== ''),
    floor: !(values['no-floor'] ?? false),
    out: values.out ?? 'bench/results',
    target: values.target?.replace(/\/+$/, ''),
    key: values.key,
    model: values.model,
    pids: values.pids === undefined ? [] : list(values.pids, '--pids'),
    upstreamPort: positive(values['upstream-port'], 0, '--upstream-port', 0),
    label: values.label,
  };
}

export class HelpRequested extends Error {}
