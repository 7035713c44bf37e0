import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openaiUpstreamConfig, startGateway, type RunningGateway } from './helpers/gateway';
import { assertMatchesSpec } from './helpers/openapi';

const cliJs = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** Virtual keys through the admin API and the CLI, on a gateway with two workers. */
let gateway: RunningGateway;

beforeAll(async () => {
  gateway = await startGateway({ config: openaiUpstreamConfig('http://127.0.0.1:9'), workers: 2 });
});
afterAll(async () => {
  await gateway?.stop();
});

function admin(path: string, init: RequestInit = {}, token?: string) {
  if (token === undefined) return gateway.admin(path, init);
  return gateway.admin(path, { ...init, headers: { authorization: `Bearer ${token}` } });
}

/** Sends enough requests that both workers answer (connections are spread round-robin). */
async function statusesFromAllWorkers(apiKey: string): Promise<number[]> {
  const results = await Promise.all(
    Array.from({ length: 8 }, () =>
      fetch(`${gateway.baseURL}/models`, {
        headers: { authorization: `Bearer ${apiKey}`, connection: 'close' },
      }).then((r) => r.status),
    ),
  );
  return results;
}

describe('admin API', () => {
  it('refuses callers without the admin key, in OpenAI’s error shape', async () => {
    for (const res of [
      await admin('/keys', {}, 'wrong'),
      await fetch(`${gateway.url}/admin/keys`),
    ]) {
      expect(res.status).toBe(401);
      assertMatchesSpec('ErrorResponse', await res.json());
    }
  });

  it('validates the body and names the bad field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ models: ['demo'] }, 'name'],
      [{ name: 'x' }, 'models'],
      [{ name: 'x', models: [] }, 'models'],
      [{ name: 'x', models: ['no-such-model'] }, 'models'],
      [{ name: 'x', models: ['demo'], surprise: 1 }, ''],
      [{ name: 'x', models: ['demo'], expires_at: 'tomorrow' }, 'expires_at'],
    ];
    for (const [body, param] of cases) {
      const res = await admin('/keys', { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      const json = (await res.json()) as { error: { param: string | null; message: string } };
      if (param) expect(json.error.param).toBe(param);
      expect(json.error.message.length).toBeGreaterThan(0);
    }
    expect((await admin('/keys', { method: 'POST', body: '{"name":' })).status).toBe(400);
  });

  it('creates a key shown once, lists it without secrets, and revokes it on every worker within a second', async () => {
    const res = await admin('/keys', {
      method: 'POST',
      body: JSON.stringify({ name: 'my-app', models: ['demo'] }),
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as {
      id: string;
      key: string;
      name: string;
      models: string[];
    };
    expect(created).toMatchObject({ name: 'my-app', models: ['demo'] });
    expect(created.key).toMatch(/^vk-[A-Za-z0-9_-]{43}$/);

    // Usable at once, on every worker, though it was created on one.
    expect(await statusesFromAllWorkers(created.key)).toEqual(Array(8).fill(200));

    const list = await (await admin('/keys')).text();
    expect(list).toContain(created.id);
    expect(list).not.toContain(created.key);
    expect(list).not.toMatch(/key_hash|keyHash/);
    const one = (await (await admin(`/keys/${created.id}`)).json()) as Record<string, unknown>;
    expect(one).toMatchObject({ id: created.id, revoked_at: null });
    expect(one).not.toHaveProperty('key');

    expect((await admin(`/keys/${created.id}`, { method: 'DELETE' })).status).toBe(200);
    const revokedAt = Date.now();
    for (;;) {
      const statuses = await statusesFromAllWorkers(created.key);
      if (statuses.every((s) => s === 401)) break;
      expect(Date.now() - revokedAt).toBeLessThan(1000);
    }
    expect((await admin(`/keys/${created.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await admin('/keys/key_nope')).status).toBe(404);
  });
});

describe('CLI', () => {
  it('creates a key the running gateway accepts, lists and revokes it', async () => {
    const created = await gateway.cli(['keys', 'create', '--name', 'cli-app', '--models', 'demo']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string };
    const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key.key, maxRetries: 0 });
    const completion = await client.chat.completions.create({
      model: 'demo',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]?.message.content).toContain('Vidai demo model');

    const listed = await gateway.cli(['keys', 'list']);
    expect(listed.stdout).toContain(key.id);
    expect(listed.stdout).not.toContain(key.key);

    expect((await gateway.cli(['keys', 'revoke', key.id])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await statusesFromAllWorkers(key.key)).toEqual(Array(8).fill(401));
  });

  it('reads only an existing database for list and show, and says where the config is read from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vidai-cli-'));
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, [cliJs, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      });
    try {
      const help = run(['--help'], {});
      expect(help.stdout).toContain('VIDAI_CONFIG');
      expect(help.stdout).toContain('VIDAI_DB');
      const missing = join(dir, 'nonexistent', 'dir', 'x.db');
      for (const args of [
        ['keys', 'list'],
        ['keys', 'show', 'key_x'],
        ['teams', 'list'],
        ['usage'],
      ]) {
        const result = run(args, { VIDAI_DB: missing });
        expect(result.status, args.join(' ')).toBe(1);
        expect(result.stderr).toBe(
          `vidai: no database exists at ${missing} (set VIDAI_DB or pass --db)\n`,
        );
      }
      expect(existsSync(join(dir, 'nonexistent'))).toBe(false);
      // Outside the repo, without VIDAI_CONFIG: the message says what to set.
      const created = run(['keys', 'create', '--name', 'x', '--models', 'demo'], {
        VIDAI_DB: join(dir, 'x.db'),
      });
      expect(created.status).toBe(1);
      expect(created.stderr).toContain('set VIDAI_CONFIG or pass --config');
      const withConfig = run(['keys', 'create', '--name', 'x', '--models', 'demo'], {
        VIDAI_DB: join(dir, 'x.db'),
        VIDAI_CONFIG: gateway.configPath,
      });
      expect(withConfig.status, withConfig.stderr).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with a clear message for an unknown model', async () => {
    const result = await gateway.cli(['keys', 'create', '--name', 'x', '--models', 'nope']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('models: not configured: nope');
  });
});

describe('admin key', () => {
  it('is generated on first run into a 0600 file beside the database, and the banner says where', async () => {
    const fresh = await startGateway({
      config: openaiUpstreamConfig('http://127.0.0.1:9'),
      env: { VIDAI_ADMIN_KEY: '' },
    });
    try {
      const path = join(fresh.dir, 'admin.key');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(fresh.output()).toContain(path);
      const stored = readFileSync(path, 'utf8').trim();
      expect(fresh.output()).not.toContain(stored);
      const res = await fetch(`${fresh.url}/admin/keys`, {
        headers: { authorization: `Bearer ${stored}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await fresh.stop();
    }
  });
});
