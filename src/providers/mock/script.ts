import { countTokens, splitTokens } from './tokens';

/**
 * What a mock provider answers, decided once for every wire format: the mocks differ only in
 * how they read a request and write the reply. A mock calls a tool when tools are offered,
 * the tool choice allows it and no tool result is waiting to be answered; otherwise it says
 * its canned text, cut at the output limit.
 */
export const MOCK_REPLY =
  'This is the Vidai demo model: a built-in mock that answers every request with this same text, ' +
  'so the gateway can be tried without a provider key. Set a provider key to reach a real model.';

export const MOCK_THINKING = 'The mock thinks about the request before it answers.';

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface MockTool {
  name: string;
  /** JSON schema of the arguments. */
  parameters: unknown;
}

export interface MockRequest {
  tools: MockTool[];
  choice: 'auto' | 'none' | 'required' | { name: string } | undefined;
  parallel: boolean;
  /** The last turn is a tool result: the mock answers it with text. */
  answeringToolResult: boolean;
  maxTokens: number | undefined;
  reply: string;
}

export interface MockToolCall {
  name: string;
  arguments: Json;
}

export interface MockPlan {
  pieces: string[];
  toolCalls: MockToolCall[];
  finish: 'stop' | 'length' | 'tool_calls';
  /** Output tokens, true to the mock's tokenizer. */
  outputTokens: number;
}

/** Example arguments for a JSON schema: the required properties with placeholder values. */
export function exampleArguments(parameters: unknown): Json {
  const args: Json = {};
  if (!isObject(parameters) || !isObject(parameters.properties)) return args;
  const required = Array.isArray(parameters.required) ? parameters.required : [];
  for (const [name, schema] of Object.entries(parameters.properties)) {
    if (!required.includes(name)) continue;
    const type = isObject(schema) ? schema.type : undefined;
    const enumValues = isObject(schema) && Array.isArray(schema.enum) ? schema.enum : undefined;
    args[name] =
      enumValues?.[0] ??
      (type === 'number' || type === 'integer'
        ? 1
        : type === 'boolean'
          ? true
          : type === 'array'
            ? []
            : type === 'object'
              ? {}
              : 'example');
  }
  return args;
}

function chosenTools(request: MockRequest): MockTool[] {
  if (request.tools.length === 0 || request.choice === 'none' || request.answeringToolResult)
    return [];
  const choice = request.choice;
  if (isObject(choice)) return request.tools.filter((tool) => tool.name === choice.name);
  if (!request.parallel || choice !== 'required') return request.tools.slice(0, 1);
  return request.tools;
}

export function planReply(request: MockRequest): MockPlan {
  const toolCalls = chosenTools(request).map((tool) => ({
    name: tool.name,
    arguments: exampleArguments(tool.parameters),
  }));
  if (toolCalls.length > 0) {
    const outputTokens = toolCalls.reduce(
      (n, call) => n + countTokens(call.name + JSON.stringify(call.arguments)),
      0,
    );
    return { pieces: [], toolCalls, finish: 'tool_calls', outputTokens };
  }
  let pieces = splitTokens(request.reply);
  let finish: MockPlan['finish'] = 'stop';
  if (request.maxTokens !== undefined && pieces.length > request.maxTokens) {
    pieces = pieces.slice(0, request.maxTokens);
    finish = 'length';
  }
  return { pieces, toolCalls: [], finish, outputTokens: pieces.length };
}

export function randomId(prefix: string): string {
  return `${prefix}${crypto.randomUUID().replaceAll('-', '').slice(0, 24)}`;
}

/** Streams SSE events, one per read, with an optional delay between them. */
export function eventStream(events: string[], delayMs: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const event = events[i++];
      if (event === undefined) return controller.close();
      controller.enqueue(encoder.encode(event));
    },
  });
}
