import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summariseProfile, workerProfiles } from './profile';

const dir = mkdtempSync(join(tmpdir(), 'vidai-profile-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url: string, lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
  scriptId: '0',
});

/** A profile as V8 writes it: nodes, the node of each sample, and µs from one sample to the next. */
function write(name: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    JSON.stringify({
      nodes: [
        { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
        { id: 2, callFrame: frame('(idle)', '') },
        { id: 3, callFrame: frame('compose', 'file:///x/node_modules/hono/dist/compose.js', 9) },
        {
          id: 4,
          callFrame: frame('parse', 'file:///x/node_modules/@scope/pkg/index.js'),
          children: [5],
        },
        { id: 5, callFrame: frame('writeGeneric', 'node:internal/stream_base_commons', 41) },
      ],
      startTime: 0,
      endTime: 10_000,
      samples: [2, 3, 3, 3, 4, 5, 2],
      timeDeltas: [0, 4000, 1000, 1000, 1000, 1000, 2000],
    }),
  );
  return file;
}

describe('summariseProfile', () => {
  it('attributes each interval to the sample before it and leaves idle out of the shares', () => {
    const summary = summariseProfile(write('CPU.1.2.4242.0.001.cpuprofile'));
    // Sample i lasts until sample i+1: the first (idle) 4 ms, the last (idle) nothing.
    expect(summary.idleMs).toBe(4);
    expect(summary.busyMs).toBe(6);
    expect(summary.topFunctions[0]).toMatchObject({
      name: 'compose',
      where: 'hono/dist/compose.js:10',
      selfMs: 3,
      selfPct: 50,
    });
    expect(summary.byModule.map((m) => [m.name, m.selfMs])).toEqual([
      ['hono', 3],
      ['node:internal/stream_base_commons', 2],
      ['@scope/pkg', 1],
    ]);
    // The Node internal is charged to the package that called it.
    expect(summary.byOwner.map((m) => [m.name, m.selfMs])).toEqual([
      ['hono', 3],
      ['@scope/pkg', 3],
    ]);
  });

  it('finds the profiles of the given worker pids only', () => {
    write('CPU.1.2.777.0.001.cpuprofile');
    expect(workerProfiles(dir, [777])).toEqual([join(dir, 'CPU.1.2.777.0.001.cpuprofile')]);
  });
});
