import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockOpenAI, MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { splitTokens } from '../src/providers/mock/tokens';
import { openaiUpstreamConfig, startGateway, type RunningGateway } from './helpers/gateway';
import { openaiError, startUpstream, type UpstreamServer } from './mocks/upstream-server';

/** Usage records, cost, and the admin reads over them, on a gateway with two workers. */
let upstream: UpstreamServer;
let gateway: RunningGateway;

const REPLY_TOKENS = splitTokens(MOCK_REPLY).length;
/** gpt-test: $2 per million input tokens, $0.50 cached, $8 output (a config override). */
const PRICE = { input: 2, cached: 0.5, output: 8 };

interface Row {
  request_id: string;
  key_id: string;
  team_id: string | null;
  model: string;
  provider: string | null;
  served_model: string | null;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  usage_estimated: number;
  status: number;
  error_code: string | null;
  latency_ms: number;
  ttfb_ms: number | null;
  streamed: number;
}

beforeAll(async () => {
  upstream = await startUpstream(createMockOpenAI());
  gateway = await startGateway({
    config: openaiUpstreamConfig(upstream.url, {
      gptTestExtra: `    price: { input: ${PRICE.input}, cached_input: ${PRICE.cached}, output: ${PRICE.output} }`,
    }),
    workers: 2,
    env: { TEST_UPSTREAM_KEY: 'k' },
  });
});
afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

async function rowFor(requestId: string): Promise<Row> {
  await gateway.usageRows(1, 'request_id = ?', requestId);
  return gateway.query<Row>('select * from usage_records where request_id = ?', requestId)[0]!;
}

