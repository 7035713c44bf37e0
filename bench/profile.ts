import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function and per module, the
 * idle share left out of the percentages. Functions in the gateway's bundle (dist/main.js) are
 * named by the source file they came from, read from esbuild's `// path/to/file.ts` markers.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  /** Where it is: a source file (gateway code), a package, or a Node internal. */
  where: string;
  selfMs: number;
  /** Share of the busy (non-idle) time. */
  selfPct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  idleMs: number;
  busyMs: number;
  topFunctions: ProfileEntry[];
  byModule: ProfileEntry[];
  /**
   * Self time charged to the nearest caller that is package or gateway code: Node internals,
   * native and wasm frames count for whoever called them (web streams under @hono/node-server
   * are its cost). Answers "whose work is this".
   */
  byOwner: ProfileEntry[];
}

const bundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));

/** Line ranges of dist/main.js by source file, from esbuild's module comments. */
function bundleModules(): Array<{ line: number; file: string }> {
  const marks: Array<{ line: number; file: string }> = [];
  readFileSync(bundle, 'utf8')
    .split('\n')
    .forEach((text, line) => {
      const match = /^\/\/ ((?:src|node-adapter)\/\S+\.ts)$/.exec(text);
      if (match?.[1]) marks.push({ line, file: match[1] });
    });
  return marks;
}

/** The module a frame belongs to, and where it is (a bundle line also names its source file). */
function locate(frame: ProfileNode['callFrame'], marks: Array<{ line: number; file: string }>) {
  const url = frame.url;
  const line = frame.lineNumber + 1;
  if (url === '') return { module: frame.functionName || '(native)', where: '', internal: true };
  if (url.startsWith('node:')) return { module: url, where: `${url}:${line}`, internal: true };
  if (url.startsWith('wasm:')) return { module: 'wasm', where: url, internal: true };
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url);
  if (pkg?.[1]) return { module: pkg[1], where: `${pkg[1]}/${pkg[2]}:${line}` };
  if (url.endsWith('/dist/main.js')) {
    let file = 'dist/main.js';
    for (const mark of marks) {
      if (mark.line > frame.lineNumber) break;
      file = mark.file;
    }
    return { module: `vidai ${file}`, where: `${file} (dist/main.js:${line})` };
  }
  const path = url.replace(/^file:\/\//, '');
  return { module: path, where: `${path}:${line}` };
}

type Tally = Map<string, { name: string; where: string; ms: number }>;

function add(tally: Tally, name: string, where: string, ms: number) {
  const key = `${name}\0${where}`;
  const entry = tally.get(key) ?? { name, where, ms: 0 };
  entry.ms += ms;
  tally.set(key, entry);
}

function entries(tally: Tally, busyMs: number, n: number): ProfileEntry[] {
  return [...tally.values()]
    .map(({ name, where, ms }) => ({ name, where, selfMs: ms, selfPct: (ms / busyMs) * 100 }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, n);
}

export function summariseProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const marks = bundleModules();
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time from sample i-1 to sample i: it belongs to sample i-1.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] ?? 0;
    const us = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const owner = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const callFrame = byId.get(at)?.callFrame;
      if (callFrame === undefined) break;
      const located = locate(callFrame, marks);
      if (!('internal' in located)) return located.module;
    }
    return '(runtime: no package caller)';
  };
  const functions: Tally = new Map();
  const modules: Tally = new Map();
  const owners: Tally = new Map();
  let idleMs = 0;
  let totalMs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const ms = us / 1000;
    totalMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const { module, where } = locate(frame, marks);
    add(functions, frame.functionName || '(anonymous)', where, ms);
    add(modules, module, '', ms);
    add(owners, owner(id), '', ms);
  }
  const busyMs = totalMs - idleMs;
  return {
    file,
    totalMs,
    idleMs,
    busyMs,
    topFunctions: entries(functions, busyMs, top),
    byModule: entries(modules, busyMs, top),
    byOwner: entries(owners, busyMs, top),
  };
}

/** The profiles a run wrote for these worker pids (the primary's is left out). */
export function workerProfiles(dir: string, pids: readonly number[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.cpuprofile'))
    .filter((name) => pids.some((pid) => name.includes(`.${pid}.`)))
    .map((name) => join(dir, name));
}
