import { GatewayError } from '../../errors/gateway-error';
import { isObject, type JsonObject } from '../../util/json';
import type { ChatToolCall } from './hub';

/**
 * A hub (OpenAI chat) request, read once into the shape the upstream translators write from,
 * so the Anthropic and Gemini mappers share one reading of OpenAI's request semantics (and one
 * set of clear 400s for malformed input). Only the fields a translation needs are read.
 */
export type MediaSource =
  { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string };

export type UserPart =
  | { type: 'text'; text: string }
  | { type: 'image'; source: MediaSource }
  | { type: 'file'; source: MediaSource };

export type Turn =
  | { role: 'user'; parts: UserPart[] }
  | { role: 'assistant'; text: string; toolCalls: ChatToolCall[] }
  /** `name` is the function the result answers, found from the call that asked for it. */
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: JsonObject;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };
export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

export interface Conversation {
  /** Every system and developer message, in order. */
  system: string[];
  turns: Turn[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice | undefined;
  parallelToolCalls: boolean;
  maxTokens: number | undefined;
  temperature: number | undefined;
  topP: number | undefined;
  stop: string[];
  user: string | undefined;
  responseFormat:
    { type: 'json_object' } | { type: 'json_schema'; name: string; schema: JsonObject } | undefined;
  reasoning: ReasoningEffort | undefined;
}

/** Thinking budgets (tokens) for OpenAI's reasoning efforts. */
export const reasoningBudgets: Record<ReasoningEffort, number> = {
  minimal: 1024,
  low: 2048,
  medium: 8192,
  high: 24576,
};

export function invalid(message: string, param: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

function optionalNumber(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`'${field}' must be a number.`, field);
  return value;
}

/** A count (max_tokens, n): a safe positive integer, as the inbound check requires too. */
function optionalCount(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 1)
    throw invalid(`'${field}' must be a positive integer.`, field);
  return value as number;
}

function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`'${field}' must be a string.`, field);
  return value;
}

const DATA_URL = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s;

/** An image or file URL as a media source: a base64 data URL is split, anything else is a URL. */
export function mediaSource(url: string, param: string): MediaSource {
  if (url.startsWith('data:')) {
    const match = DATA_URL.exec(url);
    if (!match?.[1] || match[2] === undefined)
      throw invalid('A data URL must be base64: data:<media type>;base64,<data>.', param);
    return { kind: 'base64', mediaType: match[1], data: match[2] };
  }
  if (!/^https?:\/\//i.test(url))
    throw invalid('An image URL must be http(s) or a data URL.', param);
  return { kind: 'url', url };
}

/** Text of a message content that may only hold text (system, assistant, tool). */
function textOf(content: unknown, param: string): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  if (!Array.isArray(content))
    throw invalid('Message content must be a string or an array.', param);
  return content
    .map((part, i) => {
      if (isObject(part) && part.type === 'text' && typeof part.text === 'string') return part.text;
      if (isObject(part) && part.type === 'refusal' && typeof part.refusal === 'string')
        return part.refusal;
      throw invalid('This message may only contain text parts.', `${param}[${i}]`);
    })
    .join('');
}

function userParts(content: unknown, param: string): UserPart[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content))
    throw invalid('Message content must be a string or an array.', param);
  return content.map((part, i): UserPart => {
    const at = `${param}[${i}]`;
    if (!isObject(part)) throw invalid('A content part must be an object.', at);
    if (part.type === 'text' && typeof part.text === 'string')
      return { type: 'text', text: part.text };
    if (part.type === 'image_url') {
      const image = isObject(part.image_url) ? part.image_url.url : part.image_url;
      if (typeof image !== 'string') throw invalid('image_url.url must be a string.', at);
      return { type: 'image', source: mediaSource(image, `${at}.image_url.url`) };
    }
    if (part.type === 'file' && isObject(part.file) && typeof part.file.file_data === 'string') {
      return { type: 'file', source: mediaSource(part.file.file_data, `${at}.file.file_data`) };
    }
    throw invalid(
      `Content parts of type '${String(part.type)}' cannot be translated for this provider.`,
      at,
    );
  });
}

function toolCalls(value: unknown, param: string): ChatToolCall[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('tool_calls must be an array.', param);
  return value.map((call, i) => {
    const fn = isObject(call) ? call.function : undefined;
    if (
      !isObject(call) ||
      typeof call.id !== 'string' ||
      !isObject(fn) ||
      typeof fn.name !== 'string'
    )
      throw invalid('A tool call needs an id and a function name.', `${param}[${i}]`);
    const args = typeof fn.arguments === 'string' && fn.arguments.length > 0 ? fn.arguments : '{}';
    return { id: call.id, type: 'function', function: { name: fn.name, arguments: args } };
  });
}