async function json<T>(res: Response): Promise<T> {
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

describe('usage records', () => {
  let key: { id: string; key: string };
  let team: { id: string };
  let client: OpenAI;

  beforeAll(async () => {
    team = await json(
      await gateway.admin('/teams', { method: 'POST', body: JSON.stringify({ name: 'records' }) }),
    );
    key = await gateway.createKey({
      name: 'records',
      models: ['gpt-test', 'demo'],
      team_id: team.id,
    });
    client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key.key, maxRetries: 0 });
  });

  it('records a completion: who asked, who served, tokens, cost, status, latency', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hello there' }] })
      .withResponse();
    const row = await rowFor(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({
      key_id: key.id,
      team_id: team.id,
      model: 'gpt-test',
      provider: 'up',
      served_model: 'upstream-model',
      output_tokens: REPLY_TOKENS,
      cached_input_tokens: 0,
      usage_estimated: 0,
      status: 200,
      error_code: null,
      streamed: 0,
    });
    expect(row.input_tokens).toBeGreaterThan(0);
    expect(row.cost_usd).toBeCloseTo(
      (row.input_tokens * PRICE.input + REPLY_TOKENS * PRICE.output) / 1e6,
      12,
    );
    expect(row.latency_ms).toBeGreaterThanOrEqual(row.ttfb_ms!);
  });

  it('prices cached prompt tokens once, at the cached price', async () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 100,
      total_tokens: 1100,
      prompt_tokens_details: { cached_tokens: 600 },
      completion_tokens_details: { reasoning_tokens: 40 },
    };
    upstream.script({
      status: 200,
      body: JSON.stringify({
        id: 'chatcmpl-cached',
        object: 'chat.completion',
        created: 1_800_000_000,
        model: 'upstream-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'cached', refusal: null },
            logprobs: null,
            finish_reason: 'stop',
          },
        ],
        usage,
      }),
    });
    const { response } = await client.chat.completions
      .create({ model: 'gpt-test', messages: [{ role: 'user', content: 'long prompt' }] })
      .withResponse();
    const row = await rowFor(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({
      input_tokens: 1000,
      cached_input_tokens: 600,
      output_tokens: 100,
      reasoning_tokens: 40,
    });
    expect(row.cost_usd).toBeCloseTo((400 * 2 + 600 * 0.5 + 100 * 8) / 1e6, 12);
  });

  it('records a stream with the usage Vidai asked for, and time to first byte', async () => {
    const { response, data } = await client.chat.completions
      .create({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'stream' }] })
      .withResponse();
    for await (const chunk of data) expect(chunk.usage ?? null).toBeNull();
    const row = await rowFor(response.headers.get('x-request-id')!);
    expect(row).toMatchObject({ streamed: 1, output_tokens: REPLY_TOKENS, status: 200 });
    expect(row.ttfb_ms).not.toBeNull();
  });

  it('estimates an abandoned stream from what it carried, not from its reservation', async () => {
    const chunk = (delta: object) =>
      `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    upstream.script({
      status: 200,
      headers: { 'content-type': 'text/event-stream' },
      body: [
        chunk({ role: 'assistant', content: '' }),
        ...['a', 'b', 'c', 'd', 'e', 'f'].map((c) => chunk({ content: c })),
        'data: [DONE]\n\n',
      ],
      gapMs: 150,
    });
    const abort = new AbortController();
    const res = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key.key}`,
        'content-type': 'application/json',
        'x-request-id': 'abandoned-1',
      },
      body: JSON.stringify({
        model: 'gpt-test',
        stream: true,
        messages: [{ role: 'user', content: 'hi' }],
      }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('"b"')) seen += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const row = await rowFor('abandoned-1');
    expect(row).toMatchObject({
      usage_estimated: 1,
      error_code: 'cancelled',
      status: 499,
      streamed: 1,
    });
    // The prompt as estimated (a few tokens), and about a token per event that came through —
    // not the 4,096 tokens reserved for a reply with no max_tokens.
    expect(row.input_tokens).toBeLessThan(50);
    expect(row.output_tokens).toBeGreaterThanOrEqual(3);
    expect(row.output_tokens).toBeLessThanOrEqual(5);
    expect(row.cost_usd).toBeCloseTo(
      (row.input_tokens * PRICE.input + row.output_tokens * PRICE.output) / 1e6,
      10,
    );
  });

  it('records failures with their status and code, at no cost', async () => {
    const bad = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'x-request-id': 'bad-json-1' },
      body: '{"model":',
    });
    expect(bad.status).toBe(400);
    const forbidden = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'x-request-id': 'not-allowed-1' },
      body: JSON.stringify({ model: 'same-name', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(forbidden.status).toBe(403);
    // Both tries (the first and its one retry) fail.
    upstream.script(openaiError(500, 'boom'), openaiError(500, 'boom'));
    const failed = await fetch(`${gateway.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'x-request-id': 'upstream-500-1' },
      body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(failed.status).toBe(502);
    expect(await rowFor('bad-json-1')).toMatchObject({
      status: 400,
      error_code: 'invalid_json',
      model: '',
      cost_usd: 0,
    });
    expect(await rowFor('not-allowed-1')).toMatchObject({
      status: 403,
      error_code: 'model_not_allowed',
      model: 'same-name',
      provider: null,
    });
    expect(await rowFor('upstream-500-1')).toMatchObject({
      status: 502,
      error_code: 'upstream_error',
      output_tokens: 0,
      cost_usd: 0,
    });
  });
});

describe('admin reads', () => {
  it('aggregates usage and spend per key, team and model over a time range, a page at a time', async () => {
    const from = new Date().toISOString();
    const team: { id: string } = await json(
      await gateway.admin('/teams', { method: 'POST', body: JSON.stringify({ name: 'agg' }) }),
    );
    const a = await gateway.createKey({ name: 'agg-a', models: ['*'], team_id: team.id });
    const b = await gateway.createKey({ name: 'agg-b', models: ['*'], team_id: team.id });
    const call = (key: string, model: string) =>
      new OpenAI({ baseURL: gateway.baseURL, apiKey: key, maxRetries: 0 }).chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'hi' }],
      });
    await Promise.all([call(a.key, 'gpt-test'), call(a.key, 'gpt-test'), call(b.key, 'demo')]);
    await gateway.usageRows(3, 'team_id = ?', team.id);

    type Page = {
      data: Array<Record<string, string | number | null>>;
      has_more: boolean;
      next_after: string | null;
    };
    const byKey: Page = await json(
      await gateway.admin(`/usage?group_by=key&team_id=${team.id}&from=${from}`),
    );
    expect(byKey.data.map((r) => [r.key_id, r.requests])).toEqual(
      [
        [a.id, 2],
        [b.id, 1],
        // SQLite orders by byte value, not by locale.
      ].sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1)),
    );
    const aRow = byKey.data.find((r) => r.key_id === a.id)!;
    expect(aRow.output_tokens).toBe(2 * REPLY_TOKENS);
    expect(aRow.cost_usd).toBeGreaterThan(0);

    const byTeam: Page = await json(await gateway.admin(`/usage?group_by=team&from=${from}`));
    expect(byTeam.data.find((r) => r.team_id === team.id)?.requests).toBe(3);

    const first: Page = await json(
      await gateway.admin(`/usage?group_by=model&team_id=${team.id}&from=${from}&limit=1`),
    );
    expect(first.data).toHaveLength(1);
    expect(first.has_more).toBe(true);
    const second: Page = await json(
      await gateway.admin(
        `/usage?group_by=model&team_id=${team.id}&from=${from}&limit=1&after=${first.next_after}`,
      ),
    );
    expect([first.data[0]?.model, second.data[0]?.model].sort()).toEqual(['demo', 'gpt-test']);
    expect(second.has_more).toBe(false);

    const before: Page = await json(
      await gateway.admin(`/usage?group_by=key&team_id=${team.id}&to=${from}`),
    );
    expect(before.data).toEqual([]);
    expect((await gateway.admin('/usage?group_by=nope')).status).toBe(400);
  });

  it('pages through every model name a record can hold: "" and names up to 256 characters', async () => {
    const from = new Date().toISOString();
    const team: { id: string } = await json(
      await gateway.admin('/teams', { method: 'POST', body: JSON.stringify({ name: 'names' }) }),
    );
    const { key } = await gateway.createKey({ name: 'names', models: ['*'], team_id: team.id });
    const long = 'x'.repeat(256);
    const post = (body: string) =>
      fetch(`${gateway.baseURL}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
        body,
      });
    // Refused before its model was read: recorded with model ''.
    expect((await post('{"model":')).status).toBe(400);
    const unknown = JSON.stringify({ model: long, messages: [{ role: 'user', content: 'x' }] });
    expect((await post(unknown)).status).toBe(404);
    const demo = JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'x' }] });
    expect((await post(demo)).status).toBe(200);
    await gateway.usageRows(3, 'team_id = ?', team.id);

    type Page = { data: Array<{ model: string }>; has_more: boolean; next_after: string | null };
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const params = new URLSearchParams({ group_by: 'model', team_id: team.id, from, limit: '1' });
      if (after !== null) params.set('after', after);
      const res = await gateway.admin(`/usage?${params}`);
      expect(res.status, await res.clone().text()).toBe(200);
      const body: Page = await json(res);
      seen.push(...body.data.map((row) => row.model));
      if (!body.has_more) break;
      after = body.next_after;
    }
    expect(seen).toEqual(['', 'demo', long]);
    // The model filter takes the same names.
    const only: Page = await json(
      await gateway.admin(`/usage?group_by=model&team_id=${team.id}&from=${from}&model=${long}`),
    );
    expect(only.data.map((row) => row.model)).toEqual([long]);
    const empty: Page = await json(
      await gateway.admin(`/usage?group_by=model&team_id=${team.id}&from=${from}&model=`),
    );
    expect(empty.data.map((row) => row.model)).toEqual(['']);

    // The CLI: --after '' is after the empty name.
    const cli = await gateway.cli([
      'usage',
      '--group-by',
      'model',
      '--team',
      team.id,
      '--from',
      from,
      '--limit',
      '1',
      '--after',
      '',
    ]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({
      data: [{ model: 'demo' }],
      has_more: true,
      next_after: 'demo',
    });
    // Past every name a record can hold: refused.
    const tooLong = await gateway.admin(`/usage?group_by=model&after=${'x'.repeat(257)}`);
    expect(tooLong.status).toBe(400);
  });

  it('takes a calendar date as midnight UTC, for usage ranges and expiries', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.parse(today) + 86_400_000).toISOString().slice(0, 10);
    const res = await gateway.admin(`/usage?from=${today}&to=${tomorrow}`);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await json(res)).toMatchObject({
      from: `${today}T00:00:00.000Z`,
      to: `${tomorrow}T00:00:00.000Z`,
    });
    const cli = await gateway.cli(['usage', '--from', today, '--to', tomorrow]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ from: `${today}T00:00:00.000Z` });
    // Epoch milliseconds still work.
    const epoch = await gateway.admin(`/usage?from=${Date.parse(today)}`);
    expect(await json(epoch)).toMatchObject({ from: `${today}T00:00:00.000Z` });

    // Keys and teams expire at a calendar date's midnight UTC too.
    const key = await json<{ expires_at: string }>(
      await gateway.admin('/keys', {
        method: 'POST',
        body: JSON.stringify({ name: 'dated', models: ['*'], expires_at: '2099-01-31' }),
      }),
    );
    expect(key.expires_at).toBe('2099-01-31T00:00:00.000Z');
    const team = await json<{ expires_at: string }>(
      await gateway.admin('/teams', {
        method: 'POST',
        body: JSON.stringify({ name: 'dated', expires_at: '2099-01-31' }),
      }),
    );
    expect(team.expires_at).toBe('2099-01-31T00:00:00.000Z');
    for (const expires_at of ['2020-01-31', 9e15, '2099-02-30']) {
      const bad = await gateway.admin('/keys', {
        method: 'POST',
        body: JSON.stringify({ name: 'x', models: ['*'], expires_at }),
      });
      expect(bad.status, String(expires_at)).toBe(400);
    }
  });

  it('takes numbers in a query only as plain digits, and times only within Date’s range', async () => {
    const refused: Array<[string, string]> = [
      ['/usage?limit=1e3', 'limit'],
      ['/usage?limit=%20100', 'limit'],
      ['/usage?limit=100%20', 'limit'],
      ['/usage?limit=0x10', 'limit'],
      ['/usage?limit=', 'limit'],
      ['/usage?limit=1001', 'limit'],
      ['/usage?from=1e3', 'from'],
      ['/usage?from=%201000', 'from'],
      ['/usage?from=', 'from'],
      ['/usage?from=-1', 'from'],
      ['/usage?from=2026-02-30', 'from'],
      ['/usage?to=2026-13-01', 'to'],
      // Past Date's range: no time at all.
      ['/usage?to=99999999999999999', 'to'],
    ];
    for (const [path, param] of refused) {
      const bad = await gateway.admin(path);
      expect(bad.status, path).toBe(400);
      expect(((await bad.json()) as { error: { param: string } }).error.param, path).toBe(param);
    }
    const cliBad = await gateway.cli(['usage', '--limit', '1e3']);
    expect(cliBad.code).toBe(1);
    expect(cliBad.stderr).toContain('limit');
  });

  it('refuses a malformed query parameter of any admin read with a 400 naming it', async () => {
    const cases: Array<[string, string]> = [
      ['/usage?after=%00junk', 'after'],
      ['/usage?group_by=team&after=key_abc', 'after'],
      ['/usage?key_id=nope', 'key_id'],
      ['/usage?team_id=', 'team_id'],
      ['/usage?limit=5&limit=6', 'limit'],
      ['/usage?from=yesterday', 'from'],
      ['/usage?colour=red', 'colour'],
      ['/keys?limit=5', 'limit'],
      ['/keys/key_abc?x=1', 'x'],
      ['/teams?after=x', 'after'],
      ['/teams/team_abc?x=1', 'x'],
      ['/health?verbose', 'verbose'],
    ];
    for (const [path, param] of cases) {
      const res = await gateway.admin(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param, path).toBe(param);
    }
    expect((await gateway.admin('/usage?group_by=team&after=')).status).toBe(200);
    expect((await gateway.admin('/usage?group_by=model&after=gpt-test')).status).toBe(200);
  });

  it('shows each key’s limits and remaining budget, and a team’s', async () => {
    const team: { id: string } = await json(
      await gateway.admin('/teams', {
        method: 'POST',
        body: JSON.stringify({ name: 'budgeted', budget_usd: 5, budget_period: 'month', rpm: 60 }),
      }),
    );
    const key = await gateway.createKey({
      name: 'limited',
      models: ['*'],
      team_id: team.id,
      rpm: 10,
      tpm: 5000,
      budget_usd: 1,
      budget_period: 'day',
    });
    const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key.key, maxRetries: 0 });
    await client.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'spend' }],
    });
    await gateway.usageRows(1, 'key_id = ?', key.id);
    type View = {
      limits: Record<string, unknown>;
      budget: { period: string; spent_usd: number; remaining_usd: number; period_end: string };
    };
    const view: View = await json(await gateway.admin(`/keys/${key.id}`));
    expect(view.limits).toEqual({ rpm: 10, tpm: 5000, budget_usd: 1, budget_period: 'day' });
    expect(view.budget.period).toBe('day');
    expect(view.budget.spent_usd).toBeGreaterThan(0);
    expect(view.budget.remaining_usd).toBeCloseTo(1 - view.budget.spent_usd, 12);
    expect(Date.parse(view.budget.period_end) - Date.now()).toBeLessThanOrEqual(86_400_000);
    const listed: { data: Array<{ id: string; budget: View['budget'] | null }> } = await json(
      await gateway.admin('/keys'),
    );
    expect(listed.data.find((k) => k.id === key.id)?.budget?.spent_usd).toBe(view.budget.spent_usd);
    const teamView: View = await json(await gateway.admin(`/teams/${team.id}`));
    expect(teamView.limits).toMatchObject({ rpm: 60, budget_usd: 5, budget_period: 'month' });
    expect(teamView.budget.spent_usd).toBe(view.budget.spent_usd);

    const patched: View = await json(
      await gateway.admin(`/keys/${key.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ tpm: null, budget_usd: 2 }),
      }),
    );
    expect(patched.limits).toEqual({ rpm: 10, tpm: null, budget_usd: 2, budget_period: 'day' });
  });

  it('validates limits and team ids, naming the field', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['/keys', { name: 'x', models: ['*'], rpm: 0 }, 'rpm'],
      ['/keys', { name: 'x', models: ['*'], budget_period: 'week' }, 'budget_period'],
      ['/keys', { name: 'x', models: ['*'], team_id: 'team_nope' }, 'team_id'],
      ['/teams', { name: 'x', tpm: 1.5 }, 'tpm'],
      ['/keys', { name: 'x', models: ['*'], budget_period: 'day' }, 'budget_period'],
      ['/teams', { name: 'x', budget_period: 'lifetime', budget_usd: null }, 'budget_period'],
      ['/keys', { name: 'x', models: ['*', 'demo'] }, 'models'],
      ['/teams', { name: 'x', models: ['demo', '*'] }, 'models'],
    ];
    for (const [path, body, param] of cases) {
      const res = await gateway.admin(path, { method: 'POST', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
    // The same on update: a period for a key or team without a budget, "*" beside names.
    const key = await gateway.createKey({ name: 'no-budget', models: ['demo'] });
    const team = (await (
      await gateway.admin('/teams', { method: 'POST', body: JSON.stringify({ name: 'nb' }) })
    ).json()) as { id: string };
    const updates: Array<[string, unknown, string]> = [
      [`/keys/${key.id}`, { budget_period: 'day' }, 'budget_period'],
      [`/teams/${team.id}`, { budget_period: 'month' }, 'budget_period'],
      [`/keys/${key.id}`, { models: ['demo', '*'] }, 'models'],
    ];
    for (const [path, body, param] of updates) {
      const res = await gateway.admin(path, { method: 'PATCH', body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
    }
  });
});

describe('CLI', () => {
  it('manages teams and key limits and reads usage', async () => {
    const team = await gateway.cli(['teams', 'create', '--name', 'cli-team', '--rpm', '100']);
    expect(team.code, team.stderr).toBe(0);
    const teamId = (JSON.parse(team.stdout) as { id: string }).id;
    const created = await gateway.cli([
      'keys',
      'create',
      '--name',
      'cli-limited',
      '--models',
      '*',
      '--team',
      teamId,
      '--rpm',
      '5',
      '--budget-usd',
      '3',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; limits: object };
    expect(key.limits).toEqual({ rpm: 5, tpm: null, budget_usd: 3, budget_period: 'month' });
    const updated = await gateway.cli(['keys', 'update', key.id, '--rpm', 'none', '--tpm', '9000']);
    expect(updated.code, updated.stderr).toBe(0);
    expect((JSON.parse(updated.stdout) as { limits: object }).limits).toMatchObject({
      rpm: null,
      tpm: 9000,
    });
    const bad = await gateway.cli(['keys', 'update', key.id, '--rpm', 'lots']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('rpm');

    await new OpenAI({
      baseURL: gateway.baseURL,
      apiKey: key.key,
      maxRetries: 0,
    }).chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
    await gateway.usageRows(1, 'team_id = ?', teamId);
    const report = await gateway.cli(['usage', '--group-by', 'team', '--team', teamId]);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({
      group_by: 'team',
      data: [{ team_id: teamId, requests: 1 }],
    });
    expect((await gateway.cli(['teams', 'delete', teamId])).code).toBe(0);
    expect((await gateway.cli(['teams', 'show', teamId])).stdout).toContain('"deleted_at": "');
  });
});

describe('graceful shutdown', () => {
  it('writes every record of requests answered just before SIGTERM', async () => {
    const fresh = await startGateway({
      config: openaiUpstreamConfig(upstream.url),
      workers: 2,
      env: { TEST_UPSTREAM_KEY: 'k' },
    });
    const { key } = await fresh.createKey({ name: 'last', models: ['*'] });
    const ids = Array.from({ length: 40 }, (_, i) => `last-${i}`);
    await Promise.all(
      ids.map(async (id) => {
        const res = await fetch(`${fresh.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'x-request-id': id },
          body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: id }] }),
        });
        expect(res.status).toBe(200);
        await res.text();
      }),
    );
    // At once: well inside the writer's flush interval.
    let stored: string[] = [];
    const code = await fresh.stop('SIGTERM', () => {
      stored = fresh
        .query<{ request_id: string }>('select request_id from usage_records')
        .map((r) => r.request_id);
    });
    expect(code).toBe(0);
    expect(stored.sort()).toEqual([...ids].sort());
  });
});
