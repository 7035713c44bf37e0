import { formatSseEvent, sseHeaders } from '../../sse/serialize';
import { eventStream, isObject, MOCK_REPLY, planReply, randomId, type MockPlan } from './script';
import { countTokens } from './tokens';

/**
 * A small OpenAI-compatible server as a Web handler: chat completions (JSON and SSE, tool
 * calls, `stream_options.include_usage`), embeddings (float and base64, from models whose name
 * says `embed`; OpenAI's errors for a model of the other kind) and the model list,
 * in OpenAI's documented wire format (https://platform.openai.com/docs/api-reference/chat).
 * It backs the built-in `demo` model and the test and bench upstreams. It is honest: the
 * text says it is canned, and the usage counts are true to its tokenizer.
 */
export interface MockOptions {
  /** Delay before each stream chunk after the first, in ms. */
  chunkDelayMs?: number;
  /** Reply text; by default a fixed sentence that says what the mock is. */
  reply?: string;
}

export { MOCK_REPLY } from './script';

type Json = Record<string, unknown>;

function errorResponse(status: number, message: string, param: string | null, code: string | null) {
  const type =
    status === 401
      ? 'invalid_request_error'
      : status >= 500
        ? 'server_error'
        : 'invalid_request_error';
  return Response.json({ error: { message, type, param, code } }, { status });
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : ''))
      .join(' ');
  }
  return '';
}

/** Prompt tokens: the text of every message, plus four per message for role and framing. */
function promptTokens(messages: unknown[], tools: unknown[]): number {
  let n = 0;
  for (const message of messages) {
    if (!isObject(message)) continue;
    n += 4 + countTokens(contentText(message.content));
    if (Array.isArray(message.tool_calls)) n += countTokens(JSON.stringify(message.tool_calls));
  }
  if (tools.length > 0) n += countTokens(JSON.stringify(tools));
  return n;
}

interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The mock's plan for this request, read from OpenAI's tool fields. */
function plan(body: Json, messages: unknown[], options: MockOptions): MockPlan {
  const tools = (Array.isArray(body.tools) ? body.tools.filter(isObject) : []).map((tool) => {
    const fn = isObject(tool.function) ? tool.function : {};
    return { name: typeof fn.name === 'string' ? fn.name : 'tool', parameters: fn.parameters };
  });
  const choice = body.tool_choice;
  const last = messages[messages.length - 1];
  const limit = [body.max_completion_tokens, body.max_tokens].find((v) => typeof v === 'number');
  return planReply({
    tools,
    choice:
      isObject(choice) && isObject(choice.function) && typeof choice.function.name === 'string'
        ? { name: choice.function.name }
        : choice === 'none' || choice === 'required' || choice === 'auto'
          ? choice
          : undefined,
    parallel: body.parallel_tool_calls !== false,
    answeringToolResult: isObject(last) && last.role === 'tool',
    maxTokens: typeof limit === 'number' ? limit : undefined,
    reply: options.reply ?? MOCK_REPLY,
  });
}

interface Completion {
  id: string;
  created: number;
  model: string;
  text: string | null;
  pieces: string[];
  toolCalls: ToolCall[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  usage: Json;
}

function usageObject(prompt: number, completion: number): Json {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function complete(body: Json, messages: unknown[], options: MockOptions): Completion {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  const planned = plan(body, messages, options);
  const toolCalls: ToolCall[] = planned.toolCalls.map((call) => ({
    id: randomId('call_'),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
  return {
    id: randomId('chatcmpl-'),
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' ? body.model : 'demo',
    text: toolCalls.length > 0 ? null : planned.pieces.join(''),
    pieces: planned.pieces,
    toolCalls,
    finishReason: planned.finish,
    usage: usageObject(promptTokens(messages, tools), planned.outputTokens),
  };
}

function completionJson(c: Completion): Json {
  return {
    id: c.id,
    object: 'chat.completion',
    created: c.created,
    model: c.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: c.text,
          refusal: null,
          annotations: [],
          ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: c.finishReason,
      },
    ],
    usage: c.usage,
    service_tier: 'default',
    system_fingerprint: 'fp_vidai_mock',
  };
}

/** The deltas of a stream, as OpenAI sends them: role first, content or tool-call fragments, finish. */
function streamDeltas(c: Completion): Array<{ delta: Json; finish: string | null }> {
  const deltas: Array<{ delta: Json; finish: string | null }> = [
    {
      delta: { role: 'assistant', content: c.toolCalls.length > 0 ? null : '', refusal: null },
      finish: null,
    },
  ];
  for (const piece of c.pieces) deltas.push({ delta: { content: piece }, finish: null });
  c.toolCalls.forEach((call, index) => {
    deltas.push({
      delta: {
        tool_calls: [
          {
            index,
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: '' },
          },
        ],
      },
      finish: null,
    });
    // Arguments arrive in fragments, as they do from OpenAI.
    for (let i = 0; i < call.function.arguments.length; i += 8) {
      deltas.push({
        delta: {
          tool_calls: [{ index, function: { arguments: call.function.arguments.slice(i, i + 8) } }],
        },
        finish: null,
      });
    }
  });
  deltas.push({ delta: {}, finish: c.finishReason });
  return deltas;
}

function streamResponse(c: Completion, includeUsage: boolean, delayMs: number): Response {
  const base = {
    id: c.id,
    object: 'chat.completion.chunk',
    created: c.created,
    model: c.model,
    service_tier: 'default',
    system_fingerprint: 'fp_vidai_mock',
  };
  const events: string[] = streamDeltas(c).map(({ delta, finish }) =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    }),
  );
  if (includeUsage) events.push(JSON.stringify({ ...base, choices: [], usage: c.usage }));
  events.push('[DONE]');
  const body = eventStream(
    events.map((event) => formatSseEvent(event)),
    delayMs,
  );
  return new Response(body, { headers: { ...sseHeaders, 'x-request-id': randomId('req_') } });
}

