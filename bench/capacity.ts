import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import type { Endpoint } from './load';

/**
 * Closed-loop capacity: as many requests as `connections` keep in flight, back to back. This is
 * what "requests per second" means for a server; its latencies are not quoted (a closed loop
 * slows down with the server), the open-loop sweep measures those.
 * wrk when installed (a C client: more of the shared cores left for the server), else autocannon.
 */
export type LoadGenerator = 'wrk' | 'autocannon';

export interface CapacityResult {
  rps: number;
  requests: number;
  errors: number;
  durationS: number;
}

export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

const wrkScript = fileURLToPath(new URL('./wrk-post.lua', import.meta.url));

function runWrk(url: string, endpoint: Endpoint, body: string, connections: number, s: number) {
  return new Promise<CapacityResult>((resolve, reject) => {
    const child = spawn(
      'wrk',
      ['-t1', `-c${connections}`, `-d${s}s`, '--timeout', '10s', '-s', wrkScript, url],
      {
        env: {
          ...process.env,
          BENCH_BODY: body,
          BENCH_HEADERS: Object.entries(endpoint.headers)
            .map(([name, value]) => `${name}: ${value}`)
            .join('\n'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', () => {
      const line = /BENCH_JSON (\{.*\})/.exec(out)?.[1];
      if (line === undefined) return reject(new Error(`wrk gave no summary:\n${out}`));
      const r = JSON.parse(line) as Record<string, number>;
      const requests = r.requests ?? 0;
      const durationS = (r.duration_us ?? 0) / 1e6;
      const errors = (r.socket_errors ?? 0) + (r.non2xx ?? 0);
      resolve({ rps: (requests - errors) / durationS, requests, errors, durationS });
    });
  });
}

async function runAutocannon(
  url: string,
  endpoint: Endpoint,
  body: string,
  connections: number,
  s: number,
): Promise<CapacityResult> {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: endpoint.headers,
    body,
    connections,
    duration: s,
    pipelining: 1,
    timeout: 10,
  });
  const errors = r.errors + r.non2xx;
  return { rps: r['2xx'] / r.duration, requests: r.requests.total, errors, durationS: r.duration };
}

export function capacity(
  tool: LoadGenerator,
  endpoint: Endpoint,
  body: string,
  connections: number,
  durationS: number,
): Promise<CapacityResult> {
  const url = endpoint.origin + endpoint.path;
  return tool === 'wrk'
    ? runWrk(url, endpoint, body, connections, durationS)
    : runAutocannon(url, endpoint, body, connections, durationS);
}
