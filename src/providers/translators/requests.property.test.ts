import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WireFormat } from '../catalog';
import { createMockAnthropic } from '../mock/mock-anthropic';
import { createMockGemini } from '../mock/mock-gemini';
import { createMockOpenAI } from '../mock/mock-openai';
import { hubRequest } from './anthropic-to-openai';
import { openaiToAnthropic } from './openai-to-anthropic';
import { openaiToGemini } from './openai-to-gemini';
import { openaiUpstream } from './openai-wire';
import { wireTargets } from './test-replies';
import type { UpstreamTranslator } from './translator';

/**
 * Random valid conversations (several system prompts, user text and images, assistant text
 * and parallel tool calls, tool results, tools, tool_choice, sampling parameters), written as
 * OpenAI and as Anthropic requests, through every request mapper: the upstream's documented
 * format accepts the result (its mock validates it), and no text, image or tool argument is lost.
 */
type Json = Record<string, unknown>;
type UserPart =
  { kind: 'text'; text: string } | { kind: 'image'; data: string } | { kind: 'url'; url: string };
interface Exchange {
  user: UserPart[];
  text: string;
  calls: Array<{ tool: number; args: Json }>;
  results: string[];
}
interface Conversation {
  system: string[];
  exchanges: Exchange[];
  choice: 'auto' | 'none' | 'required' | number | undefined;
  params: {
    max_tokens?: number;
    temperature?: number;
    top_p?: number;
    stop?: string[];
    user?: string;
  };
}

const TOOLS = ['get_weather', 'get_time', 'search_docs'];
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
const userPart: fc.Arbitrary<UserPart> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), text }),
  fc.record({
    kind: fc.constant('image' as const),
    data: fc.base64String({ minLength: 4, maxLength: 40 }),
  }),
  fc.record({ kind: fc.constant('url' as const), url: fc.webUrl().map((u) => `${u}/a.png`) }),
);
const exchange: fc.Arbitrary<Exchange> = fc
  .record({
    user: fc.array(userPart, { minLength: 1, maxLength: 3 }),
    text: fc.oneof(fc.constant(''), text),
    calls: fc.array(
      fc.record({
        tool: fc.nat({ max: TOOLS.length - 1 }),
        args: fc.dictionary(
          fc.string({ maxLength: 8 }),
          // As JSON text carries them (JSON has no -0).
          fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown),
          {
            maxKeys: 3,
          },
        ) as fc.Arbitrary<Json>,
      }),
      { maxLength: 3 },
    ),
  })
  .chain((e) =>
    fc
      .array(
        text.map((t) => `result: ${t}`),
        { minLength: e.calls.length, maxLength: e.calls.length },
      )
      .map((results) => ({
        ...e,
        // An assistant turn may be empty (content null, no calls): translators leave it out.
        results,
      })),
  );
const conversation: fc.Arbitrary<Conversation> = fc.record({
  system: fc.array(text, { maxLength: 2 }),
  exchanges: fc.array(exchange, { minLength: 1, maxLength: 3 }),
  choice: fc.constantFrom('auto' as const, 'none' as const, 'required' as const, 0, 2, undefined),
  params: fc.record(
    {
      max_tokens: fc.integer({ min: 1, max: 8192 }),
      temperature: fc.double({ min: 0, max: 1, noNaN: true }),
      top_p: fc.double({ min: 0, max: 1, noNaN: true }),
      stop: fc.array(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 3 }),
      user: fc.string({ minLength: 1, maxLength: 20 }),
    },
    { requiredKeys: [] },
  ),
});

const schema = {
  type: 'object',
  properties: { q: { type: 'string' } },
  additionalProperties: false,
};
const callId = (i: number, j: number) => `call_${i}_${j}`;

function openaiRequest(c: Conversation): Json {
  const messages: Json[] = c.system.map((content) => ({ role: 'system', content }));
  c.exchanges.forEach((e, i) => {
    messages.push({
      role: 'user',
      content: e.user.map((p) =>
        p.kind === 'text'
          ? { type: 'text', text: p.text }
          : {
              type: 'image_url',
              image_url: { url: p.kind === 'url' ? p.url : `data:image/png;base64,${p.data}` },
            },
      ),
    });
    messages.push({
      role: 'assistant',
      content: e.text === '' ? null : e.text,
      ...(e.calls.length > 0
        ? {
            tool_calls: e.calls.map((call, j) => ({
              id: callId(i, j),
              type: 'function',
              function: { name: TOOLS[call.tool], arguments: JSON.stringify(call.args) },
            })),
          }
        : {}),
    });
    e.results.forEach((content, j) =>
      messages.push({ role: 'tool', tool_call_id: callId(i, j), content }),
    );
  });
  const choice =
    typeof c.choice === 'number'
      ? { type: 'function', function: { name: TOOLS[c.choice] } }
      : c.choice;
  return {
    model: 'm',
    messages,
    tools: TOOLS.map((name) => ({ type: 'function', function: { name, parameters: schema } })),
    ...(choice === undefined ? {} : { tool_choice: choice }),
    ...c.params,
  };
}