/**
 * Which models embed: as at OpenAI (text-embedding-3-small), their names say so. Each endpoint
 * refuses the other kind as OpenAI does: a chat completion of an embeddings model is a 404, an
 * embedding from a chat model a 403, both invalid_request_error.
 */
const isEmbeddingsModel = (model: string): boolean => /embed/i.test(model);

function chatCompletions(body: Json, options: MockOptions): Response {
  if (typeof body.model === 'string' && isEmbeddingsModel(body.model)) {
    return errorResponse(
      404,
      'This is not a chat model and thus not supported in the v1/chat/completions endpoint. Did you mean to use v1/completions?',
      'model',
      null,
    );
  }
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) {
    return errorResponse(
      400,
      "Missing required parameter: 'messages'.",
      'messages',
      'missing_required_parameter',
    );
  }
  if (typeof body.model !== 'string') {
    return errorResponse(
      400,
      "Missing required parameter: 'model'.",
      'model',
      'missing_required_parameter',
    );
  }
  for (const field of ['max_tokens', 'max_completion_tokens'] as const) {
    const value = body[field];
    if (value !== undefined && value !== null && !(Number.isInteger(value) && Number(value) >= 1)) {
      return errorResponse(
        400,
        `Invalid '${field}': must be an integer >= 1.`,
        field,
        'invalid_value',
      );
    }
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    return errorResponse(
      400,
      'The demo model returns one choice: n must be 1.',
      'n',
      'invalid_value',
    );
  }
  const completion = complete(body, messages, options);
  if (body.stream === true) {
    const includeUsage =
      isObject(body.stream_options) && body.stream_options.include_usage === true;
    return streamResponse(completion, includeUsage, options.chunkDelayMs ?? 0);
  }
  return Response.json(completionJson(completion), {
    headers: { 'x-request-id': randomId('req_') },
  });
}

/** A unit vector derived from the text, so equal inputs embed equally. */
function embed(text: string, dimensions: number): Float32Array {
  let seed = 2166136261;
  for (let i = 0; i < text.length; i++) seed = Math.imul(seed ^ text.charCodeAt(i), 16777619) >>> 0;
  const vector = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    const value = seed / 0xffffffff - 0.5;
    vector[i] = value;
    norm += value * value;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) vector[i] = (vector[i] ?? 0) * scale;
  return vector;
}

function base64Floats(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  let binary = '';
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i] ?? 0);
  return btoa(binary);
}

function embeddings(body: Json): Response {
  if (typeof body.model === 'string' && !isEmbeddingsModel(body.model)) {
    return errorResponse(
      403,
      'You are not allowed to generate embeddings from this model',
      null,
      null,
    );
  }
  const input = body.input;
  const inputs: string[] =
    typeof input === 'string'
      ? [input]
      : Array.isArray(input) && input.length > 0
        ? input.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))
        : [];
  if (inputs.length === 0) {
    return errorResponse(
      400,
      "'input' must be a non-empty string or array.",
      'input',
      'invalid_value',
    );
  }
  const dimensions =
    typeof body.dimensions === 'number' && body.dimensions > 0
      ? Math.min(body.dimensions, 4096)
      : 64;
  const base64 = body.encoding_format === 'base64';
  const tokens = inputs.reduce((n, text) => n + countTokens(text), 0);
  return Response.json({
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = embed(text, dimensions);
      return {
        object: 'embedding',
        index,
        embedding: base64 ? base64Floats(vector) : Array.from(vector),
      };
    }),
    model: typeof body.model === 'string' ? body.model : 'demo-embedding',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

export function createMockOpenAI(
  options: MockOptions = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    const path = new URL(request.url).pathname.replace(/\/+$/, '');
    if (request.method === 'GET' && path.endsWith('/models')) {
      return Response.json({
        object: 'list',
        data: ['demo-1', 'demo-embedding-1'].map((id) => ({
          id,
          object: 'model',
          created: 1735689600,
          owned_by: 'vidai',
        })),
      });
    }
    const route = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/embeddings')
        ? 'embeddings'
        : null;
    if (route === null || request.method !== 'POST') {
      return errorResponse(404, `Invalid URL (${request.method} ${path})`, null, null);
    }
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return errorResponse(400, 'We could not parse the JSON body of your request.', null, null);
    }
    if (!isObject(body))
      return errorResponse(400, 'The request body must be a JSON object.', null, null);
    return route === 'chat' ? chatCompletions(body, options) : embeddings(body);
  };
}
