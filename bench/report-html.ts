import { esc, lineChart } from './chart-svg';
import type { BenchResults } from './results';
import type { LatencySummary } from './stats';

/** The results as one self-contained HTML page: tables and inline SVG charts, nothing fetched. */
const n = (v: number | undefined, digits = 0) =>
  v === undefined || Number.isNaN(v)
    ? '–'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const msCell = (v: number | undefined) => n(v, 3);
const mib = (bytes: number | undefined) =>
  bytes === undefined ? '–' : `${n(bytes / 2 ** 20, 0)} MiB`;

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cells = (row: Array<string | number>, tag: string) =>
    row.map((c) => `<${tag}>${typeof c === 'number' ? n(c) : c}</${tag}>`).join('');
  return `<table><thead><tr>${cells(head, 'th')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${cells(row, 'td')}</tr>`)
    .join('')}</tbody></table>`;
}

const summaryCells = (s: LatencySummary) => [
  msCell(s.p50),
  msCell(s.p90),
  msCell(s.p99),
  msCell(s.max),
];

const DIRECT = '#4c78a8';
const GATEWAY = '#e45756';

function sweepSection(r: BenchResults, who: string): string {
  const steps = r.sweep?.steps ?? [];
  if (steps.length === 0) return '';
  const series = (
    lane: 'direct' | 'gateway',
    p: 'p50' | 'p99',
    color: string,
    dashed: boolean,
  ) => ({
    name: `${lane === 'direct' ? 'direct' : who} ${p}`,
    color,
    dashed,
    points: steps.map((s) => [s.offeredRps, s[lane].latency[p]] as [number, number]),
  });
  const chart = lineChart({
    title: 'Latency vs offered load (open loop, from scheduled send time)',
    xLabel: 'offered load (req/s)',
    yLabel: 'latency (ms)',
    logY: true,
    series: [
      series('direct', 'p50', DIRECT, true),
      series('direct', 'p99', DIRECT, false),
      series('gateway', 'p50', GATEWAY, true),
      series('gateway', 'p99', GATEWAY, false),
    ],
  });
  const cpu = lineChart({
    title: `${who} CPU per request vs offered load`,
    xLabel: 'offered load (req/s)',
    yLabel: 'CPU µs / request',
    series: [
      { name: who, color: GATEWAY, points: steps.map((s) => [s.offeredRps, s.cpuUsPerRequest]) },
    ],
  });
  const rows = steps.flatMap((s) =>
    (['direct', 'gateway'] as const).map((lane) => [
      lane === 'direct'
        ? `${s.percent ?? ''}${s.percent === undefined ? '' : '% · '}${n(s.offeredRps)}`
        : '',
      lane === 'direct' ? 'direct' : who,
      n(s[lane].achievedRps),
      ...summaryCells(s[lane].latency),
      n(s[lane].errors),
      lane === 'gateway' ? msCell(s.addedP50Ms) : '',
      lane === 'gateway' ? msCell(s.addedP99Ms) : '',
      lane === 'gateway' ? n(s.cpuUsPerRequest) : '',
      lane === 'gateway' ? n(s.otherCores, 2) : '',
    ]),
  );
  return `<h2>Open-loop sweep</h2>
<p>Capacity measured: ${n(r.sweep?.capacityRps)} req/s; each step offers a constant rate to both lanes.</p>
<div class="charts">${chart}${cpu}</div>
${table(['offered (req/s)', 'lane', 'achieved', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'added p50', 'added p99', 'CPU µs/req', 'other load'], rows)}
<p>"Other load": cores' worth of the gateway's pinned CPU(s) that processes outside the bench used during the step. Steps with much of it measured the machine's other work, not the gateway.</p>`;
}