function anthropicRequest(c: Conversation): Json {
  const messages: Json[] = [];
  let pending: Json[] = [];
  c.exchanges.forEach((e, i) => {
    const blocks = e.user.map((p) =>
      p.kind === 'text'
        ? { type: 'text', text: p.text }
        : {
            type: 'image',
            source:
              p.kind === 'url'
                ? { type: 'url', url: p.url }
                : { type: 'base64', media_type: 'image/png', data: p.data },
          },
    );
    messages.push({ role: 'user', content: [...pending, ...blocks] });
    messages.push({
      role: 'assistant',
      content: [
        ...(e.text === '' ? [] : [{ type: 'text', text: e.text }]),
        ...e.calls.map((call, j) => ({
          type: 'tool_use',
          id: callId(i, j),
          name: TOOLS[call.tool],
          input: call.args,
        })),
      ],
    });
    pending = e.results.map((content, j) => ({
      type: 'tool_result',
      tool_use_id: callId(i, j),
      content,
    }));
  });
  messages.push({ role: 'user', content: pending.length > 0 ? pending : 'Go on.' });
  const choice =
    typeof c.choice === 'number'
      ? { type: 'tool', name: TOOLS[c.choice] }
      : c.choice === 'required'
        ? { type: 'any' }
        : c.choice === undefined
          ? undefined
          : { type: c.choice };
  const { stop, user, max_tokens, ...rest } = c.params;
  return {
    model: 'm',
    max_tokens: max_tokens ?? 1024,
    ...(c.system.length > 0 ? { system: c.system.map((t) => ({ type: 'text', text: t })) } : {}),
    messages,
    tools: TOOLS.map((name) => ({ name, input_schema: schema })),
    ...(choice === undefined ? {} : { tool_choice: choice }),
    ...(stop ? { stop_sequences: stop } : {}),
    ...(user ? { metadata: { user_id: user } } : {}),
    ...rest,
  };
}

const targets = wireTargets();
const mocks: Record<WireFormat, (request: Request) => Promise<Response>> = {
  openai: createMockOpenAI(),
  anthropic: createMockAnthropic(),
  gemini: createMockGemini(),
};

/** Maps the hub request for `wire`, sends it to the format's mock, and returns the body it accepted. */
async function accepted(
  wire: WireFormat,
  translator: UpstreamTranslator,
  hub: Json,
): Promise<unknown> {
  const target = targets[wire];
  const call = translator.request(hub, target, false);
  const res = await mocks[wire](
    new Request(call.url, {
      method: 'POST',
      headers: { ...target.provider.headers, 'content-type': 'application/json' },
      body: call.body,
    }),
  );
  expect(res.status, await res.clone().text()).toBe(200);
  return JSON.parse(call.body);
}

/** Every string in a JSON value, and every object, for looking things up. */
function walk(value: unknown, strings: string[], objects: unknown[]): void {
  if (typeof value === 'string') strings.push(value);
  else if (Array.isArray(value)) for (const item of value) walk(item, strings, objects);
  else if (typeof value === 'object' && value !== null) {
    objects.push(value);
    for (const item of Object.values(value)) walk(item, strings, objects);
  }
}

function expectPreserved(c: Conversation, body: unknown, argsAsText: boolean): void {
  const strings: string[] = [];
  const objects: unknown[] = [];
  walk(body, strings, objects);
  const has = (needle: string) => strings.some((s) => s.includes(needle));
  for (const t of c.system) expect(has(t), `system text ${JSON.stringify(t)}`).toBe(true);
  for (const e of c.exchanges) {
    for (const p of e.user) {
      if (p.kind === 'text') expect(has(p.text), `user text ${JSON.stringify(p.text)}`).toBe(true);
      else if (p.kind === 'url') expect(strings).toContain(p.url);
      else expect(has(p.data)).toBe(true);
    }
    if (e.text !== '') expect(has(e.text)).toBe(true);
    for (const r of e.results) expect(has(r), `tool result ${JSON.stringify(r)}`).toBe(true);
    for (const call of e.calls) {
      if (argsAsText) expect(strings).toContain(JSON.stringify(call.args));
      else expect(objects).toContainEqual(call.args);
    }
  }
}

describe('request mappers, on random valid conversations', () => {
  it('OpenAI → Anthropic: accepted, nothing lost', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        expectPreserved(c, await accepted('anthropic', openaiToAnthropic, openaiRequest(c)), false);
      }),
      { numRuns: 80 },
    );
  });

  it('OpenAI → Gemini: accepted, nothing lost', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        expectPreserved(c, await accepted('gemini', openaiToGemini, openaiRequest(c)), false);
      }),
      { numRuns: 80 },
    );
  });

  it('Anthropic → OpenAI-format: accepted, nothing lost', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        expectPreserved(
          c,
          await accepted('openai', openaiUpstream, hubRequest(anthropicRequest(c))),
          true,
        );
      }),
      { numRuns: 80 },
    );
  });

  it('Anthropic → Gemini, through the hub: accepted, nothing lost', async () => {
    await fc.assert(
      fc.asyncProperty(conversation, async (c) => {
        expectPreserved(
          c,
          await accepted('gemini', openaiToGemini, hubRequest(anthropicRequest(c))),
          false,
        );
      }),
      { numRuns: 80 },
    );
  });
});
