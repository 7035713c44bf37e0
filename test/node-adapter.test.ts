import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI, MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { openaiUpstreamConfig, startGateway } from './helpers/gateway';
import { startUpstream, type UpstreamServer } from './mocks/upstream-server';

const mainJs = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function runWithConfig(config: string, env: Record<string, string> = {}, args: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'vidai-bad-'));
  writeFileSync(join(dir, 'c.yaml'), config);
  return spawnSync(process.execPath, [mainJs, ...args], {
    env: {
      PATH: process.env.PATH,
      VIDAI_CONFIG: join(dir, 'c.yaml'),
      VIDAI_DB: join(dir, 'db'),
      VIDAI_PORT: '0',
      VIDAI_WORKERS: '1',
      ...env,
    },
    encoding: 'utf8',
    timeout: 10_000,
  });
}

describe('start-up', () => {
  it('refuses a bad config, naming the file, the field and why', () => {
    const result = runWithConfig(
      'providers:\n  - id: a\n    kind: openai\n    api_key_env: K\nmodels:\n  - name: m\n    provider: b\n',
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/c\.yaml: models\[0\]\.provider: unknown provider "b"/);
    const yaml = runWithConfig('providers: [');
    expect(yaml.status).toBe(1);
    expect(yaml.stderr).toContain('not valid YAML');
    const kind = runWithConfig('providers:\n  - id: a\n    kind: nope\nmodels: []\n');
    expect(kind.stderr).toMatch(/providers\[0\]\.kind: unknown provider kind/);
  });

  it('refuses a database path it cannot use, saying so, instead of hanging or dumping a stack', () => {
    const good =
      'providers:\n  - id: d\n    kind: mock\nmodels:\n  - name: demo\n    provider: d\n';
    const dir = mkdtempSync(join(tmpdir(), 'vidai-db-'));
    writeFileSync(join(dir, 'not-a-db'), 'hello, I am a text file, not SQLite at all'.repeat(20));
    for (const db of ['/proc/nope/vidai.db', dir, join(dir, 'not-a-db')]) {
      const result = runWithConfig(good, { VIDAI_DB: db });
      expect(result.status, `${db}: ${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(`vidai: cannot use the database at ${db}`);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('refuses an admin key short enough to guess', () => {
    const good =
      'providers:\n  - id: d\n    kind: mock\nmodels:\n  - name: demo\n    provider: d\n';
    const result = runWithConfig(good, { VIDAI_ADMIN_KEY: 'short' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe('vidai: VIDAI_ADMIN_KEY must be at least 16 characters\n');
  });

  it.each([
    [{ VIDAI_PORT: '99999' }, 'VIDAI_PORT must be a whole number from 0 to 65535'],
    [{ VIDAI_PORT: '-1' }, 'VIDAI_PORT must be'],
    [{ VIDAI_PORT: '1e3' }, 'VIDAI_PORT must be'],
    [{ VIDAI_WORKERS: '0' }, 'VIDAI_WORKERS must be a whole number from 1 to'],
    [{ VIDAI_WORKERS: String(4 * availableParallelism() + 1) }, 'cores here'],
    [{ VIDAI_DRAIN_MS: '99999999999' }, 'VIDAI_DRAIN_MS must be'],
  ])('refuses %o at start-up with one line and exit code 1', (env, message) => {
    const good =
      'providers:\n  - id: d\n    kind: mock\nmodels:\n  - name: demo\n    provider: d\n';
    const result = runWithConfig(good, env);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^vidai: [^\n]+\n$/);
    expect(result.stderr).toContain(message);
  });

  it.each([
    [['--port', '99999'], {}, 'vidai: --port must be a whole number from 0 to 65535'],
    [['--port', '99999'], { VIDAI_PORT: '1' }, 'vidai: --port must be'],
    [['--workers', '0'], {}, 'vidai: --workers must be a whole number from 1 to'],
    [['--workers', '0'], { VIDAI_WORKERS: '1' }, 'vidai: --workers must be'],
  ])('names the flag the user gave (%o): %o', (args, env, message) => {
    const good =
      'providers:\n  - id: d\n    kind: mock\nmodels:\n  - name: demo\n    provider: d\n';
    const result = runWithConfig(good, env, args);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^vidai: [^\n]+\n$/);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toContain('VIDAI_');
  });

  it('names the address when the port is taken', async () => {
    const first = await startGateway({ config: openaiUpstreamConfig('http://127.0.0.1:9') });
    try {
      const port = new URL(first.url).port;
      const good =
        'providers:\n  - id: d\n    kind: mock\nmodels:\n  - name: demo\n    provider: d\n';
      const result = runWithConfig(good, {
        VIDAI_HOST: '127.0.0.1',
        VIDAI_PORT: port,
        VIDAI_WORKERS: '2',
      });
      expect(result.status).toBe(1);
      // Said once, though each worker failed.
      expect(result.stderr).toBe(`vidai: cannot listen on 127.0.0.1:${port}: EADDRINUSE\n`);
    } finally {
      await first.stop();
    }
  });

  it('prints the address, worker count, config and database paths', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig('http://127.0.0.1:9'),
      workers: 2,
    });
    try {
      const out = gateway.output();
      expect(out).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
      expect(out).toMatch(/workers\s+2/);
      expect(out).toContain(gateway.configPath);
      expect(out).toContain(gateway.dbPath);
    } finally {
      await gateway.stop();
    }
  });
});

describe('SIGTERM', () => {
  let upstream: UpstreamServer;
  beforeAll(async () => {
    upstream = await startUpstream(createMockOpenAI({ chunkDelayMs: 25 }));
  });
  afterAll(async () => upstream.close());

  it('lets an in-flight stream finish, then exits 0', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig(upstream.url),
      workers: 2,
      env: { TEST_UPSTREAM_KEY: 'k' },
    });
    const { key } = await gateway.createKey({ name: 'drain', models: ['*'] });
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'long' }],
      }),
    });
    const reader = res.body!.getReader();
    let body = new TextDecoder().decode((await reader.read()).value);
    const exit = gateway.stop('SIGTERM');
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += new TextDecoder().decode(value);
    }
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
    const text = body
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map(
        (event) =>
          (JSON.parse(event.slice(6)) as { choices: Array<{ delta: { content?: string } }> })
            .choices[0]?.delta.content ?? '',
      )
      .join('');
    expect(text).toBe(MOCK_REPLY);
    expect(await exit).toBe(0);
  });

  it('exits once its last reply ends, though the client keeps its connection alive', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig(upstream.url, { timeoutMs: 60_000 }),
      workers: 1,
      env: { TEST_UPSTREAM_KEY: 'k', VIDAI_DRAIN_MS: '30000' },
    });
    const { key } = await gateway.createKey({ name: 'keepalive', models: ['*'] });
    const chat = (stream: boolean) =>
      fetch(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-test',
          stream,
          messages: [{ role: 'user', content: 'hi' }],
        }),
      });
    // fetch keeps its connections alive, as the SDKs do.
    await (await chat(false)).text();
    const res = await chat(true);
    const reader = res.body!.getReader();
    await reader.read();
    const stopped = Date.now();
    const exit = gateway.stop('SIGTERM');
    while (!(await reader.read()).done);
    expect(await exit).toBe(0);
    // Far below the 30 s drain time: it ended with the stream.
    expect(Date.now() - stopped).toBeLessThan(10_000);
  });

  it('ends a stream still running when the drain time runs out with an error event, and records why', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig(upstream.url),
      workers: 1,
      env: { TEST_UPSTREAM_KEY: 'k', VIDAI_DRAIN_MS: '300' },
    });
    const { key } = await gateway.createKey({ name: 'cut', models: ['*'] });
    upstream.script({ stallAfterBytes: 600 }); // a few events, then silence: it outlives the drain
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-request-id': 'cut-by-drain',
      },
      body: JSON.stringify({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'long' }],
      }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let body = decoder.decode((await reader.read()).value);
    // The record is read once the gateway has exited, before its directory goes.
    const exit = gateway.stop('SIGTERM', () =>
      gateway.usageRows(
        1,
        "request_id = 'cut-by-drain' and status = 503 and error_code = 'shutting_down'",
      ),
    );
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      body += decoder.decode(value, { stream: true });
    }
    const events = body.split('\n\n').filter((event) => event.startsWith('data: '));
    expect(events.at(-1)).toMatch(/^data: \{"error"/);
    const { error } = JSON.parse(events.at(-1)!.slice(6)) as { error: { code: string } };
    expect(error.code).toBe('shutting_down');
    expect(body).not.toContain('[DONE]');
    expect(await exit).toBe(0);
  });

  it('still exits 0 when it comes while a crashed worker is being replaced', async () => {
    for (const delayMs of [20, 300]) {
      const gateway = await startGateway({
        config: openaiUpstreamConfig(upstream.url),
        workers: 2,
      });
      process.kill(gateway.workerPids()[0]!, 'SIGKILL');
      // Right after the crash (the replacement is about to be forked) and while it starts.
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      expect(await gateway.stop('SIGTERM'), gateway.output()).toBe(0);
    }
  });
});

describe('back-pressure', () => {
  /** An OpenAI-format upstream that streams 1 KiB events as fast as its socket takes them. */
  const BIG = 128 * 1024 * 1024;
  let firehose: { url: string; server: Server; written: number; finished: boolean };
  beforeAll(async () => {
    const event = `data: ${JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'upstream-model',
      choices: [{ index: 0, delta: { content: 'x'.repeat(900) }, finish_reason: null }],
    })}\n\n`;
    const chunk = Buffer.from(event.repeat(64));
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const pump = () => {
        while (firehose.written < BIG) {
          firehose.written += chunk.byteLength;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('data: [DONE]\n\n', () => (firehose.finished = true));
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    firehose = { url: `http://127.0.0.1:${port}`, server, written: 0, finished: false };
  });
  afterAll(() => {
    firehose.server.closeAllConnections();
    firehose.server.close();
  });

  it('a client that stops reading a stream holds the upstream back, instead of Vidai buffering it', async () => {
    const gateway = await startGateway({
      config: openaiUpstreamConfig(firehose.url, { timeoutMs: 60_000 }),
      workers: 1,
      env: { TEST_UPSTREAM_KEY: 'k' },
    });
    const { key } = await gateway.createKey({ name: 'slow', models: ['*'] });
    const { port } = new URL(gateway.url);
    const body = JSON.stringify({
      model: 'gpt-test',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const head = await new Promise<string>((resolve) =>
      socket.once('data', (c: Buffer) => resolve(c.toString('latin1'))),
    );
    expect(head).toMatch(/^HTTP\/1\.1 200/);
    socket.pause();
    // Not reading: the socket buffers on the way (a few MB each) fill, and the upstream waits.
    let last = -1;
    while (firehose.written !== last && !firehose.finished) {
      last = firehose.written;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(firehose.finished).toBe(false);
    expect(firehose.written).toBeLessThan(BIG / 4);
    socket.destroy();
    await gateway.stop('SIGTERM');
  });
});
