import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../src/config/compile';
import { parseConfig } from '../src/config/schema';
import type { InboundFormat } from '../src/errors/render';
import { dispatch } from '../src/pipeline/dispatch';
import { fetchTransport } from '../src/pipeline/fetch-transport';
import { HealthRegistry } from '../src/pipeline/health';
import type { StreamEnd } from '../src/pipeline/openai-stream';
import type { ForwardPlan } from '../src/pipeline/plan';
import { createMockAnthropic } from '../src/providers/mock/mock-anthropic';
import { createMockOpenAI } from '../src/providers/mock/mock-openai';

/**
 * A streamed reply's callbacks live as long as the stream; the request's body must not. With
 * 1,000 streams each held its 1 KB prompt and its parse (and everything they reached) for
 * seconds, so all of it was promoted and became old-generation garbage when the stream ended.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const config = compileConfig(
  parseConfig({
    providers: [
      { id: 'oa', kind: 'openai-compatible', base_url: 'http://oa.test/v1' },
      { id: 'an', kind: 'anthropic', base_url: 'http://an.test/v1', api_key_env: 'AN_KEY' },
    ],
    models: [
      { name: 'via-openai', provider: 'oa', model: 'm' },
      { name: 'via-anthropic', provider: 'an', model: 'claude-x' },
    ],
  }),
  { AN_KEY: 'k' },
);

// Paced, so each stream is still open when the test looks.
const openai = createMockOpenAI({ chunkDelayMs: 20 });
const anthropic = createMockAnthropic({ chunkDelayMs: 20 });
const transport = fetchTransport((request) =>
  new URL(request.url).hostname === 'an.test' ? anthropic(request) : openai(request),
);

/** Starts a streamed call; only a WeakRef to its parsed body leaves this function. */
function start(route: string, inbound: InboundFormat, ends: StreamEnd[]) {
  const body: Record<string, unknown> = {
    model: route,
    stream: true,
    max_tokens: 64,
    messages: [{ role: 'user', content: 'hello there '.repeat(100) }],
  };
  const plan: ForwardPlan = {
    inbound,
    op: 'chat',
    body,
    raw: JSON.stringify(body),
    clientHeaders: { 'anthropic-version': '2023-06-01' },
    stream: true,
    signal: undefined,
    timeoutMs: 10_000,
    onUsage: () => {},
    onEnd: (end) => void ends.push(end),
    streamErrorEvent: () => 'data: {"error":"x"}\n\n',
  };
  const resolved = config.routes.get(route);
  if (resolved === undefined) throw new Error(`no route ${route}`);
  const dispatched = dispatch(resolved, plan, {
    transport,
    health: new HealthRegistry(config),
    totalMs: 10_000,
  });
  return { body: new WeakRef(body), dispatched };
}

async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
  }
  return ref.deref() === undefined;
}

describe('a streamed reply does not hold the request body while it runs', () => {
  for (const [name, route, inbound] of [
    ['OpenAI passthrough', 'via-openai', 'openai'],
    ['Anthropic passthrough', 'via-anthropic', 'anthropic'],
    ['translated, OpenAI client to an Anthropic upstream', 'via-anthropic', 'openai'],
  ] as const) {
    it(name, async () => {
      const ends: StreamEnd[] = [];
      const { body, dispatched } = start(route, inbound, ends);
      const { reply } = await dispatched;
      if (!(reply.body instanceof ReadableStream)) throw new Error('expected a stream');
      const reader = reply.body.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);

      expect(await collected(body)).toBe(true);
      expect(ends).toEqual([]); // still streaming

      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(ends).toEqual([{ outcome: 'complete' }]);
      expect(text).toContain(inbound === 'openai' ? 'data: [DONE]' : 'event: message_stop');
    });
  }
});
