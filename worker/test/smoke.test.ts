import { SELF, env } from 'cloudflare:test';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { expect, it } from 'vitest';

it('healthz', async () => {
  const res = await SELF.fetch('http://vidai.test/healthz');
  expect(res.status).toBe(200);
});

it('sdk', async () => {
  const res = await SELF.fetch('http://vidai.test/admin/keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${env.VIDAI_ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', models: ['*'], rpm: 100 }),
  });
  expect(res.status).toBe(201);
  const { key } = (await res.json()) as { key: string };
  const client = new OpenAI({ baseURL: 'http://vidai.test/v1', apiKey: key, fetch: (i, init) => SELF.fetch(i as string, init as RequestInit) , maxRetries: 0});
  const c = await client.chat.completions.create({ model: 'demo', messages: [{ role: 'user', content: 'hi' }] });
  expect(c.choices[0]?.message.content).toContain('mock');
  const s = await client.chat.completions.create({ model: 'demo', stream: true, messages: [{ role: 'user', content: 'hi' }] });
  let t = '';
  for await (const ch of s) t += ch.choices[0]?.delta.content ?? '';
  expect(t).toContain('mock');
  const a = new Anthropic({ baseURL: 'http://vidai.test', apiKey: key, fetch: (i, init) => SELF.fetch(i as string, init as RequestInit), maxRetries: 0 });
  const m = await a.messages.create({ model: 'demo', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  expect(m.content[0]?.type).toBe('text');
  await new Promise((r) => setTimeout(r, 500));
  const rows = await env.DB.prepare('select count(*) as n from usage_records').first<{ n: number }>();
  expect(rows?.n).toBe(3);
});

it('ajv', async () => {
  const { default: Ajv } = await import('ajv/dist/2020.js');
  const ajv = new Ajv();
  const v = ajv.compile({ type: 'object' });
  expect(v({})).toBe(true);
});
