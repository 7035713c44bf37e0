import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockAnthropic } from '../src/providers/mock/mock-anthropic';
import { createMockGemini } from '../src/providers/mock/mock-gemini';
import { createMockOpenAI, MOCK_REPLY } from '../src/providers/mock/mock-openai';
import { startGateway, type RunningGateway } from './helpers/gateway';
import { openaiError, startUpstream, type UpstreamServer } from './mocks/upstream-server';

/**
 * One alias whose targets speak different wire formats: when the first fails, the next is
 * tried, and the caller gets the answer translated into its own format, as if nothing happened.
 */
let openai: UpstreamServer;
let anthropic: UpstreamServer;
let gemini: UpstreamServer;
let gateway: RunningGateway;
let key: string;

beforeAll(async () => {
  [openai, anthropic, gemini] = await Promise.all([
    startUpstream(createMockOpenAI()),
    startUpstream(createMockAnthropic()),
    startUpstream(createMockGemini()),
  ]);
  gateway = await startGateway({
    config: `
providers:
  - { id: oa, kind: openai-compatible, base_url: "${openai.url}/v1", api_key_env: K }
  - { id: an, kind: anthropic, base_url: "${anthropic.url}/v1", api_key_env: K }
  - { id: ge, kind: gemini, base_url: "${gemini.url}/v1beta", api_key_env: K }
models:
  - name: claude-then-gpt
    strategy: fallback
    retry: { retries: 0 }
    targets:
      - { provider: an, model: claude-sonnet-4-5 }
      - { provider: oa, model: gpt-4o-mini }
  - name: gemini-then-claude
    strategy: fallback
    retry: { retries: 0 }
    targets:
      - { provider: ge, model: gemini-2.5-flash }
      - { provider: an, model: claude-sonnet-4-5 }
`,
    env: { K: 'upstream-key' },
  });
  key = (await gateway.createKey({ name: 'x', models: ['*'] })).key;
});

afterAll(async () => {
  await gateway?.stop();
  await Promise.all([openai?.close(), anthropic?.close(), gemini?.close()]);
});

const anthropicOverloaded = {
  status: 529,
  body: JSON.stringify({
    type: 'error',
    error: { type: 'overloaded_error', message: 'Overloaded' },
  }),
};

describe('fallback across wire formats', () => {
  it('an OpenAI client: Anthropic overloaded, served by the OpenAI-format target', async () => {
    const client = new OpenAI({ baseURL: gateway.baseURL, apiKey: key, maxRetries: 0 });
    anthropic.script(anthropicOverloaded);
    const seen = openai.requests.length;
    const { data, response } = await client.chat.completions
      .create({ model: 'claude-then-gpt', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(MOCK_REPLY);
    expect(response.headers.get('x-vidai-provider')).toBe('oa');
    expect(response.headers.get('x-vidai-attempts')).toBe('2');
    expect(openai.requests.length).toBe(seen + 1);

    anthropic.script(anthropicOverloaded);
    const chunks = await client.chat.completions.create({
      model: 'claude-then-gpt',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    });
    let text = '';
    for await (const chunk of chunks) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(MOCK_REPLY);
    expect(anthropic.requests.length).toBe(2);
  });

  it('an Anthropic client: Gemini 500, served by the Anthropic target, streamed', async () => {
    const client = new Anthropic({ baseURL: gateway.url, apiKey: key, maxRetries: 0 });
    gemini.script(openaiError(500, 'internal'));
    const message = await client.messages.create({
      model: 'gemini-then-claude',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(message.content[0]?.type).toBe('text');
    gemini.script({
      status: 503,
      body: JSON.stringify({ error: { code: 503, message: 'unavailable', status: 'UNAVAILABLE' } }),
    });
    const stream = client.messages.stream({
      model: 'gemini-then-claude',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'hi' }],
    });
    const final = await stream.finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    expect(final.content.map((b) => (b.type === 'text' ? b.text : '')).join('')).toBe(
      message.content.map((b) => (b.type === 'text' ? b.text : '')).join(''),
    );
  });
});