function streamsSection(r: BenchResults, who: string): string {
  const s = r.streams;
  if (s === undefined) return '';
  const levels = s.levels;
  const pts = (pick: (l: (typeof levels)[number]) => number) =>
    levels.map((l) => [l.streams, pick(l)] as [number, number]);
  const chart = lineChart({
    title: 'Streams: time to first byte and inter-chunk gap p99',
    xLabel: 'concurrent streams',
    yLabel: 'ms',
    logY: true,
    series: [
      {
        name: 'direct TTFB p50',
        color: DIRECT,
        dashed: true,
        points: pts((l) => l.direct.ttfb.p50),
      },
      {
        name: `${who} TTFB p50`,
        color: GATEWAY,
        dashed: true,
        points: pts((l) => l.gateway.ttfb.p50),
      },
      { name: 'direct gap p99', color: DIRECT, points: pts((l) => l.direct.gap.p99) },
      { name: `${who} gap p99`, color: GATEWAY, points: pts((l) => l.gateway.gap.p99) },
    ],
  });
  const rows = s.levels.flatMap((l) =>
    (l.floor === undefined
      ? (['direct', 'gateway'] as const)
      : (['direct', 'gateway', 'floor'] as const)
    ).map((lane) => {
      const result = l[lane] ?? l.direct;
      return [
        lane === 'direct' ? n(l.streams) : '',
        lane === 'gateway' ? who : lane,
        `${n(result.completed)} / ${n(l.streams)}`,
        n(result.stalled),
        msCell(result.ttfb.p50),
        msCell(result.ttfb.p99),
        msCell(result.gap.p50),
        msCell(result.gap.p99),
        msCell(result.gap.max),
        lane === 'gateway' ? msCell(l.addedTtfbP50Ms) : '',
        lane === 'gateway' ? msCell(l.addedGapP99Ms) : '',
        lane === 'gateway' ? n(l.cpuUsPerStream) : lane === 'floor' ? n(l.floorCpuUsPerStream) : '',
      ];
    }),
  );
  return `<h2>Streaming</h2>
<p>Upstream chunks every ${s.chunkMs} ms; each level's stream starts spread over ${s.spreadMs} ms; a gap over ${s.stallMs} ms is a stall. Most concurrent streams with none stalled or cut: <strong>${n(s.maxCleanStreams)}</strong>. "floor": bench/floor.ts (node:http + undici, the stream piped through), at the top level, on the gateway's core(s).</p>
<div class="charts">${chart}</div>
${table(['streams', 'lane', 'complete', 'stalled', 'TTFB p50', 'TTFB p99', 'gap p50', 'gap p99', 'gap max', 'added TTFB p50', 'added gap p99', 'CPU µs/stream'], rows)}`;
}

function otherSections(r: BenchResults, who: string): string {
  const parts: string[] = [];
  if (r.latency) {
    const l = r.latency;
    parts.push(`<h2>Added latency at concurrency 1</h2>
${table(
  ['lane', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
  [
    ['direct', ...summaryCells(l.direct)],
    [who, ...summaryCells(l.gateway)],
    ['added', msCell(l.addedP50Ms), '', msCell(l.addedP99Ms), ''],
  ],
)}`);
  }
  if (r.capacity) {
    const c = r.capacity;
    parts.push(`<h2>Capacity (closed loop, ${esc(c.tool)}, ${c.connections} connections)</h2>
${table(
  [
    'round',
    'direct req/s',
    `${esc(who)} req/s`,
    'CPU µs/req',
    'primary µs/req',
    'floor req/s',
    'floor µs/req',
    'cores busy',
    'other load',
    'errors',
  ],
  [
    ...c.repeats.map((x, i) => [
      i + 1,
      n(x.direct.rps),
      n(x.gateway.rps),
      n(x.cpuUsPerRequest),
      n(x.primaryCpuUsPerRequest),
      n(x.floor?.rps),
      n(x.floorCpuUsPerRequest),
      n(x.cpuCores, 2),
      n(x.otherCores, 2),
      n(x.direct.errors + x.gateway.errors),
    ]),
    [
      'median',
      n(c.directRps),
      n(c.gatewayRps),
      n(c.cpuUsPerRequest),
      n(c.primaryCpuUsPerRequest),
      '',
      n(c.floorCpuUsPerRequest),
      '',
      '',
      n(c.errors),
    ],
  ],
)}
<p>"CPU µs/req": the worker processes' CPU time over requests served (the target's measure). "Primary µs/req": the cluster primary's, which grants leases and writes usage records, on the same core(s); not included in the first. "Floor": bench/floor.ts, a bare node:http + undici proxy with no policy, on the gateway's core(s) in the same round: the least a Node proxy costs here and now${Number.isNaN(c.cpuOverFloor) ? '' : ` (the gateway's CPU per request was ${c.cpuOverFloor.toFixed(2)}× the floor's, median of rounds)`}. "Cores busy": the workers' CPU time over the run's wall time. "Other load": cores' worth of the gateway's pinned CPU(s) used by processes outside the bench meanwhile; with much of it, the gateway was held back by the machine, not by its own work.</p>`);
  }
  if (r.memory)
    parts.push(
      `<h2>Memory</h2>${table(
        ['process', 'peak RSS (VmHWM)'],
        [
          ...r.memory.workers.map((w) => [`worker ${w.pid}`, mib(w.peakRssBytes)]),
          ...(r.memory.floorPeakRssBytes === undefined
            ? []
            : [['the floor (bench/floor.ts), same lanes', mib(r.memory.floorPeakRssBytes)]]),
        ],
      )}`,
    );
  if (r.translation) {
    parts.push(
      'skipped' in r.translation
        ? `<h2>Translation lane</h2><p>${esc(r.translation.skipped)}</p>`
        : `<h2>Translation lane (OpenAI client → Anthropic upstream, streamed tool calls)</h2>${table(
            [
              'streams',
              'complete',
              'TTFB p50 direct',
              `TTFB p50 ${esc(who)}`,
              'gap p99 direct',
              `gap p99 ${esc(who)}`,
              'CPU µs/stream',
            ],
            r.translation.levels.map((l) => [
              l.streams,
              `${l.gateway.completed} / ${l.streams}`,
              msCell(l.direct.ttfb.p50),
              msCell(l.gateway.ttfb.p50),
              msCell(l.direct.gap.p99),
              msCell(l.gateway.gap.p99),
              n(l.cpuUsPerStream),
            ]),
          )}`,
    );
  }
  if (r.profile) {
    const p = r.profile;
    parts.push(
      'skipped' in p
        ? `<h2>CPU profile</h2><p>${esc(p.skipped)}</p>`
        : `<h2>CPU profile of a worker</h2><p>${esc(p.file)}: ${n(p.busyMs)} ms busy of ${n(p.totalMs)} ms; shares are of busy time.</p>
<div class="charts">${table(
            ['self time by owner (nearest package or gateway caller)', 'ms', '%'],
            p.byOwner.map((e) => [esc(e.name), n(e.selfMs), n(e.selfPct, 1)]),
          )}
${table(
  ['self time by module', 'ms', '%'],
  p.byModule.map((e) => [esc(e.name), n(e.selfMs), n(e.selfPct, 1)]),
)}</div>
${table(
  ['function', 'where', 'self ms', '%'],
  p.topFunctions.map((e) => [
    esc(e.name),
    `<code>${esc(e.where)}</code>`,
    n(e.selfMs),
    n(e.selfPct, 1),
  ]),
)}`,
    );
  }
  return parts.join('\n');
}

