import { describe, expect, it } from 'vitest';
import { sseEventStream, type SseEvent } from '../../sse/parser';
import { createMockOpenAI, MOCK_REPLY } from './mock-openai';
import { countTokens } from './tokens';

const mock = createMockOpenAI();
const user = [{ role: 'user', content: 'What is the weather in Paris?' }];

function post(path: string, body: unknown, handler = mock): Promise<Response> {
  return handler(
    new Request(`http://vidai.mock/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

/** Stream fragments leave out id, type and name; the tests check for them at run time. */
interface ToolCallJson {
  index: number;
  id: string;
  type: string;
  function: { name: string; arguments: string };
}
interface MessageJson {
  role: string;
  content: string | null;
  tool_calls: ToolCallJson[];
}
interface ChoiceJson {
  message: MessageJson;
  delta: MessageJson;
  finish_reason: string | null;
}
interface UsageJson {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}
interface EmbeddingJson {
  id: string;
  object: string;
  index: number;
  embedding: number[];
}

/** The fields of OpenAI chat, chunk and embeddings bodies these tests read. */
interface Json {
  id: string;
  object: string;
  model: string;
  choices: ChoiceJson[];
  usage: UsageJson | null;
  data: EmbeddingJson[];
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** The first choice, which the mock always sends (except in the usage-only chunk). */
function first(body: Json): ChoiceJson {
  const choice = body.choices[0];
  if (!choice) throw new Error('no choice in ' + JSON.stringify(body));
  return choice;
}

function usage(body: Json): UsageJson {
  if (!body.usage) throw new Error('no usage in ' + JSON.stringify(body));
  return body.usage;
}

async function chat(body: Record<string, unknown>, handler = mock): Promise<Json> {
  const res = await post(
    '/chat/completions',
    { model: 'demo-1', messages: user, ...body },
    handler,
  );
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

/** The JSON chunks of a streamed reply, and whether it ended with [DONE]. */
async function stream(
  body: Record<string, unknown>,
  handler = mock,
): Promise<{ chunks: Json[]; done: boolean }> {
  const res = await post(
    '/chat/completions',
    { model: 'demo-1', messages: user, stream: true, ...body },
    handler,
  );
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(sseEventStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    events.push(value);
  }
  const last = events.at(-1);
  const done = last?.data === '[DONE]';
  const data = done ? events.slice(0, -1) : events;
  return { chunks: data.map((e) => JSON.parse(e.data) as Json), done };
}

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        days: { type: 'integer' },
        detailed: { type: 'boolean' },
        optional_note: { type: 'string' },
      },
      required: ['city', 'unit', 'days', 'detailed'],
    },
  },
};
const timeTool = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] },
  },
};

describe('mock OpenAI chat completions (JSON)', () => {
  it('answers with a chat.completion holding the canned reply and true usage', async () => {
    const body = await chat({});
    expect(body.object).toBe('chat.completion');
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(body.model).toBe('demo-1');
    expect(body.choices).toHaveLength(1);
    expect(first(body).message).toMatchObject({ role: 'assistant', content: MOCK_REPLY });
    expect(first(body).finish_reason).toBe('stop');
    expect(usage(body).completion_tokens).toBe(countTokens(MOCK_REPLY));
    expect(usage(body).prompt_tokens).toBe(4 + countTokens(user[0]!.content));
    expect(usage(body).total_tokens).toBe(
      usage(body).prompt_tokens + usage(body).completion_tokens,
    );
  });

  it('uses a custom reply', async () => {
    const body = await chat({}, createMockOpenAI({ reply: 'Hi there, friend.' }));
    expect(first(body).message.content).toBe('Hi there, friend.');
    expect(usage(body).completion_tokens).toBe(5);
  });

  it('truncates at max_tokens with finish_reason length', async () => {
    const body = await chat(
      { max_tokens: 3 },
      createMockOpenAI({ reply: 'One two three four five.' }),
    );
    expect(first(body).message.content).toBe('One two three');
    expect(first(body).finish_reason).toBe('length');
    expect(usage(body).completion_tokens).toBe(3);
  });

  it('honours max_completion_tokens too', async () => {
    const body = await chat({ max_completion_tokens: 2 });
    expect(first(body).finish_reason).toBe('length');
    expect(usage(body).completion_tokens).toBe(2);
  });

  it('stops normally when max_tokens is not reached', async () => {
    const body = await chat({ max_tokens: 10_000 });
    expect(first(body).finish_reason).toBe('stop');
    expect(first(body).message.content).toBe(MOCK_REPLY);
  });

  it('counts every message and array content parts in prompt tokens', async () => {
    const messages = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Hello world' }] },
    ];
    const body = await chat({ messages });
    expect(usage(body).prompt_tokens).toBe(4 + 3 + 4 + 2);
  });
});

describe('mock OpenAI chat completions (stream)', () => {
  it('streams the reply as chat.completion.chunk events ending in [DONE]', async () => {
    const { chunks, done } = await stream({});
    expect(done).toBe(true);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(first(chunks[0]!).delta).toMatchObject({ role: 'assistant', content: '' });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(MOCK_REPLY);
    expect(first(chunks.at(-1)!).finish_reason).toBe('stop');
  });

  it('sends no usage chunk unless asked', async () => {
    const { chunks } = await stream({});
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
  });

  it('sends no usage chunk when include_usage is false', async () => {
    const { chunks } = await stream({ stream_options: { include_usage: false } });
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  it('sends a final usage-only chunk when include_usage is asked', async () => {
    const { chunks, done } = await stream({ stream_options: { include_usage: true } });
    expect(done).toBe(true);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    expect(usage(last).completion_tokens).toBe(contentChunks.length);
    expect(usage(last).completion_tokens).toBe(countTokens(MOCK_REPLY));
    expect(usage(last).prompt_tokens).toBe(4 + countTokens(user[0]!.content));
    // every other chunk carries "usage": null, as OpenAI's do
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('streams a truncated reply with finish_reason length', async () => {
    const { chunks } = await stream({ max_tokens: 4, stream_options: { include_usage: true } });
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks).toHaveLength(4);
    expect(first(chunks.at(-2)!).finish_reason).toBe('length');
    expect(usage(chunks.at(-1)!).completion_tokens).toBe(4);
  });

  it('waits chunkDelayMs between chunks', async () => {
    const started = Date.now();
    const { chunks } = await stream({}, createMockOpenAI({ chunkDelayMs: 5, reply: 'a b c' }));
    expect(chunks).toHaveLength(5); // role, three pieces, finish
    expect(Date.now() - started).toBeGreaterThanOrEqual(4 * 5 - 2);
  });
});

describe('mock OpenAI tool calls', () => {
  it('calls the first tool with valid arguments for its required parameters', async () => {
    const body = await chat({ tools: [weatherTool, timeTool] });
    const choice = first(body);
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls[0]!;
    expect(call.id).toMatch(/^call_/);
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({
      city: 'example',
      unit: 'celsius',
      days: 1,
      detailed: true,
    });
    expect(usage(body).completion_tokens).toBe(
      countTokens(call.function.name + call.function.arguments),
    );
  });

  it('calls every tool when tool_choice is required', async () => {
    const body = await chat({ tools: [weatherTool, timeTool], tool_choice: 'required' });
    const names = first(body).message.tool_calls.map((c) => c.function.name);
    expect(names).toEqual(['get_weather', 'get_time']);
  });

  it('calls the named tool when tool_choice names one', async () => {
    const body = await chat({
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    const calls = first(body).message.tool_calls;
    expect(calls.map((c) => c.function.name)).toEqual(['get_time']);
    expect(JSON.parse(calls[0]!.function.arguments)).toEqual({ zone: 'example' });
  });

  it('answers with text when tool_choice is none', async () => {
    const body = await chat({ tools: [weatherTool], tool_choice: 'none' });
    expect(first(body).finish_reason).toBe('stop');
    expect(first(body).message.content).toBe(MOCK_REPLY);
    expect(first(body).message.tool_calls).toBeUndefined();
  });

  it('answers with text once a tool result is in', async () => {
    const messages = [
      ...user,
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 C' },
    ];
    const body = await chat({ tools: [weatherTool], messages });
    expect(first(body).finish_reason).toBe('stop');
    expect(first(body).message.content).toBe(MOCK_REPLY);
  });

  it('streams tool-call arguments in fragments that join to the full JSON', async () => {
    const { chunks, done } = await stream({
      tools: [weatherTool, timeTool],
      tool_choice: 'required',
    });
    expect(done).toBe(true);
    const calls = new Map<
      number,
      { id?: string; name?: string; args: string; fragments: number }
    >();
    for (const c of chunks) {
      for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
        const call = calls.get(tc.index) ?? { args: '', fragments: 0 };
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name = tc.function.name;
        if (tc.function?.arguments) {
          call.args += tc.function.arguments;
          call.fragments++;
        }
        calls.set(tc.index, call);
      }
    }
    const json = await chat({ tools: [weatherTool, timeTool], tool_choice: 'required' });
    const full = first(json).message.tool_calls.map((c) => c.function.arguments);
    expect([...calls.values()].map((c) => c.args)).toEqual(full);
    expect([...calls.values()].map((c) => c.name)).toEqual(['get_weather', 'get_time']);
    for (const call of calls.values()) expect(call.id).toMatch(/^call_/);
    expect(JSON.parse(calls.get(0)!.args)).toEqual({
      city: 'example',
      unit: 'celsius',
      days: 1,
      detailed: true,
    });
    expect(JSON.parse(calls.get(1)!.args)).toEqual({ zone: 'example' });
    expect(calls.get(0)!.fragments).toBeGreaterThan(1);
    expect(first(chunks.at(-1)!).finish_reason).toBe('tool_calls');
    expect(first(chunks[0]!).delta.content).toBeNull();
  });
});

describe('mock OpenAI embeddings', () => {
  it('returns one unit float vector per input, in order', async () => {
    const res = await post('/embeddings', { model: 'demo-embedding-1', input: ['a cat', 'a dog'] });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body.object).toBe('list');
    expect(body.model).toBe('demo-embedding-1');
    expect(body.data.map((d) => d.index)).toEqual([0, 1]);
    for (const d of body.data) {
      expect(d.object).toBe('embedding');
      expect(d.embedding).toHaveLength(64);
      const norm = Math.sqrt(d.embedding.reduce((n: number, v: number) => n + v * v, 0));
      expect(norm).toBeCloseTo(1, 5);
    }
    expect(body.data[0]?.embedding).not.toEqual(body.data[1]?.embedding);
    expect(body.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
  });

  it('embeds equal inputs equally and honours dimensions', async () => {
    const res = await post('/embeddings', {
      model: 'embed-m',
      input: ['same', 'same'],
      dimensions: 8,
    });
    const body = (await res.json()) as Json;
    expect(body.data[0]?.embedding).toHaveLength(8);
    expect(body.data[0]?.embedding).toEqual(body.data[1]?.embedding);
  });

  it('encodes base64 as little-endian float32 equal to the float output', async () => {
    const input = ['hello world', 'second input'];
    const floats = (await (await post('/embeddings', { model: 'embed-m', input })).json()) as Json;
    const base64 = (await (
      await post('/embeddings', { model: 'embed-m', input, encoding_format: 'base64' })
    ).json()) as Json;
    expect(base64.data).toHaveLength(2);
    base64.data.forEach((d, i) => {
      const encoded: unknown = d.embedding;
      if (typeof encoded !== 'string') throw new Error('base64 embedding is not a string');
      const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
      expect(bytes.byteLength).toBe(64 * 4);
      const view = new DataView(bytes.buffer);
      const decoded = Array.from({ length: 64 }, (_, k) => view.getFloat32(k * 4, true));
      expect(decoded).toEqual(floats.data[i]?.embedding);
    });
  });

  it('refuses each kind of model on the other’s endpoint, with OpenAI’s errors', async () => {
    const chat = await post('/chat/completions', {
      model: 'demo-embedding-1',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(chat.status).toBe(404);
    expect(await chat.json()).toEqual({
      error: {
        message:
          'This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?',
        type: 'invalid_request_error',
        param: 'model',
        code: null,
      },
    });
    const embedding = await post('/embeddings', { model: 'demo-1', input: 'hi' });
    expect(embedding.status).toBe(403);
    expect(await embedding.json()).toEqual({
      error: {
        message: 'You are not allowed to generate embeddings from this model',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });

  it('rejects an empty input with 400', async () => {
    const res = await post('/embeddings', { model: 'embed-m', input: [] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.param).toBe('input');
  });
});

describe('mock OpenAI errors and routing', () => {
  it('answers 400 in OpenAI error shape when messages is missing', async () => {
    const res = await post('/chat/completions', { model: 'demo-1' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: {
        message: "Missing required parameter: 'messages'.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      },
    });
  });

  it('answers 400 when messages is empty or model is missing', async () => {
    expect((await post('/chat/completions', { model: 'demo-1', messages: [] })).status).toBe(400);
    const res = await post('/chat/completions', { messages: user });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Json).error.param).toBe('model');
  });

  it('answers 400 for a body that is not JSON or not an object', async () => {
    const bad = await post('/chat/completions', '{"model":');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Json).error.type).toBe('invalid_request_error');
    expect((await post('/chat/completions', [1, 2])).status).toBe(400);
  });

  it('answers 404 for an unknown path or method', async () => {
    expect((await post('/completions/legacy', {})).status).toBe(404);
    const get = await mock(new Request('http://vidai.mock/v1/chat/completions'));
    expect(get.status).toBe(404);
  });

  it('lists its models', async () => {
    const res = await mock(new Request('http://vidai.mock/v1/models/'));
    const body = (await res.json()) as Json;
    expect(body.data.map((m) => m.id)).toEqual(['demo-1', 'demo-embedding-1']);
  });
});

describe('mock validation', () => {
  it('refuses max_tokens below 1 and n other than 1, as OpenAI would refuse bad values', async () => {
    const messages = [{ role: 'user', content: 'hi' }];
    for (const body of [
      { model: 'demo-1', messages, max_tokens: -3 },
      { model: 'demo-1', messages, max_completion_tokens: 0 },
      { model: 'demo-1', messages, n: 2 },
    ]) {
      const res = await post('/chat/completions', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe(
        Object.keys(body)[2],
      );
    }
  });
});
