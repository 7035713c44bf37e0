import { TRANSLATION_MODEL } from '../bench/translation';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../bench/results';
import { benchConfig, BENCH_MODEL } from '../bench/setup';
import { startGateway, type RunningGateway } from './helpers/gateway';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';

/**
 * `npm run bench -- --quick` end to end: the real upstream process, the built gateway, every
 * lane. It checks that the bench works and reports what it should; never how fast anything is.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function bench(args: string[]): Promise<{ code: number | null; output: string; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'vidai-bench-test-'));
  dirs.push(out);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/run.ts', ...args, '--out', out],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output, out })));
}

const read = (out: string) => ({
  results: JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResults,
  html: readFileSync(join(out, 'latest.html'), 'utf8'),
});

const finitePositive = (n: number | undefined) => {
  expect(Number.isFinite(n)).toBe(true);
  expect(n).toBeGreaterThan(0);
};

describe('npm run bench -- --quick', () => {
  it('runs every lane against the built gateway and writes JSON and a self-contained HTML report', async () => {
    // autocannon: the closed-loop client CI machines have (wrk is used only when installed).
    const { code, output, out } = await bench(['--quick', '--loadgen', 'autocannon']);
    expect(code, output).toBe(0);
    expect(output).toMatch(/\[bench\s+\d+s\] c=1 round 1\/1/); // progress while it runs
    const { results: r, html } = read(out);

    expect(r.schema).toBe('vidai-bench/1');
    expect(r.subject).toMatchObject({ name: 'vidai', workers: 1 });
    expect(r.subject.policy).toMatchObject({ models: [BENCH_MODEL, TRANSLATION_MODEL] });
    expect(JSON.stringify(r)).not.toMatch(/vk-/); // the key stays out of the results

    expect(r.latency?.errors).toBe(0);
    finitePositive(r.latency?.direct.p50);
    finitePositive(r.latency?.gateway.p99);
    expect(Number.isFinite(r.latency?.addedP50Ms)).toBe(true);

    expect(r.capacity?.tool).toBe('autocannon');
    finitePositive(r.capacity?.gatewayRps);
    finitePositive(r.capacity?.directRps);
    finitePositive(r.capacity?.cpuUsPerRequest);

    expect(r.sweep?.steps.map((s) => s.percent)).toEqual([25, 100]);
    for (const step of r.sweep?.steps ?? []) {
      expect(step.direct.errors + step.gateway.errors).toBe(0);
      expect(step.gateway.ok).toBe(Math.max(1, Math.round(step.offeredRps)));
      finitePositive(step.gateway.latency.p99);
      finitePositive(step.cpuUsPerRequest);
    }

    expect(r.streams?.levels.map((l) => l.streams)).toEqual([10, 40]);
    for (const level of r.streams?.levels ?? []) {
      expect(level.gateway.completed).toBe(level.streams);
      expect(level.direct.completed).toBe(level.streams);
      // The gateway drops the usage chunk it asked for: the client sees what direct sees.
      expect(level.gateway.eventsPerStream).toBe(level.direct.eventsPerStream);
      finitePositive(level.gateway.ttfb.p50);
      finitePositive(level.gateway.gap.p99);
    }
    expect(r.streams?.maxCleanStreams).toBe(40);
    // The floor streams the top level beside the gateway (its bytes piped through whole).
    expect(r.streams?.levels.map((l) => l.floor?.completed)).toEqual([undefined, 40]);
    expect(r.streams?.levels[1]?.floor?.eventsPerStream).toBe(
      r.streams?.levels[1]?.direct.eventsPerStream,
    );
    finitePositive(r.streams?.levels[1]?.floorCpuUsPerStream);
    finitePositive(r.memory?.floorPeakRssBytes);
    // The translation lane runs (an OpenAI client, an Anthropic-format upstream) and every
    // translated tool-call stream completes.
    const translation = r.translation;
    expect(translation && 'levels' in translation ? translation.levels.length : 0).toBeGreaterThan(
      0,
    );
    for (const level of translation && 'levels' in translation ? translation.levels : []) {
      expect(level.gateway.completed).toBe(level.streams);
      expect(level.direct.completed).toBe(level.streams);
    }
    finitePositive(r.memory?.workers[0]?.peakRssBytes);
    expect(r.targets.map((t) => t.name)).toHaveLength(5);

    expect(html).toContain('<svg');
    expect(html).toContain('Latency vs offered load');
    expect(html).not.toMatch(/<script|<link|\ssrc=|href="http/i);
  }, 90_000);

  describe('--target', () => {
    let upstream: UpstreamServer;
    let gateway: RunningGateway;
    afterAll(async () => {
      await gateway?.stop();
      await upstream?.close();
    });

    it('measures another OpenAI-compatible endpoint with the same suite', async () => {
      // Another gateway, as a stand-in: it routes the bench model to an upstream of its own.
      upstream = await startUpstream(createMockOpenAI());
      gateway = await startGateway({
        config: benchConfig(upstream.url),
        env: { BENCH_UPSTREAM_KEY: 'sk-other' },
      });
      const { key } = await gateway.createKey({ name: 'other', models: [BENCH_MODEL] });
      const pid = String(gateway.process.pid);
      const { code, output, out } = await bench(
        [
          '--quick',
          '--lanes',
          'latency,streams',
          '--duration',
          '0.5',
          '--streams',
          '5',
          ['--target', gateway.baseURL, '--key', key, '--label', 'other', '--pids', pid],
        ].flat(),
      );
      expect(code, output).toBe(0);
      const { results: r } = read(out);
      expect(r.subject).toMatchObject({ name: 'other', url: gateway.baseURL });
      expect(r.layout.pinned).toBe(false);
      expect(r.latency?.errors).toBe(0);
      finitePositive(r.latency?.gateway.p50);
      expect(r.streams?.levels[0]?.gateway.completed).toBe(5);
      expect(r.capacity).toBeUndefined();
      expect(r.translation).toBeUndefined();
      expect(r.memory?.workers.length).toBeGreaterThan(1); // the primary and its worker
      expect(JSON.stringify(r)).not.toContain(key);
    }, 60_000);
  });
});