export function renderReport(r: BenchResults): string {
  const who = r.subject.name;
  const targets = table(
    ['target (issue 7, 2-core machine)', 'goal', 'measured', ''],
    r.targets.map((t) => [
      esc(t.name),
      esc(t.goal),
      esc(t.measured),
      t.met === null ? '' : t.met ? 'met' : 'not met',
    ]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vidai bench — ${esc(who)} — ${esc(r.startedAt)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .6em 0 1.4em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 9px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
th { background: #f6f6f6; } .charts { display: flex; flex-wrap: wrap; gap: 1em; }
code { font-size: 12px; } .meta { color: #555; }
</style></head><body>
<h1>Vidai bench: ${esc(who)}</h1>
<p class="meta">${esc(r.startedAt)} → ${esc(r.finishedAt)} · git ${esc(r.git.commit ?? '?')}${r.git.dirty ? ' (uncommitted changes)' : ''} · ${esc(r.machine.cpuModel)}, ${r.machine.cpus} cores · Node ${esc(r.machine.node)} · ${esc(r.subject.url)}${r.subject.workers === undefined ? '' : ` · ${r.subject.workers} worker(s)`}${r.quick ? ' · <strong>quick run</strong>' : ''}</p>
<h2>Targets</h2>${targets}
<h2>Notes</h2><ul>${r.notes.map((note) => `<li>${esc(note)}</li>`).join('')}</ul>
${otherSections(r, who)}
${sweepSection(r, who)}
${streamsSection(r, who)}
<h2>How this was measured</h2>
<ul>
<li>Closed-loop capacity: ${esc(r.loadGenerator.closedLoop)}. Open loop: ${esc(r.loadGenerator.openLoop)}. Streams: ${esc(r.loadGenerator.streams)}.</li>
<li>CPU: utime + stime of the gateway's worker processes (/proc/&lt;pid&gt;/stat) over the requests served. Memory: VmHWM of each worker at the end of the run.</li>
<li>Policy of the bench key: <code>${esc(JSON.stringify(r.subject.policy ?? null))}</code></li>
<li>Options: <code>${esc(JSON.stringify(r.options))}</code></li>
</ul>
</body></html>
`;
}
