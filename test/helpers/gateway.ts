import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

/**
 * Runs the real Node adapter (dist/main.js, built by the global setup): the cluster primary,
 * its workers, SQLite in a temp dir, listening on 127.0.0.1 at a free port.
 */
const mainJs = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const cliJs = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface RunningGateway {
  url: string;
  baseURL: string;
  adminKey: string;
  dir: string;
  dbPath: string;
  configPath: string;
  process: ChildProcess;
  /** Everything the gateway printed so far (stdout and stderr). */
  output(): string;
  /** Calls the admin API with the admin key. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }>;
  /** Runs the CLI against this gateway's database and config. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Pids of the cluster's worker processes (Linux: from /proc). */
  workerPids(): number[];
  /** Established connections on the gateway's port, per worker pid (Linux: from /proc). */
  connectionsByWorker(): Map<number, number>;
  /** Reads the gateway's database (a separate read-only connection). */
  query<T>(sql: string, ...params: unknown[]): T[];
  /** Waits until the usage writer has stored `count` records matching `where` (SQL). */
  usageRows(count: number, where: string, ...params: unknown[]): Promise<void>;
  /** Stops the gateway; `inspect` runs after it exited, before its files are removed. */
  stop(signal?: NodeJS.Signals, inspect?: () => void | Promise<void>): Promise<number | null>;
}

/** Socket inodes of established TCP connections whose local port is `port`. */
function establishedInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '01') continue;
      if (parseInt(local.split(':').at(-1) ?? '', 16) === port) inodes.add(fields[9] ?? '');
    }
  }
  return inodes;
}

export interface GatewayOptions {
  config: string;
  workers?: number;
  env?: Record<string, string>;
  /** A command the gateway runs under, e.g. `['taskset', '-c', '1']` (it must exec its argument). */
  launcher?: string[];
  /** Node flags for the primary; cluster gives its workers the same (`execArgv`). */
  nodeArgs?: string[];
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'vidai-test-'));
  const configPath = join(dir, 'vidai.config.yaml');
  const dbPath = join(dir, 'vidai.db');
  writeFileSync(configPath, options.config);
  const adminKey = `admin-${randomBytes(16).toString('hex')}`;
  const env = {
    PATH: process.env.PATH ?? '',
    VIDAI_HOST: '127.0.0.1',
    VIDAI_PORT: '0',
    VIDAI_DB: dbPath,
    VIDAI_CONFIG: configPath,
    VIDAI_WORKERS: String(options.workers ?? 1),
    VIDAI_ADMIN_KEY: adminKey,
    VIDAI_DRAIN_MS: '5000',
    ...options.env,
  };
  const [command = process.execPath, ...args] = [...(options.launcher ?? []), process.execPath];
  const child = spawn(command, [...args, ...(options.nodeArgs ?? []), mainJs], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start:\n${output}`)), 15_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code}:\n${output}`));
    });
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${url}/admin${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${adminKey}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  const workerPids = () =>
    readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  const query = <T>(sql: string, ...params: unknown[]): T[] => {
    const db = new Database(dbPath, { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  };
  const gateway: RunningGateway = {
    url,
    baseURL: `${url}/v1`,
    adminKey,
    dir,
    dbPath,
    configPath,
    process: child,
    output: () => output,
    admin,
    async createKey(body) {
      const res = await admin('/keys', { method: 'POST', body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; key: string };
    },
    workerPids,
    connectionsByWorker() {
      const inodes = establishedInodes(Number(new URL(url).port));
      const counts = new Map<number, number>();
      for (const pid of workerPids()) {
        let n = 0;
        for (const fd of readdirSync(`/proc/${pid}/fd`)) {
          try {
            const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
            if (inode !== undefined && inodes.has(inode)) n++;
          } catch {
            // the descriptor closed while we looked
          }
        }
        counts.set(pid, n);
      }
      return counts;
    },
    query,
    async usageRows(count, where, ...params) {
      const sql = `select count(*) as n from usage_records where ${where}`;
      for (let waited = 0; ; waited += 50) {
        const [row] = query<{ n: number }>(sql, ...params);
        if ((row?.n ?? 0) >= count) return;
        if (waited > 10_000) throw new Error(`fewer than ${count} usage records where ${where}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    cli: (args) =>
      new Promise((resolve) => {
        const cli = spawn(process.execPath, [cliJs, ...args], {
          env: { ...env, VIDAI_ADMIN_KEY: '' },
        });
        let stdout = '';
        let stderr = '';
        cli.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        cli.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      }),
    async stop(signal = 'SIGTERM', inspect) {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      try {
        await inspect?.();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return code;
    },
  };
  return gateway;
}

export interface TestConfigOptions {
  timeoutMs?: number;
  maxBodyBytes?: number;
  /** YAML lines added to `server:`. */
  server?: string;
  /** YAML lines added to the gpt-test model (e.g. a price). */
  gptTestExtra?: string;
  /** YAML list items appended to `providers:` and `models:`. */
  providers?: string;
  models?: string;
  /**
   * The `breaker:` section. By default the breaker is all but off, so that suites about error
   * mapping can fail an upstream many times in a row without it being ejected.
   */
  breaker?: string;
}

/** A config with the test's upstream as an OpenAI-compatible provider, plus the built-in demo. */
export function openaiUpstreamConfig(upstreamUrl: string, options: TestConfigOptions = {}): string {
  return `
server:
  upstream_timeout_ms: ${options.timeoutMs ?? 2000}
  max_body_bytes: ${options.maxBodyBytes ?? 1048576}
${options.server ?? ''}
breaker:
${options.breaker ?? '  failures: 1000\n  window: 1000\n  error_rate: 1'}
providers:
  - id: up
    kind: openai-compatible
    base_url: ${upstreamUrl}/v1
    api_key_env: TEST_UPSTREAM_KEY
  - id: demo
    kind: mock
${options.providers ?? ''}
models:
  - name: gpt-test
    provider: up
    model: upstream-model
${options.gptTestExtra ?? ''}
  - name: same-name
    provider: up
  - name: embed-test
    provider: up
    model: upstream-embedding
  - name: demo
    provider: demo
    model: demo-1
${options.models ?? ''}`;
}

export { UPSTREAM_SECRET } from '../conformance/config';
