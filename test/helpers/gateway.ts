import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  createKey(body: Record<string, unknown>): Promise<{ id: string; key: string }>;
  /** Runs the CLI against this gateway's database and config. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
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

  const gateway: RunningGateway = {
    url,
    baseURL: `${url}/v1`,
    adminKey,
    dir,
    dbPath,
    configPath,
    process: child,
    output: () => output,
    async createKey(body) {
      const res = await fetch(`${url}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`createKey: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; key: string };
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
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      const code = await exited;
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
  return gateway;
}

export interface TestConfigOptions {
  timeoutMs?: number;
  maxBodyBytes?: number;
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

export const UPSTREAM_SECRET = 'sk-upstream-secret-ABCDEF0123456789abcdef0123456789';