function readTurns(messages: unknown[], system: string[]): Turn[] {
  const turns: Turn[] = [];
  const callNames = new Map<string, string>();
  messages.forEach((message, i) => {
    const param = `messages[${i}]`;
    if (!isObject(message)) throw invalid('A message must be an object.', param);
    const content = message.content;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(content, `${param}.content`));
        return;
      case 'user':
        turns.push({ role: 'user', parts: userParts(content, `${param}.content`) });
        return;
      case 'assistant': {
        const calls = toolCalls(message.tool_calls, `${param}.tool_calls`);
        for (const call of calls) callNames.set(call.id, call.function.name);
        turns.push({
          role: 'assistant',
          text: textOf(content, `${param}.content`),
          toolCalls: calls,
        });
        return;
      }
      case 'tool': {
        const id = message.tool_call_id;
        if (typeof id !== 'string') throw invalid('A tool message needs a tool_call_id.', param);
        const name = callNames.get(id);
        if (name === undefined)
          throw invalid(`No assistant tool call has the id '${id}'.`, `${param}.tool_call_id`);
        turns.push({
          role: 'tool',
          toolCallId: id,
          name,
          content: textOf(content, `${param}.content`),
        });
        return;
      }
      default:
        throw invalid(`Unknown message role '${String(message.role)}'.`, `${param}.role`);
    }
  });
  return turns;
}

function readTools(value: unknown): ToolDefinition[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid('tools must be an array.', 'tools');
  return value.map((tool, i) => {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(tool) || tool.type !== 'function' || !isObject(fn) || typeof fn.name !== 'string')
      throw invalid('Only function tools with a name can be translated.', `tools[${i}]`);
    return {
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      parameters: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
  });
}

function readToolChoice(value: unknown): ToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  if (isObject(value) && isObject(value.function) && typeof value.function.name === 'string')
    return { name: value.function.name };
  throw invalid(
    "tool_choice must be 'auto', 'none', 'required' or a named function.",
    'tool_choice',
  );
}

function readResponseFormat(value: unknown): Conversation['responseFormat'] {
  if (!isObject(value) || value.type === 'text') return undefined;
  if (value.type === 'json_object') return { type: 'json_object' };
  const spec = value.json_schema;
  if (value.type === 'json_schema' && isObject(spec) && isObject(spec.schema)) {
    const name = typeof spec.name === 'string' ? spec.name : 'response';
    return { type: 'json_schema', name, schema: spec.schema };
  }
  throw invalid(
    'response_format must be text, json_object or json_schema with a schema.',
    'response_format',
  );
}

function readStop(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value;
  throw invalid("'stop' must be a string or an array of strings.", 'stop');
}

export function readConversation(body: JsonObject): Conversation {
  if (!Array.isArray(body.messages))
    throw invalid("Missing required parameter: 'messages'.", 'messages');
  const n = optionalCount(body, 'n');
  if (n !== undefined && n !== 1)
    throw invalid('This provider returns one choice: n must be 1.', 'n');
  const system: string[] = [];
  const turns = readTurns(body.messages, system);
  const effort = optionalString(body, 'reasoning_effort');
  if (effort !== undefined && !(effort in reasoningBudgets))
    throw invalid(
      "reasoning_effort must be 'minimal', 'low', 'medium' or 'high'.",
      'reasoning_effort',
    );
  return {
    system,
    turns,
    tools: readTools(body.tools),
    toolChoice: readToolChoice(body.tool_choice),
    parallelToolCalls: body.parallel_tool_calls !== false,
    maxTokens: optionalCount(body, 'max_completion_tokens') ?? optionalCount(body, 'max_tokens'),
    temperature: optionalNumber(body, 'temperature'),
    topP: optionalNumber(body, 'top_p'),
    stop: readStop(body.stop),
    user: optionalString(body, 'user'),
    responseFormat: readResponseFormat(body.response_format),
    reasoning: effort as ReasoningEffort | undefined,
  };
}

/** Tool arguments as an object: what Anthropic's `input` and Gemini's `args` must be. */
export function argumentsObject(args: string, param: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args);
  } catch {
    throw invalid('Tool call arguments must be a JSON object.', param);
  }
  if (!isObject(parsed)) throw invalid('Tool call arguments must be a JSON object.', param);
  return parsed;
}
