import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the kernel says about a process: CPU time (utime + stime of all its threads, from
 * /proc/<pid>/stat) and memory (VmRSS, VmHWM from /proc/<pid>/status). Linux only; elsewhere
 * every reading is undefined and the report says "not measured".
 */
const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function stat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after it are plain.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU time the process has used so far, in microseconds. */
export function cpuMicros(pid: number): number | undefined {
  const fields = stat(pid);
  if (fields === undefined) return undefined;
  // After the name: state(3) ppid(4) … utime(14) stime(15), so utime is index 11 here.
  return ((Number(fields[11]) + Number(fields[12])) / ticksPerSecond) * 1e6;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/** Resident memory now, in bytes. */
export const rssBytes = (pid: number) => mul1024(statusKb(pid, 'VmRSS'));
/** The most resident memory the process has had (high-water mark), in bytes. */
export const peakRssBytes = (pid: number) => mul1024(statusKb(pid, 'VmHWM'));

function mul1024(kb: number | undefined): number | undefined {
  return kb === undefined ? undefined : kb * 1024;
}

/** The live children of `ppid`, by scanning /proc (works without CONFIG_PROC_CHILDREN). */
export function childPids(ppid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    if (Number(stat(pid)?.[1]) === ppid) pids.push(pid);
  }
  return pids;
}

/** `pids` and all their descendants (a gateway measured with --pids may fork workers). */
export function withDescendants(pids: readonly number[]): number[] {
  const all = new Set(pids);
  for (const pid of pids) for (const child of withDescendants(childPids(pid))) all.add(child);
  return [...all];
}

/** CPU of a set of processes over an interval: call `start()` before, `stop()` after. */
export function cpuMeter(pids: () => readonly number[]) {
  let before = new Map<number, number>();
  const read = () => {
    const now = new Map<number, number>();
    for (const pid of pids()) {
      const us = cpuMicros(pid);
      if (us !== undefined) now.set(pid, us);
    }
    return now;
  };
  return {
    start() {
      before = read();
    },
    /** Microseconds of CPU used by these processes since start(), or undefined if unreadable. */
    stop(): number | undefined {
      const after = read();
      if (after.size === 0) return undefined;
      let total = 0;
      for (const [pid, us] of after) total += us - (before.get(pid) ?? us);
      return total;
    },
  };
}

/** "0-1,3" → [0, 1, 3] (taskset's CPU list syntax). */
export function cpuList(text: string): number[] {
  return text.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    return Array.from({ length: (to ?? 0) - (from ?? 0) + 1 }, (_, i) => (from ?? 0) + i);
  });
}

function cpuTimes(cpus: ReadonlySet<number>): { busy: number; total: number } | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  let busy = 0;
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match || !cpus.has(Number(match[1]))) continue;
    // user nice system idle iowait irq softirq steal …: idle and iowait are not busy.
    const fields = (match[2] ?? '').trim().split(/\s+/).map(Number);
    const sum = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    total += sum;
    busy += sum - (fields[3] ?? 0) - (fields[4] ?? 0);
  }
  return { busy, total };
}

/** How many of these CPUs' worth of time was busy (anyone's work) between start() and stop(). */
export function coreMeter(cpus: readonly number[]) {
  const set = new Set(cpus);
  let before = cpuTimes(set);
  return {
    start() {
      before = cpuTimes(set);
    },
    stop(): number | undefined {
      const after = cpuTimes(set);
      if (before === undefined || after === undefined || after.total === before.total)
        return undefined;
      return ((after.busy - before.busy) / (after.total - before.total)) * set.size;
    },
  };
}
