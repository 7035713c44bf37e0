/**
 * Line charts as inline SVG, so the report is one self-contained file: no scripts, no CDNs.
 */
export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
  points: Array<[number, number]>;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A log scale for latencies, whose tails span decades. */
  logY?: boolean;
}

const W = 680;
const H = 340;
const M = { left: 64, right: 170, top: 34, bottom: 46 };

export const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(range: number, count: number): number {
  const raw = range / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / magnitude;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * magnitude;
}

function linearTicks(max: number): number[] {
  const step = niceStep(max || 1, 5);
  const ticks: number[] = [];
  for (let v = 0; v <= max * 1.0001 + step; v += step) ticks.push(v);
  return ticks;
}

function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let decade = Math.floor(Math.log10(min)); decade <= Math.ceil(Math.log10(max)); decade++)
    for (const m of [1, 2, 5]) ticks.push(m * 10 ** decade);
  return ticks.filter((t) => t >= min / 1.0001 && t <= max * 1.0001);
}

const label = (v: number) =>
  v >= 1000
    ? `${+(v / 1000).toFixed(1)}k`
    : v >= 1 || v === 0
      ? `${+v.toFixed(2)}`
      : `${+v.toPrecision(2)}`;

export function lineChart(o: ChartOptions): string {
  const points = o.series.flatMap((s) => s.points).filter(([x, y]) => isFinite(x) && isFinite(y));
  if (points.length === 0) return `<p><em>${esc(o.title)}: no data.</em></p>`;
  const maxX = Math.max(...points.map(([x]) => x));
  const ys = points.map(([, y]) => y).filter((y) => !o.logY || y > 0);
  const xTicks = linearTicks(maxX);
  const xMax = xTicks[xTicks.length - 1] ?? 1;
  let yTicks: number[];
  let yOf: (y: number) => number;
  const plotH = H - M.top - M.bottom;
  const plotW = W - M.left - M.right;
  if (o.logY) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...ys)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...ys)));
    yTicks = logTicks(lo, hi);
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    yOf = (y) => M.top + plotH - ((Math.log10(Math.max(y, lo)) - Math.log10(lo)) / span) * plotH;
  } else {
    yTicks = linearTicks(Math.max(...ys));
    const yMax = yTicks[yTicks.length - 1] ?? 1;
    yOf = (y) => M.top + plotH - (y / yMax) * plotH;
  }
  const xOf = (x: number) => M.left + (x / xMax) * plotW;
  const grid = [
    ...yTicks.map(
      (t) =>
        `<line x1="${M.left}" x2="${M.left + plotW}" y1="${yOf(t)}" y2="${yOf(t)}" stroke="#e5e5e5"/>` +
        `<text x="${M.left - 6}" y="${yOf(t) + 4}" text-anchor="end">${label(t)}</text>`,
    ),
    ...xTicks.map(
      (t) =>
        `<line x1="${xOf(t)}" x2="${xOf(t)}" y1="${M.top}" y2="${M.top + plotH}" stroke="#f0f0f0"/>` +
        `<text x="${xOf(t)}" y="${M.top + plotH + 16}" text-anchor="middle">${label(t)}</text>`,
    ),
  ];
  const lines = o.series.map((s) => {
    const pts = s.points.filter(([x, y]) => isFinite(x) && isFinite(y) && (!o.logY || y > 0));
    const path = pts.map(([x, y]) => `${xOf(x).toFixed(1)},${yOf(y).toFixed(1)}`).join(' ');
    const dots = pts
      .map(
        ([x, y]) =>
          `<circle cx="${xOf(x).toFixed(1)}" cy="${yOf(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`,
      )
      .join('');
    return `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${path}"/>${dots}`;
  });
  const legend = o.series.map(
    (s, i) =>
      `<line x1="${W - M.right + 14}" x2="${W - M.right + 38}" y1="${M.top + 10 + i * 18}" y2="${M.top + 10 + i * 18}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''}/>` +
      `<text x="${W - M.right + 44}" y="${M.top + 14 + i * 18}">${esc(s.name)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}" font-family="system-ui, sans-serif" font-size="11">
<text x="${M.left}" y="18" font-size="13" font-weight="600">${esc(o.title)}</text>
${grid.join('\n')}
<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" stroke="#888"/>
<line x1="${M.left}" x2="${M.left + plotW}" y1="${M.top + plotH}" y2="${M.top + plotH}" stroke="#888"/>
<text x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>
<text transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}${o.logY ? ' (log)' : ''}</text>
${lines.join('\n')}
${legend.join('\n')}
</svg>`;
}
