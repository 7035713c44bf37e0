import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { MOCK_REPLY } from '../../src/providers/mock/mock-openai';
import { splitTokens } from '../../src/providers/mock/tokens';
import { assertMatchesSpec } from '../helpers/openapi';
import { OUTPUT_USD_PER_TOKEN } from './config';
import { anthropicClient, openaiClient, usageRows, type Harness } from './harness';

/**
 * Rate limits, token limits and budgets through the official OpenAI SDK and raw HTTP: on Node
 * across the cluster's two workers (the counter authority in the primary), on Workers through
 * the key's and team's Durable Objects.
 */
export function limitsSuite(h: Harness): void {
  const REPLY_TOKENS = splitTokens(MOCK_REPLY).length;

  function chat(key: string, body: Record<string, unknown> = {}) {
    return h.fetch(`${h.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-test',
        messages: [{ role: 'user', content: 'hi' }],
        ...body,
      }),
    });
  }

  async function jsonOf(res: Response) {
    return (await res.json()) as { error: { code: string; type: string; message: string } };
  }

  describe('requests per minute', () => {
    it('admits at most R of a burst of 3×R (B = 0), refusing the rest in OpenAI’s terms', async () => {
      const R = 30;
      const { key } = await h.createKey({ name: 'burst', models: ['*'], rpm: R });
      await burstWithinLimit(chat, key, R);
    });

    it('is raised to OpenAI SDK callers as a RateLimitError with the code', async () => {
      const { key } = await h.createKey({ name: 'sdk-rpm', models: ['*'], rpm: 1 });
      const client = openaiClient(h, key);
      const messages = [{ role: 'user' as const, content: 'hi' }];
      await client.chat.completions.create({ model: 'gpt-test', messages });
      const err = await client.chat.completions
        .create({ model: 'gpt-test', messages })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
    });

    it('applies a team’s limit to all its keys together, on top of their own', async () => {
      const team = (await (
        await h.admin('/teams', {
          method: 'POST',
          body: JSON.stringify({ name: 'squad', rpm: 4 }),
        })
      ).json()) as { id: string };
      const a = await h.createKey({ name: 'a', models: ['*'], team_id: team.id, rpm: 100 });
      const b = await h.createKey({ name: 'b', models: ['*'], team_id: team.id });
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) => chat(i % 2 ? a.key : b.key)),
      );
      expect(responses.filter((r) => r.status === 200)).toHaveLength(4);
      const refused = responses.find((r) => r.status === 429)!;
      expect((await jsonOf(refused)).error.message).toContain("this API key's team");
      // b has no limit of its own: the team's is the one it reports.
      const fromB = responses.find((r, i) => i % 2 === 0)!;
      expect(fromB.headers.get('x-ratelimit-limit-requests')).toBe('4');
      await Promise.all(responses.map((r) => r.text().catch(() => '')));
    });
  });

  describe('tokens per minute', () => {
    it('reserves prompt estimate plus max_tokens before the call, and gives back what was not used after it', async () => {
      const { key } = await h.createKey({ name: 'tpm', models: ['*'], tpm: 1100 });
      // Each request reserves ~20 prompt tokens + 500 and uses ~45: two reservations fit in
      // 1100, three do not, so three in a row pass only if each is reconciled when it ends.
      const body = { max_tokens: 500 };
      for (let i = 0; i < 3; i++) {
        const res = await chat(key, body);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('1100');
        await res.text();
      }

      // While one is in flight its whole reservation stands: one more does not fit beside it.
      const inFlight = await chat(key, { ...body, stream: true });
      expect(inFlight.status).toBe(200);
      const refused = await chat(key, body);
      expect(refused.status).toBe(429);
      const error = await jsonOf(refused);
      assertMatchesSpec('ErrorResponse', error);
      expect(error.error).toMatchObject({ code: 'tokens_rate_limit_exceeded', type: 'tokens' });
      expect(error.error.message).toMatch(/limit 1100, requested \d+/);
      expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe('1100');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await inFlight.text()).toContain('data: [DONE]');

      // The stream is reconciled too (its usage chunk, which Vidai asked for itself).
      const after = await chat(key, body);
      expect(after.status).toBe(200);
      await after.text();
    });
  });

  describe('a token count', () => {
    it('is free, as at Anthropic: nothing reserved against tokens per minute, nothing charged', async () => {
      // The prompt alone is estimated at more than the whole limit: were it reserved, even the
      // first count would be refused.
      const { id, key } = await h.createKey({ name: 'counting', models: ['*'], tpm: 50 });
      const client = anthropicClient(h, key);
      const content = 'How many tokens is this sentence, once it is counted? '.repeat(8);
      for (let i = 0; i < 5; i++) {
        const count = await client.messages.countTokens({
          model: 'claude-test',
          messages: [{ role: 'user', content }],
        });
        expect(count.input_tokens).toBeGreaterThan(50);
      }
      await usageRows(h, 5, 'key_id = ?', id);
      const rows = await h.query(
        'select status, input_tokens, output_tokens, cost_usd, usage_estimated from usage_records where key_id = ?',
        id,
      );
      expect(rows).toEqual(
        Array(5).fill({
          status: 200,
          input_tokens: 0,
          output_tokens: 0,
          cost_usd: 0,
          usage_estimated: 0,
        }),
      );
    });
  });

  describe('a request no wait would admit', () => {
    it('is a 400 saying what to change, not a 429 a client would retry', async () => {
      const { key } = await h.createKey({ name: 'tiny-tpm', models: ['*'], tpm: 500 });
      // No max_tokens: the default (4096) is reserved, which can never fit in 500.
      const res = await chat(key);
      expect(res.status).toBe(400);
      const error = (await res.json()) as { error: { code: string; param: string | null } };
      assertMatchesSpec('ErrorResponse', error);
      expect(error.error).toMatchObject({ code: 'request_too_large', param: 'max_tokens' });
      expect(res.headers.get('retry-after')).toBeNull();
      // With a max_tokens that fits, the same key is served.
      const fits = await chat(key, { max_tokens: 100 });
      expect(fits.status).toBe(200);
      await fits.text();
    });
  });

  describe('budgets', () => {
    it('counts streamed requests (usage Vidai asked for itself) and refuses the next one once the budget is reached', async () => {
      const reply = REPLY_TOKENS * OUTPUT_USD_PER_TOKEN;
      // Each stream reserves 10 tokens more than it uses; after three the budget cannot cover a fourth.
      const budget = 3 * reply + (REPLY_TOKENS + 10) * OUTPUT_USD_PER_TOKEN * 0.5;
      const { id, key } = await h.createKey({
        name: 'budget',
        models: ['*'],
        budget_usd: budget,
        budget_period: 'day',
      });
      const client = openaiClient(h, key);
      const stream = () =>
        client.chat.completions.create({
          model: 'gpt-priced',
          stream: true,
          max_tokens: REPLY_TOKENS + 10,
          messages: [{ role: 'user', content: 'stream' }],
        });
      for (let i = 0; i < 3; i++) {
        let text = '';
        for await (const chunk of await stream()) {
          expect(chunk.usage ?? null).toBeNull();
          text += chunk.choices[0]?.delta.content ?? '';
        }
        expect(text).toBe(MOCK_REPLY);
      }
      const err = await stream().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('insufficient_quota');
      expect((err as InstanceType<typeof OpenAI.RateLimitError>).type).toBe('insufficient_quota');

      // Had streams not been counted (or been charged their reservation), this would differ.
      await usageRows(h, 4, 'key_id = ?', id);
      const view = (await (await h.admin(`/keys/${id}`)).json()) as {
        budget: { spent_usd: number; remaining_usd: number; period: string };
      };
      expect(view.budget.period).toBe('day');
      expect(view.budget.spent_usd).toBeCloseTo(3 * reply, 9);
      expect(view.budget.remaining_usd).toBeCloseTo(budget - 3 * reply, 9);
      const rows = await h.query<{
        streamed: number;
        usage_estimated: number;
        output_tokens: number;
      }>(
        'select streamed, usage_estimated, output_tokens from usage_records where key_id = ? and status = 200',
        id,
      );
      expect(rows).toEqual(
        Array(3).fill({ streamed: 1, usage_estimated: 0, output_tokens: REPLY_TOKENS }),
      );
    });
  });

  describe('limit changes', () => {
    it('take effect everywhere within a second, without a restart', async () => {
      const { id, key } = await h.createKey({ name: 'change', models: ['*'] });
      const before = await chat(key);
      expect(before.headers.get('x-ratelimit-limit-requests')).toBeNull();
      await before.text();
      const patched = await h.admin(`/keys/${id}`, {
        method: 'PATCH',
        body: JSON.stringify({ rpm: 2 }),
      });
      expect(patched.status).toBe(200);
      const changedAt = Date.now();
      // Every serving process must report the new limit (eight at once: on Node, both workers answer).
      for (;;) {
        const responses = await Promise.all(Array.from({ length: 8 }, () => chat(key)));
        const limits = responses.map((r) => r.headers.get('x-ratelimit-limit-requests'));
        await Promise.all(responses.map((r) => r.text()));
        if (limits.every((l) => l === '2')) break;
        expect(Date.now() - changedAt).toBeLessThan(1000);
      }
    });

    it('an expired team makes its keys 401 key_expired', async () => {
      const team = (await (
        await h.admin('/teams', {
          method: 'POST',
          body: JSON.stringify({ name: 'past', expires_at: Date.now() + 500 }),
        })
      ).json()) as { id: string };
      const { key } = await h.createKey({ name: 'old', models: ['*'], team_id: team.id });
      await new Promise((resolve) => setTimeout(resolve, 600));
      const res = await chat(key);
      expect(res.status).toBe(401);
      expect((await jsonOf(res)).error.code).toBe('key_expired');
    });

    it('a deleted team’s keys are refused everywhere within a second', async () => {
      const team = (await (
        await h.admin('/teams', { method: 'POST', body: JSON.stringify({ name: 'gone' }) })
      ).json()) as { id: string };
      const { id, key } = await h.createKey({ name: 'member', models: ['*'], team_id: team.id });
      const ok = await Promise.all(Array.from({ length: 8 }, () => chat(key)));
      expect(ok.map((r) => r.status)).toEqual(Array(8).fill(200));
      await Promise.all(ok.map((r) => r.text()));
      expect((await h.admin(`/teams/${team.id}`, { method: 'DELETE' })).status).toBe(200);
      const deletedAt = Date.now();
      for (;;) {
        const responses = await Promise.all(Array.from({ length: 8 }, () => chat(key)));
        const statuses = responses.map((r) => r.status);
        await Promise.all(responses.map((r) => r.text()));
        if (statuses.every((s) => s === 401)) break;
        expect(Date.now() - deletedAt).toBeLessThan(1000);
      }
      // The key's own record says it is refused (the team's deletion revoked it).
      const view = (await (await h.admin(`/keys/${id}`)).json()) as { revoked_at: string | null };
      expect(view.revoked_at).not.toBeNull();
    });
  });
}

/** What a test needs of a response (Node tests may use undici's own fetch). */
interface Reply {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/**
 * A burst of 3R requests for a key limited to R per minute: at most R are admitted (B = 0) and
 * not many fewer (permits held elsewhere come back), the rest are refused in OpenAI's terms,
 * and the minute is a sliding one: a moment later nothing has been freed.
 */
export async function burstWithinLimit(
  chat: (key: string) => Promise<Reply>,
  key: string,
  R: number,
): Promise<void> {
  // Bodies are read as they come, so each connection moves on to its next request.
  const responses = await Promise.all(
    Array.from({ length: 3 * R }, async () => {
      const res = await chat(key);
      return { status: res.status, headers: res.headers, body: await res.text() };
    }),
  );
  const statuses = responses.map((r) => r.status);
  const admitted = statuses.filter((s) => s === 200).length;
  expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
  expect(admitted).toBeLessThanOrEqual(R);
  expect(admitted).toBeGreaterThanOrEqual(R - 3);
  for (const res of responses) {
    expect(res.headers.get('x-ratelimit-limit-requests')).toBe(String(R));
    expect(Number(res.headers.get('x-ratelimit-remaining-requests'))).toBeGreaterThanOrEqual(0);
    // OpenAI's format, and never more than the minute the limit is counted over.
    expect(res.headers.get('x-ratelimit-reset-requests')).toMatch(/^(\d+ms|[\d.]+s|1m0s)$/);
    if (res.status !== 429) continue;
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = JSON.parse(res.body) as { error: { code: string; type: string } };
    assertMatchesSpec('ErrorResponse', body);
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
  }
  const after = await Promise.all(Array.from({ length: 4 }, () => chat(key)));
  expect(after.map((r) => r.status)).toEqual([429, 429, 429, 429]);
  await Promise.all(after.map((r) => r.text()));
}
